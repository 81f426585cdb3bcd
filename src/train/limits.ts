/**
 * What a configuration asks of an adapter, from the configuration alone and
 * before any GPU work: the size of every buffer a trainer creates that grows
 * with the run's size fields (the others stay under a few MiB at the fields'
 * largest values, far below the 128 MiB every WebGPU adapter allows), and the
 * dispatches one iteration records. The CLI, the Studio and makeTrainer refuse
 * through `checkLimits`: one line naming the flag to lower and the largest
 * value of it that fits, everything else unchanged.
 *
 * The labels are the ones the trainer gives its buffers; test/limits.test.ts
 * compares this plan with the buffers a trainer actually creates.
 */
import { AGENT_SEEDS_BYTES } from '../gpu/agents';
import { ConfigError, FIELDS, resolveConfig, type ResolvedConfig, type TrainConfig } from '../core/config';
import type { MlpLayout } from '../nn/mlp';
import { envDefinition } from '../envs/registry';
import { ENV_SLOTS, FUSED_STEPS, rolloutFuses, type RolloutForm } from '../kernels/rollout';
import { STATS, minibatchBlockRows, recordStride } from '../algos/ppo';
import { networkLayouts } from './networks';
import { partialBytes, rowsChainHolds } from '../kernels/mlp';

/** The adapter limits a plan is checked against (a GPUSupportedLimits has them). */
export interface DeviceLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  minUniformBufferOffsetAlignment: number;
  /** Where a bound range of a storage buffer may start (PPO's minibatch blocks); absent: 256, WebGPU's default. */
  minStorageBufferOffsetAlignment?: number;
  /**
   * Whether the device's MLP kernels chain the `rows` shape, so that the
   * forward-only evaluation passes keep no hidden rows (MlpPass.holdsHidden;
   * `MlpKernels.holdsEvaluationRows`). Absent: they keep them, the larger plan.
   */
  holdsEvaluationRows?: boolean;
  /**
   * Whether the device's MLP kernels sum parameter gradients over row blocks
   * (`split`, a GPU's; `MlpKernels.splitsParamSums`), so every pass with a
   * backward keeps its partial sums. Absent: they do not (`serial`).
   */
  splitsParamSums?: boolean;
  /**
   * The device's rollout form (Rollout.formOf) and the storage buffers a shader stage
   * may bind: with `fused` where the fused kernel fits them (rolloutFuses), the rollout
   * runs a dispatch per FUSED_STEPS steps and keeps no per-step policy pass. Absent: it
   * steps dispatch by dispatch, the larger plan.
   */
  rolloutForm?: RolloutForm;
  maxStorageBuffersPerShaderStage?: number;
}

/** No buffer limit: what checkLimits needs to check what depends on no adapter (the dispatch cap) before one is requested. */
export const ANY_ADAPTER: DeviceLimits = { maxBufferSize: Infinity, maxStorageBufferBindingSize: Infinity, minUniformBufferOffsetAlignment: 256 };

/** The config fields that size buffers and dispatch loops; a refusal names one of them. */
export type SizeField = 'numEnvs' | 'stepsPerIter' | 'hidden' | 'minibatch' | 'epochs';

/** One buffer a config will allocate, for checking it against the adapter's limits before any GPU work. */
export interface PlannedBuffer {
  label: string;
  bytes: number;
  /** Storage buffers are bound whole, so the storage-binding limit applies too; uniform slot tables are bound one slot at a time. */
  usage: 'storage' | 'uniform';
  /** The fields it grows with, in the order a refusal names them. */
  grows: readonly SizeField[];
}

/**
 * Most dispatches one iteration may record. Recording is host memory (1.1 GB
 * resident for 1.28 million) and each dispatch costs about 0.1 ms on lavapipe
 * (those 1.28 million took 154 s), so an iteration past this is refused up front.
 */
export const MAX_DISPATCHES_PER_ITERATION = 1_000_000;

/**
 * Dispatches per submit: an iteration that records more is submitted in parts,
 * in order. On lavapipe one command buffer of 640 000 dispatches ended the
 * process with a segmentation fault (576 000 ran), and the same 1.28 million
 * in parts of 250 000 ran.
 */
export const DISPATCHES_PER_SUBMIT = 100_000;

/** As storageBuffer rounds: whole f32s, at least 16 bytes. */
function storageBytes(floats: number): number {
  return Math.max(16, floats * 4);
}

/** Bytes between uniform slots: the argument structs of slot tables fit in 16 bytes, rounded up to the offset alignment. */
function slotStride(limits: Pick<DeviceLimits, 'minUniformBufferOffsetAlignment'>): number {
  const align = limits.minUniformBufferOffsetAlignment;
  return Math.ceil(16 / align) * align;
}

/** Every buffer of a trainer for `config` that grows with its size fields, labelled as the trainer labels them. */
export function plannedBuffers(
  config: ResolvedConfig,
  limits: Pick<DeviceLimits, 'minUniformBufferOffsetAlignment' | 'minStorageBufferOffsetAlignment' | 'holdsEvaluationRows' | 'splitsParamSums' | 'rolloutForm' | 'maxStorageBuffersPerShaderStage'>,
): PlannedBuffer[] {
  const spec = envDefinition(config.env).spec;
  const N = config.numEnvs;
  const { stepsPerEnv: T, batchSize: B, obsDim: D, numActions: A, minibatches: M } = config.derived;
  const K = Math.ceil(T / spec.maxEpisodeSteps);
  const layouts = networkLayouts(config);
  const plan: PlannedBuffer[] = [];
  const storage = (label: string, floats: number, grows: readonly SizeField[]) => plan.push({ label, bytes: storageBytes(floats), usage: 'storage', grows });
  const table = (label: string, slots: number, grows: readonly SizeField[]) =>
    plan.push({ label, bytes: Math.max(1, slots) * slotStride(limits), usage: 'uniform', grows });
  // An MLP pass keeps every layer's activations and gradients, [rows][outDim]. A chained
  // pass keeps its hidden layers' in one buffer only where that buffer fits a binding
  // (else it keeps these), so these bound what a configuration needs.
  // A forward-only (evaluation) pass that holds its hidden rows keeps only the last layer's, and layer 0's where it runs alone.
  const pass = (label: string, rows: number, layout: MlpLayout, grows: readonly SizeField[], forwardOnly = false) => {
    const held = forwardOnly && limits.holdsEvaluationRows === true ? rowsChainHolds(layout) : { holds: false, firstAlone: false };
    const L = layout.layers.length;
    layout.layers.forEach((layer, l) => {
      if (held.holds && l < L - 1) {
        if (l === 0 && held.firstAlone) storage(`${label}.activations0`, rows * layer.outDim, [...grows, 'hidden']);
        return;
      }
      const widthGrows: readonly SizeField[] = l + 1 < layout.layers.length ? [...grows, 'hidden'] : grows;
      storage(`${label}.activations${l}`, rows * layer.outDim, widthGrows);
      storage(`${label}.gradPreActivation${l}`, rows * layer.outDim, widthGrows);
    });
    // `split` sums: each row block's sums of one layer's parameters at a time (where a pass's
    // parameter gradients chain it keeps every layer's at once, but only where that fits a binding).
    if (!forwardOnly && limits.splitsParamSums === true) plan.push({ label: `${label}.partials`, bytes: Math.max(16, partialBytes(layout, rows)), usage: 'storage', grows: [...grows, 'hidden'] });
    // A Gaussian head's rows (means and log-stds) and their gradients.
    if (layout.head === 'gaussian') {
      storage(`${label}.head.rowParams0`, rows * layout.distParamsPerRow, grows);
      storage(`${label}.head.rowGrads`, rows * layout.distParamsPerRow, grows);
    }
  };
  const perEnv: SizeField[] = ['numEnvs'];
  const perSample: SizeField[] = ['stepsPerIter', 'numEnvs'];

  // Each agent's seed, for the kernels that bind no AgentParams (a fixed 16 KiB uniform: MAX_POPULATION seeds).
  plan.push({ label: 'rollout.agentSeeds', bytes: AGENT_SEEDS_BYTES, usage: 'uniform', grows: [] });
  if (config.algo === 'ppo' || config.algo === 'ppo-kl') plan.push({ label: 'ppo.agentSeeds', bytes: AGENT_SEEDS_BYTES, usage: 'uniform', grows: [] });
  // Rollout: observations with the bootstrap row and the truncated steps' final observations.
  storage('rollout.obs', (T + 1 + K) * N * D, perSample);
  storage('rollout.behaviourLogits', B * A, perSample);
  storage('rollout.actions', B * config.derived.actionWords, perSample);
  for (const name of ['rewards', 'doneFlags']) storage(`rollout.${name}`, B, perSample);
  storage('rollout.currentObs', N * D, perEnv);
  storage('rollout.envSlots', (ENV_SLOTS.length + spec.stateDim) * N, perEnv);
  // A StepArgs slot per dispatch; step by step, the policy's forward pass over the N envs.
  const fused = fusesRollout(config, limits);
  table('rollout.stepArgs', fused ? Math.ceil(T / FUSED_STEPS) : T, ['stepsPerIter']);
  if (!fused) pass('rollout.policy', N, layouts.policy, perEnv, true);

  // Normalisation (src/kernels/normalize.ts): the networks' normalised copy of obs, per-env partial
  // moments, each env's running discounted return (carried across iterations), the discounted
  // returns of the batch and the scaled rewards. The running moments themselves are a few floats per obs component.
  if (config.normObs) {
    if (!fused) storage('rollout.normalizedObs', N * D, perEnv);
    storage('batch.normalizedObs', (T + 1 + K) * N * D, perSample);
    storage('normalize.obsMoments.partials', N * D * 2, perEnv);
  }
  if (config.normReward) {
    storage('normalize.discountedReturn', N, perEnv);
    storage('normalize.reward.discounted', B, perSample);
    storage('normalize.reward.moments.partials', N * 2, perEnv);
    storage('batch.scaledRewards', B, perSample);
  }

  // Whole-batch passes; the value pass covers every observation row: the bootstrap row and the K·N
  // final observations (read by GAE unless truncation counts as termination), one block per agent.
  pass('batch.updatedPolicy', B, layouts.policy, perSample, true);
  pass('batch.values', (T + 1 + K) * N, layouts.value, perSample, true);
  for (const name of ['logProbs', 'entropies', 'kl', 'updatedLogProbs', 'advantages', 'returns']) storage(`batch.${name}`, B, perSample);

  if (config.algo === 'ppo' || config.algo === 'ppo-kl') {
    const Mb = config.minibatch;
    // Every minibatch of an epoch, gathered at once: observations in blocks on the storage offset alignment.
    storage('ppo.mbObs', M * minibatchBlockRows(Mb, D, limits.minStorageBufferOffsetAlignment ?? 256) * D, perSample);
    // Per minibatch row: behaviour log-prob, advantage, return, the behaviour parameters and the action.
    storage('ppo.mbRecords', M * Mb * recordStride(A, config.derived.actionWords), perSample);
    storage('ppo.rowStats', STATS.length * B, perSample);
    table('ppo.slots', config.epochs * M, ['epochs', 'stepsPerIter']);
    pass('ppo.policy', Mb, layouts.policy, ['minibatch']);
    pass('ppo.value', Mb, layouts.value, ['minibatch']);
  } else if (config.algo === 'trpo') {
    pass('trpo.policy', B, layouts.policy, perSample);
    storage('trpo.surrogate.rowLoss', B, perSample);
    layouts.policy.layers.forEach((layer, l) =>
      storage(`trpo.fvp.tangents.tangent${l}`, B * layer.outDim, l + 1 < layouts.policy.layers.length ? [...perSample, 'hidden'] : perSample),
    );
    storage('trpo.lineSearch.rowTerms', 2 * B, perSample);
    pass('trpo.lineSearch.candidatePolicy', B, layouts.policy, perSample, true);
    pass('trpo.valueFit.value', B, layouts.value, perSample);
    storage('trpo.valueFit.rowLoss', B, perSample);
  } else {
    pass('reinforce.policy', B, layouts.policy, perSample);
    storage('reinforce.loss.rowLoss', B, perSample);
    pass('reinforce.valueFit.value', B, layouts.value, perSample);
    storage('reinforce.valueFit.rowLoss', B, perSample);
  }
  return plan;
}

/** Whether a trainer's rollout runs fused on a device of these limits (not known: not). */
function fusesRollout(config: ResolvedConfig, limits: Pick<DeviceLimits, 'rolloutForm' | 'maxStorageBuffersPerShaderStage'>): boolean {
  const max = limits.maxStorageBuffersPerShaderStage;
  return limits.rolloutForm === 'fused' && max !== undefined && rolloutFuses(envDefinition(config.env), networkLayouts(config).policy.layers, max);
}

/**
 * Dispatches one iteration records, at most (Adam counted as two dispatches per
 * step, as its unfused form records it; every adapter's default step is one:
 * `defaultAdamStepForm` in src/kernels/optim.ts). The counts per operation are those
 * of the kernels' encode methods: a dense layer forward is one dispatch per
 * layer, its backward two per layer but the first, a reduction two. Chained
 * passes (DenseChaining `chain` in src/kernels/mlp.ts) record fewer: a network's
 * forward one or two, its backward two or three.
 */
export function dispatchesPerIteration(config: ResolvedConfig, limits: Pick<DeviceLimits, 'rolloutForm' | 'maxStorageBuffersPerShaderStage'> = {}): number {
  const layers = networkLayouts(config).policy.layers.length;
  const { stepsPerEnv: T, minibatches: M } = config.derived;
  const forward = layers;
  const backward = 2 * layers - 1;
  const reduction = 2;
  const adam = (clip: boolean) => 2 + (clip ? reduction : 0);
  const valueFit = config.valueSteps * (forward + 1 + backward + adam(false)) + reduction;
  const fvp = forward + 1 + backward + 1;
  let update: number;
  let optimizers: number;
  if (config.algo === 'ppo' || config.algo === 'ppo-kl') {
    const clip = config.maxGradNorm > 0;
    const minibatch = (config.advantageNorm === 'minibatch' ? 1 : 0) + 2 * forward + 1 + 2 * (backward + adam(clip));
    const earlyStop = config.targetKl > 0 ? reduction + 1 : 0;
    // An epoch: its gather, then its minibatches.
    update = 1 + config.epochs * (1 + M * minibatch + earlyStop) + 3 * reduction + (config.algo === 'ppo-kl' ? 1 : 0);
    optimizers = 2;
  } else if (config.algo === 'trpo') {
    const gradient = forward + 1 + backward;
    const cg = 1 + reduction + 1 + config.cgIters * (fvp + reduction + 1 + reduction + 1 + 1);
    const lineSearch = fvp + 2 * reduction + 1 + (config.backtracks + 1) * (1 + forward + 1 + 2 * reduction) + 2;
    update = gradient + cg + lineSearch + valueFit;
    optimizers = 1;
  } else {
    update = forward + 1 + reduction + backward + adam(false) + valueFit;
    optimizers = 2;
  }
  // Fused: a dispatch per FUSED_STEPS steps; else per step the policy input, forward and act-and-step.
  const collect = fusesRollout(config, limits) ? Math.ceil(T / FUSED_STEPS) : T * (forward + 1 + (config.normObs ? 1 : 0));
  // Normalising obs and updating their moments (1 + 2); discounted returns, their moments and the scaling (1 + 2 + 1).
  const normalization = (config.normObs ? 3 : 0) + (config.normReward ? 4 : 0);
  const advantage = normalization + 1 + forward + 1 + 2 * reduction;
  // Updated policy's forward, KL and entropy with their means, and episode sums.
  const report = forward + 1 + reduction + 1 + reduction + 2 * reduction;
  // At the start and the end: two networks, each optimizer's two moments, two env tensors, the normalisation state.
  const normalizationTensors = (config.normObs ? 1 : 0) + (config.normReward ? 2 : 0);
  const finiteChecks = 2 * 2 * (2 + 2 * optimizers + 2 + normalizationTensors);
  return collect + advantage + update + report + finiteChecks;
}

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toLocaleString('en-US', { maximumFractionDigits: 1 })} MiB`;
}

/** The first thing `config` asks for that the adapter does not allow, or null. */
function firstExcess(config: ResolvedConfig, limits: DeviceLimits): { what: string; grows: readonly SizeField[] } | null {
  const storageLimit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  for (const b of plannedBuffers(config, limits)) {
    const limit = b.usage === 'storage' ? storageLimit : limits.maxBufferSize;
    if (b.bytes > limit) {
      const kind = b.usage === 'storage' && limit < limits.maxBufferSize ? 'storage-binding' : 'buffer-size';
      return { what: `buffer ${b.label} of ${mebibytes(b.bytes)}, over this adapter's ${mebibytes(limit)} ${kind} limit`, grows: b.grows };
    }
  }
  const dispatches = dispatchesPerIteration(config, limits);
  if (dispatches > MAX_DISPATCHES_PER_ITERATION) {
    const grows: SizeField[] = config.algo === 'ppo' || config.algo === 'ppo-kl' ? ['epochs', 'minibatch', 'stepsPerIter'] : ['stepsPerIter'];
    return {
      what: `${dispatches.toLocaleString('en-US')} dispatches per iteration, over the cap of ${MAX_DISPATCHES_PER_ITERATION.toLocaleString('en-US')}`,
      grows,
    };
  }
  return null;
}

/** Whether every buffer of `config` fits `limits` and its dispatches are within the cap. */
export function withinLimits(config: ResolvedConfig, limits: DeviceLimits): boolean {
  return firstExcess(config, limits) === null;
}

/** Whether `config` resolves and fits; null when it is not a valid configuration at all. */
function fits(config: TrainConfig, limits: DeviceLimits): boolean | null {
  let resolved: ResolvedConfig;
  try {
    resolved = resolveConfig(config);
  } catch (error) {
    if (error instanceof ConfigError) return null;
    throw error;
  }
  return withinLimits(resolved, limits);
}

/**
 * The value of `field` nearest its current one that makes `config` fit, the
 * others unchanged: the largest below it (sizes grow with every size field),
 * or for the minibatch, whose larger values mean fewer minibatches, the
 * smallest above it. Null when none does.
 */
function bestValue(config: TrainConfig, field: SizeField, limits: DeviceLimits): { value: number; direction: 'at most' | 'at least' } | null {
  const current = config[field];
  const at = (v: number) => fits({ ...config, [field]: v }, limits);
  // Values too small to be valid (a batch below the minibatch) count as fitting, so the search sees one boundary.
  let [good, bad] = [(FIELDS[field].range!.min ?? 1) - 1, current];
  while (bad - good > 1) {
    const mid = Math.floor((good + bad) / 2);
    if (at(mid) !== false) good = mid;
    else bad = mid;
  }
  if (good < current && at(good) === true) return { value: good, direction: 'at most' };
  if (field !== 'minibatch') return null;
  const batch = resolveConfig(config).derived.batchSize;
  if (at(batch) !== true) return null;
  [bad, good] = [current, batch];
  while (good - bad > 1) {
    const mid = Math.floor((good + bad) / 2);
    if (at(mid) === true) good = mid;
    else bad = mid;
  }
  return { value: good, direction: 'at least' };
}

/**
 * Null when every buffer of `config` fits `limits` and an iteration's
 * dispatches are within the cap; else one line naming the flag to change and
 * the value that fits. `given` lists the fields the user set (they are named
 * first, in the order the exceeded buffer grows with them).
 */
export function checkLimits(config: ResolvedConfig, limits: DeviceLimits, given: readonly (keyof TrainConfig)[] = []): string | null {
  const excess = firstExcess(config, limits);
  if (!excess) return null;
  const { derived: _derived, ...plain } = config;
  const order = [...excess.grows.filter((f) => given.includes(f)), ...excess.grows.filter((f) => !given.includes(f))];
  for (const field of order) {
    const best = bestValue(plain, field, limits);
    if (best) return `--${FIELDS[field].flag}: ${config[field]} needs ${excess.what}; ${best.direction} ${best.value} fits with the other settings`;
  }
  return `--${FIELDS[order[0]].flag}: ${config[order[0]]} needs ${excess.what}, and no value of it alone fits with the other settings`;
}

/** checkLimits as an exception (ConfigError, as for any other refused field). */
export function assertWithinLimits(config: ResolvedConfig, limits: DeviceLimits, given?: readonly (keyof TrainConfig)[]): void {
  const refusal = checkLimits(config, limits, given);
  if (refusal) throw new ConfigError(refusal);
}
