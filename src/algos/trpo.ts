/**
 * TRPO update on the GPU (the seed's train_trpo), recorded into the caller's
 * pass with nothing read back:
 *   gradient     −g, the negated gradient of the surrogate −mean(ratio·Â) at θ_old
 *   solve        x = CG(F, −g) with the Fisher-vector product, cgIters iterations
 *   line search  F x, step scale sqrt(shs / max_kl), all candidate fractions
 *                scored, the first acceptable written into the policy
 *   value fit    valueSteps full-batch Adam steps on the value network
 * The phases can also be recorded one by one, in this order (for per-phase
 * timing): the gradient's forward is the one the FVP of solve and line search
 * is taken at.
 *
 * Populations: given a population (networks and a batch over the same agents),
 * every dispatch covers them all, each agent with its own damping, maxKl and
 * acceptRatio and value learning rate valueLr (AgentParams; PBT may change them on
 * the GPU). Without, a one-agent record is made from the config, so a single run
 * goes through the same kernels.
 */
import type { GpuContext } from '../gpu/device';
import { storageBuffer } from '../gpu/buffers';
import type { Mlp, MlpPass } from '../kernels/mlp';
import { FisherVectorProduct, parameterVectorBytes } from '../kernels/fvp';
import { ConjugateGradient } from '../kernels/cg';
import { LineSearch } from '../kernels/linesearch';
import type { ResolvedConfig } from '../core/config';
import { PolicyGradientLoss, ValueFit } from '../kernels/pg';
import { populationOptions, type CheckpointPart, type Update, type UpdateBatch, type UpdatePopulation } from './update';
import { agentsBuffer, type Agents } from '../gpu/agents';

/**
 * TRPO's update recorded into the iteration's pass: gradient, conjugate-gradient solve with
 * Fisher-vector products, backtracking line search on the policy, then the value fit.
 */
export class TrpoUpdate implements Update {
  private constructor(
    /** −g: the policy pass's gradient buffer and the CG right-hand side. */
    private readonly negGradient: GPUBuffer,
    /** The policy at θ on the batch: the gradient's forward and backward, and the activations the FVP is taken at. */
    private readonly policyPass: MlpPass,
    private readonly surrogate: PolicyGradientLoss,
    private readonly fvp: FisherVectorProduct,
    private readonly cg: ConjugateGradient,
    private readonly stepDirectionProduct: GPUBuffer,
    private readonly lineSearch: LineSearch,
    private readonly valueFit: ValueFit,
    /** The one-agent record made from the config (released with the update), or null for the caller's agents. */
    private readonly ownedAgents: Agents | null,
  ) {}

  /**
   * Compiles the update's kernels and binds them to the networks and the batch; the config must be
   * resolved. `population`: networks and batch over the same agents (damping, maxKl, acceptRatio
   * and valueLr per agent), default one agent from the config.
   */
  static async create(gpu: GpuContext, config: ResolvedConfig, policy: Mlp, value: Mlp, batch: UpdateBatch, population?: UpdatePopulation): Promise<TrpoUpdate> {
    const { batchSize: rows, numActions } = config.derived;
    const paramCount = policy.layout.paramCount;
    const { agents, obsRows } = populationOptions('trpo', config, population);
    const P = agents?.count ?? 1;
    const ownedAgents = agents ? null : agentsBuffer(gpu, 'trpo.agents', [{ damping: config.damping, maxKl: config.maxKl, acceptRatio: config.acceptRatio, valueLr: config.valueLr }]);
    // The records the FVP and the line search read damping, maxKl and acceptRatio from, and the value fit valueLr.
    const agentRecords = agents ?? ownedAgents!;
    // One minibatch is the whole batch here, so 'minibatch' normalisation is the batch's.
    const normalizeAdvantages = config.advantageNorm !== 'none';
    const negGradient = storageBuffer(gpu, 'trpo.negGradient', P * parameterVectorBytes(policy.layout));
    const policyPass = policy.prepare({ rows, input: batch.obs, inputRows: obsRows, grads: negGradient, label: 'trpo.policy' });
    const [surrogate, fvp, valueFit] = await Promise.all([
      PolicyGradientLoss.create(gpu, { pass: policyPass, batch, numActions, normalizeAdvantages, ratioWeighted: true, agents, label: 'trpo.surrogate' }),
      FisherVectorProduct.create(gpu, { pass: policyPass, agents: agentRecords, label: 'trpo.fvp' }),
      ValueFit.create(gpu, { value, rows, batch, steps: config.valueSteps, learningRateField: 'valueLr', inputRows: obsRows, agents: agentRecords, label: 'trpo.valueFit' }),
    ]);
    const cg = await ConjugateGradient.create(gpu, {
      count: paramCount,
      rhs: negGradient,
      applyOperator: (pass, vector, result) => fvp.encode(pass, vector, result),
      iterations: config.cgIters,
      residualTol: 1e-10,
      agents,
      label: 'trpo.cg',
    });
    const stepDirectionProduct = storageBuffer(gpu, 'trpo.stepDirectionProduct', P * parameterVectorBytes(policy.layout));
    const lineSearch = await LineSearch.create(gpu, {
      policy,
      rows,
      inputRows: obsRows,
      batch: {
        obs: batch.obs,
        actions: batch.actions,
        logProbsOld: batch.logProbs,
        advantages: batch.advantages,
        logitsOld: batch.logits,
        metrics: batch.metrics,
      },
      stepDirection: cg.solution,
      stepDirectionProduct,
      negGradient,
      cgResidual: { buffer: cg.state, index: cg.stateIndex('residual'), stride: cg.stateStride },
      backtracks: config.backtracks,
      agents: agentRecords,
      klCheck: config.lineSearchKlCheck,
      normalizeAdvantages,
      label: 'trpo.lineSearch',
    });
    return new TrpoUpdate(negGradient, policyPass, surrogate, fvp, cg, stepDirectionProduct, lineSearch, valueFit, ownedAgents);
  }

  /** The value fit's Adam (TRPO steps the policy without an optimizer). */
  get checkpointParts(): Record<string, CheckpointPart> {
    return { 'value.adam': this.valueFit.adam };
  }

  /** Host-side writes queued before this iteration's submit: the schedule's fraction of the records' value rates. */
  prepareIteration(_iteration: number, learningRateFraction: number): void {
    this.valueFit.setLearningRateFraction(learningRateFraction);
  }

  /** Records the whole update (after the advantages exist). */
  encode(pass: GPUComputePassEncoder): void {
    this.encodeGradient(pass);
    this.encodeSolve(pass);
    this.encodeLineSearch(pass);
    this.encodeValueFit(pass);
  }

  /** −g into the CG right-hand side; its forward is also the FVP's. */
  encodeGradient(pass: GPUComputePassEncoder): void {
    this.policyPass.encodeForward(pass);
    this.surrogate.encode(pass);
    this.policyPass.encodeBackward(pass, { scale: -1 });
  }

  /** x = CG(F, −g), F taken at the activations encodeGradient's forward left (θ before the step). */
  encodeSolve(pass: GPUComputePassEncoder): void {
    this.cg.encode(pass);
  }

  /** F x, the step scale, the candidates, the selection and θ's update. */
  encodeLineSearch(pass: GPUComputePassEncoder): void {
    this.fvp.encode(pass, this.cg.solution, this.stepDirectionProduct);
    this.lineSearch.encode(pass);
  }

  /** Records the value phase alone: valueSteps full-batch Adam steps of the value network. */
  encodeValueFit(pass: GPUComputePassEncoder): void {
    this.valueFit.encode(pass);
  }

  /** Nothing in TRPO adapts to the update's KL (PPO-KL's coefficient does). */
  encodeAfterKl(_pass: GPUComputePassEncoder): void {}

  destroy(): void {
    this.policyPass.destroy();
    for (const part of [this.surrogate, this.fvp, this.cg, this.lineSearch, this.valueFit]) part.destroy();
    this.negGradient.destroy();
    this.stepDirectionProduct.destroy();
    this.ownedAgents?.params.destroy();
  }
}
