/**
 * `webgpu-rl/reference`: the float64 CPU references every kernel is tested
 * against, and the bit-exact CPU twin of the shaders' random numbers. Plain
 * TypeScript: no GPU, no WGSL parser.
 */
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
export { ACROBOT_V1, ACROBOT_MODEL, acrobotStep64, acrobotResetState64, type AcrobotPhysics } from './reference/acrobot';
export { MOUNTAIN_CAR_V0, MOUNTAIN_CAR_MODEL, mountainCarStep64, mountainCarResetState64, type MountainCarPhysics } from './reference/mountainCar';
export {
  MOUNTAIN_CAR_CONTINUOUS_V0,
  mountainCarContinuousStep64,
  mountainCarContinuousResetState64,
  type MountainCarContinuousPhysics,
  type MountainCarContinuousState,
} from './reference/mountainCarContinuous';
export { PENDULUM_V1, pendulumStep64, pendulumObs64, pendulumResetState64, normaliseAngle64, type PendulumPhysics, type PendulumState } from './reference/pendulum';
export {
  gaussianLogProb64,
  gaussianEntropy64,
  gaussianKl64,
  gaussianSample64,
  gaussianGradLogProb64,
  gaussianFisherWeights64,
} from './reference/gaussian';
export { VecEnvRef, type EnvModel64, type VecEnvStep64 } from './reference/vecEnvRef';
export { philox4x32, uniform01, STREAM_RESET, STREAM_ACTION, STREAM_PERMUTATION, STREAM_INIT } from './core/random';
export { mlpForwardReference, mlpBackwardReference, type MlpBackwardReference } from './reference/mlp';
export { gaeReference, type GaeInputs } from './reference/gae';
export { initialRunningMoments, updateMomentsReference, normalizeReference, scaleRewardsReference, type RunningMoments } from './reference/normalize';
export { fisherVectorProductReference, fisherMatrixReference, mlpTangentReference } from './reference/fvp';
export { conjugateGradientReference, trustRegionStepReference, type ConjugateGradientResult, type TrustRegionStepOptions, type TrustRegionStepResult } from './reference/trpo';
export { policyLoss64, valueLoss64, type PolicySample, type PolicyLossOptions } from './reference/ppoLoss';
export { logProbEntropyReference, klReference, softmaxReference, logSoftmax } from './reference/policy';
export { MlpLayout, initPyTorchDefault, initOrthogonal, type Activation, type DenseLayer } from './nn/mlp';
export { AdamReference, type AdamReferenceOptions } from './reference/adam';
export {
  gaussianPolicyRows64,
  gaussianPolicyLoss64,
  gaussianBatchLoss64,
  gaussianBatchLossGradient64,
  gaussianFisherMatrix64,
  type GaussianSample,
  type GaussianLossKind,
} from './reference/gaussianPolicy';
