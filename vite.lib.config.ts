import { defineConfig } from 'vite';
import { resolve } from 'node:path';

// The library (`import ... from 'webgpu-rl'`) as one ES module in dist/, usable
// from Node and from bundlers: WGSL is inlined by `?raw`, wgsl_reflect is
// bundled (its CommonJS `main` does not load under Node's ESM), `webgpu` (a
// native addon, imported only in Node) stays external. Declarations come from
// `tsc -p tsconfig.build.json` afterwards.
export default defineConfig({
  resolve: { alias: [{ find: /^wgsl_reflect$/, replacement: 'wgsl_reflect/wgsl_reflect.module.js' }] },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    minify: false,
    sourcemap: true,
    lib: {
      entry: resolve(import.meta.dirname, 'src/index.ts'),
      formats: ['es'],
      fileName: 'index',
    },
    rollupOptions: { external: ['webgpu', /^node:/] },
  },
});
