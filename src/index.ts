/**
 * webgpu-rl: reinforcement learning with every step in WGSL compute shaders.
 *
 * The everyday API: a GPU context (`requestGpu`, or `wrapDevice` around your
 * own device), vectorized envs (the classic-control suite and your own), the PPO/TRPO/REINFORCE trainer with its
 * config, metrics and checkpoints, and buffer helpers. The building blocks
 * live under subpaths: `webgpu-rl/kernels` (the kernel wrappers),
 * `webgpu-rl/reference` (float64 CPU twins of every kernel) and
 * `webgpu-rl/wgsl` (the WGSL sources, composed and reflected).
 */
export {
  requestGpu,
  wrapDevice,
  describeAdapter,
  NO_ADAPTER_HELP,
  type GpuContext,
  type RequestGpuOptions,
  type WrapDeviceOptions,
  type AdapterChoice,
  type AdapterDescription,
} from './gpu/device';
export { GpuArray, type DType, type TypedArrayOf, type HostArray, type GpuArrayOptions, type BufferArg } from './gpu/array';
export { storageBuffer, uniformBuffer, readBytes, readFloat32, readUint32, readInt32, submitPass } from './gpu/buffers';

export { VecEnv, CartPoleVec, type VecEnvOptions, type VecEnvBuffers, type VecEnvArrays, type VecEnvStepResult, type CartPoleVecOptions, type CartPoleBuffers } from './envs/vecEnv';
export type { EnvDefinition, EnvSpec, ActionSpec, DiscreteActions, BoxActions } from './envs/env';
export { envDefinition, registerEnv, checkUserEnv, ENV_IDS, type UserEnv } from './envs/registry';
export { envSpec, solvedReturn } from './core/envSpecs';
export { CARTPOLE } from './envs/cartpole';
export { ACROBOT } from './envs/acrobot';
export { MOUNTAIN_CAR } from './envs/mountainCar';
export { MOUNTAIN_CAR_CONTINUOUS } from './envs/mountainCarContinuous';
export { PENDULUM } from './envs/pendulum';

export { ALGORITHMS, algorithmInfo, algorithmsReading, type AlgorithmInfo } from './core/algorithms';
export { resolveConfig, presetConfig, ConfigError, FIELDS, ALGOS, PRESETS, type TrainConfig, type ResolvedConfig, type Algo, type Preset } from './core/config';
export { makeTrainer, networkLayouts, initialWeights, type Trainer, type TrainerOptions } from './train/trainer';
// Populations: P agents (seeds, sweeps, PBT) trained together, every dispatch covering all of them.
export {
  makePopulationTrainer,
  populationLimits,
  type PopulationTrainer,
  type AgentIterationMetrics,
  type PbtSettings,
  type PbtEnvs,
  type PbtSource,
} from './train/trainer';
export {
  resolvePopulation,
  parseSweep,
  AGENT_FIELDS,
  MAX_POPULATION,
  PBT_DEFAULTS,
  PBT_PERTURB_DEFAULTS,
  type AgentField,
  type Sweep,
  type PopulationPlan,
} from './core/population';
export { type Agents } from './gpu/agents';
export { evaluatePolicy, type EvaluationResult } from './train/evaluate';
export { checkLimits, withinLimits, plannedBuffers, type DeviceLimits, type PlannedBuffer, type SizeField } from './train/limits';
export { METRIC_FIELDS, decodeMetrics, populationSummary, type IterationMetrics, type PopulationSummary } from './core/metrics';
export {
  serializeCheckpoint,
  parseCheckpoint,
  checkpointLayout,
  checkCheckpointFits,
  extractAgent,
  CheckpointError,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type Checkpoint,
} from './train/checkpoint';
