/**
 * Stands in for dawn.ts in the package's browser build (vite.lib.config.ts), so
 * that browser bundles carry no Node-only code; reached only when that build
 * runs under Node, where the package's `node` export condition should have won.
 */
import type { RequestGpuOptions } from './device';

export async function nodeAdapter(_options: RequestGpuOptions): Promise<{ adapter: GPUAdapter; backend: string } | null> {
  throw new Error("webgpu-rl: this is the package's browser build; in Node import it with the \"node\" export condition (plain `import 'webgpu-rl'` does)");
}

/** Browsers do not spin while a GPU promise is pending: nothing to pace. */
export function paceOwnDevice(_device: GPUDevice): void {}
