/**
 * Categorical policy head (shaders/policy.wgsl over the distribution module,
 * src/kernels/distribution.ts): log-probabilities and entropies of chosen
 * actions, per-row KL between two policies, and sampling on the Philox stream
 * STREAM_ACTION. Each method returns an operation bound once to its buffers;
 * `encode` records one dispatch.
 *
 * Populations: with `agents` (P agents) every buffer holds P blocks of `rows`
 * rows, agent-major ([P][rows][...]), and the one dispatch covers every agent;
 * the sampler keys agent a's draws with its AgentParams seed and within-agent rows,
 * exactly as a single sampler with that seed.
 */
import randomWgsl from '../../shaders/random.wgsl?raw';
import policyWgsl from '../../shaders/policy.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type Kernel, type StructView, recordChecked } from '../gpu/kernel';
import { uniformBuffer } from '../gpu/buffers';
import { agentsBuffer, assertAgents, type Agents } from '../gpu/agents';
import { agentParamsWgsl } from '../core/agentParams';
import { UniformSlots } from '../gpu/slots';
import { COMMON_WGSL } from '../gpu/wgsl';
import { CATEGORICAL, type ActionDistribution } from './distribution';

/** The policy family over `distribution`: common.wgsl, random.wgsl, the AgentParams struct, the distribution module, policy.wgsl. */
export function policySources(distribution: ActionDistribution): string[] {
  return [COMMON_WGSL, randomWgsl, agentParamsWgsl(), distribution.wgsl, policyWgsl];
}

export interface PolicyShape {
  /** Rows per agent. */
  rows: number;
  /** Distribution parameters per row (categorical: the number of actions; Gaussian: 2 × the action components). */
  numActions: number;
  label: string;
  /** A population: every buffer holds agents.count blocks of `rows` rows ([P][rows][...]), one dispatch for all. */
  agents?: Agents;
}

/** Buffers of `PolicyKernels.logProbEntropy`. */
export interface LogProbEntropyOptions extends PolicyShape {
  /** [rows][numActions] f32 */
  logits: GPUBuffer;
  /** [rows] i32 */
  actions: GPUBuffer;
  /** [rows] f32 out: log π(action | row) */
  logProb: GPUBuffer;
  /** [rows] f32 out: entropy of π(· | row) */
  entropy: GPUBuffer;
}

/** Buffers of `PolicyKernels.kl`. */
export interface KlOptions extends PolicyShape {
  /** [rows][numActions] f32: distribution parameters of π_old. */
  logitsOld: GPUBuffer;
  /** [rows][numActions] f32: distribution parameters of π_new. */
  logitsNew: GPUBuffer;
  /** [rows] f32 out: KL(π_old ‖ π_new) per row */
  kl: GPUBuffer;
}

/** Buffers and seed of `PolicyKernels.sampler`. */
export interface SamplerOptions extends PolicyShape {
  /** [rows][numActions] f32: the distribution parameters sampled from. */
  logits: GPUBuffer;
  /** [rows] i32 out */
  actions: GPUBuffer;
  /** [rows] f32 out: log-probability of the sampled action */
  logProb: GPUBuffer;
  /** uint32 key of the action stream; required unless `agents` is given (then each agent's AgentParams seed). */
  seed?: number;
  /** Step slots t = 0 .. steps − 1 that encode(pass, t) can use (default 1). */
  steps?: number;
}

/** An operation bound to its buffers. */
export interface PolicyOp {
  /** Records the operation's one dispatch into `pass`. */
  encode(pass: GPUComputePassEncoder): void;
  /** Releases the operation's uniform (the bound buffers belong to the caller). */
  destroy(): void;
}

/**
 * The policy head's kernels for one action distribution (categorical by default): each method checks its
 * buffers' sizes and returns an operation bound to them.
 */
export class PolicyKernels {
  private constructor(
    private readonly gpu: GpuContext,
    private readonly logProbEntropyKernel: Kernel,
    private readonly klKernel: Kernel,
    private readonly sampleKernel: Kernel,
    private readonly policyArgs: StructView,
    private readonly sampleStep: StructView,
    readonly distribution: ActionDistribution,
  ) {}

  /** Compiles policy.wgsl over `distribution` once per device. */
  static create(gpu: GpuContext, distribution: ActionDistribution = CATEGORICAL): Promise<PolicyKernels> {
    return perDevice(gpu, `policy:${distribution.name}`, async () => {
      const family = await ShaderFamily.load(gpu, 'policy', policySources(distribution));
      const k = await family.kernels({
        log_prob_entropy: undefined,
        kl_divergence: undefined,
        sample: { dynamicOffsets: ['step'] },
      });
      return new PolicyKernels(gpu, k.log_prob_entropy, k.kl_divergence, k.sample, family.struct('PolicyArgs'), family.struct('SampleStep'), distribution);
    });
  }

  /** log π(action | row) and the entropy of π(· | row) for every row. */
  logProbEntropy(o: LogProbEntropyOptions): PolicyOp {
    this.check(o, { logits: [o.logits, o.numActions], actions: [o.actions, this.distribution.actionWords(o.numActions)], logProb: [o.logProb, 1], entropy: [o.entropy, 1] });
    const args = this.args(o);
    const group = this.logProbEntropyKernel.bind({ args, logits: o.logits, actions: o.actions, logProb: o.logProb, entropy: o.entropy }, o.label);
    const encode = (pass: GPUComputePassEncoder) => this.logProbEntropyKernel.dispatch(pass, group, o.rows, undefined, agentCount(o));
    return { encode: (pass) => recordChecked(this.gpu, `${o.label}.encode`, pass, encode), destroy: () => args.destroy() };
  }

  /** KL(π_old ‖ π_new) of every row. */
  kl(o: KlOptions): PolicyOp {
    this.check(o, { logitsOld: [o.logitsOld, o.numActions], logitsNew: [o.logitsNew, o.numActions], kl: [o.kl, 1] });
    const args = this.args(o);
    const group = this.klKernel.bind({ args, logitsOld: o.logitsOld, logitsNew: o.logitsNew, kl: o.kl }, o.label);
    const encode = (pass: GPUComputePassEncoder) => this.klKernel.dispatch(pass, group, o.rows, undefined, agentCount(o));
    return { encode: (pass) => recordChecked(this.gpu, `${o.label}.encode`, pass, encode), destroy: () => args.destroy() };
  }

  /**
   * Samples an action per row on the Philox stream STREAM_ACTION, keyed by `seed` (each agent's
   * AgentParams seed for a population), the iteration and the step slot.
   */
  sampler(o: SamplerOptions): CategoricalSampler {
    this.check(o, { logits: [o.logits, o.numActions], actions: [o.actions, this.distribution.actionWords(o.numActions)], logProb: [o.logProb, 1] });
    const steps = o.steps ?? 1;
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`${o.label}: steps must be a positive integer, got ${steps}`);
    if (o.agents && o.seed !== undefined) throw new Error(`${o.label}: seed = ${o.seed} is not used with agents (each agent's seed is its AgentParams seed); leave it out`);
    const seed = o.seed as number;
    if (!o.agents && (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)) throw new Error(`${o.label}: seed must be an integer in [0, 2^32), got ${o.seed}`);
    // A single sampler is a population of one, with its seed in its own record.
    const ownAgents = o.agents ? null : agentsBuffer(this.gpu, `${o.label}.agents`, [{ seed }]);
    const agents = o.agents ?? ownAgents!;
    const args = this.args(o);
    const stepSlots = UniformSlots.create(this.gpu, this.sampleStep, Array.from({ length: steps }, (_, t) => ({ t })), `${o.label}.steps`);
    const group = this.sampleKernel.bind({ args, step: stepSlots.binding, logits: o.logits, sampledActions: o.actions, logProb: o.logProb, agents: agents.params }, o.label);
    return new CategoricalSampler(this.gpu, this.sampleKernel, group, args, this.policyArgs, o, stepSlots, ownAgents);
  }

  private args(shape: PolicyShape): GPUBuffer {
    return uniformBuffer(this.gpu, `${shape.label}.args`, this.policyArgs.pack({ rows: shape.rows, numActions: shape.numActions, iteration: 0 }));
  }

  /** Validates the shape and that every buffer holds P × rows × its width of 4-byte values. */
  private check(shape: PolicyShape, buffers: Record<string, [GPUBuffer, number]>): void {
    const { rows, numActions, label, agents } = shape;
    if (!Number.isInteger(rows) || rows < 1) throw new Error(`${label}: rows must be a positive integer, got ${rows}`);
    if (agents) assertAgents(label, agents);
    this.distribution.checkParamsPerRow(numActions, label);
    const P = agentCount(shape);
    for (const [name, [buffer, width]] of Object.entries(buffers)) {
      if (buffer.size < P * rows * width * 4) {
        const shapeText = agents ? `[P][rows][${width}] = [${P}][${rows}][${width}]` : `${rows} rows`;
        throw new Error(`${label}: ${name} buffer ${buffer.label} holds ${buffer.size / 4} values, ${shapeText} need ${P * rows * width}`);
      }
    }
  }
}

/** The agents an operation's dispatch covers. */
function agentCount(shape: PolicyShape): number {
  return shape.agents?.count ?? 1;
}

/** Sampling bound to its buffers, with `steps` step slots. */
export class CategoricalSampler {
  constructor(
    private readonly gpu: GpuContext,
    private readonly kernel: Kernel,
    private readonly group: GPUBindGroup,
    private readonly args: GPUBuffer,
    private readonly argsView: StructView,
    private readonly options: SamplerOptions,
    private readonly stepSlots: UniformSlots,
    /** The one-agent record a sampler made from its `seed` (null when given agents). */
    private readonly ownAgents: Agents | null,
  ) {}

  get steps(): number {
    return this.stepSlots.count;
  }

  /** Queues the iteration number, the counter's third word (host, once per iteration). */
  setIteration(iteration: number): void {
    const { rows, numActions } = this.options;
    this.gpu.device.queue.writeBuffer(this.args, 0, this.argsView.pack({ rows, numActions, iteration }));
  }

  /** Records sampling with counter (row, t, iteration, 0). */
  encode(pass: GPUComputePassEncoder, t = 0): void {
    recordChecked(this.gpu, 'CategoricalSampler.encode', pass, (pass) => {
      this.kernel.dispatch(pass, this.group, this.options.rows, [this.stepSlots.offset(t)], agentCount(this.options));
    });
  }

  /** Releases the uniforms and its own agent record (the bound buffers belong to the caller). */
  destroy(): void {
    this.args.destroy();
    this.stepSlots.destroy();
    this.ownAgents?.params.destroy();
  }
}
