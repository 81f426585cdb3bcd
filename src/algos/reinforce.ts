/**
 * REINFORCE with a value baseline on the GPU (the seed's train_reinforce): one
 * full-batch policy-gradient step with Adam on −mean(logp·Â), then the value
 * fit (valueSteps full-batch Adam steps), recorded into the caller's pass.
 * Given `agents` (networks and batch over the same agents), the loss, its mean
 * and the value fit cover them all in the same dispatches.
 */
import type { GpuContext } from '../gpu/device';
import type { Mlp, MlpPass } from '../kernels/mlp';
import { Adam } from '../kernels/optim';
import { Reduction, ReduceKernels } from '../kernels/reduce';
import type { Agents } from '../gpu/agents';
import type { ResolvedConfig } from '../core/config';
import { METRICS_BLOCK_FLOATS, metricSlot } from '../core/metrics';
import { PolicyGradientLoss, ValueFit } from '../kernels/pg';
import type { CheckpointPart, Update, UpdateBatch } from './update';

/**
 * REINFORCE with a value baseline, recorded into the iteration's pass: one full-batch Adam step on
 * −mean(log π(a|s) · Â), then the value fit.
 */
export class ReinforceUpdate implements Update {
  private constructor(
    private readonly config: ResolvedConfig,
    private readonly policy: Mlp,
    private readonly policyPass: MlpPass,
    private readonly loss: PolicyGradientLoss,
    private readonly lossMean: Reduction,
    private readonly policyAdam: Adam,
    private readonly valueFit: ValueFit,
  ) {}

  /**
   * Compiles the update's kernels and binds them to the networks and the batch; the config must be
   * resolved. `agents`: a population (networks and batch over the same agents), default one agent.
   */
  static async create(gpu: GpuContext, config: ResolvedConfig, policy: Mlp, value: Mlp, batch: UpdateBatch, agents?: Agents): Promise<ReinforceUpdate> {
    const { batchSize: rows, numActions } = config.derived;
    const policyPass = policy.prepare({ rows, input: batch.obs, label: 'reinforce.policy' });
    const [loss, policyAdam, valueFit, reduce] = await Promise.all([
      PolicyGradientLoss.create(gpu, {
        pass: policyPass,
        batch,
        numActions,
        // One minibatch is the whole batch here, so 'minibatch' normalisation is the batch's.
        normalizeAdvantages: config.advantageNorm !== 'none',
        ratioWeighted: false,
        agents,
        label: 'reinforce.loss',
      }),
      Adam.create(gpu, { count: policy.layout.paramCount, lr: config.lr, label: 'reinforce.policyAdam' }),
      ValueFit.create(gpu, { value, rows, batch, steps: config.valueSteps, lr: config.valueLr, agents, label: 'reinforce.valueFit' }),
      ReduceKernels.create(gpu),
    ]);
    const lossMean = Reduction.create(gpu, reduce, {
      agents,
      input: loss.rowLoss,
      inputStride: rows,
      count: rows,
      op: 'mean',
      output: batch.metrics,
      outputIndex: metricSlot('policy_loss'),
      outputStride: METRICS_BLOCK_FLOATS,
      label: 'reinforce.policyLoss',
    });
    return new ReinforceUpdate(config, policy, policyPass, loss, lossMean, policyAdam, valueFit);
  }

  get checkpointParts(): Record<string, CheckpointPart> {
    return { 'policy.adam': this.policyAdam, 'value.adam': this.valueFit.adam };
  }

  /** Host-side writes queued before this iteration's submit. */
  prepareIteration(_iteration: number, learningRateFraction: number): void {
    this.policyAdam.setLearningRate(this.config.lr * learningRateFraction);
    this.valueFit.setLearningRate(this.config.valueLr * learningRateFraction);
  }

  /** Records the whole update (after the advantages exist). */
  encode(pass: GPUComputePassEncoder): void {
    this.policyPass.encodeForward(pass);
    this.loss.encode(pass);
    this.lossMean.encode(pass);
    this.policyPass.encodeBackward(pass);
    this.policyAdam.encodeStep(pass, this.policy.params, this.policy.grads);
    this.valueFit.encode(pass);
  }

  /** Nothing in REINFORCE adapts to the update's KL (PPO-KL's coefficient does). */
  encodeAfterKl(_pass: GPUComputePassEncoder): void {}

  destroy(): void {
    this.policyPass.destroy();
    this.loss.destroy();
    this.lossMean.destroy();
    this.policyAdam.destroy();
    this.valueFit.destroy();
  }
}
