/**
 * GAE backward scan (shaders/gae.wgsl): advantages and returns from one rollout,
 * on the GPU; given `agents`, from every agent's rollout in the same dispatch,
 * each with its own γ and λ.
 */
import gaeWgsl from '../../shaders/gae.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type Kernel, type StructView, recordChecked } from '../gpu/kernel';
import { storageBuffer, uniformBuffer } from '../gpu/buffers';
import { GpuArray, assertArraysAlive, bufferArg, type BufferArg } from '../gpu/array';
import { COMMON_WGSL } from '../gpu/wgsl';
import { agentsBuffer, assertAgents, type Agents } from '../gpu/agents';
import { agentParamsWgsl } from '../core/agentParams';

/** shaders/gae.wgsl with what it is loaded after. */
export const GAE_SOURCES: readonly string[] = [COMMON_WGSL, agentParamsWgsl(), gaeWgsl];

/**
 * The scan's buffers, each a GpuArray (its dtype and shape checked) or a raw
 * GPUBuffer (its size checked). T = numSteps, N = numEnvs. With `agents`
 * (P = agents.count > 1) each holds P blocks, agent-major, each block the
 * single-agent buffer: a GpuArray has the leading dimension ([P, T, N]).
 */
export interface GaeBuffers {
  /** f32 [T][N] */
  rewards: BufferArg;
  /** u32 [T][N]: bit 0 terminated, bit 1 truncated (`packDoneFlags` makes them). */
  doneFlags: BufferArg;
  /** f32 [T+1][N]: V(obs_t), row T the bootstrap value after the last step. */
  values: BufferArg;
  /**
   * f32 [K][N], K = ceil(T / maxEpisodeSteps): V of the observation each
   * truncated step reached. Read only when truncationAsTerminal is false (then
   * required). A raw buffer is read from element `finalValuesOffset`; it may be
   * `values` itself.
   */
  finalValues?: BufferArg;
  /** f32 [T][N] output; allocated (and released by `destroy`) when omitted. */
  advantages?: BufferArg;
  /** f32 [T][N] output (advantages + values); allocated when omitted. */
  returns?: BufferArg;
}

/** The scan's outputs (and inputs) as GpuArrays: `await gae.arrays.advantages.read()`. */
export interface GaeArrays {
  rewards: GpuArray<'f32'>;
  doneFlags: GpuArray<'u32'>;
  values: GpuArray<'f32'>;
  advantages: GpuArray<'f32'>;
  returns: GpuArray<'f32'>;
}

/** Done flags as the GAE kernel reads them: bit 0 terminated, bit 1 truncated, from two per-step 0/1 (or boolean) lists. */
export function packDoneFlags(terminated: ArrayLike<number | boolean>, truncated: ArrayLike<number | boolean>): Uint32Array<ArrayBuffer> {
  if (terminated.length !== truncated.length) {
    throw new Error(`packDoneFlags: terminated has ${terminated.length} entries, truncated ${truncated.length}`);
  }
  return Uint32Array.from({ length: terminated.length }, (_, i) => (terminated[i] ? 1 : 0) | (truncated[i] ? 2 : 0));
}

/** Sizes of a GAE scan (T = numSteps, N = numEnvs). */
export interface GaeShape {
  /** N, the envs (columns of every [T][N] array). */
  numEnvs: number;
  /** T, the steps per env (rows). */
  numSteps: number;
  /** Raw `values` buffer: floats between agents' blocks (default (T+1)·N). */
  valuesStride?: number;
  /** Raw `finalValues` buffer: floats between agents' blocks (default finalValuesOffset + K·N). */
  finalValuesStride?: number;
  /** Treat a truncated step as terminal (no bootstrap); false bootstraps from `finalValues`. */
  truncationAsTerminal: boolean;
  /**
   * The env's time limit. One env's truncations are at least this many steps
   * apart, so step t's final value sits in slot floor(t / maxEpisodeSteps) · N + env.
   * Default 1: finalValues is dense, [T][N].
   */
  maxEpisodeSteps?: number;
  /** Element of `finalValues` where slot 0 is (default 0). */
  finalValuesOffset?: number;
}

/** A GAE scan's sizes with its coefficients: γ and λ for one agent, or `agents` whose records hold each agent's. */
export type GaeOptions = GaeShape &
  (
    | {
        /** Discount γ. */
        gamma: number;
        /** GAE λ: 0 gives one-step TD errors, 1 Monte-Carlo returns minus values. */
        lambda: number;
        agents?: undefined;
      }
    | {
        /** A population: one scan per agent in the same dispatch, γ and λ from agents[a].gamma, agents[a].lambda. */
        agents: Agents;
        gamma?: undefined;
        lambda?: undefined;
      }
  );

/** The scan's pipeline and argument struct, compiled once per device. */
function gaeKernel(gpu: GpuContext): Promise<{ kernel: Kernel; args: StructView }> {
  return perDevice(gpu, 'kernels:gae', async () => {
    const family = await ShaderFamily.load(gpu, 'gae', GAE_SOURCES);
    return { kernel: await family.kernel('gae'), args: family.struct('GaeArgs') };
  });
}

/** A GAE scan bound once to rollout buffers; `encode` records one dispatch. */
export class Gae {
  private constructor(
    private readonly kernel: Kernel,
    private readonly bindGroup: GPUBindGroup,
    /** The uniform, and what `create` allocated. */
    private readonly owned: GPUBuffer[],
    readonly options: GaeOptions,
    /** Which outputs `create` allocated (released by `destroy`). */
    private readonly allocated: readonly ('advantages' | 'returns')[],
    /** finalValues as given: checked again by `encode`, with the arrays. */
    private readonly finalValues: unknown,
    readonly arrays: GaeArrays,
    readonly label: string,
    /** Agents the dispatch covers. */
    readonly agentCount: number,
  ) {}

  /**
   * Binds the scan to `buffers`. Every argument is checked before any GPU
   * work: one error naming the argument, the expected dtype and shape, and
   * what was given.
   */
  static async create(gpu: GpuContext, buffers: GaeBuffers, options: GaeOptions, label = 'gae'): Promise<Gae> {
    const { numEnvs: n, numSteps: T, maxEpisodeSteps = 1, finalValuesOffset = 0 } = options;
    for (const [name, value] of [['numEnvs', n], ['numSteps', T]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new Error(`${label}: ${name} must be a positive integer, got ${JSON.stringify(value)}`);
    }
    if (!Number.isInteger(maxEpisodeSteps) || maxEpisodeSteps < 1 || maxEpisodeSteps > 0xffffffff) {
      throw new Error(`${label}: maxEpisodeSteps must be an integer in [1, 4294967295], got ${maxEpisodeSteps}`);
    }
    if (!Number.isInteger(finalValuesOffset) || finalValuesOffset < 0) {
      throw new Error(`${label}: finalValuesOffset must be a non-negative integer, got ${finalValuesOffset}`);
    }
    if (options.agents) {
      assertAgents(label, options.agents);
      for (const name of ['gamma', 'lambda'] as const) {
        if (options[name] !== undefined) throw new Error(`${label}: ${name} comes from agents (AgentParams.${name}); do not pass it with agents`);
      }
    } else {
      for (const name of ['gamma', 'lambda'] as const) {
        const value = options[name];
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${label}: ${name} must be a finite number, got ${JSON.stringify(value)}`);
      }
    }
    const P = options.agents?.count ?? 1;
    const slots = Math.ceil(T / maxEpisodeSteps);
    const readsFinalValues = !options.truncationAsTerminal;
    if (readsFinalValues && buffers.finalValues === undefined) {
      throw new Error(`${label}: finalValues is required when truncationAsTerminal is false (f32 [K][N] = [${slots}, ${n}])`);
    }
    if (buffers.finalValues instanceof GpuArray && finalValuesOffset !== 0) {
      throw new Error(`${label}: finalValuesOffset applies to a raw buffer; for a GpuArray pass a view (array.view([${slots}, ${n}], ${finalValuesOffset}))`);
    }
    // A population's arrays lead with the agent dimension.
    const lead = P > 1 ? [P] : [];
    const prefix = P > 1 ? '[P]' : '';
    const rows = [...lead, T, n];
    const f32 = (shape: number[], layout: string) => ({ dtype: 'f32' as const, shape, layout: prefix + layout });
    const specs = {
      rewards: f32(rows, '[T][N]'),
      doneFlags: { dtype: 'u32' as const, shape: rows, layout: `${prefix}[T][N] (bit 0 terminated, bit 1 truncated)` },
      values: f32([...lead, T + 1, n], '[T+1][N]'),
      finalValues: f32([...lead, slots, n], '[K][N], K = ceil(T / maxEpisodeSteps)'),
      advantages: f32(rows, '[T][N]'),
      returns: f32(rows, '[T][N]'),
    };
    for (const [name, stride] of [['values', options.valuesStride], ['finalValues', options.finalValuesStride]] as const) {
      if (stride !== undefined && buffers[name] instanceof GpuArray) throw new Error(`${label}: ${name}Stride applies to a raw buffer; a GpuArray's shape gives its blocks`);
    }
    const valuesStride = options.valuesStride ?? (T + 1) * n;
    const finalValuesStride = options.finalValuesStride ?? (buffers.finalValues instanceof GpuArray ? slots * n : finalValuesOffset + slots * n);
    if (!Number.isInteger(valuesStride) || valuesStride < (T + 1) * n) throw new Error(`${label}: valuesStride must be an integer ≥ (T+1)·N = ${(T + 1) * n}, got ${valuesStride}`);
    if (!Number.isInteger(finalValuesStride) || finalValuesStride < finalValuesOffset + slots * n) {
      throw new Error(`${label}: finalValuesStride must be an integer ≥ finalValuesOffset + K·N = ${finalValuesOffset + slots * n}, got ${finalValuesStride}`);
    }
    const bound: Record<string, GPUBuffer | GPUBufferBinding> = {};
    for (const name of ['rewards', 'doneFlags', 'values', 'advantages', 'returns'] as const) {
      if (buffers[name] !== undefined || (name !== 'advantages' && name !== 'returns')) bound[name] = bufferArg(label, name, buffers[name], specs[name]);
    }
    if (readsFinalValues) bound.finalValues = bufferArg(label, 'finalValues', buffers.finalValues, specs.finalValues);
    // A raw buffer holds P blocks of `stride` floats, the last one at least `floats` long.
    const need = (name: keyof GaeBuffers, floats: number, stride = floats) => {
      const b = bound[name];
      const total = (P - 1) * stride + floats;
      if (b && 'usage' in b && b.size < total * 4) throw new Error(`${label}: ${name} buffer ${b.label} holds ${b.size} bytes, needs ${total * 4}${P > 1 ? ` (${P} agents × ${stride} floats)` : ''}`);
    };
    for (const name of ['rewards', 'doneFlags', 'advantages', 'returns'] as const) need(name, T * n);
    need('values', (T + 1) * n, valuesStride);
    if (readsFinalValues && !(buffers.finalValues instanceof GpuArray)) need('finalValues', finalValuesOffset + slots * n, finalValuesStride);

    const { kernel, args: argsView } = await gaeKernel(gpu);
    const owned: GPUBuffer[] = [];
    // A GpuArray given has been checked to have the spec's dtype.
    const arrayOf = <D extends 'f32' | 'u32'>(name: keyof typeof specs, dtype: D): GpuArray<D> => {
      const value = buffers[name];
      if (value instanceof GpuArray) return value as GpuArray<D>;
      if (value !== undefined) return GpuArray.wrap(gpu, value, dtype, specs[name].shape, `${label}.${name}`);
      const array = GpuArray.zeros(gpu, dtype, specs[name].shape, `${label}.${name}`);
      bound[name] = array.buffer;
      return array;
    };
    const arrays: GaeArrays = {
      rewards: arrayOf('rewards', 'f32'),
      doneFlags: arrayOf('doneFlags', 'u32'),
      values: arrayOf('values', 'f32'),
      advantages: arrayOf('advantages', 'f32'),
      returns: arrayOf('returns', 'f32'),
    };
    // Not read when truncations are terminal; the binding still needs a buffer.
    if (!bound.finalValues) {
      const placeholder = storageBuffer(gpu, `${label}.finalValuesUnused`, 16);
      owned.push(placeholder);
      bound.finalValues = placeholder;
    }
    const args = uniformBuffer(
      gpu,
      `${label}.args`,
      argsView.pack({
        numEnvs: n,
        numSteps: T,
        truncationAsTerminal: options.truncationAsTerminal ? 1 : 0,
        maxEpisodeSteps,
        finalValuesOffset,
        valuesStride,
        finalValuesStride,
      }),
    );
    owned.push(args);
    let agents = options.agents;
    if (!agents) {
      agents = agentsBuffer(gpu, `${label}.agents`, [{ gamma: options.gamma, lambda: options.lambda }]);
      owned.push(agents.params);
    }
    const allocated = (['advantages', 'returns'] as const).filter((name) => buffers[name] === undefined);
    return new Gae(kernel, kernel.bind({ args, ...bound, agents: agents.params }, label), owned, options, allocated, buffers.finalValues, arrays, label, agents.count);
  }

  /** Records the scan; throws first if an array it was bound to has been destroyed since. */
  encode(pass: GPUComputePassEncoder): void {
    recordChecked(this.kernel.gpu, `${this.label}.encode`, pass, (pass) => {
      assertArraysAlive(`${this.label}.encode`, { ...this.arrays, finalValues: this.finalValues });
      this.kernel.dispatch(pass, this.bindGroup, this.options.numEnvs, undefined, this.agentCount);
    });
  }

  /** Releases the uniform and the outputs it allocated (what the caller passed stays the caller's). */
  destroy(): void {
    for (const buffer of this.owned) buffer.destroy();
    for (const name of this.allocated) this.arrays[name].destroy();
  }
}
