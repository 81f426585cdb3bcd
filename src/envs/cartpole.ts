/**
 * CartPole-v1 as an env definition: shaders/cartpole.wgsl with Gymnasium's
 * constants (CARTPOLE_V1, shared with the float64 reference).
 */
import cartpoleWgsl from '../../shaders/cartpole.wgsl?raw';
import { CARTPOLE_V1 } from '../reference/cartpole';
import { envSpec } from '../core/envSpecs';
import type { EnvDefinition } from './env';

const { maxEpisodeSteps: _limit, ...physics } = CARTPOLE_V1;

/** CartPole-v1 (Gymnasium's physics and constants, discrete actions 0/1, 500-step limit). */
export const CARTPOLE: EnvDefinition = Object.freeze({
  spec: envSpec('CartPole-v1'),
  wgsl: cartpoleWgsl,
  params: Object.freeze(physics),
  source: 'shaders/cartpole.wgsl',
});
