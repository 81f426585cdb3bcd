import { defineConfig } from 'vite';
import { resolve } from 'node:path';

// The library as ES modules in dist/node/ and dist/browser/ (one build each,
// `--mode node` or `--mode browser`), one file per subpath export: WGSL is
// inlined by `?raw`; wgsl_reflect is bundled (its CommonJS `main` does not load
// under Node's ESM); `webgpu` (a native addon, imported only in Node) stays
// external. The browser build swaps src/gpu/dawn.ts (Dawn, node:fs) for a
// stand-in, so no bundler ever meets Node-only code through the `browser`
// condition. Declarations come from `tsc -p tsconfig.build.json` afterwards.
const root = import.meta.dirname;

export default defineConfig(({ mode }) => {
  if (mode !== 'node' && mode !== 'browser') throw new Error(`vite.lib.config.ts: --mode must be node or browser, got ${mode}`);
  return {
    resolve: {
      alias: [
        { find: /^wgsl_reflect$/, replacement: 'wgsl_reflect/wgsl_reflect.module.js' },
        ...(mode === 'browser' ? [{ find: /^\.\/dawn$/, replacement: resolve(root, 'src/gpu/dawn.browser.ts') }] : []),
      ],
    },
    build: {
      target: 'es2022',
      outDir: `dist/${mode}`,
      emptyOutDir: true,
      minify: false,
      sourcemap: true,
      lib: {
        entry: {
          index: resolve(root, 'src/index.ts'),
          kernels: resolve(root, 'src/index-kernels.ts'),
          reference: resolve(root, 'src/index-reference.ts'),
          wgsl: resolve(root, 'src/index-wgsl.ts'),
        },
        formats: ['es'],
        fileName: (_format, entry) => `${entry}.js`,
      },
      rollupOptions: { external: ['webgpu', /^node:/] },
    },
  };
});
