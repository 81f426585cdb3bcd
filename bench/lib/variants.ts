/**
 * What `--variant` swaps into the real code paths without touching src/: the
 * MLP kernel shape (one of MLP_KERNEL_SHAPES in src/kernels/mlp.ts) or the
 * parameter-gradient reduction (one of PARAM_REDUCTIONS). Setting it on a
 * device before anything is built makes every MlpPass made afterwards (the
 * trainer's, the rollout's, the FVP's) use it instead of what the adapter gets
 * by default, so a paired A/B compares them on one adapter.
 */
import type { GpuContext } from '../../src/gpu/device';
import { MLP_KERNEL_SHAPES, PARAM_REDUCTIONS, MlpKernels, type MlpKernelShape, type ParamReduction } from '../../src/kernels/mlp';

export const VARIANTS: readonly (MlpKernelShape | ParamReduction)[] = [...MLP_KERNEL_SHAPES, ...PARAM_REDUCTIONS];
export type Variant = MlpKernelShape | ParamReduction;

/** Makes `variant` this device's MLP kernel shape or reduction (before anything binds MLP pipelines). */
export async function applyVariant(gpu: GpuContext, variant: Variant): Promise<void> {
  if ((PARAM_REDUCTIONS as readonly string[]).includes(variant)) MlpKernels.useParamReduction(gpu, variant as ParamReduction);
  else MlpKernels.useShape(gpu, variant as MlpKernelShape);
  await MlpKernels.create(gpu);
}
