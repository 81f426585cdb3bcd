/**
 * Acrobot-v1 as an env definition: shaders/acrobot.wgsl with Gymnasium's
 * constants (ACROBOT_V1, shared with the float64 reference).
 */
import acrobotWgsl from '../../shaders/acrobot.wgsl?raw';
import { ACROBOT_V1 } from '../reference/acrobot';
import { envSpec } from '../core/envSpecs';
import type { EnvDefinition } from './env';

/** Acrobot-v1 (Gymnasium's dynamics with RK4 integration, 3 discrete torques, 500-step limit). */
export const ACROBOT: EnvDefinition = Object.freeze({
  spec: envSpec('Acrobot-v1'),
  wgsl: acrobotWgsl,
  params: ACROBOT_V1,
  source: 'shaders/acrobot.wgsl',
});
