/**
 * An env as the engine sees it: a WGSL module with the functions
 * shaders/auto_reset.wgsl steps through (its header states the contract), and
 * this TS definition with the sizes and constants the host needs. The
 * vectorized env (vecEnv.ts) and the rollout (kernels/rollout.ts) take a
 * definition; neither knows any particular env.
 */
import randomWgsl from '../../shaders/random.wgsl?raw';
import autoResetWgsl from '../../shaders/auto_reset.wgsl?raw';
import { wgslConstants } from '../gpu/wgsl';

/** Discrete actions 0..n-1 (a continuous `box` kind comes with continuous actions). */
export interface DiscreteActions {
  kind: 'discrete';
  n: number;
}

export type ActionSpec = DiscreteActions;

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
 * The WGSL an env kernel family starts with: random.wgsl, the definition's
 * dimensions as constants and its row types (EnvState, EnvObs), auto_reset.wgsl
 * and the env module. Families add common.wgsl before and their own source after.
 */
export function envSources(env: EnvDefinition): string[] {
  const { obsDim, stateDim } = env.spec;
  const rowTypes = `alias EnvState = ${wgslRowType(stateDim)};\nalias EnvObs = ${wgslRowType(obsDim)};\n`;
  return [randomWgsl, wgslConstants({ ENV_STATE_DIM: stateDim, ENV_OBS_DIM: obsDim }), rowTypes, autoResetWgsl, env.wgsl];
}
