/**
 * webgpu-rl: reinforcement learning with every step in WGSL compute shaders.
 * The public library API: the device helper, the kernel loader, vectorized
 * CartPole, MLP kernels, GAE, the PPO/TRPO/REINFORCE trainers and their config.
 */
export * from './gpu/device';
export * from './gpu/kernel';
export * from './gpu/buffers';

export { CartPoleVec, type CartPoleVecOptions, type CartPoleBuffers } from './envs/cartpole';
export {
  CARTPOLE_V1,
  CartPoleRef,
  cartpoleStep64,
  cartpoleTerminated64,
  cartpoleResetState64,
  type CartPolePhysics,
  type CartPoleState,
  type CartPoleStepResult,
} from './envs/cartpoleReference';
export { philox4x32, uniform01, STREAM_RESET, STREAM_ACTION, STREAM_PERMUTATION, STREAM_INIT } from './envs/random';

export { MlpLayout, initPyTorchDefault, initOrthogonal, type Activation, type DenseLayer } from './nn/mlp';
export { mlpForwardReference, mlpBackwardReference } from './nn/mlpReference';
export { Mlp, MlpKernels, MlpPass, type MlpPassOptions, type BackwardOptions } from './kernels/mlp';
export { Gae, type GaeBuffers, type GaeOptions } from './kernels/gae';
export { gaeReference } from './reference/gae';
