import { defineConfig } from 'vitest/config';
import { resolve } from 'node:path';

// GPU tests share one Dawn device per worker; the CPU Vulkan drivers use every
// core, so running files one at a time is faster than in parallel here.
export default defineConfig({
  // wgsl_reflect's `main` is CommonJS inside a "type": "module" package; use its ES build.
  resolve: {
    alias: [
      { find: /^wgsl_reflect$/, replacement: 'wgsl_reflect/wgsl_reflect.module.js' },
      // examples/ import the package by name; the tests run them against the source tree.
      { find: /^webgpu-rl$/, replacement: resolve(import.meta.dirname, 'src/index.ts') },
      { find: /^webgpu-rl\/(kernels|reference|wgsl)$/, replacement: resolve(import.meta.dirname, 'src/index-$1.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
