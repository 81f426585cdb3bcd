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
 *
 * Given `agents`, one Adam is P independent optimizers in the same dispatches:
 * params, grads, m and v are [P][count], the control blocks [P] AdamControl,
 * each agent with its own learning rate, clipping norm (agents[a].maxGradNorm;
 * whether clipping is on is shared) and active flag (agent a's block of the
 * flag buffer).
 *
 * The learning rates come from the host (`lr`, then `setLearningRate`), or with
 * `learningRateField` from the agents' records: each step takes
 * agents[a][field] × the fraction of `setLearningRateFraction`, so a record
 * that changed on the GPU (population-based training) steps at its new rate.
 */
import optimWgsl from '../../shaders/optim.wgsl?raw';
import adamStepWgsl from '../../shaders/adam_step.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, WgslSource, perDevice, type Kernel, type StructView, recordChecked } from '../gpu/kernel';
import { readFloat32, storageBuffer, uniformBuffer } from '../gpu/buffers';
import { COMMON_WGSL } from '../gpu/wgsl';
import { agentsBuffer, assertAgents, type Agents } from '../gpu/agents';
import { agentParamsWgsl } from '../core/agentParams';
import type { AgentField } from '../core/population';
import { Reduction, ReduceKernels } from './reduce';

/** shaders/adam_step.wgsl, Adam's arithmetic (after AgentParams): optim.wgsl's and the MLP's fused step share it. */
export const ADAM_STEP_WGSL: string = adamStepWgsl;

/** shaders/optim.wgsl with what it is loaded after. */
export const OPTIM_SOURCES: readonly string[] = [COMMON_WGSL, agentParamsWgsl(), adamStepWgsl, optimWgsl];

interface OptimKernels {
  adam: Kernel;
  prepare: Kernel;
  update: Kernel;
  args: StructView;
  control: StructView;
}

/**
 * How an Adam step runs where AdamOptions do not say: `fused`, one dispatch per
 * step (each invocation derives the step's control block), or a one-invocation
 * prepare dispatch before the update; `paramsPerInvocation`, the parameters each
 * invocation updates (PER_INVOCATION in shaders/optim.wgsl). Neither changes the
 * results.
 */
export interface AdamStepForm {
  fused: boolean;
  paramsPerInvocation: number;
}

/**
 * The measured-fastest step form per adapter (bench/RESULTS.md: "Adam:
 * several parameters per invocation", and "Adam's step on SwiftShader"):
 * lavapipe, which runs a dispatch's invocations as SIMD lanes on 2 cores,
 * fused with 8 parameters an invocation; SwiftShader fused with 16 (a
 * 4 610-parameter step 125 µs against 229–250 µs as prepare + update with 1,
 * the form it had: it pays per workgroup, and 16 parameters an invocation
 * derive the control block once for 16); GPUs fused with 1, unmeasured.
 */
export function defaultAdamStepForm(adapter: { backend: string }): AdamStepForm {
  if (adapter.backend === 'lavapipe') return { fused: true, paramsPerInvocation: 8 };
  if (adapter.backend === 'swiftshader') return { fused: true, paramsPerInvocation: 16 };
  return { fused: true, paramsPerInvocation: 1 };
}

/** Parameters per invocation of `defaultAdamStepForm`. */
export function defaultAdamParamsPerInvocation(adapter: { backend: string }): number {
  return defaultAdamStepForm(adapter).paramsPerInvocation;
}

/** Devices whose Adams take another step form than their adapter's default (`Adam.useStepForm`: benchmarks, tests). */
const stepForms = new WeakMap<GPUDevice, Partial<AdamStepForm>>();

/** The step form Adams created on `gpu` take where their options do not say. */
export function adamStepForm(gpu: GpuContext): AdamStepForm {
  return { ...defaultAdamStepForm(gpu.adapter), ...stepForms.get(gpu.device) };
}

function optimKernels(gpu: GpuContext, perInvocation: number): Promise<OptimKernels> {
  return perDevice(gpu, `kernels:optim:${perInvocation}`, async () => {
    const family = await ShaderFamily.load(gpu, 'optim', OPTIM_SOURCES);
    const options = { constants: { PER_INVOCATION: perInvocation } };
    const k = await family.kernels({ adam: options, adam_prepare: undefined, adam_update: options });
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
  return (controlFloats ??= new WgslSource('optim', OPTIM_SOURCES).struct('AdamControl').size / 4);
}

/** Options of `Adam.create`; each is checked before any GPU work. */
export interface AdamOptions {
  /** Length of the parameter vector (of each agent's). */
  count: number;
  /**
   * Learning rate (≥ 0; `setLearningRate` changes it later): one for every agent, or one
   * per agent. Exactly one of `lr` and `learningRateField` is given.
   */
  lr?: number | readonly number[];
  /**
   * With `agents`: agent a's learning rate is its record's field (`lr` or `valueLr`, as the
   * GPU holds it when the step runs) times the fraction of `setLearningRateFraction` (1
   * until set), in place of `lr`.
   */
  learningRateField?: AdamRateField;
  /**
   * A population: P = agents.count optimizers in the same dispatches, params, grads, m, v
   * [P][count]; agent a clips to agents[a].maxGradNorm when `clipGradNorm` is set.
   * Default: one agent, clipping to `maxGradNorm` when that is given.
   */
  agents?: Agents;
  /** With `agents`: scale each agent's gradients to a global norm of at most its maxGradNorm (default false). */
  clipGradNorm?: boolean;
  /**
   * With clipping: the leading floats of each agent's block the global norm sums
   * (default `count`). A population's vectors are padded to whole vec4s
   * (parameterStride); passing the network's paramCount makes each agent's norm
   * add exactly a single run's terms, in its order, so it has the same bits.
   */
  normCount?: number;
  /** First-moment decay, in [0, 1) (default 0.9). */
  beta1?: number;
  /** Second-moment decay, in [0, 1) (default 0.999). */
  beta2?: number;
  /** Added to sqrt(v̂) in the denominator, > 0 (default 1e-8). */
  eps?: number;
  /** Without `agents`: scale gradients to a global L2 norm of at most this (no clipping when absent). */
  maxGradNorm?: number;
  /**
   * An f32 flag in another buffer (e.g. a metrics block) that gates every step: > 0 active.
   * With `agents`, agent a's flag is at a · stride + index (stride required, e.g. METRICS_BLOCK_FLOATS).
   */
  activeFlag?: { buffer: GPUBuffer; index: number; stride?: number };
  /**
   * One dispatch per step (true), or a one-invocation prepare dispatch before
   * the update (false). Default: the device's `adamStepForm`.
   */
  fused?: boolean;
  /**
   * Parameters each invocation updates, an integer in [1, 64] (default: the
   * device's `adamStepForm`); the results do not depend on it.
   */
  paramsPerInvocation?: number;
  /** Prefix of the buffers' labels and of error messages (default 'adam'). */
  label?: string;
}

/** The AgentParams fields a learning rate can come from. */
export type AdamRateField = Extract<AgentField, 'lr' | 'valueLr'>;

/** AdamArgs.rateSource of each way to get the rate (shaders/optim.wgsl's RATE_FROM_*). */
const RATE_SOURCE = { control: 0, lr: 1, valueLr: 2 } as const satisfies Record<'control' | AdamRateField, number>;

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
    readonly options: Readonly<AdamOptions> & { label: string; fused: boolean; paramsPerInvocation: number },
    private readonly args: GPUBuffer,
    /** First moments, [count]. */
    readonly m: GPUBuffer,
    /** Second moments, [count]. */
    readonly v: GPUBuffer,
    /** The two AdamControl copies, [P] each (see controlView for the fields). */
    private readonly controls: readonly [GPUBuffer, GPUBuffer],
    /** The agents' records (clipping norms; learning rates with learningRateField), and whether `create` made them. */
    private readonly agents: Agents,
    private readonly ownsAgents: boolean,
    /** Each agent's learning rate at creation (what `reset` restores; 0 when the records give them). */
    private readonly initialRates: readonly number[],
  ) {}

  /** Agents the optimizer steps (1 without `agents`). */
  get agentCount(): number {
    return this.agents.count;
  }

  /**
   * Makes Adams created on `gpu` from now on take `form` where their options do
   * not say (null: the adapter's default again); for benchmarks and tests.
   */
  static useStepForm(gpu: GpuContext, form: Partial<AdamStepForm> | null): void {
    const n = form?.paramsPerInvocation;
    if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 64)) throw new Error(`Adam.useStepForm: paramsPerInvocation must be an integer in [1, 64], got ${n}`);
    if (form) stepForms.set(gpu.device, form);
    else stepForms.delete(gpu.device);
  }

  /** Zeroed moments for `count` parameters; throws naming an option out of range. */
  static async create(gpu: GpuContext, options: AdamOptions): Promise<Adam> {
    const label = options.label ?? 'adam';
    const { count, lr, learningRateField, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, maxGradNorm } = options;
    if (!Number.isInteger(count) || count < 1) throw new Error(`${label}: count must be a positive integer, got ${count}`);
    const { normCount } = options;
    if (normCount !== undefined && (!Number.isInteger(normCount) || normCount < 1 || normCount > count)) {
      throw new Error(`${label}: normCount must be an integer in [1, count ${count}], got ${normCount}`);
    }
    if (options.agents) {
      assertAgents(label, options.agents);
      if (maxGradNorm !== undefined) throw new Error(`${label}: maxGradNorm comes from agents (AgentParams.maxGradNorm); pass clipGradNorm: true instead`);
    } else if (options.clipGradNorm !== undefined) {
      throw new Error(`${label}: clipGradNorm applies with agents; without them pass maxGradNorm`);
    }
    const P = options.agents?.count ?? 1;
    if ((lr === undefined) === (learningRateField === undefined)) throw new Error(`${label}: give exactly one of lr (host-written rates) and learningRateField (the agents' records), got ${lr === undefined ? 'neither' : 'both'}`);
    if (learningRateField !== undefined) {
      if (learningRateField !== 'lr' && learningRateField !== 'valueLr') throw new Error(`${label}: learningRateField must be 'lr' or 'valueLr', got ${JSON.stringify(learningRateField)}`);
      if (!options.agents) throw new Error(`${label}: learningRateField '${learningRateField}' reads the agents' records; pass agents`);
    }
    // With the records as the source the control block's rate is the last step's (0 before any).
    const rates = lr === undefined ? new Array<number>(P).fill(0) : Adam.ratesFor(label, 'lr', lr, P);
    for (const [name, beta] of [['beta1', beta1], ['beta2', beta2]] as const) {
      if (!(beta >= 0 && beta < 1)) throw new Error(`${label}: ${name} must be in [0, 1), got ${beta}`);
    }
    if (!(eps > 0)) throw new Error(`${label}: eps must be > 0, got ${eps}`);
    if (maxGradNorm !== undefined && !(maxGradNorm > 0)) throw new Error(`${label}: maxGradNorm must be > 0 when given, got ${maxGradNorm}`);
    const flag = options.activeFlag;
    if (flag && options.agents && flag.stride === undefined) throw new Error(`${label}: activeFlag.stride (floats between agents' flag blocks) is required with agents`);
    const flagStride = flag?.stride ?? (flag ? flag.index + 1 : 0);
    if (flag && (!Number.isInteger(flagStride) || flagStride < flag.index + 1)) throw new Error(`${label}: activeFlag.stride must be an integer ≥ ${flag.index + 1}, got ${flagStride}`);
    if (flag && (!Number.isInteger(flag.index) || flag.index < 0 || ((P - 1) * flagStride + flag.index + 1) * 4 > flag.buffer.size)) {
      throw new Error(`${label}: activeFlag index ${flag.index}${P > 1 ? ` (${P} agents, stride ${flagStride})` : ''} is outside buffer ${flag.buffer.label} (${flag.buffer.size / 4} floats)`);
    }
    const form = adamStepForm(gpu);
    const perInvocation = options.paramsPerInvocation ?? form.paramsPerInvocation;
    if (!Number.isInteger(perInvocation) || perInvocation < 1 || perInvocation > 64) {
      throw new Error(`${label}: paramsPerInvocation must be an integer in [1, 64], got ${perInvocation}`);
    }
    const clip = options.agents ? options.clipGradNorm === true : maxGradNorm !== undefined;
    const [kernels, reduceKernels] = await Promise.all([optimKernels(gpu, perInvocation), clip ? ReduceKernels.create(gpu) : Promise.resolve(null)]);
    const controlFloats = kernels.control.size / 4;
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
        clip: clip ? 1 : 0,
        // Without an external flag the step reads its own, in the control block.
        activeIndex: flag ? flag.index : kernels.control.offsetOf('activeFlag') / 4,
        activeStride: flag ? flagStride : controlFloats,
        rateSource: RATE_SOURCE[learningRateField ?? 'control'],
        rateFraction: 1,
      }),
    );
    const agents = options.agents ?? agentsBuffer(gpu, `${label}.agents`, [{ maxGradNorm: maxGradNorm ?? 0 }]);
    // Agent-major [P] AdamControl: agent a's block at a · (the struct's size), as the shader's array strides it.
    const control = (copy: number) => storageBuffer(gpu, `${label}.control${copy}`, Math.max(P * kernels.control.size, kernels.control.paddedSize));
    const adam = new Adam(
      gpu,
      kernels,
      reduceKernels,
      { ...options, label, fused: options.fused ?? form.fused, paramsPerInvocation: perInvocation },
      args,
      storageBuffer(gpu, `${label}.m`, P * count * 4),
      storageBuffer(gpu, `${label}.v`, P * count * 4),
      [control(0), control(1)],
      agents,
      !options.agents,
      rates,
    );
    adam.writeBothCopies(adam.initialControl(rates));
    return adam;
  }

  /** One rate per agent from a scalar or a list; throws naming the value out of range. */
  private static ratesFor(label: string, name: string, lr: number | readonly number[], agents: number): number[] {
    const rates = typeof lr === 'number' ? Array.from({ length: agents }, () => lr) : [...lr];
    if (rates.length !== agents) throw new Error(`${label}: ${name} must be one number or ${agents} (one per agent), got ${rates.length}`);
    rates.forEach((rate, a) => {
      if (!(rate >= 0)) throw new Error(`${label}: ${name}${typeof lr === 'number' ? '' : `[${a}]`} must be ≥ 0, got ${rate}`);
    });
    return rates;
  }

  /** The moments, each one buffer (the control block alternates between two). */
  get stateBuffers(): Record<'m' | 'v', GPUBuffer> {
    return { m: this.m, v: this.v };
  }

  /**
   * The moments and both control copies, each [P] agent blocks: copying agent a's
   * block of each to agent b gives b a's optimizer state, whichever copy the next
   * step reads (every agent's step reads the same one).
   */
  get agentStateBuffers(): Record<'m' | 'v' | 'control0' | 'control1', GPUBuffer> {
    return { m: this.m, v: this.v, control0: this.controls[0], control1: this.controls[1] };
  }

  /** Field offsets of the control block (as readState returns it). */
  get controlView(): StructView {
    return this.kernels.control;
  }

  /** Queues a write of the learning rate, one for every agent or one per agent (takes effect for steps submitted after it); not with learningRateField. */
  setLearningRate(lr: number | readonly number[]): void {
    const where = `${this.options.label}.setLearningRate`;
    if (this.options.learningRateField) throw new Error(`${where}: the rates come from the agents' records (learningRateField '${this.options.learningRateField}'); set the fraction with setLearningRateFraction`);
    this.writeControl('learningRate', Adam.ratesFor(where, 'lr', lr, this.agents.count));
  }

  /**
   * With learningRateField: queues the fraction of each agent's record rate the steps submitted
   * after it take (≥ 0, e.g. an annealing schedule's; 1 at creation). One value for every agent.
   */
  setLearningRateFraction(fraction: number): void {
    const where = `${this.options.label}.setLearningRateFraction`;
    if (!this.options.learningRateField) throw new Error(`${where}: applies with learningRateField; this optimizer's rates come from lr / setLearningRate`);
    if (!(fraction >= 0 && Number.isFinite(fraction))) throw new Error(`${where}: fraction must be a finite number ≥ 0, got ${fraction}`);
    this.writeRateFraction(fraction);
  }

  /** Queues a write of every agent's own active flag (ignored when an external activeFlag is used). */
  setActive(active: boolean): void {
    this.writeControl('activeFlag', Array.from({ length: this.agents.count }, () => (active ? 1 : 0)));
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
      for (const d of binding.dispatches[copy]) d.kernel.dispatch(pass, d.group, d.invocations, undefined, this.agents.count);
    });
  }

  /** Dispatches `encodeStep` records (with clipping, the norm's two-dispatch reduction included). */
  get stepDispatchCount(): number {
    return (this.options.fused ? 1 : 2) + (this.reduceKernels ? 2 : 0);
  }

  /**
   * Whether another kernel may take this optimizer's step as it computes the gradients
   * (`takeFusedStep`): not with clipping, whose global norm needs every gradient first.
   */
  get fusible(): boolean {
    return this.reduceKernels === null;
  }

  /**
   * For a kernel that applies this step itself (mlp.wgsl's backward_params_adam_chain):
   * the buffers it binds, under the names `adam` + optim.wgsl's (adamArgs, adamControlIn,
   * adamControlOut, adamFlags, adamM, adamV, adamAgents), for the copy it reads; and the
   * step is recorded, as `encodeStep` would, so the next step reads the other copy.
   * The caller binds params and grads; the step must be submitted like any other.
   */
  takeFusedStep(): { copy: number; resources: Record<string, GPUBuffer> } {
    if (!this.fusible) throw new Error(`${this.options.label}: a step with gradient-norm clipping cannot be fused into the gradient kernel`);
    const copy = this.current;
    this.current = 1 - copy;
    return { copy, resources: this.fusedResources(copy) };
  }

  /** takeFusedStep's buffers for the step that reads control copy `copy` (without recording it). */
  fusedResources(copy: number): Record<string, GPUBuffer> {
    const [controlIn, controlOut] = [this.controls[copy], this.controls[1 - copy]];
    return {
      adamArgs: this.args,
      adamControlIn: controlIn,
      adamControlOut: controlOut,
      adamFlags: this.options.activeFlag?.buffer ?? controlIn,
      adamM: this.m,
      adamV: this.v,
      adamAgents: this.agents.params,
    };
  }

  /** Moments ([P][count]) and the control blocks ([P][AdamControl]) after the last submitted step (every recorded step must have been submitted). */
  async readState(): Promise<Record<AdamStatePart, Float32Array>> {
    const lengths = this.stateLengths();
    return {
      m: await readFloat32(this.gpu, this.m, 0, lengths.m),
      v: await readFloat32(this.gpu, this.v, 0, lengths.v),
      control: await readFloat32(this.gpu, this.controls[this.current], 0, lengths.control),
    };
  }

  /** Queues writes of m, v and the control blocks (as `readState` returns them); throws naming a part of the wrong length. */
  writeState(state: Record<string, Float32Array>): void {
    const lengths = this.stateLengths();
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

  /** Zero moments and step count; learning rates (or the records' fraction) and flags as at creation. */
  reset(): void {
    const zeros = new Float32Array(this.agents.count * this.options.count);
    this.gpu.device.queue.writeBuffer(this.m, 0, zeros);
    this.gpu.device.queue.writeBuffer(this.v, 0, zeros);
    this.writeBothCopies(this.initialControl(this.initialRates));
    if (this.options.learningRateField) this.writeRateFraction(1);
  }

  /** Releases the moments, control blocks and uniforms, and the agents' records it made (the params and grads belong to the caller). */
  destroy(): void {
    for (const b of [this.args, this.m, this.v, ...this.controls]) b.destroy();
    if (this.ownsAgents) this.agents.params.destroy();
    for (const byGrads of this.steps.values()) for (const s of byGrads.values()) for (const r of s.gradNorm ?? []) r.destroy();
  }

  /** Floats of each state part: [P][count] moments, [P] control blocks. */
  private stateLengths(): Record<AdamStatePart, number> {
    const P = this.agents.count;
    return { m: P * this.options.count, v: P * this.options.count, control: (P * this.kernels.control.size) / 4 };
  }

  /** [P] fresh control blocks, agent a's with learning rate rates[a]. */
  private initialControl(rates: readonly number[]): Float32Array<ArrayBuffer> {
    const view = this.kernels.control;
    const floats = view.size / 4;
    const blocks = new Float32Array(rates.length * floats);
    rates.forEach((lr, a) => {
      const packed = view.pack({
        step: 0,
        learningRate: lr,
        gradScale: 1,
        gradNormSquared: 0,
        activeFlag: 1,
        biasCorrection1: 0,
        biasCorrection2: 0,
      });
      blocks.set(new Float32Array(packed, 0, floats), a * floats);
    });
    return blocks;
  }

  /** Writes agent a's `field` as values[a] in both copies (one write per copy when all agents get the same value). */
  private writeControl(field: string, values: readonly number[]): void {
    const offset = this.kernels.control.offsetOf(field);
    const stride = this.kernels.control.size;
    for (const control of this.controls) {
      values.forEach((value, a) => this.gpu.device.queue.writeBuffer(control, a * stride + offset, Float32Array.of(value)));
    }
  }

  private writeRateFraction(fraction: number): void {
    this.gpu.device.queue.writeBuffer(this.args, this.kernels.args.offsetOf('rateFraction'), Float32Array.of(fraction));
  }

  private writeBothCopies(block: Float32Array<ArrayBuffer>): void {
    for (const control of this.controls) this.gpu.device.queue.writeBuffer(control, 0, block);
  }

  private binding(params: GPUBuffer, grads: GPUBuffer): StepBinding {
    let byGrads = this.steps.get(params);
    if (!byGrads) this.steps.set(params, (byGrads = new Map()));
    let binding = byGrads.get(grads);
    if (binding) return binding;
    const { count, label, activeFlag, paramsPerInvocation } = this.options;
    const invocations = Math.ceil(count / paramsPerInvocation);
    const P = this.agents.count;
    for (const [name, buffer] of [['params', params], ['grads', grads]] as const) {
      if (buffer.size < P * count * 4) {
        throw new Error(`${label}: ${name} buffer ${buffer.label} holds ${buffer.size / 4} floats, needs ${P > 1 ? `[${P}][${count}] = ` : ''}${P * count}`);
      }
    }
    const agentParams = this.agents.params;
    const { kernels, controls, args, m, v } = this;
    const stepDispatches = (copy: number): StepDispatch[] => {
      const [controlIn, controlOut] = [controls[copy], controls[1 - copy]];
      const advance = { args, controlIn, controlOut, flags: activeFlag?.buffer ?? controlIn };
      const role = `${label}.reads${copy}`;
      if (this.options.fused) return [{ kernel: kernels.adam, group: kernels.adam.bind({ ...advance, params, grads, m, v, agents: agentParams }, role), invocations }];
      return [
        { kernel: kernels.prepare, group: kernels.prepare.bind({ ...advance, agents: agentParams }, role), invocations: 1 },
        { kernel: kernels.update, group: kernels.update.bind({ args, controlIn: controlOut, params, grads, m, v }, role), invocations },
      ];
    };
    const reduceKernels = this.reduceKernels;
    const gradNorm = reduceKernels
      ? (controls.map((output, copy) =>
          Reduction.create(this.gpu, reduceKernels, {
            input: grads,
            // The parameters only, not a population's padding: each agent's norm is a single run's, bit for bit.
            count: this.options.normCount ?? count,
            op: 'sumSquares',
            output,
            outputIndex: kernels.control.offsetOf('gradNormSquared') / 4,
            label: `${label}.gradNormSquared${copy}`,
            agents: this.agents,
            inputStride: count,
            outputStride: kernels.control.size / 4,
          }),
        ) as [Reduction, Reduction])
      : null;
    binding = { dispatches: [stepDispatches(0), stepDispatches(1)], gradNorm };
    byGrads.set(grads, binding);
    return binding;
  }
}
