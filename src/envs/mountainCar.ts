/**
 * MountainCar-v0 as an env definition: shaders/mountain_car.wgsl with
 * Gymnasium's constants (MOUNTAIN_CAR_V0, shared with the float64 reference).
 */
import mountainCarWgsl from '../../shaders/mountain_car.wgsl?raw';
import { MOUNTAIN_CAR_V0 } from '../reference/mountainCar';
import { envSpec } from '../core/envSpecs';
import type { EnvDefinition } from './env';

/** MountainCar-v0 (3 discrete pushes, reward −1 a step, 200-step limit). */
export const MOUNTAIN_CAR: EnvDefinition = Object.freeze({
  spec: envSpec('MountainCar-v0'),
  wgsl: mountainCarWgsl,
  params: MOUNTAIN_CAR_V0,
  source: 'shaders/mountain_car.wgsl',
});
