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

/** Discrete actions 0..n-1: WGSL's EnvAction is the index (i32). */
export interface DiscreteActions {
  kind: 'discrete';
  n: number;
}

/**
 * Continuous actions, `dim` floats in the box [low, high] (per component):
 * WGSL's EnvAction is array<f32, ENV_ACTION_DIM>. Actions arrive as given and
 * the env step clips them to the box, as Gymnasium's envs do.
 */
export interface BoxActions {
  kind: 'box';
  dim: number;
  low: readonly number[];
  high: readonly number[];
}

export type ActionSpec = DiscreteActions | BoxActions;

/** What a user of an env needs to know about it (`VecEnv.spec`). */
export interface EnvSpec {
  /** Gymnasium's id, e.g. 'CartPole-v1'. */
  id: string;
  obsDim: number;
  /** Values per env in `setState`, in the order of Gymnasium's `env.state`. */
  stateDim: number;
  action: ActionSpec;
  /** Gymnasium's time limit: episodes are truncated after this many steps. */
  maxEpisodeSteps: number;
}

export interface EnvDefinition {
  spec: EnvSpec;
  /** The env module (WGSL source): EnvParams and the env_* functions. */
  wgsl: string;
  /** A value for every field of the module's EnvParams struct. */
  params: Readonly<Record<string, number>>;
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
 * EnvAction, auto_reset.wgsl and the env module. Families add common.wgsl
 * before and their own source after.
 */
export function envSources(env: EnvDefinition): string[] {
  const { obsDim, stateDim, action } = env.spec;
  const types = `alias EnvState = ${wgslRowType(stateDim)};\nalias EnvObs = ${wgslRowType(obsDim)};\n` + envActionWgsl(action);
  return [randomWgsl, trigWgsl, wgslConstants({ ENV_STATE_DIM: stateDim, ENV_OBS_DIM: obsDim }), types, autoResetWgsl, env.wgsl];
}
