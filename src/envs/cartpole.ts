/**
 * CartPole-v1 as an env definition: shaders/cartpole.wgsl with Gymnasium's
 * constants (CARTPOLE_V1, shared with the float64 reference).
 */
import cartpoleWgsl from '../../shaders/cartpole.wgsl?raw';
import { CARTPOLE_V1 } from '../reference/cartpole';
import type { EnvDefinition } from './env';

const { maxEpisodeSteps, ...physics } = CARTPOLE_V1;

export const CARTPOLE: EnvDefinition = Object.freeze({
  spec: Object.freeze({ id: 'CartPole-v1', obsDim: 4, stateDim: 4, action: Object.freeze({ kind: 'discrete', n: 2 } as const), maxEpisodeSteps }),
  wgsl: cartpoleWgsl,
  params: Object.freeze(physics),
});
