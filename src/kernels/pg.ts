/**
 * Full-batch pieces shared by TRPO and REINFORCE (shaders/pg.wgsl): the
 * policy-gradient loss written as a gradient at the logits, and the value
 * function fit (full-batch Adam steps on the squared error to the returns,
 * the seed's 10 steps at lr 1e-3).
 *
 * Populations (`agents`): every dispatch covers agents.count agents; the
 * batch's buffers, the pass's buffers and rowLoss are agent-major, agent a's
 * block a single run's ([agents][rows]...), and agent a normalises its
 * advantages with, and writes its losses to, its own metrics block
 * (a · METRICS_BLOCK_FLOATS). The kernels read no AgentParams field; the
 * value fit's Adam steps each agent with its own learning rate.
 */
import randomWgsl from '../../shaders/random.wgsl?raw';
import pgWgsl from '../../shaders/pg.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type Kernel, type StructView, recordChecked } from '../gpu/kernel';
import { storageBuffer, uniformBuffer } from '../gpu/buffers';
import { optimizedCount, type Mlp, type MlpPass } from './mlp';
import { Adam, type AdamRateField } from './optim';
import { Reduction, ReduceKernels } from './reduce';
import { METRICS_BLOCK_FLOATS, metricSlot, metricSlotsWgsl } from '../core/metrics';
import { COMMON_WGSL, wgslConstants } from '../gpu/wgsl';
import { assertAgents, type Agents } from '../gpu/agents';
import { CATEGORICAL, distributionOf, type ActionDistribution } from './distribution';

/** What a full-batch update reads: the rollout's samples and the advantage phase's outputs (a population: each [agents][...]). */
export interface FullBatch {
  /** [rows][obsDim] */
  obs: GPUBuffer;
  /** [rows][action words]: an i32 index, or a box action's components (f32) */
  actions: GPUBuffer;
  /** [rows] behaviour log-probabilities of the actions */
  logProbs: GPUBuffer;
  /** [rows] raw advantages */
  advantages: GPUBuffer;
  /** [rows] */
  returns: GPUBuffer;
  /** [rows][numActions] behaviour-policy distribution parameters (logits; means, log-stds) */
  logits: GPUBuffer;
  /** The metrics block (advantage statistics in, losses out). */
  metrics: GPUBuffer;
}

/** The pg.wgsl pipelines, compiled once per device. */
export interface PgKernels {
  policyGradient: Kernel;
  valueGradient: Kernel;
  args: StructView;
}

/** pg.wgsl with what it is loaded after, for `distribution`. */
export function pgSources(distribution: ActionDistribution = CATEGORICAL): string[] {
  return [COMMON_WGSL, randomWgsl, distribution.wgsl, metricSlotsWgsl(), wgslConstants({ METRICS_BLOCK_FLOATS }), pgWgsl];
}

/** Compiles pg.wgsl for `distribution` once per device. */
export function pgKernels(gpu: GpuContext, distribution: ActionDistribution = CATEGORICAL): Promise<PgKernels> {
  return perDevice(gpu, `pg:${distribution.name}`, async () => {
    const family = await ShaderFamily.load(gpu, 'pg', pgSources(distribution));
    const k = await family.kernels({ policy_gradient: undefined, value_gradient: undefined });
    return { policyGradient: k.policy_gradient, valueGradient: k.value_gradient, args: family.struct('PgArgs') };
  });
}

export interface PolicyGradientOptions {
  /** A policy pass over the batch: its output is read, its gradOutput written. */
  pass: MlpPass;
  batch: FullBatch;
  numActions: number;
  normalizeAdvantages: boolean;
  /** true: TRPO's surrogate −ratio·Â; false: REINFORCE's −logp·Â. */
  ratioWeighted: boolean;
  /** A population: the pass and the batch hold agents.count blocks. Default one agent. */
  agents?: Agents;
  label: string;
}

/** Checks `agents` and returns how many (one when absent). */
function agentCountOf(label: string, agents: Agents | undefined): number {
  if (!agents) return 1;
  assertAgents(label, agents);
  return agents.count;
}

/** dLoss/dlogits of the batch's policy loss into the pass's gradOutput, per-row losses into rowLoss. */
export class PolicyGradientLoss {
  private constructor(
    private readonly kernel: Kernel,
    private readonly bindGroup: GPUBindGroup,
    private readonly rows: number,
    /** [agents][rows] the loss term of each row. */
    readonly rowLoss: GPUBuffer,
    private readonly args: GPUBuffer,
    /** Agents covered by the dispatch. */
    readonly agentCount: number,
  ) {}

  /** Binds the loss to the pass's output and the batch; throws when the distribution cannot carry numActions. */
  static async create(gpu: GpuContext, options: PolicyGradientOptions): Promise<PolicyGradientLoss> {
    const { pass, batch, numActions, label } = options;
    const P = agentCountOf(label, options.agents);
    const distribution = distributionOf(pass.layout);
    distribution.checkParamsPerRow(numActions, label);
    const kernels = await pgKernels(gpu, distribution);
    const args = uniformBuffer(
      gpu,
      `${label}.args`,
      kernels.args.pack({
        rows: pass.rows,
        numActions,
        normalizeAdvantages: options.normalizeAdvantages ? 1 : 0,
        ratioWeighted: options.ratioWeighted ? 1 : 0,
      }),
    );
    const rowLoss = storageBuffer(gpu, `${label}.rowLoss`, P * pass.rows * 4);
    const bindGroup = kernels.policyGradient.bind(
      {
        args,
        logits: pass.output,
        actions: batch.actions,
        logProbsOld: batch.logProbs,
        advantages: batch.advantages,
        metricsIn: batch.metrics,
        gradOutput: pass.gradOutput,
        rowLoss,
      },
      label,
    );
    return new PolicyGradientLoss(kernels.policyGradient, bindGroup, pass.rows, rowLoss, args, P);
  }

  /** Records one dispatch: dLoss/dlogits into the policy pass's gradOutput and each row's loss into `rowLoss`. */
  encode(pass: GPUComputePassEncoder): void {
    recordChecked(this.kernel.gpu, 'PolicyGradientLoss.encode', pass, (pass) => {
      this.kernel.dispatch(pass, this.bindGroup, this.rows, undefined, this.agentCount);
    });
  }

  /** Releases the uniform and rowLoss (the pass and the batch belong to the caller). */
  destroy(): void {
    this.rowLoss.destroy();
    this.args.destroy();
  }
}

export interface ValueFitOptions {
  value: Mlp;
  rows: number;
  batch: FullBatch;
  /** Full-batch Adam steps per iteration. */
  steps: number;
  /** The value Adam's learning rate: one for every agent, or one per agent (or give learningRateField). */
  lr?: number | readonly number[];
  /** With agents: each agent's rate is its record's field (e.g. valueLr) times `setLearningRateFraction`'s fraction, in place of lr. */
  learningRateField?: AdamRateField;
  /** Rows of each agent's block of batch.obs (default rows): the value pass reads the first rows of each. */
  inputRows?: number;
  /** A population: the value network and the batch hold agents.count blocks. Default one agent. */
  agents?: Agents;
  label: string;
}

/** `steps` full-batch Adam steps of the value network on mean (v − R)²; the last step's loss goes to value_loss. */
export class ValueFit {
  private constructor(
    private readonly value: Mlp,
    private readonly pass: MlpPass,
    private readonly kernel: Kernel,
    private readonly bindGroup: GPUBindGroup,
    private readonly lossMean: Reduction,
    private readonly steps: number,
    private readonly agentCount: number,
    readonly adam: Adam,
    private readonly owned: GPUBuffer[],
  ) {}

  /** Binds the value pass, its loss and its Adam to the batch; throws when steps is not a positive integer or the network has more than one output. */
  static async create(gpu: GpuContext, options: ValueFitOptions): Promise<ValueFit> {
    const { value, rows, batch, label, steps } = options;
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`${label}: steps must be a positive integer, got ${steps}`);
    if (value.layout.outputDim !== 1) throw new Error(`${label}: the value network must have one output, it has ${value.layout.outputDim}`);
    const P = agentCountOf(label, options.agents);
    const [kernels, reduce, adam] = await Promise.all([
      pgKernels(gpu),
      ReduceKernels.create(gpu),
      Adam.create(gpu, { count: optimizedCount(value.layout, P), lr: options.lr, learningRateField: options.learningRateField, agents: options.agents, label: `${label}.adam` }),
    ]);
    const pass = value.prepare({ rows, input: batch.obs, inputRows: options.inputRows, label: `${label}.value` });
    const args = uniformBuffer(gpu, `${label}.args`, kernels.args.pack({ rows, numActions: 1, normalizeAdvantages: 0, ratioWeighted: 0 }));
    const rowLoss = storageBuffer(gpu, `${label}.rowLoss`, P * rows * 4);
    const bindGroup = kernels.valueGradient.bind({ args, values: pass.output, returns: batch.returns, gradOutput: pass.gradOutput, rowLoss }, label);
    const lossMean = Reduction.create(gpu, reduce, {
      agents: options.agents,
      input: rowLoss,
      inputStride: rows,
      count: rows,
      op: 'mean',
      output: batch.metrics,
      outputIndex: metricSlot('value_loss'),
      outputStride: METRICS_BLOCK_FLOATS,
      label: `${label}.loss`,
    });
    return new ValueFit(value, pass, kernels.valueGradient, bindGroup, lossMean, steps, P, adam, [args, rowLoss]);
  }

  /** Queues the value Adam's learning rate, one for every agent or one per agent (takes effect for steps submitted after it). */
  setLearningRate(lr: number | readonly number[]): void {
    this.adam.setLearningRate(lr);
  }

  /** With learningRateField: queues the fraction of each agent's record rate (takes effect for steps submitted after it). */
  setLearningRateFraction(fraction: number): void {
    this.adam.setLearningRateFraction(fraction);
  }

  /** Records the `steps` full-batch Adam steps of the value network. */
  encode(pass: GPUComputePassEncoder): void {
    recordChecked(this.kernel.gpu, 'ValueFit.encode', pass, (pass) => {
      for (let s = 0; s < this.steps; s++) {
        this.pass.encodeForward(pass);
        this.kernel.dispatch(pass, this.bindGroup, this.pass.rows, undefined, this.agentCount);
        this.pass.encodeBackwardStep(pass, this.adam, this.value.params, this.value.grads);
      }
      this.lossMean.encode(pass);
    });
  }

  /** Releases the value pass, the optimizer, the loss reduction and the buffers (the network and the batch belong to the caller). */
  destroy(): void {
    this.pass.destroy();
    this.adam.destroy();
    this.lossMean.destroy();
    for (const b of this.owned) b.destroy();
  }
}
