/**
 * webgpu-rl: reinforcement learning with every step in WGSL compute shaders.
 * The public library API: the device helper, the kernel loader, vectorized
 * classic-control envs (and users' own), MLP kernels, GAE, the PPO/TRPO/REINFORCE trainers and their config.
 */
export * from './gpu/device';
export * from './gpu/kernel';
export * from './gpu/buffers';

export { VecEnv, CartPoleVec, type VecEnvOptions, type VecEnvBuffers, type VecEnvStepResult, type CartPoleVecOptions, type CartPoleBuffers } from './envs/vecEnv';
export { envSources, type EnvDefinition, type EnvSpec, type ActionSpec, type DiscreteActions, type BoxActions } from './envs/env';
export { envDefinition, registerEnv, checkUserEnv, ENV_IDS, type UserEnv } from './envs/registry';
export { envSpec, solvedReturn } from './core/envSpecs';
export { CARTPOLE } from './envs/cartpole';
export { ACROBOT } from './envs/acrobot';
export { MOUNTAIN_CAR } from './envs/mountainCar';
export { ACROBOT_V1, ACROBOT_MODEL, acrobotStep64, acrobotResetState64, type AcrobotPhysics } from './reference/acrobot';
export { MOUNTAIN_CAR_V0, MOUNTAIN_CAR_MODEL, mountainCarStep64, mountainCarResetState64, type MountainCarPhysics } from './reference/mountainCar';
export { VecEnvRef, type EnvModel64, type VecEnvStep64 } from './reference/vecEnvRef';
export { MOUNTAIN_CAR_CONTINUOUS } from './envs/mountainCarContinuous';
export { PENDULUM } from './envs/pendulum';
export {
  CARTPOLE_V1,
  CartPoleRef,
  cartpoleStep64,
  cartpoleTerminated64,
  cartpoleResetState64,
  type CartPolePhysics,
  type CartPoleState,
  type CartPoleStepResult,
} from './reference/cartpole';
export {
  MOUNTAIN_CAR_CONTINUOUS_V0,
  mountainCarContinuousStep64,
  mountainCarContinuousResetState64,
  type MountainCarContinuousPhysics,
  type MountainCarContinuousState,
} from './reference/mountainCarContinuous';
export { PENDULUM_V1, pendulumStep64, pendulumObs64, pendulumResetState64, normaliseAngle64, type PendulumPhysics, type PendulumState } from './reference/pendulum';
export { philox4x32, uniform01, STREAM_RESET, STREAM_ACTION, STREAM_PERMUTATION, STREAM_INIT } from './core/random';

export { MlpLayout, initPyTorchDefault, initOrthogonal, type Activation, type DenseLayer } from './nn/mlp';
export { mlpForwardReference, mlpBackwardReference } from './reference/mlp';
export { Mlp, MlpKernels, MlpPass, type MlpPassOptions, type BackwardOptions } from './kernels/mlp';
export { Gae, type GaeBuffers, type GaeOptions } from './kernels/gae';
export { gaeReference } from './reference/gae';
export { PolicyKernels, CategoricalSampler, type PolicyOp, type LogProbEntropyOptions, type KlOptions, type SamplerOptions } from './kernels/policy';
export { Adam, type AdamOptions, type AdamStatePart } from './kernels/optim';
export { Reduction, ReduceKernels, type ReduceOp, type ReductionOptions } from './kernels/reduce';
export { FisherVectorProduct, parameterVectorBytes, type FisherVectorProductOptions } from './kernels/fvp';
export { ConjugateGradient, type ConjugateGradientOptions, type ApplyOperator } from './kernels/cg';
export { LineSearch, type LineSearchOptions, type LineSearchBatch } from './kernels/linesearch';

export { Rollout, ENV_SLOTS, type RolloutOptions, type RolloutStorage, type FinalObsLayout } from './kernels/rollout';
export { PpoUpdate } from './algos/ppo';
export { TrpoUpdate } from './algos/trpo';
export { ReinforceUpdate } from './algos/reinforce';
export type { Update, UpdateBatch, CheckpointPart } from './algos/update';
export { UPDATE_FACTORIES, createUpdate, type UpdateFactory } from './algos/registry';
export { ALGORITHMS, algorithmInfo, algorithmsReading, type AlgorithmInfo } from './core/algorithms';

export {
  resolveConfig,
  presetConfig,
  parseTrainArgs,
  ConfigError,
  FIELDS,
  ALGOS,
  PRESETS,
  type TrainConfig,
  type ResolvedConfig,
  type Algo,
  type Preset,
} from './core/config';
export { makeTrainer, networkLayouts, initialWeights, countDispatches, recordInParts, type Trainer, type TrainerOptions } from './train/trainer';
export {
  checkLimits,
  withinLimits,
  ANY_ADAPTER,
  plannedBuffers,
  dispatchesPerIteration,
  MAX_DISPATCHES_PER_ITERATION,
  DISPATCHES_PER_SUBMIT,
  type DeviceLimits,
  type PlannedBuffer,
  type SizeField,
} from './train/limits';
export { FiniteCheck, MAX_CHECKED_TENSORS, type CheckedTensor } from './kernels/finite';
export { METRIC_FIELDS, GPU_METRIC_SLOTS, decodeMetrics, type IterationMetrics } from './core/metrics';
export {
  serializeCheckpoint,
  parseCheckpoint,
  checkpointLayout,
  checkCheckpointFits,
  CheckpointError,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type Checkpoint,
} from './train/checkpoint';
export { PolicyGradientLoss, ValueFit, type FullBatch } from './kernels/pg';
export { fisherVectorProductReference, fisherMatrixReference } from './reference/fvp';
export { conjugateGradientReference, trustRegionStepReference } from './reference/trpo';
export { policyLoss64, valueLoss64 } from './reference/ppoLoss';
