import { defineConfig } from 'vitest/config';

// GPU tests share one Dawn device per worker; the CPU Vulkan drivers use every
// core, so running files one at a time is faster than in parallel here.
export default defineConfig({
  // wgsl_reflect's `main` is CommonJS inside a "type": "module" package; use its ES build.
  resolve: { alias: [{ find: /^wgsl_reflect$/, replacement: 'wgsl_reflect/wgsl_reflect.module.js' }] },
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
