/**
 * makeTrainer(gpu, config): checks the configuration against the adapter's
 * limits (src/train/limits.ts), allocates everything once and returns `step()`,
 * which records one whole training iteration into one command encoder, submits
 * it once (in parts only past DISPATCHES_PER_SUBMIT dispatches), and resolves
 * to that iteration's metrics read back asynchronously through a ring of
 * staging buffers (iteration k+1 can be queued before k's metrics arrive). The
 * trainer never prints and never touches the DOM.
 *
 * Phases of an iteration, all on the GPU:
 *   collect    a finiteness check of the state the iteration takes over, then
 *              T × (policy forward on the current observations, act-and-step),
 *              which keeps the behaviour logits and truncated steps' final observations
 *   advantage  with --norm-obs, every obs row normalised by the moments the rollout
 *              used, then this iteration's observations merged into them; with
 *              --norm-reward, the scaled rewards GAE reads (src/kernels/normalize.ts);
 *              behaviour log-probs from the kept logits, one value forward over
 *              the observations and those final observations, GAE scan,
 *              advantage and return statistics
 *   update     the algorithm's update (PPO epochs × minibatches, ...)
 *   report     KL(old‖new) and entropy over the batch, episode statistics, and
 *              a finiteness check of every parameter, optimizer and env tensor
 *              (a NaN must stop training: tanh(clamp(NaN)) can come out finite)
 */
import type { GpuContext } from '../gpu/device';
import { readFloat32, readUint32, storageBuffer } from '../gpu/buffers';
import { initOrthogonal, initPyTorchDefault } from '../nn/mlp';
import { networkLayouts } from './networks';
import { DISPATCHES_PER_SUBMIT, assertWithinLimits } from './limits';
import { Mlp, MlpKernels } from '../kernels/mlp';
import { Gae } from '../kernels/gae';
import { PolicyKernels } from '../kernels/policy';
import { distributionOf } from '../kernels/distribution';
import { Reduction, ReduceKernels } from '../kernels/reduce';
import { Rollout, ENV_SLOTS } from '../kernels/rollout';
import { FiniteCheck, type CheckedTensor } from '../kernels/finite';
import { MOMENT_FIELDS, NormalizeKernels, initialMoments, normalizedPolicyInput, type NormalizeOp } from '../kernels/normalize';
import type { RolloutReplay } from '../kernels/rolloutView';
import { createUpdate } from '../algos/registry';
import { agentsBuffer, type Agents } from '../gpu/agents';
import { AGENT_FIELDS, agentMajor, checkPbtSettings, type AgentField, type PbtSettings } from '../core/population';
import { parameterStride } from '../kernels/mlp';
import { envDefinition } from '../envs/registry';
import { FIELDS, resolveConfig, type ResolvedConfig, type TrainConfig } from '../core/config';
import { AGENT_PARAMS_BYTES, agentParamOffset, packAgentParams, shortestF32 } from '../core/agentParams';
import { Pbt, type PbtTensor } from '../kernels/pbt';
import type { Update } from '../algos/update';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, checkCheckpointEnv, checkpointLayout, type Checkpoint } from './checkpoint';
import {
  LEGACY_METRICS_BLOCK_FLOATS,
  METRICS_BLOCK_FLOATS,
  SPS_WINDOW,
  StepRate,
  decodeMetrics,
  metricSlot,
  type IterationMetrics,
} from '../core/metrics';
import type { DeviceLimits } from './limits';

/**
 * One training run on the GPU (from `makeTrainer`): `step()` runs an iteration
 * (rollout, GAE, update) in one submit and resolves to its metrics.
 */
export interface Trainer {
  /** The validated config the run uses. */
  readonly config: ResolvedConfig;
  /** The policy network (its parameters are `policy.params`). */
  readonly policy: Mlp;
  /** The value network. */
  readonly value: Mlp;
  /** Iterations queued so far (the next step() runs this one). */
  readonly iteration: number;
  /** Env steps queued so far. */
  readonly envSteps: number;
  /** Dispatches recorded per iteration. */
  readonly dispatchesPerIteration: number;
  /**
   * Records one iteration's dispatches into `pass` and nothing else: no
   * uniforms written, no submit (benchmarks inspect a GPU configuration's
   * dispatches this way). Recording advances Adam's control-buffer parity, so
   * a trainer used for this is inspected, not trained.
   */
  recordIteration(pass: GPUComputePassEncoder): void;
  /** The GPU buffers every iteration checks for NaN and ±inf, by checkpoint array name (networks, optimizer moments, env state). */
  readonly checkedTensors: Readonly<Record<string, GPUBuffer>>;
  /**
   * The last rollout's buffers, for drawing it without a readback (bind them
   * read-only; kernels/rolloutView.ts does): obs [T+1][N][obsDim] f32, actions
   * [T][N] EnvAction, doneFlags [T][N] u32 (bit 0 terminated, bit 1 truncated).
   * Work queued after an iteration's submit sees that iteration's rollout;
   * destroy() releases them.
   */
  readonly replay: RolloutReplay;
  /**
   * Queues one iteration (one submit) and resolves to its metrics; rejects,
   * naming the tensor, when a parameter, optimizer or env tensor holds NaN or
   * ±inf after it (and every later step rejects too, until a restore).
   */
  step(): Promise<IterationMetrics>;
  /** Runs one iteration as separate submits per phase and returns wall seconds per phase (for measurement only). */
  timePhases(): Promise<{ collect: number; advantage: number; update: number; total: number }>;
  /** Reads back every state array needed to resume bit-exactly (after queued work), with `history` as the metric history. */
  checkpoint(history: IterationMetrics[]): Promise<Checkpoint>;
  /**
   * Takes over a checkpoint's state (refused if any array holds NaN or ±inf).
   * The run then continues from its iteration: `config.iters` counts the
   * iterations after it, and the learning-rate schedule ends at
   * `config.totalSteps` when set, else `config.iters` after that iteration.
   */
  restore(checkpoint: Checkpoint): Promise<void>;
  /** Releases every buffer the trainer made; the GPU context stays usable. */
  destroy(): void;
}

export { networkLayouts };

const STAGING_RING = 3;

/** Initial weights: the seed's PyTorch default (policy head ×0.1), or orthogonal. */
export function initialWeights(config: ResolvedConfig): { policy: Float32Array; value: Float32Array } {
  const layouts = networkLayouts(config);
  if (config.init === 'orthogonal') {
    return {
      policy: initOrthogonal(layouts.policy, config.seed * 2 + 1, { gains: [Math.SQRT2, Math.SQRT2, 0.01] }),
      value: initOrthogonal(layouts.value, config.seed * 2 + 2, { gains: [Math.SQRT2, Math.SQRT2, 1] }),
    };
  }
  return {
    policy: initPyTorchDefault(layouts.policy, config.seed * 2 + 1, { lastLayerScale: 0.1 }),
    value: initPyTorchDefault(layouts.value, config.seed * 2 + 2),
  };
}

/** Options of `makeTrainer` that do not change what is computed. */
export interface TrainerOptions {
  /** Most dispatches per submit (default DISPATCHES_PER_SUBMIT); an iteration that records more is submitted in parts. */
  dispatchesPerSubmit?: number;
}

/**
 * A trainer for `config` (from `resolveConfig`, which validates it) on `gpu`:
 * the policy and value networks, the vectorized env, the rollout, GAE and the
 * algorithm's update, all created here and released by `destroy()`. Each
 * `step()` queues one iteration as one GPU submit (several only past
 * `dispatchesPerSubmit`) and resolves to its metrics once they are read back;
 * `checkpoint()`/`restore()` save and resume it bit-exactly. Compiles the
 * kernels it needs on first use per device. It is a population of one agent
 * (`makePopulationTrainer`): the same kernels and dispatches.
 */
export async function makeTrainer(gpu: GpuContext, config: ResolvedConfig, options: TrainerOptions = {}): Promise<Trainer> {
  const core = await buildTrainer(gpu, [config], options);
  const own: Pick<Trainer, 'step' | 'checkpoint' | 'restore'> = {
    step: async () => (await core.step())[0],
    checkpoint: (history) => core.checkpoint([history]),
    restore: (c) => core.restore(c),
  };
  return withProgress(core.common, own);
}

/** `common`'s members and `own`, with `iteration` and `envSteps` read live from `common`. */
function withProgress<T extends object>(common: TrainerCommon, own: T): TrainerCommon & T {
  const facade = { ...common, ...own };
  Object.defineProperties(facade, {
    iteration: { get: () => common.iteration, enumerable: true },
    envSteps: { get: () => common.envSteps, enumerable: true },
  });
  return facade;
}

/**
 * P agents trained together (from `resolvePopulation`): each its own weights,
 * optimizer state, Philox streams, N envs, rollout, advantage statistics and
 * metrics, every dispatch covering all P agents (agents along workgroup z), one
 * submit per iteration for the whole population, one readback of every agent's
 * metrics. Agent k reproduces, bit for bit, a single run of its config on the
 * same adapter. With `pbt`, population-based training exploits and explores on
 * the GPU every `pbt.interval` iterations.
 */
export interface PopulationTrainer extends TrainerCommon {
  /** Agent k's config at k (hyperparameters as given; PBT changes them on the GPU, see `agentConfigs`). */
  readonly configs: readonly ResolvedConfig[];
  /** The agents' records (AgentParams, agent-major) the kernels read. */
  readonly agents: Agents;
  /** Queues one iteration of every agent and resolves to each agent's metrics (agent k at k; `pbt_parent` with PBT). */
  step(): Promise<AgentIterationMetrics[]>;
  /** Each agent's config with the hyperparameters its record holds now (after queued work). */
  agentConfigs(): Promise<ResolvedConfig[]>;
  /** The whole population's state (agent-major arrays, per-agent configs and histories). */
  checkpoint(histories: IterationMetrics[][]): Promise<Checkpoint>;
  /** Takes over a population checkpoint of the same size and shapes. */
  restore(checkpoint: Checkpoint): Promise<void>;
}

/**
 * An agent's metrics of one iteration; with PBT, the agent it copied at this
 * iteration's exploit (null: none) and its record's explored fields after it.
 */
export type AgentIterationMetrics = IterationMetrics & { pbt_parent?: number | null; hyper?: Partial<Record<AgentField, number>> };

// PBT's settings live with the population's other definitions (src/core/population.ts).
export type { PbtSettings, PbtEnvs, PbtSource } from '../core/population';

/**
 * Builds a population trainer for `configs` (agent k's config at k, e.g.
 * `resolvePopulation(...).agents`): only the AGENT_FIELDS (seed and the
 * per-agent hyperparameters) may differ between them; algorithm, env and
 * shapes are the population's. With
 * `pbt`, exploits and explores every `pbt.interval` iterations on the GPU.
 * Throws one line, before any GPU work, where the buffers would not fit.
 */
export async function makePopulationTrainer(
  gpu: GpuContext,
  configs: readonly ResolvedConfig[],
  options: TrainerOptions & { pbt?: PbtSettings } = {},
): Promise<PopulationTrainer> {
  if (options.pbt) checkPbtSettings(options.pbt, configs.length);
  const core = await buildTrainer(gpu, configs, options);
  return withProgress(core.common, { configs, agents: core.agents, step: core.step, agentConfigs: core.agentConfigs, checkpoint: core.checkpoint, restore: core.restore });
}

/** A device's limits as one agent of P may use them: each per-agent buffer of a population holds P blocks. */
export function populationLimits(limits: DeviceLimits, agents: number): DeviceLimits {
  if (agents === 1) return limits;
  // Field by field: a GPUSupportedLimits keeps its fields as getters, which a spread drops
  // (it dropped minUniformBufferOffsetAlignment, so slot tables were never checked for P > 1).
  return {
    maxStorageBufferBindingSize: Math.floor(limits.maxStorageBufferBindingSize / agents),
    maxBufferSize: Math.floor(limits.maxBufferSize / agents),
    minUniformBufferOffsetAlignment: limits.minUniformBufferOffsetAlignment,
    minStorageBufferOffsetAlignment: limits.minStorageBufferOffsetAlignment,
    holdsEvaluationRows: limits.holdsEvaluationRows,
    splitsParamSums: limits.splitsParamSums,
    rolloutForm: limits.rolloutForm,
    maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
  };
}

/**
 * What a trainer of P agents on `gpu` may use: populationLimits of the device's,
 * whether its evaluation passes keep no hidden rows (MlpKernels.holdsEvaluationRows),
 * whether its passes keep `split` partial sums (MlpKernels.splitsParamSums), and its
 * rollout form and the storage buffers a stage binds (whether its rollout runs fused).
 */
export function trainerLimits(gpu: GpuContext, agents: number): DeviceLimits {
  const { maxBufferSize, maxStorageBufferBindingSize, minUniformBufferOffsetAlignment, minStorageBufferOffsetAlignment } = gpu.limits;
  return populationLimits(
    {
      maxBufferSize,
      maxStorageBufferBindingSize,
      minUniformBufferOffsetAlignment,
      minStorageBufferOffsetAlignment,
      holdsEvaluationRows: MlpKernels.holdsEvaluationRows(gpu),
      splitsParamSums: MlpKernels.splitsParamSums(gpu),
      rolloutForm: Rollout.formOf(gpu),
      maxStorageBuffersPerShaderStage: gpu.limits.maxStorageBuffersPerShaderStage,
    },
    agents,
  );
}

/** The fields of an agent's record, from its config. */
function agentRecord(config: ResolvedConfig): Record<AgentField, number> {
  return Object.fromEntries(AGENT_FIELDS.map((field) => [field, config[field]])) as Record<AgentField, number>;
}

/** What the single and the population trainer share (everything but the step's, checkpoint's and restore's shapes). */
type TrainerCommon = Omit<Trainer, 'step' | 'checkpoint' | 'restore'>;

async function buildTrainer(gpu: GpuContext, configs: readonly ResolvedConfig[], options: TrainerOptions & { pbt?: PbtSettings }) {
  if (configs.length < 1) throw new Error('makePopulationTrainer: at least one agent is needed');
  const config = configs[0];
  const P = configs.length;
  // Shapes, plans and algorithm are the population's; only the agents' records differ.
  configs.forEach((c, k) => {
    for (const key of Object.keys(config) as (keyof ResolvedConfig)[]) {
      if ((AGENT_FIELDS as readonly string[]).includes(key) || key === 'derived') continue;
      if (c[key] !== config[key]) throw new Error(`makePopulationTrainer: agent ${k}'s ${key} (${String(c[key])}) differs from agent 0's (${String(config[key])}); only ${AGENT_FIELDS.join(', ')} may differ`);
    }
  });
  // Nothing is created that the adapter cannot hold (a ConfigError naming the flag).
  assertWithinLimits(config, trainerLimits(gpu, P));
  const { numEnvs: N } = config;
  const dispatchesPerSubmit = options.dispatchesPerSubmit ?? DISPATCHES_PER_SUBMIT;
  if (!Number.isInteger(dispatchesPerSubmit) || dispatchesPerSubmit < 1) throw new Error(`makeTrainer: dispatchesPerSubmit must be a positive integer, got ${dispatchesPerSubmit}`);
  const { stepsPerEnv: T, batchSize, numActions } = config.derived;
  const device = gpu.device;

  const agents = agentsBuffer(gpu, 'population.agents', configs.map(agentRecord));
  const mlpKernels = await MlpKernels.create(gpu);
  const layouts = networkLayouts(config);
  const policy = Mlp.create(gpu, mlpKernels, layouts.policy, 'policy', { agents });
  const value = Mlp.create(gpu, mlpKernels, layouts.value, 'value', { agents });
  const initial = configs.map(initialWeights);
  policy.setParams(agentMajor(initial.map((w) => w.policy)));
  value.setParams(agentMajor(initial.map((w) => w.value)));

  const env = envDefinition(config.env);
  const { obsDim } = config.derived;
  const normalize = config.normObs || config.normReward ? await NormalizeKernels.create(gpu) : null;
  // Running moments of the observations (the rollout normalises with them, frozen for the iteration).
  const obsMoments = config.normObs ? storageBuffer(gpu, 'normalize.obs', repeat(initialMoments(obsDim), P)) : null;
  const policyInput = normalize && obsMoments ? normalizedPolicyInput(normalize, obsMoments) : undefined;
  const rollout = await Rollout.create(gpu, policy, { env, numEnvs: N, numSteps: T, agents, policyInput });
  const storage = rollout.storage;

  // Whole-batch passes: values before the update (the behaviour logits come from
  // the rollout), new logits after it. The value pass covers obs's T+1 rows and
  // the K·N final observations after them (read by GAE unless truncations count as terminal).
  const { finalObsRow, finalSlots, maxEpisodeSteps } = rollout.finalObs;
  const obsRows = finalObsRow + finalSlots * N;
  // Every per-agent buffer below holds P blocks, agent-major.
  // With --norm-obs the networks read every row normalised by the moments the rollout acted with
  // (so the update's forward passes reproduce the behaviour logits bit for bit); then this
  // iteration's observations are merged into the moments for the next one.
  const normalizedObs = obsMoments ? storageBuffer(gpu, 'batch.normalizedObs', P * obsRows * obsDim * 4) : null;
  const networkObs = normalizedObs ?? storage.obs;
  const normalizeOps: NormalizeOp[] = [];
  if (normalize && obsMoments && normalizedObs) {
    normalizeOps.push(
      normalize.normalizeRows({ rows: obsRows, dim: obsDim, input: storage.obs, output: normalizedObs, moments: obsMoments, label: 'batch.normalizeObs', agents }),
      normalize.updateMoments({ numEnvs: N, numSteps: T, dim: obsDim, input: storage.obs, inputRows: obsRows, moments: obsMoments, label: 'normalize.obsMoments', agents }),
    );
  }
  // With --norm-reward GAE reads the rewards scaled by the return moments this iteration updates.
  const returnMoments = config.normReward ? storageBuffer(gpu, 'normalize.return', repeat(initialMoments(1), P)) : null;
  const discountedReturn = config.normReward ? storageBuffer(gpu, 'normalize.discountedReturn', P * N * 4) : null;
  const scaledRewards = config.normReward ? storageBuffer(gpu, 'batch.scaledRewards', P * batchSize * 4) : null;
  if (normalize && returnMoments && discountedReturn && scaledRewards) {
    normalizeOps.push(
      normalize.scaleRewards({
        numEnvs: N,
        numSteps: T,
        agents,
        rewards: storage.rewards,
        doneFlags: storage.doneFlags,
        accumulator: discountedReturn,
        moments: returnMoments,
        scaled: scaledRewards,
        label: 'normalize.reward',
      }),
    );
  }
  // Checkpointed and checked for finiteness with the rest of the state.
  const normalizationState: CheckedTensor[] = [];
  if (obsMoments) normalizationState.push({ name: 'normalize.obs', buffer: obsMoments, count: obsDim * MOMENT_FIELDS });
  if (returnMoments && discountedReturn) {
    normalizationState.push(
      { name: 'normalize.return', buffer: returnMoments, count: MOMENT_FIELDS },
      { name: 'normalize.discountedReturn', buffer: discountedReturn, count: N },
    );
  }

  // Both passes read the first rows of each agent's obsRows-row block of observations.
  const evalPass = policy.prepare({ rows: batchSize, input: networkObs, inputRows: obsRows, label: 'batch.updatedPolicy', forwardOnly: true });
  const valuePass = value.prepare({ rows: obsRows, input: networkObs, label: 'batch.values', forwardOnly: true });

  const logProbs = storageBuffer(gpu, 'batch.logProbs', P * batchSize * 4);
  const entropies = storageBuffer(gpu, 'batch.entropies', P * batchSize * 4);
  const klRows = storageBuffer(gpu, 'batch.kl', P * batchSize * 4);
  const updatedLogProbs = storageBuffer(gpu, 'batch.updatedLogProbs', P * batchSize * 4);
  const advantages = storageBuffer(gpu, 'batch.advantages', P * batchSize * 4);
  const returns = storageBuffer(gpu, 'batch.returns', P * batchSize * 4);
  const MB = METRICS_BLOCK_FLOATS;
  const metrics = storageBuffer(gpu, 'metrics', P * MB * 4);
  const initialMetrics = new Float32Array(P * MB);
  configs.forEach((c, k) => {
    initialMetrics[k * MB + metricSlot('kl_coef')] = c.klCoef;
    initialMetrics[k * MB + metricSlot('stopped_epoch')] = -1;
    initialMetrics[k * MB + metricSlot('pbt_parent')] = -1;
  });
  device.queue.writeBuffer(metrics, 0, initialMetrics);

  const policyKernels = await PolicyKernels.create(gpu, distributionOf(policy.layout));
  const behaviourLogProbs = policyKernels.logProbEntropy({
    rows: batchSize,
    numActions,
    logits: storage.behaviourLogits,
    actions: storage.actions,
    logProb: logProbs,
    entropy: entropies,
    agents,
    label: 'batch.behaviourLogProb',
  });
  const updatedEntropy = policyKernels.logProbEntropy({
    rows: batchSize,
    numActions,
    logits: evalPass.output,
    actions: storage.actions,
    logProb: updatedLogProbs,
    entropy: entropies,
    agents,
    label: 'batch.updatedEntropy',
  });
  const updateKl = policyKernels.kl({
    rows: batchSize,
    numActions,
    logitsOld: storage.behaviourLogits,
    logitsNew: evalPass.output,
    kl: klRows,
    agents,
    label: 'batch.kl',
  });

  const gae = await Gae.create(
    gpu,
    {
      rewards: scaledRewards ?? storage.rewards,
      doneFlags: storage.doneFlags,
      values: valuePass.output,
      finalValues: valuePass.output,
      advantages,
      returns,
    },
    {
      numEnvs: N,
      numSteps: T,
      agents,
      truncationAsTerminal: config.truncationAsTerminal,
      maxEpisodeSteps,
      finalValuesOffset: finalObsRow,
      valuesStride: obsRows,
      finalValuesStride: obsRows,
    },
  );

  const reduce = await ReduceKernels.create(gpu);
  const perAgent = { agents, outputStride: MB };
  const toMetric = (input: GPUBuffer, count: number, op: 'sum' | 'mean', metric: Parameters<typeof metricSlot>[0], offset = 0, inputStride = offset + count) =>
    Reduction.create(gpu, reduce, { input, offset, count, op, output: metrics, outputIndex: metricSlot(metric), inputStride, ...perAgent });
  const advantageStats = Reduction.create(gpu, reduce, { input: advantages, count: batchSize, op: 'meanStd', output: metrics, outputIndex: metricSlot('advantage_mean'), ...perAgent });
  const returnStats = Reduction.create(gpu, reduce, { input: returns, count: batchSize, op: 'meanStd', output: metrics, outputIndex: metricSlot('return_mean'), ...perAgent });
  const slotsPerAgent = rollout.envSlotRows * N;
  const episodeSums = [
    toMetric(storage.envSlots, N, 'sum', 'completed_return_sum', ENV_SLOTS.indexOf('completed_return_sum') * N, slotsPerAgent),
    toMetric(storage.envSlots, N, 'sum', 'episodes', ENV_SLOTS.indexOf('completed_count') * N, slotsPerAgent),
  ];
  const klMean = toMetric(klRows, batchSize, 'mean', 'approx_kl');
  const entropyMean = toMetric(entropies, batchSize, 'mean', 'entropy');

  const updateBatch = {
    obs: networkObs,
    actions: storage.actions,
    logProbs,
    advantages,
    returns,
    logits: storage.behaviourLogits,
    metrics,
  };
  const update = await createUpdate(gpu, config, policy, value, updateBatch, { agents, configs, obsRows });

  // Named as in checkpoints. Checked as the iteration starts (the state it takes over, env
  // included, whose observations are recomputed each step) and after the update, so a NaN
  // stops the run in the iteration it appears in. Each agent's tensors set its own flag.
  const parameterBlock = (network: Mlp) => (P === 1 ? network.layout.paramCount : parameterStride(network.layout));
  const checked: CheckedTensor[] = [
    { name: 'policy', buffer: policy.params, count: policy.layout.paramCount, stride: parameterBlock(policy) },
    { name: 'value', buffer: value.params, count: value.layout.paramCount, stride: parameterBlock(value) },
  ];
  for (const [name, part] of Object.entries(update.checkpointParts)) {
    for (const [stateName, buffer] of Object.entries(part.stateBuffers)) checked.push({ name: `${name}.${stateName}`, buffer, count: buffer.size / 4 / P });
  }
  checked.push(
    { name: 'env.currentObs', buffer: storage.currentObs, count: N * config.derived.obsDim },
    { name: 'env.slots', buffer: storage.envSlots, count: slotsPerAgent },
    ...normalizationState,
  );
  const finite = await FiniteCheck.create(gpu, { tensors: checked, flags: metrics, flagIndex: metricSlot('non_finite'), label: 'finite', agents, flagStride: MB });

  // Population-based training: score windows every iteration, exploit and explore every interval.
  const envState: CheckedTensor[] = checked.filter((t) => t.name.startsWith('env.') || t.name === 'normalize.discountedReturn');
  const pbt = options.pbt && P > 1 ? await makePbt(gpu, options.pbt, configs, agents, metrics, [policy, value], update, normalizationState, envState) : null;

  // With PBT the agents' records come back with the metrics (the same readback), for the explored values.
  const recordBytes = pbt ? P * AGENT_PARAMS_BYTES : 0;
  const staging = Array.from({ length: STAGING_RING }, (_, i) =>
    device.createBuffer({ label: `metrics.staging${i}`, size: P * MB * 4 + recordBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
  );
  const stagingBusy: (Promise<unknown> | null)[] = staging.map(() => null);

  rollout.reset();

  let iteration = 0;
  let envSteps = 0;
  let lastFinish = 0;
  const rate = new StepRate({ reports: SPS_WINDOW });

  // The iteration this run started from (a restored checkpoint's): --iters counts from there.
  let firstIteration = 0;
  // The schedule ends at the step budget when there is one, so that a run resumed from a checkpoint
  // continues the schedule it was on; else after the iterations planned from where this run started.
  const plannedIterations = () => (config.totalSteps ? Math.ceil(config.totalSteps / batchSize) : config.iters ? firstIteration + config.iters : 0);
  const learningRateFraction = (k: number) => {
    const planned = plannedIterations();
    return config.lrAnneal && planned ? Math.max(0, 1 - k / planned) : 1;
  };

  const encodeCollect = (pass: GPUComputePassEncoder) => {
    finite.encode(pass);
    rollout.encode(pass);
  };
  const encodeAdvantage = (pass: GPUComputePassEncoder) => {
    for (const op of normalizeOps) op.encode(pass);
    behaviourLogProbs.encode(pass);
    valuePass.encodeForward(pass);
    gae.encode(pass);
    advantageStats.encode(pass);
    returnStats.encode(pass);
  };
  const encodeUpdate = (pass: GPUComputePassEncoder) => {
    update.encode(pass);
    evalPass.encodeForward(pass);
    updateKl.encode(pass);
    klMean.encode(pass);
    updatedEntropy.encode(pass);
    entropyMean.encode(pass);
    update.encodeAfterKl(pass);
    for (const r of episodeSums) r.encode(pass);
    finite.encode(pass);
  };
  // After the iteration's metrics are complete: the scores, and every interval-th iteration an exploit
  // (both from the end of the burn-in on: iteration k is the (k + 1 − burnIn)-th scored).
  const burnIn = options.pbt?.burnIn ?? 0;
  const exploitsAt = (k: number) => pbt !== null && k + 1 > burnIn && (k + 1 - burnIn) % options.pbt!.interval === 0;
  const encodePbt = (pass: GPUComputePassEncoder, k: number) => {
    if (!pbt || k + 1 <= burnIn) return;
    pbt.encodeRecord(pass);
    if (exploitsAt(k)) pbt.encodeExploit(pass);
  };
  const prepareIteration = () => {
    rollout.setIteration(iteration);
    update.prepareIteration(iteration, learningRateFraction(iteration));
  };

  // Counted once, over two recorded iterations: Adam alternates its control
  // buffers per recorded step, so an even number of steps leaves it where it was.
  const dispatchesPerIteration =
    countDispatches((pass) => {
      for (let k = 0; k < 2; k++) {
        encodeCollect(pass);
        encodeAdvantage(pass);
        encodeUpdate(pass);
      }
    }) / 2;

  const agentName = (k: number) => (P > 1 ? `agent ${k}'s ` : '');

  const common: Omit<TrainerCommon, 'iteration' | 'envSteps'> & { iteration: number; envSteps: number } = {
    config,
    policy,
    value,
    iteration: 0,
    envSteps: 0,
    dispatchesPerIteration,
    recordIteration(pass) {
      encodeCollect(pass);
      encodeAdvantage(pass);
      encodeUpdate(pass);
    },
    checkedTensors: Object.fromEntries(checked.map((t) => [t.name, t.buffer])),
    replay: { spec: env.spec, numEnvs: N, numSteps: T, obs: storage.obs, actions: storage.actions, doneFlags: storage.doneFlags },

    async timePhases() {
      const run = async (label: string, encode: (pass: GPUComputePassEncoder) => void) => {
        const encoder = device.createCommandEncoder({ label });
        const pass = encoder.beginComputePass({ label });
        encode(pass);
        pass.end();
        const t0 = performance.now();
        device.queue.submit([encoder.finish()]);
        await device.queue.onSubmittedWorkDone();
        gpu.throwIfFailed();
        return (performance.now() - t0) / 1000;
      };
      await device.queue.onSubmittedWorkDone();
      prepareIteration();
      const collect = await run('phase.collect', encodeCollect);
      const advantage = await run('phase.advantage', encodeAdvantage);
      const updateSeconds = await run('phase.update', encodeUpdate);
      advance();
      lastFinish = performance.now();
      rate.clear();
      return { collect, advantage, update: updateSeconds, total: collect + advantage + updateSeconds };
    },

    destroy() {
      update.destroy();
      pbt?.destroy();
      for (const op of [behaviourLogProbs, updatedEntropy, updateKl, ...normalizeOps]) op.destroy();
      for (const r of [advantageStats, returnStats, ...episodeSums, klMean, entropyMean]) r.destroy();
      finite.destroy();
      for (const pass of [evalPass, valuePass]) pass.destroy();
      gae.destroy();
      for (const b of [...staging, logProbs, entropies, klRows, updatedLogProbs, advantages, returns, metrics, ...normalizationState.map((t) => t.buffer)]) b.destroy();
      for (const b of [normalizedObs, scaledRewards]) b?.destroy();
      rollout.destroy();
      policy.destroy();
      value.destroy();
      agents.params.destroy();
    },
  };
  const advance = () => {
    iteration++;
    envSteps += batchSize;
    common.iteration = iteration;
    common.envSteps = envSteps;
  };

  async function step(): Promise<AgentIterationMetrics[]> {
    gpu.throwIfFailed();
    const k = iteration;
    const ring = k % STAGING_RING;
    if (stagingBusy[ring]) await stagingBusy[ring];
    prepareIteration();
    const encoder = recordInParts(device, `iteration${k}`, dispatchesPerSubmit, (pass) => {
      encodeCollect(pass);
      encodeAdvantage(pass);
      encodeUpdate(pass);
      encodePbt(pass, k);
    });
    encoder.copyBufferToBuffer(metrics, 0, staging[ring], 0, P * MB * 4);
    if (recordBytes) encoder.copyBufferToBuffer(agents.params, 0, staging[ring], P * MB * 4, recordBytes);
    device.queue.submit([encoder.finish()]);
    const submitted = performance.now();
    advance();
    const stepsAfter = envSteps;
    const mapped = staging[ring].mapAsync(GPUMapMode.READ);
    stagingBusy[ring] = mapped.catch(() => undefined);
    try {
      await mapped;
    } catch (error) {
      gpu.throwIfFailed();
      throw error;
    }
    const bytes = staging[ring].getMappedRange().slice(0);
    const blocks = new Float32Array(bytes, 0, P * MB);
    const records = recordBytes ? new DataView(bytes, P * MB * 4, recordBytes) : null;
    staging[ring].unmap();
    stagingBusy[ring] = null;
    gpu.throwIfFailed();
    for (let a = 0; a < P; a++) {
      const nonFinite = finite.tensorsIn(blocks[a * MB + metricSlot('non_finite')]);
      if (nonFinite.length) throw new Error(`training diverged at iteration ${k}: NaN or infinite values in ${agentName(a)}${nonFinite.join(', ')}`);
    }
    // An iteration runs from its submit, or from the previous one's end when queued behind it.
    const now = performance.now();
    const started = Math.max(submitted, lastFinish);
    lastFinish = now;
    rate.add(batchSize, started, now);
    const context = { iter: k, envSteps: stepsAfter, sps: rate.perSecond()!, wallSeconds: (now - started) / 1000, algo: config.algo };
    return Array.from({ length: P }, (_, a) => {
      const block = blocks.subarray(a * MB, (a + 1) * MB);
      const m: AgentIterationMetrics = decodeMetrics(block, context);
      if (pbt && records) {
        m.pbt_parent = exploitsAt(k) && block[metricSlot('pbt_parent')] >= 0 ? block[metricSlot('pbt_parent')] : null;
        m.hyper = Object.fromEntries(options.pbt!.perturb.map((field) => [field, records.getFloat32(a * AGENT_PARAMS_BYTES + agentParamOffset(field), true)]));
      }
      return m;
    });
  }

  // Checkpoint arrays hold each agent's values unpadded ([P][length] for the layout's length).
  const paddedStride = (name: string, length: number): number => {
    if (P === 1) return length;
    if (name === 'policy.adam.m' || name === 'policy.adam.v') return parameterStride(policy.layout);
    if (name === 'value.adam.m' || name === 'value.adam.v') return parameterStride(value.layout);
    return length;
  };

  async function agentConfigs(): Promise<ResolvedConfig[]> {
    await device.queue.onSubmittedWorkDone();
    const words = await readUint32(gpu, agents.params);
    const view = new DataView(words.buffer);
    return configs.map((c, k) => {
      const values: Partial<Record<AgentField, number>> = {};
      AGENT_FIELDS.forEach((field, i) => {
        const at = (k * AGENT_FIELDS.length + i) * 4;
        // f32 records: a value the host gave comes back as given; one PBT moved is the f32 it holds.
        const f32 = field === 'seed' ? view.getUint32(at, true) : view.getFloat32(at, true);
        values[field] = Math.fround(c[field]) === f32 ? c[field] : field === 'seed' ? f32 : shortestF32(f32);
      });
      return resolveConfig({ ...stripDerived(c), ...values });
    });
  }

  async function checkpoint(histories: IterationMetrics[][]): Promise<Checkpoint> {
    if (histories.length !== P) throw new Error(`checkpoint: ${histories.length} histories for ${P} agents`);
    await device.queue.onSubmittedWorkDone();
    const arrays: Record<string, Float32Array> = {
      policy: await policy.readParams(),
      value: await value.readParams(),
      'env.currentObs': await readFloat32(gpu, storage.currentObs, 0, P * N * obsDim),
      'env.slots': await readFloat32(gpu, storage.envSlots, 0, P * slotsPerAgent),
      metrics: await readFloat32(gpu, metrics, 0, P * MB),
    };
    for (const t of normalizationState) arrays[t.name] = await readFloat32(gpu, t.buffer, 0, P * t.count);
    const layout = checkpointLayout(config);
    for (const [name, state] of Object.entries(update.checkpointParts)) {
      for (const [part, a] of Object.entries(await state.readState())) {
        const full = `${name}.${part}`;
        const length = layout.get(full) ?? a.length / P;
        arrays[full] = reblock(a, P, paddedStride(full, length), length);
      }
    }
    if (pbt) {
      arrays['population.pbt.scoreWindow'] = await readFloat32(gpu, pbt.scoreWindow, 0, 2 * P);
      // The exploit draws' counter and the prior resampling draws from: a resumed run draws as this one would.
      const state = await pbt.readState();
      arrays['population.pbt.exploits'] = Float32Array.of(state.exploits);
      arrays['population.pbt.prior'] = state.prior;
    }
    const own = P > 1 ? await agentConfigs() : configs;
    const { derived: _derived, ...plain } = config;
    return {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      config: P > 1 ? stripDerived(own[0]) : plain,
      env: env.spec,
      iteration,
      envSteps,
      arrays,
      history: histories[0],
      ...(P > 1 ? { population: { agents: own.map(stripDerived), histories } } : {}),
    };
  }

  async function restore(c: Checkpoint): Promise<void> {
    checkCheckpointEnv(c, env.spec);
    const size = c.population?.agents.length ?? 1;
    if (size !== P) throw new Error(`checkpoint: holds ${size} agent${size === 1 ? '' : 's'}, this run trains ${P}`);
    // Every array is checked before any is written, so a refused checkpoint changes nothing.
    const arrays = new Map<string, Float32Array>();
    const need = (name: string, length?: number | readonly number[]) => {
      const a = c.arrays[name];
      if (!a) throw new Error(`checkpoint: array "${name}" missing`);
      const lengths = (typeof length === 'number' ? [length] : length)?.map((n) => n * P);
      if (lengths && !lengths.includes(a.length)) {
        throw new Error(`checkpoint: array "${name}" has ${a.length} values, this configuration needs ${lengths.join(' or ')}`);
      }
      const bad = a.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) throw new Error(`checkpoint: array "${name}" holds ${a[bad]} at index ${bad} (every value must be finite)`);
      arrays.set(name, a);
      return a;
    };
    need('policy', policy.layout.paramCount);
    need('value', value.layout.paramCount);
    need('env.currentObs', N * env.spec.obsDim);
    need('env.slots', P === 1 ? [slotsPerAgent, ENV_SLOTS.length * N] : slotsPerAgent);
    need('metrics', P === 1 ? [MB, LEGACY_METRICS_BLOCK_FLOATS] : MB);
    for (const [name, state] of Object.entries(update.checkpointParts)) for (const part of state.stateParts) need(`${name}.${part}`);
    for (const t of normalizationState) need(t.name, t.count);
    // PBT's exploit count and prior, where the checkpoint holds them (checked now, written below).
    const pbtExploits = c.arrays['population.pbt.exploits'];
    const pbtPrior = c.arrays['population.pbt.prior'];
    if (pbt && pbtExploits && pbtPrior) {
      if (pbtExploits.length !== 1) throw new Error(`checkpoint: array "population.pbt.exploits" has ${pbtExploits.length} values, needs 1`);
      try {
        pbt.checkState({ exploits: pbtExploits[0], prior: pbtPrior });
      } catch (error) {
        throw new Error(`checkpoint: ${(error as Error).message}`);
      }
    }
    const envSlots = P === 1 ? envSlotsFromCheckpoint(arrays.get('env.slots')!, arrays.get('env.currentObs')!, rollout.envSlotRows, N) : new Float32Array(arrays.get('env.slots')!);
    if (c.population) {
      // The records as the checkpoint's agents hold them (PBT may have moved them).
      const records = c.population.agents.map((a) => agentRecord(resolveConfig(a)));
      device.queue.writeBuffer(agents.params, 0, packAgentParams(records));
    }

    policy.setParams(arrays.get('policy')!);
    value.setParams(arrays.get('value')!);
    device.queue.writeBuffer(storage.currentObs, 0, new Float32Array(arrays.get('env.currentObs')!));
    device.queue.writeBuffer(storage.envSlots, 0, envSlots);
    for (const t of normalizationState) device.queue.writeBuffer(t.buffer, 0, new Float32Array(arrays.get(t.name)!));
    // Older blocks lack the trailing slots; the finiteness flag starts clear (every array was just checked).
    const saved = arrays.get('metrics')!;
    const blocks = new Float32Array(P * MB);
    const savedBlock = saved.length / P;
    for (let a = 0; a < P; a++) {
      blocks.set(saved.subarray(a * savedBlock, (a + 1) * savedBlock), a * MB);
      blocks[a * MB + metricSlot('non_finite')] = 0;
      if (savedBlock < MB) blocks[a * MB + metricSlot('pbt_parent')] = -1;
    }
    device.queue.writeBuffer(metrics, 0, blocks);
    const layout = checkpointLayout(config);
    for (const [name, state] of Object.entries(update.checkpointParts)) {
      const parts: Record<string, Float32Array> = {};
      for (const part of state.stateParts) {
        const full = `${name}.${part}`;
        const a = arrays.get(full)!;
        const length = layout.get(full) ?? a.length / P;
        parts[part] = reblock(a, P, length, paddedStride(full, length));
      }
      state.writeState(parts);
    }
    const window = c.arrays['population.pbt.scoreWindow'];
    if (pbt && window && window.length === 2 * P) device.queue.writeBuffer(pbt.scoreWindow, 0, new Float32Array(window));
    // Older checkpoints lack them: the exploits count from 0 and the prior is the records restored.
    if (pbt && pbtExploits && pbtPrior) pbt.writeState({ exploits: pbtExploits[0], prior: pbtPrior });
    iteration = c.iteration;
    firstIteration = c.iteration;
    envSteps = c.envSteps;
    common.iteration = iteration;
    common.envSteps = envSteps;
    await gpu.sync();
  }

  return { common, agents, step, agentConfigs, checkpoint, restore };
}

/** P blocks of `from` values each as P blocks of `to` values (dropping or zero-filling each block's tail). */
function reblock(values: Float32Array, agents: number, from: number, to: number): Float32Array {
  if (from === to) return values;
  const out = new Float32Array(agents * to);
  const n = Math.min(from, to);
  for (let a = 0; a < agents; a++) out.set(values.subarray(a * from, a * from + n), a * to);
  return out;
}


/** `block` repeated `times` times. */
function repeat(block: Float32Array, times: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(block.length * times);
  for (let k = 0; k < times; k++) out.set(block, k * block.length);
  return out;
}

function stripDerived(config: ResolvedConfig): TrainConfig {
  const { derived: _derived, ...plain } = config;
  return plain;
}

/**
 * PBT over the population's networks, optimizer states and normalisation
 * moments (each a per-agent tensor it copies), and with `envs: 'copy'` the env
 * state (`envState`: observations, env slots, the reward normaliser's running returns).
 */
async function makePbt(
  gpu: GpuContext,
  settings: PbtSettings,
  configs: readonly ResolvedConfig[],
  agents: Agents,
  metrics: GPUBuffer,
  networks: readonly Mlp[],
  update: Update,
  normalizationState: readonly CheckedTensor[],
  envState: readonly CheckedTensor[],
): Promise<Pbt> {
  const P = configs.length;
  const moved = Math.max(1, Math.floor(settings.fraction * P));
  const tensors: PbtTensor[] = networks.map((n) => ({ name: n.label, buffer: n.params, count: parameterStride(n.layout) }));
  for (const [name, part] of Object.entries(update.checkpointParts)) {
    // Moments and the step count with its bias corrections: an exploited agent continues the source's optimizer.
    for (const [stateName, buffer] of Object.entries(part.agentStateBuffers)) tensors.push({ name: `${name}.${stateName}`, buffer, count: buffer.size / 4 / P });
  }
  // The networks were trained on inputs (and rewards) scaled by the source's moments: a copy keeps reading them so.
  for (const t of normalizationState) if (!envState.includes(t)) tensors.push({ name: t.name, buffer: t.buffer, count: t.count });
  if (settings.envs === 'copy') for (const t of envState) tensors.push({ name: t.name, buffer: t.buffer, count: t.count });
  const bounds: Partial<Record<AgentField, readonly [number, number]>> = {};
  for (const field of settings.perturb) {
    const range = FIELDS[field].range!;
    bounds[field] = [range.min ?? -3.4e38, range.max ?? 3.4e38];
  }
  return Pbt.create(gpu, { agents, metrics, tensors, bottom: moved, top: settings.source === 'best' ? 1 : moved, perturb: settings.perturb, resample: settings.resample ?? 0, bounds, seed: configs[0].seed, label: 'pbt' });
}

/**
 * The rollout's env slots from a checkpoint's `env.slots`. Checkpoints written
 * before the env state moved into the slots hold only the ENV_SLOTS rows; they
 * are all CartPole's, whose state is its observation, so the state rows are
 * rebuilt from `env.currentObs` ([N][obsDim]) and those checkpoints resume bit for bit.
 */
export function envSlotsFromCheckpoint(slots: Float32Array, currentObs: Float32Array, rows: number, numEnvs: number): Float32Array<ArrayBuffer> {
  if (slots.length === rows * numEnvs) return new Float32Array(slots);
  const stateDim = rows - ENV_SLOTS.length;
  if (slots.length !== ENV_SLOTS.length * numEnvs || currentObs.length !== stateDim * numEnvs) {
    throw new Error(`checkpoint: array "env.slots" has ${slots.length} values, this configuration needs ${rows * numEnvs}`);
  }
  const full = new Float32Array(rows * numEnvs);
  full.set(slots);
  for (let env = 0; env < numEnvs; env++) {
    for (let c = 0; c < stateDim; c++) full[(ENV_SLOTS.length + c) * numEnvs + env] = currentObs[env * stateDim + c];
  }
  return full;
}

/**
 * Records `encode` into compute passes of at most `maxDispatches` dispatches:
 * each full pass is submitted at once in its own command buffer (a command
 * buffer of millions of dispatches crashed lavapipe), in recording order, so
 * the GPU computes exactly what one pass would. Returns the encoder of the last
 * pass, ended and not yet submitted, for the caller's copies and submit.
 */
export function recordInParts(device: GPUDevice, label: string, maxDispatches: number, encode: (pass: GPUComputePassEncoder) => void): GPUCommandEncoder {
  let part = 0;
  let encoder = device.createCommandEncoder({ label });
  let pass = encoder.beginComputePass({ label });
  let dispatches = 0;
  // The state a new pass must be given before the dispatch that starts it.
  let pipeline: GPUComputePipeline | null = null;
  let bindGroup: [GPUBindGroup, Iterable<number> | undefined] | null = null;
  const parts = {
    setPipeline(p: GPUComputePipeline) {
      pipeline = p;
      pass.setPipeline(p);
    },
    setBindGroup(index: number, group: GPUBindGroup, offsets?: Iterable<number>) {
      if (index !== 0) throw new Error(`${label}: only bind group 0 is used, got ${index}`);
      bindGroup = [group, offsets];
      if (offsets) pass.setBindGroup(0, group, offsets);
      else pass.setBindGroup(0, group);
    },
    dispatchWorkgroups(x: number, y?: number, z?: number) {
      if (dispatches === maxDispatches) {
        pass.end();
        device.queue.submit([encoder.finish()]);
        part++;
        encoder = device.createCommandEncoder({ label: `${label}.part${part}` });
        pass = encoder.beginComputePass({ label: `${label}.part${part}` });
        dispatches = 0;
        if (pipeline) pass.setPipeline(pipeline);
        if (bindGroup?.[1]) pass.setBindGroup(0, bindGroup[0], bindGroup[1]);
        else if (bindGroup) pass.setBindGroup(0, bindGroup[0]);
      }
      pass.dispatchWorkgroups(x, y, z);
      dispatches++;
    },
  };
  encode(parts as unknown as GPUComputePassEncoder);
  pass.end();
  return encoder;
}

/**
 * Dispatches an encode function records, counted on a stand-in pass that
 * records nothing. Host-side state the encoders keep still advances as if the
 * work were submitted (Adam alternates its two control buffers per recorded
 * step), so count optimizer steps in even numbers, or before first use.
 */
export function countDispatches(encode: (pass: GPUComputePassEncoder) => void): number {
  let count = 0;
  const counter = {
    setPipeline() {},
    setBindGroup() {},
    dispatchWorkgroups() {
      count++;
    },
    dispatchWorkgroupsIndirect() {
      count++;
    },
  };
  encode(counter as unknown as GPUComputePassEncoder);
  return count;
}
