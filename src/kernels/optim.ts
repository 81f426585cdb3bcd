/**
 * Adam on flat f32 vectors (shaders/optim.wgsl) with its control block on the
 * GPU: step count, learning rate, gradient scale (global-norm clipping) and an
 * active flag, so early stopping and clipping need no readback. `encodeStep`
 * records the step into the caller's compute pass: one dispatch (two more for
 * the gradient norm with clipping).
 *
 * The control block has two copies; a step reads one and writes the other, and
 * the host alternates them per recorded step. So every recorded step must be
 * submitted, in recording order: a step recorded and never submitted (e.g. on a
 * stand-in pass that counts dispatches) leaves the next one reading the older
 * copy, one step behind in t. Host writes (learning rate, flag, state) go to
 * both copies, so they do not depend on the alternation.
 */
import optimWgsl from '../../shaders/optim.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, type Kernel, type StructView } from '../gpu/kernel';
import { readFloat32, storageBuffer, uniformBuffer } from '../gpu/buffers';
import { Reduction, ReduceKernels } from './reduce';

interface OptimKernels {
  adam: Kernel;
  adamExternal: Kernel;
  args: StructView;
  control: StructView;
}

const compiled = new WeakMap<GPUDevice, Promise<OptimKernels>>();

function optimKernels(gpu: GpuContext): Promise<OptimKernels> {
  let kernels = compiled.get(gpu.device);
  if (!kernels) {
    kernels = (async () => {
      const family = await ShaderFamily.load(gpu, 'optim', optimWgsl);
      const k = await family.kernels({ adam: { dynamicOffsets: ['args'] }, adam_external: { dynamicOffsets: ['args'] } });
      return {
        adam: k.adam,
        adamExternal: k.adam_external,
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
  adam: GPUBindGroup;
  /** Per control copy: the sum of squares of grads into that copy's gradNormSquared. */
  gradNorm: [Reduction, Reduction] | null;
}

export class Adam {
  readonly stateParts: readonly AdamStatePart[] = ['m', 'v', 'control'];
  /** Per (params, grads) pair: bind groups and the clipping reduction, made on first use. */
  private readonly steps = new Map<GPUBuffer, Map<GPUBuffer, StepBinding>>();
  /** The control copy the next recorded step reads (0 or 1). */
  private previous = 0;

  private constructor(
    private readonly gpu: GpuContext,
    private readonly kernels: OptimKernels,
    private readonly reduceKernels: ReduceKernels | null,
    readonly options: Readonly<AdamOptions> & { label: string },
    /** Two AdamArgs records, argsStride apart, reading control copy 0 and 1. */
    private readonly args: GPUBuffer,
    private readonly argsStride: number,
    /** First moments, [count]. */
    readonly m: GPUBuffer,
    /** Second moments, [count]. */
    readonly v: GPUBuffer,
    /** Two AdamControl copies, controlStride bytes apart (see controlView for the fields). */
    readonly controlBuffer: GPUBuffer,
    private readonly controlStride: number,
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
    const argsStride = Math.max(gpu.limits.minUniformBufferOffsetAlignment, kernels.args.paddedSize);
    const argsBytes = new ArrayBuffer(2 * argsStride);
    for (const previous of [0, 1]) {
      kernels.args.write(
        new DataView(argsBytes),
        {
          count,
          beta1,
          beta2,
          oneMinusBeta1: 1 - beta1,
          oneMinusBeta2: 1 - beta2,
          eps,
          clip: maxGradNorm !== undefined ? 1 : 0,
          maxGradNorm: maxGradNorm ?? 0,
          activeIndex: flag?.index ?? 0,
          previous,
        },
        previous * argsStride,
      );
    }
    const args = uniformBuffer(gpu, `${label}.args`, argsBytes);
    // The binding is array<AdamControl, 2>; reflection gives its element stride.
    const controlStride = kernels.adam.bindings.get('control')!.size;
    const adam = new Adam(
      gpu,
      kernels,
      reduceKernels,
      { ...options, label },
      args,
      argsStride,
      storageBuffer(gpu, `${label}.m`, count * 4),
      storageBuffer(gpu, `${label}.v`, count * 4),
      storageBuffer(gpu, `${label}.control`, 2 * controlStride),
      controlStride,
    );
    adam.writeBothCopies(adam.initialControl(lr));
    return adam;
  }

  /** Field offsets of the control block (as readState returns it). */
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
   * sum-of-squares reduction of grads into the control copy the step reads,
   * then the update, which also advances the control block.
   */
  encodeStep(pass: GPUComputePassEncoder, params: GPUBuffer, grads: GPUBuffer): void {
    const binding = this.binding(params, grads);
    const previous = this.previous;
    this.previous = 1 - previous;
    binding.gradNorm?.[previous].encode(pass);
    this.stepKernel.dispatch(pass, binding.adam, this.options.count, [previous * this.argsStride]);
  }

  /** Moments and the control block after the last submitted step (every recorded step must have been submitted). */
  async readState(): Promise<Record<AdamStatePart, Float32Array>> {
    const { count } = this.options;
    return {
      m: await readFloat32(this.gpu, this.m, 0, count),
      v: await readFloat32(this.gpu, this.v, 0, count),
      control: await readFloat32(this.gpu, this.controlBuffer, (this.previous * this.controlStride) / 4, this.kernels.control.size / 4),
    };
  }

  writeState(state: Record<string, Float32Array>): void {
    const lengths: Record<AdamStatePart, number> = { m: this.options.count, v: this.options.count, control: this.kernels.control.size / 4 };
    for (const part of this.stateParts) {
      const a = state[part];
      if (!a || a.length !== lengths[part]) {
        throw new Error(`${this.options.label}.writeState: "${part}" needs ${lengths[part]} values, got ${a ? a.length : 'none'}`);
      }
    }
    this.gpu.device.queue.writeBuffer(this.m, 0, new Float32Array(state.m));
    this.gpu.device.queue.writeBuffer(this.v, 0, new Float32Array(state.v));
    this.writeBothCopies(new Float32Array(state.control));
  }

  /** Zero moments and step count; learning rate and flag as at creation. */
  reset(): void {
    const zeros = new Float32Array(this.options.count);
    this.gpu.device.queue.writeBuffer(this.m, 0, zeros);
    this.gpu.device.queue.writeBuffer(this.v, 0, zeros);
    this.writeBothCopies(this.initialControl(this.options.lr));
  }

  destroy(): void {
    for (const b of [this.args, this.m, this.v, this.controlBuffer]) b.destroy();
    for (const byGrads of this.steps.values()) for (const s of byGrads.values()) for (const r of s.gradNorm ?? []) r.destroy();
  }

  private initialControl(lr: number): Float32Array<ArrayBuffer> {
    const view = this.kernels.control;
    const packed = view.pack({
      step: 0,
      learningRate: lr,
      gradScale: 1,
      gradNormSquared: 0,
      activeFlag: 1,
      biasCorrection1: 0,
      biasCorrection2: 0,
    });
    // pack pads to 16 bytes; the copies sit size bytes apart.
    return new Float32Array(packed, 0, view.size / 4);
  }

  private writeControl(field: string, value: number): void {
    for (const copy of [0, 1]) {
      this.gpu.device.queue.writeBuffer(this.controlBuffer, copy * this.controlStride + this.kernels.control.offsetOf(field), Float32Array.of(value));
    }
  }

  private writeBothCopies(block: Float32Array<ArrayBuffer>): void {
    for (const copy of [0, 1]) this.gpu.device.queue.writeBuffer(this.controlBuffer, copy * this.controlStride, block);
  }

  private get stepKernel(): Kernel {
    return this.options.activeFlag ? this.kernels.adamExternal : this.kernels.adam;
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
    const { kernels, controlBuffer: control } = this;
    const args = { buffer: this.args, offset: 0 };
    const resources = { args, control, params, grads, m: this.m, v: this.v };
    const adam = activeFlag ? kernels.adamExternal.bind({ ...resources, externalFlag: activeFlag.buffer }, label) : kernels.adam.bind(resources, label);
    const reduceKernels = this.reduceKernels;
    const gradNorm = reduceKernels
      ? ([0, 1].map((copy) =>
          Reduction.create(this.gpu, reduceKernels, {
            input: grads,
            count,
            op: 'sumSquares',
            output: control,
            outputIndex: (copy * this.controlStride + kernels.control.offsetOf('gradNormSquared')) / 4,
            label: `${label}.gradNormSquared${copy}`,
          }),
        ) as [Reduction, Reduction])
      : null;
    binding = { adam, gradNorm };
    byGrads.set(grads, binding);
    return binding;
  }
}
