/**
 * `webgpu-rl/kernels`: one wrapper per WGSL kernel family, each created on a
 * GpuContext and recording its dispatches into your compute pass (`encode`),
 * plus the network layouts and initialisers the MLP kernels read and the
 * algorithm updates built from them. Every wrapper has a float64 twin in
 * `webgpu-rl/reference`.
 */
export { MlpLayout, initPyTorchDefault, initOrthogonal, type Activation, type DenseLayer } from './nn/mlp';
export { GpuArray, type DType, type BufferArg } from './gpu/array';
export { Mlp, MlpKernels, MlpPass, parameterStride, type MlpOptions, type MlpPassOptions, type BackwardOptions, type BackwardStep, type PairedInputChains, type PairedInputDispatch, type MlpArrays, type MlpPassArrays, type AdamFusion, type NetworkPairing, type TileChainForm, type RowForward, type RowArithmetic } from './kernels/mlp';
export { Gae, packDoneFlags, type GaeBuffers, type GaeOptions, type GaeShape, type GaeArrays } from './kernels/gae';
export {
  NormalizeKernels,
  normalizedPolicyInput,
  initialMoments,
  NORM_CLIP,
  NORM_EPSILON,
  MOMENTS_INITIAL_COUNT,
  MOMENT_FIELDS,
  type NormalizeOp,
} from './kernels/normalize';
export { PolicyKernels, CategoricalSampler, type PolicyOp, type LogProbEntropyOptions, type KlOptions, type SamplerOptions } from './kernels/policy';
export { Adam, adamStepForm, defaultAdamParamsPerInvocation, defaultAdamStepForm, type AdamOptions, type AdamStatePart, type AdamStepForm } from './kernels/optim';
export { Reduction, ReduceKernels, type ReduceOp, type ReductionOptions } from './kernels/reduce';
export { FisherVectorProduct, parameterVectorBytes, type FisherVectorProductOptions } from './kernels/fvp';
export { ConjugateGradient, type ConjugateGradientOptions, type ApplyOperator } from './kernels/cg';
export { LineSearch, type LineSearchOptions, type LineSearchBatch } from './kernels/linesearch';
export { PolicyGradientLoss, ValueFit, type FullBatch } from './kernels/pg';
export { FiniteCheck, MAX_CHECKED_TENSORS, type CheckedTensor } from './kernels/finite';
export { CATEGORICAL, GAUSSIAN, type ActionDistribution } from './kernels/distribution';
export { Rollout, ENV_SLOTS, type RolloutOptions, type RolloutStorage, type FinalObsLayout, type PolicyInput, type PolicyInputSource, type RolloutPolicy, type RolloutPolicyPass, type RowNormalize } from './kernels/rollout';
export { RolloutView, ENV_VIEWS, type RolloutReplay, type ViewFrame, type ViewWorld } from './kernels/rolloutView';

export { PpoUpdate } from './algos/ppo';
export { TrpoUpdate } from './algos/trpo';
export { ReinforceUpdate } from './algos/reinforce';
export type { Update, UpdateBatch, CheckpointPart } from './algos/update';
export { UPDATE_FACTORIES, createUpdate, type UpdateFactory } from './algos/registry';
