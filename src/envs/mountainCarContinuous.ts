/**
 * MountainCarContinuous-v0 as an env definition: shaders/mountain_car_continuous.wgsl
 * with Gymnasium's constants (MOUNTAIN_CAR_CONTINUOUS_V0, shared with the float64 reference).
 */
import mountainCarContinuousWgsl from '../../shaders/mountain_car_continuous.wgsl?raw';
import { MOUNTAIN_CAR_CONTINUOUS_V0 } from '../reference/mountainCarContinuous';
import type { EnvDefinition } from './env';

const { maxEpisodeSteps, ...physics } = MOUNTAIN_CAR_CONTINUOUS_V0;

export const MOUNTAIN_CAR_CONTINUOUS: EnvDefinition = Object.freeze({
  spec: Object.freeze({
    id: 'MountainCarContinuous-v0',
    obsDim: 2,
    stateDim: 2,
    action: Object.freeze({ kind: 'box', dim: 1, low: Object.freeze([physics.minAction]), high: Object.freeze([physics.maxAction]) } as const),
    maxEpisodeSteps,
  }),
  wgsl: mountainCarContinuousWgsl,
  params: Object.freeze(physics),
});
