/**
 * MountainCarContinuous-v0 as an env definition: shaders/mountain_car_continuous.wgsl
 * with Gymnasium's constants (MOUNTAIN_CAR_CONTINUOUS_V0, shared with the float64 reference).
 */
import mountainCarContinuousWgsl from '../../shaders/mountain_car_continuous.wgsl?raw';
import { MOUNTAIN_CAR_CONTINUOUS_V0 } from '../reference/mountainCarContinuous';
import { envSpec } from '../core/envSpecs';
import type { EnvDefinition } from './env';

const { maxEpisodeSteps: _maxEpisodeSteps, ...physics } = MOUNTAIN_CAR_CONTINUOUS_V0;

/** MountainCarContinuous-v0 (one force in [−1, 1], 999-step limit). */
export const MOUNTAIN_CAR_CONTINUOUS: EnvDefinition = Object.freeze({
  spec: envSpec('MountainCarContinuous-v0'),
  wgsl: mountainCarContinuousWgsl,
  params: Object.freeze(physics),
  source: 'shaders/mountain_car_continuous.wgsl',
});
