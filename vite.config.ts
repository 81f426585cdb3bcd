import { defineConfig } from 'vite';

// The Studio page (index.html → src/ui/main.ts): `npm run dev` serves it, `npm
// run build:web` writes dist-web/. WebGPU needs a secure context, which
// http://127.0.0.1 and http://localhost are.
export default defineConfig({
  // wgsl_reflect's `main` is CommonJS inside a "type": "module" package; use its ES build.
  resolve: { alias: [{ find: /^wgsl_reflect$/, replacement: 'wgsl_reflect/wgsl_reflect.module.js' }] },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
  build: {
    outDir: 'dist-web',
    target: 'es2022',
    sourcemap: true,
    // Node-only imports of the device helper, never reached in a browser.
    rollupOptions: { external: [/^node:/] },
  },
});
