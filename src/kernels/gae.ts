/** GAE backward scan (shaders/gae.wgsl): advantages and returns from one rollout, on the GPU. */
import gaeWgsl from '../../shaders/gae.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, type Kernel } from '../gpu/kernel';
import { uniformBuffer } from '../gpu/buffers';

export interface GaeBuffers {
  rewards: GPUBuffer;
  doneFlags: GPUBuffer;
  values: GPUBuffer;
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
}

/** A GAE scan bound once to rollout buffers; `encode` records one dispatch. */
export class Gae {
  private constructor(
    private readonly kernel: Kernel,
    private readonly bindGroup: GPUBindGroup,
    readonly options: GaeOptions,
  ) {}

  static async create(gpu: GpuContext, buffers: GaeBuffers, options: GaeOptions, label = 'gae'): Promise<Gae> {
    const family = await ShaderFamily.load(gpu, 'gae', gaeWgsl);
    const kernel = await family.kernel('gae');
    const args = uniformBuffer(
      gpu,
      `${label}.args`,
      family.struct('GaeArgs').pack({
        numEnvs: options.numEnvs,
        numSteps: options.numSteps,
        gamma: options.gamma,
        lambda: options.lambda,
        truncationAsTerminal: options.truncationAsTerminal ? 1 : 0,
      }),
    );
    return new Gae(kernel, kernel.bind({ args, ...buffers }, label), options);
  }

  encode(pass: GPUComputePassEncoder): void {
    this.kernel.dispatch(pass, this.bindGroup, this.options.numEnvs);
  }
}
