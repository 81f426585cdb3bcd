/**
 * Observation normalisation and return-based reward scaling on the GPU
 * (shaders/normalize.wgsl), with Stable-Baselines3 VecNormalize's semantics:
 * running moments of the observations, merged once per iteration from the
 * observations it collected; the networks see clip((obs − mean) / sqrt(var + ε), ±10);
 * rewards are divided by sqrt(var + ε) of the running discounted return per env
 * (reset at episode ends) and clipped to ±10. Episode returns the trainer reports
 * are summed by the rollout from raw rewards, so metrics stay in the env's units.
 */
import normalizeWgsl from '../../shaders/normalize.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type Kernel, type StructView } from '../gpu/kernel';
import { storageBuffer, uniformBuffer } from '../gpu/buffers';
import { COMMON_WGSL } from '../gpu/wgsl';
import type { PolicyInput, PolicyInputSource } from './rollout';

/** Normalised observations and scaled rewards are clipped to ±NORM_CLIP. */
export const NORM_CLIP = 10;
/** Added to the variance before its square root. */
export const NORM_EPSILON = 1e-8;
/** The count running moments start with (mean 0, var 1), so the first merge divides by a nonzero total. */
export const MOMENTS_INITIAL_COUNT = 1e-4;
/** Floats per component of a moments buffer: mean, var, count. */
export const MOMENT_FIELDS = 3;

/** Initial running moments of `dim` components: [dim][mean 0, var 1, count ε]. */
export function initialMoments(dim: number): Float32Array<ArrayBuffer> {
  const m = new Float32Array(dim * MOMENT_FIELDS);
  for (let k = 0; k < dim; k++) m.set([0, 1, MOMENTS_INITIAL_COUNT], k * MOMENT_FIELDS);
  return m;
}

interface NormalizeFamily {
  normalizeRows: Kernel;
  partialMoments: Kernel;
  mergeMoments: Kernel;
  discountedReturns: Kernel;
  scaleRewards: Kernel;
  normalizeArgs: StructView;
  momentsArgs: StructView;
  returnArgs: StructView;
}

function normalizeFamily(gpu: GpuContext): Promise<NormalizeFamily> {
  return perDevice(gpu, 'kernels:normalize', async () => {
    const family = await ShaderFamily.load(gpu, 'normalize', [COMMON_WGSL, normalizeWgsl]);
    const k = await family.kernels({ normalize_rows: {}, partial_moments: {}, merge_moments: {}, discounted_returns: {}, scale_rewards: {} });
    return {
      normalizeRows: k.normalize_rows,
      partialMoments: k.partial_moments,
      mergeMoments: k.merge_moments,
      discountedReturns: k.discounted_returns,
      scaleRewards: k.scale_rewards,
      normalizeArgs: family.struct('NormalizeArgs'),
      momentsArgs: family.struct('MomentsArgs'),
      returnArgs: family.struct('ReturnArgs'),
    };
  });
}

/** One recorded operation over caller-owned buffers; destroy() releases what it created. */
export interface NormalizeOp {
  /** Records the operation into `pass`. */
  encode(pass: GPUComputePassEncoder): void;
  /** Releases the uniforms and scratch buffers it created (the bound buffers belong to the caller). */
  destroy(): void;
}

/** The normalisation kernels of one device. */
export class NormalizeKernels {
  private constructor(readonly gpu: GpuContext, private readonly family: NormalizeFamily) {}

  /** Compiles normalize.wgsl once per device. */
  static async create(gpu: GpuContext): Promise<NormalizeKernels> {
    return new NormalizeKernels(gpu, await normalizeFamily(gpu));
  }

  /** `output` = clip((input − mean) / sqrt(var + ε), ±NORM_CLIP), `rows` rows of `dim` components. */
  normalizeRows(o: { rows: number; dim: number; input: GPUBuffer; output: GPUBuffer; moments: GPUBuffer; label: string }): NormalizeOp {
    const { normalizeRows: kernel, normalizeArgs } = this.family;
    const args = uniformBuffer(this.gpu, `${o.label}.args`, normalizeArgs.pack({ rows: o.rows, dim: o.dim, clip: NORM_CLIP, epsilon: NORM_EPSILON }));
    const group = kernel.bind({ normalizeArgs: args, moments: o.moments, samples: o.input, normalized: o.output }, o.label);
    return {
      encode: (pass) => kernel.dispatch(pass, group, o.rows * o.dim),
      destroy: () => args.destroy(),
    };
  }

  /** Merges the moments of `input`'s T·N rows ([T][N][dim]) into `moments` (two dispatches). */
  updateMoments(o: { numEnvs: number; numSteps: number; dim: number; input: GPUBuffer; moments: GPUBuffer; label: string }): NormalizeOp {
    const { partialMoments, mergeMoments, momentsArgs } = this.family;
    const args = uniformBuffer(this.gpu, `${o.label}.args`, momentsArgs.pack({ numEnvs: o.numEnvs, numSteps: o.numSteps, dim: o.dim }));
    const partials = storageBuffer(this.gpu, `${o.label}.partials`, o.numEnvs * o.dim * 2 * 4);
    const partialGroup = partialMoments.bind({ momentsArgs: args, samples: o.input, partials }, `${o.label}.partial`);
    const mergeGroup = mergeMoments.bind({ momentsArgs: args, moments: o.moments, partials }, `${o.label}.merge`);
    return {
      encode: (pass) => {
        partialMoments.dispatch(pass, partialGroup, o.numEnvs);
        mergeMoments.dispatch(pass, mergeGroup, o.dim);
      },
      destroy: () => {
        args.destroy();
        partials.destroy();
      },
    };
  }

  /**
   * Reward scaling over one rollout (four dispatches): the discounted returns
   * (continuing `accumulator`), their moments merged into `moments`, then
   * `scaled` = clip(rewards / sqrt(var + ε), ±NORM_CLIP) with the updated variance.
   */
  scaleRewards(o: {
    numEnvs: number;
    numSteps: number;
    gamma: number;
    rewards: GPUBuffer;
    doneFlags: GPUBuffer;
    accumulator: GPUBuffer;
    moments: GPUBuffer;
    scaled: GPUBuffer;
    label: string;
  }): NormalizeOp {
    const { discountedReturns, scaleRewards, returnArgs } = this.family;
    const count = o.numEnvs * o.numSteps;
    const args = uniformBuffer(
      this.gpu,
      `${o.label}.args`,
      returnArgs.pack({ numEnvs: o.numEnvs, numSteps: o.numSteps, gamma: o.gamma, clip: NORM_CLIP, epsilon: NORM_EPSILON }),
    );
    const discounted = storageBuffer(this.gpu, `${o.label}.discounted`, count * 4);
    const returnsGroup = discountedReturns.bind(
      { returnArgs: args, samples: o.rewards, doneFlags: o.doneFlags, accumulator: o.accumulator, discounted },
      `${o.label}.returns`,
    );
    const moments = this.updateMoments({ numEnvs: o.numEnvs, numSteps: o.numSteps, dim: 1, input: discounted, moments: o.moments, label: `${o.label}.moments` });
    const scaleGroup = scaleRewards.bind({ returnArgs: args, moments: o.moments, samples: o.rewards, scaled: o.scaled }, `${o.label}.scale`);
    return {
      encode: (pass) => {
        discountedReturns.dispatch(pass, returnsGroup, o.numEnvs);
        moments.encode(pass);
        scaleRewards.dispatch(pass, scaleGroup, count);
      },
      destroy: () => {
        args.destroy();
        discounted.destroy();
        moments.destroy();
      },
    };
  }
}

/**
 * Normalised observations as the policy's rollout input: each step, the
 * current observations through `moments` into a buffer of their own.
 */
export function normalizedPolicyInput(kernels: NormalizeKernels, moments: GPUBuffer): PolicyInputSource {
  return (currentObs, rows, dim, label): PolicyInput => {
    const input = storageBuffer(kernels.gpu, `${label}.normalizedObs`, rows * dim * 4);
    const op = kernels.normalizeRows({ rows, dim, input: currentObs, output: input, moments, label: `${label}.normalizeObs` });
    return {
      input,
      encode: (pass) => op.encode(pass),
      destroy: () => {
        op.destroy();
        input.destroy();
      },
    };
  };
}
