/**
 * Adam on flat f32 vectors (shaders/optim.wgsl) with its control block on the
 * GPU: step count, learning rate, gradient scale (global-norm clipping) and an
 * active flag, so early stopping and clipping need no readback. `encodeStep`
 * records the step into the caller's compute pass.
 */
import optimWgsl from '../../shaders/optim.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, type Kernel, type StructView } from '../gpu/kernel';
import { readFloat32, storageBuffer, uniformBuffer } from '../gpu/buffers';
import { Reduction, ReduceKernels } from './reduce';

interface OptimKernels {
  prepare: Kernel;
  prepareExternal: Kernel;
  adam: Kernel;
  args: StructView;
  control: StructView;
}

const compiled = new WeakMap<GPUDevice, Promise<OptimKernels>>();

function optimKernels(gpu: GpuContext): Promise<OptimKernels> {
  let kernels = compiled.get(gpu.device);
  if (!kernels) {
    kernels = (async () => {
      const family = await ShaderFamily.load(gpu, 'optim', optimWgsl);
      const k = await family.kernels({ adam_prepare: undefined, adam_prepare_external: undefined, adam: undefined });
      return {
        prepare: k.adam_prepare,
        prepareExternal: k.adam_prepare_external,
        adam: k.adam,
        args: family.struct('AdamArgs'),
        control: family.struct('AdamControl'),
      };
    })();
    compiled.set(gpu.device, kernels);
  }
  return kernels;
}

export interface AdamOptions {
  /** Length of the parameter vector. */
  count: number;
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Scale gradients to a global L2 norm of at most this (no clipping when absent). */
  maxGradNorm?: number;
  /** An f32 flag in another buffer (e.g. a metrics block) that gates every step: > 0 active. */
  activeFlag?: { buffer: GPUBuffer; index: number };
  label?: string;
}

/** Names of the arrays readState/writeState exchange (for checkpoints). */
export type AdamStatePart = 'm' | 'v' | 'control';

interface StepBinding {
  prepare: GPUBindGroup;
  adam: GPUBindGroup;
  gradNorm: Reduction | null;
}

export class Adam {
  readonly stateParts: readonly AdamStatePart[] = ['m', 'v', 'control'];
  /** Per (params, grads) pair: bind groups and the clipping reduction, made on first use. */
  private readonly steps = new Map<GPUBuffer, Map<GPUBuffer, StepBinding>>();

  private constructor(
    private readonly gpu: GpuContext,
    private readonly kernels: OptimKernels,
    private readonly reduceKernels: ReduceKernels | null,
    readonly options: Readonly<AdamOptions> & { label: string },
    private readonly args: GPUBuffer,
    /** First moments, [count]. */
    readonly m: GPUBuffer,
    /** Second moments, [count]. */
    readonly v: GPUBuffer,
    /** The AdamControl block; other kernels may write its `activeFlag` field (see controlView). */
    readonly controlBuffer: GPUBuffer,
  ) {}

  static async create(gpu: GpuContext, options: AdamOptions): Promise<Adam> {
    const label = options.label ?? 'adam';
    const { count, lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, maxGradNorm } = options;
    if (!Number.isInteger(count) || count < 1) throw new Error(`${label}: count must be a positive integer, got ${count}`);
    if (!(lr >= 0)) throw new Error(`${label}: lr must be ≥ 0, got ${lr}`);
    for (const [name, beta] of [['beta1', beta1], ['beta2', beta2]] as const) {
      if (!(beta >= 0 && beta < 1)) throw new Error(`${label}: ${name} must be in [0, 1), got ${beta}`);
    }
    if (!(eps > 0)) throw new Error(`${label}: eps must be > 0, got ${eps}`);
    if (maxGradNorm !== undefined && !(maxGradNorm > 0)) throw new Error(`${label}: maxGradNorm must be > 0 when given, got ${maxGradNorm}`);
    const flag = options.activeFlag;
    if (flag && (!Number.isInteger(flag.index) || flag.index < 0 || (flag.index + 1) * 4 > flag.buffer.size)) {
      throw new Error(`${label}: activeFlag index ${flag.index} is outside buffer ${flag.buffer.label} (${flag.buffer.size / 4} floats)`);
    }
    const [kernels, reduceKernels] = await Promise.all([
      optimKernels(gpu),
      maxGradNorm !== undefined ? ReduceKernels.create(gpu) : Promise.resolve(null),
    ]);
    const args = uniformBuffer(
      gpu,
      `${label}.args`,
      kernels.args.pack({
        count,
        beta1,
        beta2,
        oneMinusBeta1: 1 - beta1,
        oneMinusBeta2: 1 - beta2,
        eps,
        clip: maxGradNorm !== undefined ? 1 : 0,
        maxGradNorm: maxGradNorm ?? 0,
        activeIndex: flag?.index ?? 0,
      }),
    );
    const control = storageBuffer(gpu, `${label}.control`, kernels.control.paddedSize);
    const adam = new Adam(
      gpu,
      kernels,
      reduceKernels,
      { ...options, label },
      args,
      storageBuffer(gpu, `${label}.m`, count * 4),
      storageBuffer(gpu, `${label}.v`, count * 4),
      control,
    );
    gpu.device.queue.writeBuffer(control, 0, adam.initialControl(lr));
    return adam;
  }

  /** Field offsets of the control block (e.g. offsetOf('activeFlag') for a kernel that gates steps). */
  get controlView(): StructView {
    return this.kernels.control;
  }

  /** Queues a write of the learning rate (takes effect for steps submitted after it). */
  setLearningRate(lr: number): void {
    this.writeControl('learningRate', lr);
  }

  /** Queues a write of the control block's own active flag (ignored when an external activeFlag is used). */
  setActive(active: boolean): void {
    this.writeControl('activeFlag', active ? 1 : 0);
  }

  /**
   * Records one Adam step on `params` with `grads`: with clipping, a
   * sum-of-squares reduction of grads into the control block, then the
   * prepare dispatch, then the update.
   */
  encodeStep(pass: GPUComputePassEncoder, params: GPUBuffer, grads: GPUBuffer): void {
    const binding = this.binding(params, grads);
    binding.gradNorm?.encode(pass);
    (this.options.activeFlag ? this.kernels.prepareExternal : this.kernels.prepare).dispatch(pass, binding.prepare, 1);
    this.kernels.adam.dispatch(pass, binding.adam, this.options.count);
  }

  async readState(): Promise<Record<AdamStatePart, Float32Array>> {
    const { count } = this.options;
    return {
      m: await readFloat32(this.gpu, this.m, 0, count),
      v: await readFloat32(this.gpu, this.v, 0, count),
      control: await readFloat32(this.gpu, this.controlBuffer, 0, this.kernels.control.size / 4),
    };
  }

  writeState(state: Record<string, Float32Array>): void {
    const lengths: Record<AdamStatePart, number> = { m: this.options.count, v: this.options.count, control: this.kernels.control.size / 4 };
    const targets: Record<AdamStatePart, GPUBuffer> = { m: this.m, v: this.v, control: this.controlBuffer };
    for (const part of this.stateParts) {
      const a = state[part];
      if (!a || a.length !== lengths[part]) {
        throw new Error(`${this.options.label}.writeState: "${part}" needs ${lengths[part]} values, got ${a ? a.length : 'none'}`);
      }
    }
    for (const part of this.stateParts) this.gpu.device.queue.writeBuffer(targets[part], 0, new Float32Array(state[part]));
  }

  /** Zero moments and step count; learning rate and flag as at creation. */
  reset(): void {
    const zeros = new Float32Array(this.options.count);
    this.gpu.device.queue.writeBuffer(this.m, 0, zeros);
    this.gpu.device.queue.writeBuffer(this.v, 0, zeros);
    this.gpu.device.queue.writeBuffer(this.controlBuffer, 0, this.initialControl(this.options.lr));
  }

  destroy(): void {
    for (const b of [this.args, this.m, this.v, this.controlBuffer]) b.destroy();
    for (const byGrads of this.steps.values()) for (const s of byGrads.values()) s.gradNorm?.destroy();
  }

  private initialControl(lr: number): ArrayBuffer {
    return this.kernels.control.pack({
      step: 0,
      learningRate: lr,
      gradScale: 1,
      gradNormSquared: 0,
      activeFlag: 1,
      biasCorrection1: 0,
      biasCorrection2: 0,
    });
  }

  private writeControl(field: string, value: number): void {
    this.gpu.device.queue.writeBuffer(this.controlBuffer, this.kernels.control.offsetOf(field), Float32Array.of(value));
  }

  private binding(params: GPUBuffer, grads: GPUBuffer): StepBinding {
    let byGrads = this.steps.get(params);
    if (!byGrads) this.steps.set(params, (byGrads = new Map()));
    let binding = byGrads.get(grads);
    if (binding) return binding;
    const { count, label, activeFlag } = this.options;
    for (const [name, buffer] of [['params', params], ['grads', grads]] as const) {
      if (buffer.size < count * 4) throw new Error(`${label}: ${name} buffer ${buffer.label} holds ${buffer.size / 4} floats, needs ${count}`);
    }
    const { kernels, args, controlBuffer: control } = this;
    const prepare = activeFlag
      ? kernels.prepareExternal.bind({ args, control, externalFlag: activeFlag.buffer }, `${label}.prepare`)
      : kernels.prepare.bind({ args, control }, `${label}.prepare`);
    const adam = kernels.adam.bind({ args, controlIn: control, params, grads, m: this.m, v: this.v }, label);
    const gradNorm = this.reduceKernels
      ? Reduction.create(this.gpu, this.reduceKernels, {
          input: grads,
          count,
          op: 'sumSquares',
          output: control,
          outputIndex: kernels.control.offsetOf('gradNormSquared') / 4,
          label: `${label}.gradNormSquared`,
        })
      : null;
    binding = { prepare, adam, gradNorm };
    byGrads.set(grads, binding);
    return binding;
  }
}
