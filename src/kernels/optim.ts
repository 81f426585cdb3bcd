/**
 * Adam on flat f32 vectors (shaders/optim.wgsl) with its control block on the
 * GPU: step count, learning rate, gradient scale (global-norm clipping) and an
 * active flag, so early stopping and clipping need no readback. `encodeStep`
 * records the step into the caller's compute pass: one dispatch (two on
 * SwiftShader, see `fused`; two more for the gradient norm with clipping).
 *
 * The control block lives in two buffers; a step reads one and writes the
 * other, and the host alternates them per recorded step. So every recorded step
 * must be submitted, in recording order: a step recorded and never submitted
 * (e.g. on a stand-in pass that counts dispatches) leaves the next one reading
 * the older copy, one step behind in t. Host writes (learning rate, flag,
 * state) go to both copies, so they do not depend on the alternation.
 */
import optimWgsl from '../../shaders/optim.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, WgslSource, perDevice, type Kernel, type StructView, recordChecked } from '../gpu/kernel';
import { readFloat32, storageBuffer, uniformBuffer } from '../gpu/buffers';
import { COMMON_WGSL } from '../gpu/wgsl';
import { Reduction, ReduceKernels } from './reduce';

interface OptimKernels {
  adam: Kernel;
  prepare: Kernel;
  update: Kernel;
  args: StructView;
  control: StructView;
}

function optimKernels(gpu: GpuContext): Promise<OptimKernels> {
  return perDevice(gpu, 'kernels:optim', async () => {
    const family = await ShaderFamily.load(gpu, 'optim', [COMMON_WGSL, optimWgsl]);
    const k = await family.kernels({ adam: undefined, adam_prepare: undefined, adam_update: undefined });
    return {
      adam: k.adam,
      prepare: k.adam_prepare,
      update: k.adam_update,
      args: family.struct('AdamArgs'),
      control: family.struct('AdamControl'),
    };
  });
}

let controlFloats: number | null = null;

/** Floats of the control block as readState returns it, by reflection (no GPU): what a checkpoint's `.control` array holds. */
export function adamControlFloats(): number {
  return (controlFloats ??= new WgslSource('optim', [COMMON_WGSL, optimWgsl]).struct('AdamControl').size / 4);
}

/** Options of `Adam.create`; each is checked before any GPU work. */
export interface AdamOptions {
  /** Length of the parameter vector. */
  count: number;
  /** Learning rate (≥ 0; `setLearningRate` changes it later). */
  lr: number;
  /** First-moment decay, in [0, 1) (default 0.9). */
  beta1?: number;
  /** Second-moment decay, in [0, 1) (default 0.999). */
  beta2?: number;
  /** Added to sqrt(v̂) in the denominator, > 0 (default 1e-8). */
  eps?: number;
  /** Scale gradients to a global L2 norm of at most this (no clipping when absent). */
  maxGradNorm?: number;
  /** An f32 flag in another buffer (e.g. a metrics block) that gates every step: > 0 active. */
  activeFlag?: { buffer: GPUBuffer; index: number };
  /**
   * One dispatch per step (true), or a one-invocation prepare dispatch before
   * the update (false). Default: false on SwiftShader, which runs both sides of
   * a branch, so each invocation deriving the step's control block costs more
   * than the dispatch it saves; true elsewhere.
   */
  fused?: boolean;
  /** Prefix of the buffers' labels and of error messages (default 'adam'). */
  label?: string;
}

/** Names of the arrays readState/writeState exchange (for checkpoints). */
export type AdamStatePart = 'm' | 'v' | 'control';

/** The dispatches of a step, indexed by the control copy it reads (0 or 1). */
interface StepBinding {
  /** Fused: adam with that copy as controlIn, the other as controlOut; else adam_prepare, then adam_update reading the other. */
  dispatches: [StepDispatch[], StepDispatch[]];
  /** The sum of squares of grads into that copy's gradNormSquared. */
  gradNorm: [Reduction, Reduction] | null;
}

interface StepDispatch {
  kernel: Kernel;
  group: GPUBindGroup;
  invocations: number;
}

/**
 * Adam on a flat f32 vector with its control block (step count, learning rate, gradient scale, active flag)
 * on the GPU: `encodeStep(pass, params, grads)` records one step, so clipping and early stopping need no readback.
 * Every recorded step must be submitted, in recording order.
 */
export class Adam {
  readonly stateParts: readonly AdamStatePart[] = ['m', 'v', 'control'];
  /** Per (params, grads) pair: bind groups and the clipping reduction, made on first use. */
  private readonly steps = new Map<GPUBuffer, Map<GPUBuffer, StepBinding>>();
  /** The control copy holding the latest recorded step's result, which the next step reads (0 or 1). */
  private current = 0;

  private constructor(
    private readonly gpu: GpuContext,
    private readonly kernels: OptimKernels,
    private readonly reduceKernels: ReduceKernels | null,
    readonly options: Readonly<AdamOptions> & { label: string; fused: boolean },
    private readonly args: GPUBuffer,
    /** First moments, [count]. */
    readonly m: GPUBuffer,
    /** Second moments, [count]. */
    readonly v: GPUBuffer,
    /** The two AdamControl copies (see controlView for the fields). */
    private readonly controls: readonly [GPUBuffer, GPUBuffer],
  ) {}

  /** Zeroed moments for `count` parameters; throws naming an option out of range. */
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
        // Without an external flag the step reads its own, in the control block.
        activeIndex: flag ? flag.index : kernels.control.offsetOf('activeFlag') / 4,
      }),
    );
    const control = (copy: number) => storageBuffer(gpu, `${label}.control${copy}`, kernels.control.paddedSize);
    const adam = new Adam(
      gpu,
      kernels,
      reduceKernels,
      { ...options, label, fused: options.fused ?? gpu.adapter.backend !== 'swiftshader' },
      args,
      storageBuffer(gpu, `${label}.m`, count * 4),
      storageBuffer(gpu, `${label}.v`, count * 4),
      [control(0), control(1)],
    );
    adam.writeBothCopies(adam.initialControl(lr));
    return adam;
  }

  /** The moments, each one buffer (the control block alternates between two). */
  get stateBuffers(): Record<'m' | 'v', GPUBuffer> {
    return { m: this.m, v: this.v };
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
    recordChecked(this.gpu, `${this.options.label}.encodeStep`, pass, (pass) => {
      const binding = this.binding(params, grads);
      const copy = this.current;
      this.current = 1 - copy;
      binding.gradNorm?.[copy].encode(pass);
      for (const d of binding.dispatches[copy]) d.kernel.dispatch(pass, d.group, d.invocations);
    });
  }

  /** Moments and the control block after the last submitted step (every recorded step must have been submitted). */
  async readState(): Promise<Record<AdamStatePart, Float32Array>> {
    const { count } = this.options;
    return {
      m: await readFloat32(this.gpu, this.m, 0, count),
      v: await readFloat32(this.gpu, this.v, 0, count),
      control: await readFloat32(this.gpu, this.controls[this.current], 0, this.kernels.control.size / 4),
    };
  }

  /** Queues writes of m, v and the control block (as `readState` returns them); throws naming a part of the wrong length. */
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

  /** Releases the moments, control block and uniforms (the params and grads belong to the caller). */
  destroy(): void {
    for (const b of [this.args, this.m, this.v, ...this.controls]) b.destroy();
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
    return new Float32Array(packed, 0, view.size / 4);
  }

  private writeControl(field: string, value: number): void {
    for (const control of this.controls) this.gpu.device.queue.writeBuffer(control, this.kernels.control.offsetOf(field), Float32Array.of(value));
  }

  private writeBothCopies(block: Float32Array<ArrayBuffer>): void {
    for (const control of this.controls) this.gpu.device.queue.writeBuffer(control, 0, block);
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
    const { kernels, controls, args, m, v } = this;
    const stepDispatches = (copy: number): StepDispatch[] => {
      const [controlIn, controlOut] = [controls[copy], controls[1 - copy]];
      const advance = { args, controlIn, controlOut, flags: activeFlag?.buffer ?? controlIn };
      const role = `${label}.reads${copy}`;
      if (this.options.fused) return [{ kernel: kernels.adam, group: kernels.adam.bind({ ...advance, params, grads, m, v }, role), invocations: count }];
      return [
        { kernel: kernels.prepare, group: kernels.prepare.bind(advance, role), invocations: 1 },
        { kernel: kernels.update, group: kernels.update.bind({ args, controlIn: controlOut, params, grads, m, v }, role), invocations: count },
      ];
    };
    const reduceKernels = this.reduceKernels;
    const gradNorm = reduceKernels
      ? (controls.map((output, copy) =>
          Reduction.create(this.gpu, reduceKernels, {
            input: grads,
            count,
            op: 'sumSquares',
            output,
            outputIndex: kernels.control.offsetOf('gradNormSquared') / 4,
            label: `${label}.gradNormSquared${copy}`,
          }),
        ) as [Reduction, Reduction])
      : null;
    binding = { dispatches: [stepDispatches(0), stepDispatches(1)], gradNorm };
    byGrads.set(grads, binding);
    return binding;
  }
}
