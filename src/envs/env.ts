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

export type { ActionSpec, BoxActions, DiscreteActions, EnvSpec } from '../core/envSpecs';
import type { ActionSpec } from '../core/envSpecs';

/**
 * An env as the GPU kernels take it: its spec, its WGSL module and the values of
 * its EnvParams uniform. The built-ins are `CARTPOLE`, `ACROBOT`, ...;
 * `VecEnv.define` makes one from a `UserEnv`.
 */
export interface EnvDefinition {
  /** Sizes, action space and time limit. */
  spec: EnvSpec;
  /** The env module (WGSL source): EnvParams and the env_* functions. */
  wgsl: string;
  /** A value for every field of the module's EnvParams struct. */
  params: Readonly<Record<string, number>>;
  /** Where compile errors in `wgsl` point (e.g. a user's file name); default the env's id. */
  source?: string;
}

/** WGSL's EnvAction for an action space (auto_reset.wgsl steps with it). */
function envActionWgsl(action: ActionSpec): string {
  if (action.kind === 'discrete') return 'alias EnvAction = i32;\n';
  return wgslConstants({ ENV_ACTION_DIM: action.dim }) + 'alias EnvAction = array<f32, ENV_ACTION_DIM>;\n';
}

/**
 * The WGSL type of a row of `dim` f32s: a vector where one is as dense as the
 * array (2 or 4: whole-row vector loads and stores, which SwiftShader runs
 * ~1.5× faster than scalar ones in the env step), else an array. Either way
 * `row[k]` and `Row(a, b, ...)` read and build it, and a storage array of rows
 * is dense ([N][dim] f32), so the host layout does not depend on the choice.
 */
export function wgslRowType(dim: number): string {
  return dim === 2 || dim === 4 ? `vec${dim}<f32>` : `array<f32, ${dim}>`;
}

/**
 * The WGSL an env kernel family starts with: random.wgsl, trig.wgsl, the
 * definition's dimensions as constants, its row types (EnvState, EnvObs) and
 * EnvAction, auto_reset.wgsl and the env module (labelled, so a compile error
 * in it names the env and its own line). Families add common.wgsl before and
 * their own source after.
 */
export function envSources(env: EnvDefinition): WgslPart[] {
  const { id, obsDim, stateDim, action } = env.spec;
  const label = env.source ? `${env.source} (env ${id})` : `env ${id}`;
  const types = `alias EnvState = ${wgslRowType(stateDim)};\nalias EnvObs = ${wgslRowType(obsDim)};\n` + envActionWgsl(action);
  const constants = wgslConstants({ ENV_STATE_DIM: stateDim, ENV_OBS_DIM: obsDim });
  return [randomWgsl, trigWgsl, constants, types, autoResetWgsl, { label, code: env.wgsl }];
}
