/**
 * GPU readiness without a GPU: how many invocations each recorded dispatch
 * launches (workgroups × workgroup size, so a partly used last workgroup
 * counts whole), and how many dispatches launch fewer than a GPU needs to be
 * busy. A GPU with ~100 compute units of 32–64 lanes and several waves each
 * wants thousands of invocations per dispatch: below SMALL_DISPATCH most of
 * it idles whatever the kernel does.
 */
import { workgroupSizeOf } from '../../src/gpu/kernel';
import { resolveConfig, type Algo, type ResolvedConfig } from '../../src/core/config';
import { deviceScale, type DeviceCapacity } from '../../src/ui/studioConfig';
import { defaultDenseChaining, defaultMlpKernelShape, defaultParamReduction, defaultTileChainForm } from '../../src/kernels/mlp';
import type { AdapterDescription } from '../../src/gpu/device';
import type { RecordedDispatch } from './profile';
import type { Point } from './types';

/** Invocations below which a dispatch counts as too small for a GPU. */
export const SMALL_DISPATCH = 4096;

export interface Readiness {
  dispatches: number;
  /** Dispatches launching fewer than SMALL_DISPATCH invocations. */
  below_4096: number;
  /** Invocations per dispatch: smallest, median, largest. */
  min_invocations: number;
  median_invocations: number;
  max_invocations: number;
  /** The kernels with the most small dispatches: "pipeline ×count (median invocations)". */
  small_kernels: string[];
}

/** Launched invocations of a recorded dispatch (its pipeline must come from a Kernel). */
export function invocationsOf(d: RecordedDispatch): number {
  const size = workgroupSizeOf(d.pipeline);
  if (size === undefined) throw new Error(`readiness: pipeline ${d.pipeline.label} was not made by a Kernel (workgroup size unknown)`);
  return d.workgroups[0] * d.workgroups[1] * d.workgroups[2] * size;
}

function medianOf(sorted: number[]): number {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

export function readiness(dispatches: readonly RecordedDispatch[], topKernels = 4): Readiness {
  const counts = dispatches.map(invocationsOf);
  const sorted = [...counts].sort((a, b) => a - b);
  const small = new Map<string, number[]>();
  dispatches.forEach((d, k) => {
    if (counts[k] >= SMALL_DISPATCH) return;
    const name = d.pipeline.label || 'unlabelled';
    small.set(name, [...(small.get(name) ?? []), counts[k]]);
  });
  return {
    dispatches: dispatches.length,
    below_4096: sorted.filter((n) => n < SMALL_DISPATCH).length,
    min_invocations: sorted.length ? sorted[0] : 0,
    median_invocations: sorted.length ? medianOf(sorted) : 0,
    max_invocations: sorted.length ? sorted[sorted.length - 1] : 0,
    small_kernels: [...small]
      .sort((a, b) => b[1].length - a[1].length)
      .slice(0, topKernels)
      .map(([name, n]) => `${name} ×${n.length} (${medianOf(n.sort((a, b) => a - b))})`),
  };
}

/** What the Studio starts `algo` with on a GPU: the fast preset at 4 096 envs × 16 steps. */
export function studioGpuConfig(algo: Algo): ResolvedConfig {
  // deviceScale reads only isFallback.
  const { numEnvs, stepsPerEnv } = deviceScale({ isFallback: false } as DeviceCapacity);
  return resolveConfig({ preset: 'fast', algo, numEnvs, stepsPerIter: numEnvs * stepsPerEnv });
}

/**
 * A GPU as the MLP defaults see it (they read isFallback and backend): with
 * MlpKernels.useAdapterDefaults, a CPU driver records what a GPU would dispatch.
 */
export const GPU_ADAPTER: AdapterDescription = { vendor: 'gpu', architecture: 'gpu', description: 'a GPU (dispatches recorded, not run)', isFallback: false, backend: 'system' };

/** The MLP settings a GPU gets, in words: shape, reduction, chaining (tile chain form). */
export const GPU_MLP = `${defaultMlpKernelShape(GPU_ADAPTER)}, ${defaultParamReduction(GPU_ADAPTER)}, ${defaultDenseChaining(GPU_ADAPTER)} (${defaultTileChainForm(GPU_ADAPTER)})`;

/** A Readiness as point fields, under `prefix`. */
export function readinessFields(prefix: string, r: Readiness): Point {
  return { [`${prefix}dispatches`]: r.dispatches, [`${prefix}below_4096`]: r.below_4096, [`${prefix}median_invocations`]: r.median_invocations, [`${prefix}min_invocations`]: r.min_invocations, [`${prefix}small_kernels`]: r.small_kernels };
}
