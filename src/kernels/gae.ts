/** GAE backward scan (shaders/gae.wgsl): advantages and returns from one rollout, on the GPU. */
import gaeWgsl from '../../shaders/gae.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type Kernel, type StructView, recordChecked } from '../gpu/kernel';
import { storageBuffer, uniformBuffer } from '../gpu/buffers';
import { GpuArray, assertArraysAlive, bufferArg, type BufferArg } from '../gpu/array';
import { COMMON_WGSL } from '../gpu/wgsl';

/**
 * The scan's buffers, each a GpuArray (its dtype and shape checked) or a raw
 * GPUBuffer (its size checked). T = numSteps, N = numEnvs.
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

/** Sizes and coefficients of a GAE scan (T = numSteps, N = numEnvs). */
export interface GaeOptions {
  /** N, the envs (columns of every [T][N] array). */
  numEnvs: number;
  /** T, the steps per env (rows). */
  numSteps: number;
  /** Discount γ. */
  gamma: number;
  /** GAE λ: 0 gives one-step TD errors, 1 Monte-Carlo returns minus values. */
  lambda: number;
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

/** The scan's pipeline and argument struct, compiled once per device. */
function gaeKernel(gpu: GpuContext): Promise<{ kernel: Kernel; args: StructView }> {
  return perDevice(gpu, 'kernels:gae', async () => {
    const family = await ShaderFamily.load(gpu, 'gae', [COMMON_WGSL, gaeWgsl]);
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
    const slots = Math.ceil(T / maxEpisodeSteps);
    const readsFinalValues = !options.truncationAsTerminal;
    if (readsFinalValues && buffers.finalValues === undefined) {
      throw new Error(`${label}: finalValues is required when truncationAsTerminal is false (f32 [K][N] = [${slots}, ${n}])`);
    }
    if (buffers.finalValues instanceof GpuArray && finalValuesOffset !== 0) {
      throw new Error(`${label}: finalValuesOffset applies to a raw buffer; for a GpuArray pass a view (array.view([${slots}, ${n}], ${finalValuesOffset}))`);
    }
    const rows = [T, n];
    const f32 = (shape: number[], layout: string) => ({ dtype: 'f32' as const, shape, layout });
    const specs = {
      rewards: f32(rows, '[T][N]'),
      doneFlags: { dtype: 'u32' as const, shape: rows, layout: '[T][N] (bit 0 terminated, bit 1 truncated)' },
      values: f32([T + 1, n], '[T+1][N]'),
      finalValues: f32([slots, n], '[K][N], K = ceil(T / maxEpisodeSteps)'),
      advantages: f32(rows, '[T][N]'),
      returns: f32(rows, '[T][N]'),
    };
    const bound: Record<string, GPUBuffer | GPUBufferBinding> = {};
    for (const name of ['rewards', 'doneFlags', 'values', 'advantages', 'returns'] as const) {
      if (buffers[name] !== undefined || (name !== 'advantages' && name !== 'returns')) bound[name] = bufferArg(label, name, buffers[name], specs[name]);
    }
    if (readsFinalValues) bound.finalValues = bufferArg(label, 'finalValues', buffers.finalValues, specs.finalValues);
    const need = (name: keyof GaeBuffers, floats: number) => {
      const b = bound[name];
      if (b && 'usage' in b && b.size < floats * 4) throw new Error(`${label}: ${name} buffer ${b.label} holds ${b.size} bytes, needs ${floats * 4}`);
    };
    for (const name of ['rewards', 'doneFlags', 'advantages', 'returns'] as const) need(name, T * n);
    need('values', (T + 1) * n);
    if (readsFinalValues && !(buffers.finalValues instanceof GpuArray)) need('finalValues', finalValuesOffset + slots * n);

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
        gamma: options.gamma,
        lambda: options.lambda,
        truncationAsTerminal: options.truncationAsTerminal ? 1 : 0,
        maxEpisodeSteps,
        finalValuesOffset,
      }),
    );
    owned.push(args);
    const allocated = (['advantages', 'returns'] as const).filter((name) => buffers[name] === undefined);
    return new Gae(kernel, kernel.bind({ args, ...bound }, label), owned, options, allocated, buffers.finalValues, arrays, label);
  }

  /** Records the scan; throws first if an array it was bound to has been destroyed since. */
  encode(pass: GPUComputePassEncoder): void {
    recordChecked(this.kernel.gpu, `${this.label}.encode`, pass, (pass) => {
      assertArraysAlive(`${this.label}.encode`, { ...this.arrays, finalValues: this.finalValues });
      this.kernel.dispatch(pass, this.bindGroup, this.options.numEnvs);
    });
  }

  /** Releases the uniform and the outputs it allocated (what the caller passed stays the caller's). */
  destroy(): void {
    for (const buffer of this.owned) buffer.destroy();
    for (const name of this.allocated) this.arrays[name].destroy();
  }
}
