/**
 * Pendulum-v1 as an env definition: shaders/pendulum.wgsl with Gymnasium's
 * constants (PENDULUM_V1, shared with the float64 reference).
 */
import pendulumWgsl from '../../shaders/pendulum.wgsl?raw';
import { PENDULUM_V1 } from '../reference/pendulum';
import type { EnvDefinition } from './env';

const { maxEpisodeSteps, ...physics } = PENDULUM_V1;

export const PENDULUM: EnvDefinition = Object.freeze({
  spec: Object.freeze({
    id: 'Pendulum-v1',
    obsDim: 3,
    stateDim: 2,
    action: Object.freeze({ kind: 'box', dim: 1, low: Object.freeze([-physics.maxTorque]), high: Object.freeze([physics.maxTorque]) } as const),
    maxEpisodeSteps,
  }),
  wgsl: pendulumWgsl,
  params: Object.freeze(physics),
});
