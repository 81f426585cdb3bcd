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
export { philox4x32, uniform01, STREAM_RESET, STREAM_ACTION, STREAM_PERMUTATION, STREAM_INIT } from './core/random';
export { mlpForwardReference, mlpBackwardReference, type MlpBackwardReference } from './reference/mlp';
export { gaeReference, type GaeInputs } from './reference/gae';
export { fisherVectorProductReference, fisherMatrixReference, mlpTangentReference, softmaxReference } from './reference/fvp';
export { conjugateGradientReference, trustRegionStepReference, type ConjugateGradientResult, type TrustRegionStepOptions, type TrustRegionStepResult } from './reference/trpo';
export { policyLoss64, valueLoss64, type PolicySample, type PolicyLossOptions } from './reference/ppoLoss';
export { logProbEntropyReference, klReference } from './reference/policy';
export { MlpLayout, initPyTorchDefault, initOrthogonal, type Activation, type DenseLayer } from './nn/mlp';
export { AdamReference, type AdamReferenceOptions } from './reference/adam';
