/**
 * An env as the engine sees it: a WGSL module with the functions
 * shaders/auto_reset.wgsl steps through (its header states the contract), and
 * this TS definition with the sizes and constants the host needs. The
 * vectorized env (vecEnv.ts) and the rollout (kernels/rollout.ts) take a
 * definition; neither knows any particular env.
 */
import randomWgsl from '../../shaders/random.wgsl?raw';
import trigWgsl from '../../shaders/trig.wgsl?raw';
import autoResetWgsl from '../../shaders/auto_reset.wgsl?raw';
import { wgslConstants } from '../gpu/wgsl';
import type { WgslPart } from '../gpu/kernel';
import type { EnvSpec } from '../core/envSpecs';

export type { ActionSpec, DiscreteActions, EnvSpec } from '../core/envSpecs';

export interface EnvDefinition {
  spec: EnvSpec;
  /** The env module (WGSL source): EnvParams and the env_* functions. */
  wgsl: string;
  /** A value for every field of the module's EnvParams struct. */
  params: Readonly<Record<string, number>>;
  /** Where compile errors in `wgsl` point (e.g. a user's file name); default the env's id. */
  source?: string;
}

/**
 * The WGSL an env kernel family starts with: random.wgsl, trig.wgsl, the
 * definition's dimensions as constants, auto_reset.wgsl and the env module
 * (labelled, so a compile error in it names the env and its own line).
 * Families add common.wgsl before and their own source after.
 */
export function envSources(env: EnvDefinition): WgslPart[] {
  const { id, obsDim, stateDim } = env.spec;
  const label = env.source ? `${env.source} (env ${id})` : `env ${id}`;
  return [randomWgsl, trigWgsl, wgslConstants({ ENV_STATE_DIM: stateDim, ENV_OBS_DIM: obsDim }), autoResetWgsl, { label, code: env.wgsl }];
}
