/**
 * Pendulum-v1 as an env definition: shaders/pendulum.wgsl with Gymnasium's
 * constants (PENDULUM_V1, shared with the float64 reference).
 */
import pendulumWgsl from '../../shaders/pendulum.wgsl?raw';
import { PENDULUM_V1 } from '../reference/pendulum';
import { envSpec } from '../core/envSpecs';
import type { EnvDefinition } from './env';

const { maxEpisodeSteps: _maxEpisodeSteps, ...physics } = PENDULUM_V1;

/** Pendulum-v1 (one torque in [−2, 2], never terminates, 200-step limit). */
export const PENDULUM: EnvDefinition = Object.freeze({
  spec: envSpec('Pendulum-v1'),
  wgsl: pendulumWgsl,
  params: Object.freeze(physics),
  source: 'shaders/pendulum.wgsl',
});
