/**
 * REINFORCE with a value baseline on the GPU (the seed's train_reinforce): one
 * full-batch policy-gradient step with Adam on −mean(logp·Â), then the value
 * fit (valueSteps full-batch Adam steps), recorded into the caller's pass.
 * Given a population (networks and batch over the same agents), the loss, its
 * mean, the policy step and the value fit cover them all in the same
 * dispatches, each agent with its own learning rates (its record's lr and
 * valueLr, which PBT may change on the GPU; the host writes only the
 * schedule's fraction). Without a population a one-agent record holds the
 * config's rates.
 */
import type { GpuContext } from '../gpu/device';
import { optimizedCount, type Mlp, type MlpPass } from '../kernels/mlp';
import { Adam } from '../kernels/optim';
import { Reduction, ReduceKernels } from '../kernels/reduce';
import type { ResolvedConfig } from '../core/config';
import { METRICS_BLOCK_FLOATS, metricSlot } from '../core/metrics';
import { PolicyGradientLoss, ValueFit } from '../kernels/pg';
import { populationOptions, type CheckpointPart, type Update, type UpdateBatch, type UpdatePopulation } from './update';
import { agentsBuffer, type Agents } from '../gpu/agents';

/**
 * REINFORCE with a value baseline, recorded into the iteration's pass: one full-batch Adam step on
 * −mean(log π(a|s) · Â), then the value fit.
 */
export class ReinforceUpdate implements Update {
  private constructor(
    private readonly policy: Mlp,
    private readonly policyPass: MlpPass,
    private readonly loss: PolicyGradientLoss,
    private readonly lossMean: Reduction,
    private readonly policyAdam: Adam,
    private readonly valueFit: ValueFit,
    /** The one-agent record made from the config (released with the update), or null for the caller's agents. */
    private readonly ownedAgents: Agents | null,
  ) {}

  /**
   * Compiles the update's kernels and binds them to the networks and the batch; the config must be
   * resolved. `population`: networks and batch over the same agents (lr and valueLr per agent,
   * from their records), default one agent from the config.
   */
  static async create(gpu: GpuContext, config: ResolvedConfig, policy: Mlp, value: Mlp, batch: UpdateBatch, population?: UpdatePopulation): Promise<ReinforceUpdate> {
    const { batchSize: rows, numActions } = config.derived;
    const { agents, obsRows } = populationOptions('reinforce', config, population);
    const P = agents?.count ?? 1;
    const ownedAgents = agents ? null : agentsBuffer(gpu, 'reinforce.agents', [{ lr: config.lr, valueLr: config.valueLr }]);
    // The records the optimizers read their learning rates from.
    const agentRecords = agents ?? ownedAgents!;
    const policyPass = policy.prepare({ rows, input: batch.obs, inputRows: obsRows, label: 'reinforce.policy' });
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
      Adam.create(gpu, { count: optimizedCount(policy.layout, P), learningRateField: 'lr', agents: agentRecords, label: 'reinforce.policyAdam' }),
      ValueFit.create(gpu, { value, rows, batch, steps: config.valueSteps, learningRateField: 'valueLr', inputRows: obsRows, agents: agentRecords, label: 'reinforce.valueFit' }),
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
    return new ReinforceUpdate(policy, policyPass, loss, lossMean, policyAdam, valueFit, ownedAgents);
  }

  get checkpointParts(): Record<string, CheckpointPart> {
    return { 'policy.adam': this.policyAdam, 'value.adam': this.valueFit.adam };
  }

  /** Host-side writes queued before this iteration's submit: the schedule's fraction of the records' rates. */
  prepareIteration(_iteration: number, learningRateFraction: number): void {
    this.policyAdam.setLearningRateFraction(learningRateFraction);
    this.valueFit.setLearningRateFraction(learningRateFraction);
  }

  /** Records the whole update (after the advantages exist). */
  encode(pass: GPUComputePassEncoder): void {
    this.policyPass.encodeForward(pass);
    this.loss.encode(pass);
    this.lossMean.encode(pass);
    this.policyPass.encodeBackwardStep(pass, this.policyAdam, this.policy.params, this.policy.grads);
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
    this.ownedAgents?.params.destroy();
  }
}
