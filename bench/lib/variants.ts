/**
 * What `--variant` swaps into the real code paths without touching src/: the
 * MLP kernel shape (one of MLP_KERNEL_SHAPES in src/kernels/mlp.ts). Setting it on
 * a device before anything is built makes every MlpPass made afterwards (the
 * trainer's, the rollout's, the FVP's) use that shape instead of the one the
 * adapter gets by default, so a paired A/B compares shapes on one adapter.
 */
import type { GpuContext } from '../../src/gpu/device';
import { MLP_KERNEL_SHAPES, MlpKernels, type MlpKernelShape } from '../../src/kernels/mlp';

export const VARIANTS = MLP_KERNEL_SHAPES;
export type Variant = MlpKernelShape;

/** Makes `variant` this device's MLP kernel shape (before anything binds MLP pipelines). */
export async function applyVariant(gpu: GpuContext, variant: Variant): Promise<void> {
  MlpKernels.useShape(gpu, variant);
  await MlpKernels.create(gpu);
}
