import { defineConfig } from 'vite';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';

// Node entry points (CLI and benchmarks) bundled to dist-cli/ so plain Node runs
// them: WGSL is inlined by `?raw`, wgsl_reflect is bundled (its CommonJS `main`
// does not load under Node's ESM), `webgpu` (a native addon) stays external.
const entries = (dir: string) =>
  readdirSync(resolve(import.meta.dirname, dir))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .map((f) => [`${dir === 'src/cli' ? '' : 'bench/'}${f.replace(/\.ts$/, '')}`, resolve(import.meta.dirname, dir, f)] as const);

export default defineConfig({
  resolve: { alias: [{ find: /^wgsl_reflect$/, replacement: 'wgsl_reflect/wgsl_reflect.module.js' }] },
  build: {
    ssr: true,
    target: 'node20',
    outDir: 'dist-cli',
    emptyOutDir: true,
    minify: false,
    sourcemap: true,
    rollupOptions: {
      input: Object.fromEntries([...entries('src/cli'), ...entries('bench')]),
      external: ['webgpu', /^node:/],
      output: { format: 'es', entryFileNames: '[name].js' },
    },
  },
  ssr: { noExternal: ['wgsl_reflect'] },
});
