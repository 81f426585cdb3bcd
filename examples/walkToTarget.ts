/**
 * The example user env (examples/walk_to_target.wgsl) as `VecEnv.define` takes
 * it: the WGSL module, its spec and a value for every EnvParams field.
 */
import walkToTargetWgsl from './walk_to_target.wgsl?raw';
import type { UserEnv } from '../src/envs/registry';

export const WALK_TO_TARGET: UserEnv = {
  spec: { id: 'WalkToTarget-v0', obsDim: 2, stateDim: 2, action: { kind: 'discrete', n: 3 }, maxEpisodeSteps: 50 },
  wgsl: walkToTargetWgsl,
  params: { bound: 1, stepSize: 0.1, reach: 0.05, goalBonus: 1 },
  source: 'examples/walk_to_target.wgsl',
};
