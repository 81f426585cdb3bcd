/**
 * Observation normalisation and return-based reward scaling on the GPU
 * (shaders/normalize.wgsl), with Stable-Baselines3 VecNormalize's semantics:
 * running moments of the observations, merged once per iteration from the
 * observations it collected; the networks see clip((obs − mean) / sqrt(var + ε), ±10);
 * rewards are divided by sqrt(var + ε) of the running discounted return per env
 * (reset at episode ends) and clipped to ±10. Episode returns the trainer reports
 * are summed by the rollout from raw rewards, so metrics stay in the env's units.
 *
 * Populations: with `agents` (P agents) every buffer an operation binds holds P
 * blocks, agent-major, agent a's block being what a single run binds (its own
 * moments [dim][3], accumulator [N], rows ...), reward scaling discounts with each
 * agent's AgentParams gamma, and each dispatch covers every agent.
 */
import normalizeWgsl from '../../shaders/normalize.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type Kernel, type StructView } from '../gpu/kernel';
import { storageBuffer, uniformBuffer } from '../gpu/buffers';
import { COMMON_WGSL } from '../gpu/wgsl';
import { agentsBuffer, assertAgents, type Agents } from '../gpu/agents';
import { agentParamsWgsl } from '../core/agentParams';
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

/** The normalize family: common.wgsl, the AgentParams struct, normalize.wgsl. */
export const NORMALIZE_SOURCES: readonly string[] = [COMMON_WGSL, agentParamsWgsl(), normalizeWgsl];

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
    const family = await ShaderFamily.load(gpu, 'normalize', NORMALIZE_SOURCES);
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

/** Checks `agents` and that each buffer holds P blocks of its per-agent size (`[shape]` in messages); returns P. */
function checkBlocks(label: string, agents: Agents | undefined, buffers: Record<string, [GPUBuffer, string, number]>): number {
  if (agents) assertAgents(label, agents);
  const P = agents?.count ?? 1;
  for (const [name, [buffer, shape, floats]] of Object.entries(buffers)) {
    if (!Number.isInteger(floats) || floats < 1) throw new Error(`${label}: ${name} ${shape} must hold at least one value, got ${floats}`);
    if (buffer.size < P * floats * 4) {
      const whole = agents ? `[P]${shape} = ${P} × ${floats}` : `${shape} = ${floats}`;
      throw new Error(`${label}: ${name} buffer ${buffer.label} holds ${buffer.size / 4} values, ${whole} needs ${P * floats}`);
    }
  }
  return P;
}

/** The normalisation kernels of one device. */
export class NormalizeKernels {
  private constructor(readonly gpu: GpuContext, private readonly family: NormalizeFamily) {}

  /** Compiles normalize.wgsl once per device. */
  static async create(gpu: GpuContext): Promise<NormalizeKernels> {
    return new NormalizeKernels(gpu, await normalizeFamily(gpu));
  }

  /**
   * `output` = clip((input − mean) / sqrt(var + ε), ±NORM_CLIP), `rows` rows of `dim` components
   * (per agent: input and output [P][rows][dim], moments [P][dim][3] with `agents`).
   */
  normalizeRows(o: { rows: number; dim: number; input: GPUBuffer; output: GPUBuffer; moments: GPUBuffer; label: string; agents?: Agents }): NormalizeOp {
    const { normalizeRows: kernel, normalizeArgs } = this.family;
    const rows = `[${o.rows}][${o.dim}]`;
    const P = checkBlocks(o.label, o.agents, {
      input: [o.input, rows, o.rows * o.dim],
      output: [o.output, rows, o.rows * o.dim],
      moments: [o.moments, `[${o.dim}][${MOMENT_FIELDS}]`, o.dim * MOMENT_FIELDS],
    });
    const args = uniformBuffer(this.gpu, `${o.label}.args`, normalizeArgs.pack({ rows: o.rows, dim: o.dim, clip: NORM_CLIP, epsilon: NORM_EPSILON }));
    const group = kernel.bind({ normalizeArgs: args, moments: o.moments, samples: o.input, normalized: o.output }, o.label);
    return {
      encode: (pass) => kernel.dispatch(pass, group, o.rows * o.dim, undefined, P),
      destroy: () => args.destroy(),
    };
  }

  /**
   * Merges the moments of `input`'s first T·N rows ([T][N][dim]) into `moments` (two dispatches).
   * With `agents`, input is [P][inputRows][dim] (inputRows default T·N; a rollout's obs holds more rows
   * per agent than it collects) and moments [P][dim][3].
   */
  updateMoments(o: { numEnvs: number; numSteps: number; dim: number; input: GPUBuffer; moments: GPUBuffer; label: string; inputRows?: number; agents?: Agents }): NormalizeOp {
    const { partialMoments, mergeMoments, momentsArgs } = this.family;
    const inputRows = o.inputRows ?? o.numEnvs * o.numSteps;
    if (!Number.isInteger(inputRows) || inputRows < o.numEnvs * o.numSteps) {
      throw new Error(`${o.label}: inputRows = ${inputRows} is out of range (an integer ≥ numSteps × numEnvs = ${o.numEnvs * o.numSteps})`);
    }
    const P = checkBlocks(o.label, o.agents, {
      input: [o.input, `[${inputRows}][${o.dim}]`, inputRows * o.dim],
      moments: [o.moments, `[${o.dim}][${MOMENT_FIELDS}]`, o.dim * MOMENT_FIELDS],
    });
    const args = uniformBuffer(this.gpu, `${o.label}.args`, momentsArgs.pack({ numEnvs: o.numEnvs, numSteps: o.numSteps, dim: o.dim, inputRows }));
    const partials = storageBuffer(this.gpu, `${o.label}.partials`, P * o.numEnvs * o.dim * 2 * 4);
    const partialGroup = partialMoments.bind({ momentsArgs: args, samples: o.input, partials }, `${o.label}.partial`);
    const mergeGroup = mergeMoments.bind({ momentsArgs: args, moments: o.moments, partials }, `${o.label}.merge`);
    return {
      encode: (pass) => {
        partialMoments.dispatch(pass, partialGroup, o.numEnvs, undefined, P);
        mergeMoments.dispatch(pass, mergeGroup, o.dim, undefined, P);
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
   * With `agents`: rewards, doneFlags, scaled [P][T][N], accumulator [P][N], moments
   * [P][1][3], each agent discounting with its AgentParams gamma (then no `gamma`).
   */
  scaleRewards(o: {
    numEnvs: number;
    numSteps: number;
    /** The discount; required unless `agents` is given. */
    gamma?: number;
    agents?: Agents;
    rewards: GPUBuffer;
    doneFlags: GPUBuffer;
    accumulator: GPUBuffer;
    moments: GPUBuffer;
    scaled: GPUBuffer;
    label: string;
  }): NormalizeOp {
    const { discountedReturns, scaleRewards, returnArgs } = this.family;
    const count = o.numEnvs * o.numSteps;
    if (o.agents && o.gamma !== undefined) throw new Error(`${o.label}: gamma = ${o.gamma} is not used with agents (each agent's gamma is its AgentParams gamma); leave it out`);
    if (!o.agents && !(typeof o.gamma === 'number' && o.gamma >= 0 && o.gamma <= 1)) throw new Error(`${o.label}: gamma = ${o.gamma} is out of range (a number in [0, 1])`);
    const steps = `[${o.numSteps}][${o.numEnvs}]`;
    const P = checkBlocks(o.label, o.agents, {
      rewards: [o.rewards, steps, count],
      doneFlags: [o.doneFlags, steps, count],
      scaled: [o.scaled, steps, count],
      accumulator: [o.accumulator, `[${o.numEnvs}]`, o.numEnvs],
      moments: [o.moments, `[1][${MOMENT_FIELDS}]`, MOMENT_FIELDS],
    });
    // A single run is a population of one, with its gamma in its own record.
    const ownAgents = o.agents ? null : agentsBuffer(this.gpu, `${o.label}.agents`, [{ gamma: o.gamma }]);
    const agents = o.agents ?? ownAgents!;
    const args = uniformBuffer(this.gpu, `${o.label}.args`, returnArgs.pack({ numEnvs: o.numEnvs, numSteps: o.numSteps, clip: NORM_CLIP, epsilon: NORM_EPSILON }));
    const discounted = storageBuffer(this.gpu, `${o.label}.discounted`, P * count * 4);
    const returnsGroup = discountedReturns.bind(
      { returnArgs: args, samples: o.rewards, doneFlags: o.doneFlags, accumulator: o.accumulator, discounted, agents: agents.params },
      `${o.label}.returns`,
    );
    const moments = this.updateMoments({ numEnvs: o.numEnvs, numSteps: o.numSteps, dim: 1, input: discounted, moments: o.moments, label: `${o.label}.moments`, agents: o.agents });
    const scaleGroup = scaleRewards.bind({ returnArgs: args, moments: o.moments, samples: o.rewards, scaled: o.scaled }, `${o.label}.scale`);
    return {
      encode: (pass) => {
        discountedReturns.dispatch(pass, returnsGroup, o.numEnvs, undefined, P);
        moments.encode(pass);
        scaleRewards.dispatch(pass, scaleGroup, count, undefined, P);
      },
      destroy: () => {
        args.destroy();
        discounted.destroy();
        moments.destroy();
        ownAgents?.params.destroy();
      },
    };
  }
}

/**
 * Normalised observations as the policy's rollout input: each step, the
 * current observations through `moments` into a buffer of their own (for a
 * population's rollout, each agent's through its own block of `moments`, [P][dim][3]);
 * a fused rollout normalises each env's row itself (`rowNormalize`).
 */
export function normalizedPolicyInput(kernels: NormalizeKernels, moments: GPUBuffer): PolicyInputSource {
  const source = (currentObs: GPUBuffer, rows: number, dim: number, label: string, agents?: Agents): PolicyInput => {
    const input = storageBuffer(kernels.gpu, `${label}.normalizedObs`, (agents?.count ?? 1) * rows * dim * 4);
    const op = kernels.normalizeRows({ rows, dim, input: currentObs, output: input, moments, label: `${label}.normalizeObs`, agents });
    return {
      input,
      encode: (pass) => op.encode(pass),
      destroy: () => {
        op.destroy();
        input.destroy();
      },
    };
  };
  return Object.assign(source, { rowNormalize: { moments, clip: NORM_CLIP, epsilon: NORM_EPSILON } });
}
