/** GAE backward scan (shaders/gae.wgsl): advantages and returns from one rollout, on the GPU. */
import gaeWgsl from '../../shaders/gae.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type Kernel, type StructView } from '../gpu/kernel';
import { uniformBuffer } from '../gpu/buffers';
import { COMMON_WGSL } from '../gpu/wgsl';

export interface GaeBuffers {
  /** [T][N] f32 */
  rewards: GPUBuffer;
  /** [T][N] u32: bit 0 terminated, bit 1 truncated */
  doneFlags: GPUBuffer;
  /** [T+1][N] f32 */
  values: GPUBuffer;
  /** [K][N] f32 from element `finalValuesOffset`, K = ceil(T / maxEpisodeSteps); may be `values` itself. */
  finalValues: GPUBuffer;
  advantages: GPUBuffer;
  returns: GPUBuffer;
}

export interface GaeOptions {
  numEnvs: number;
  numSteps: number;
  gamma: number;
  lambda: number;
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
    private readonly args: GPUBuffer,
    readonly options: GaeOptions,
  ) {}

  static async create(gpu: GpuContext, buffers: GaeBuffers, options: GaeOptions, label = 'gae'): Promise<Gae> {
    const { numEnvs: n, numSteps: T, maxEpisodeSteps = 1, finalValuesOffset = 0 } = options;
    if (!Number.isInteger(maxEpisodeSteps) || maxEpisodeSteps < 1 || maxEpisodeSteps > 0xffffffff) {
      throw new Error(`${label}: maxEpisodeSteps must be an integer in [1, 4294967295], got ${maxEpisodeSteps}`);
    }
    if (!Number.isInteger(finalValuesOffset) || finalValuesOffset < 0) {
      throw new Error(`${label}: finalValuesOffset must be a non-negative integer, got ${finalValuesOffset}`);
    }
    const need = (name: keyof GaeBuffers, floats: number) => {
      if (buffers[name].size < floats * 4) {
        throw new Error(`${label}: ${name} buffer ${buffers[name].label} holds ${buffers[name].size} bytes, needs ${floats * 4}`);
      }
    };
    for (const name of ['rewards', 'doneFlags', 'advantages', 'returns'] as const) need(name, T * n);
    need('values', (T + 1) * n);
    if (!options.truncationAsTerminal) need('finalValues', finalValuesOffset + Math.ceil(T / maxEpisodeSteps) * n);
    const { kernel, args: argsView } = await gaeKernel(gpu);
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
    return new Gae(kernel, kernel.bind({ args, ...buffers }, label), args, options);
  }

  encode(pass: GPUComputePassEncoder): void {
    this.kernel.dispatch(pass, this.bindGroup, this.options.numEnvs);
  }

  /** Releases the uniform buffer (the bound buffers belong to the caller). */
  destroy(): void {
    this.args.destroy();
  }
}
