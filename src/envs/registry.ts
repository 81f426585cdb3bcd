/**
 * Every env the engine can step, by Gymnasium id: the built-in definitions and
 * those registered at run time (`registerEnv`, or `VecEnv.define`, which also
 * compiles the module first). Each id's spec lives in core/envSpecs.ts, so
 * config validation and the layers above see user envs too.
 */
import { ENV_IDS, checkEnvSpec, registerEnvSpec } from '../core/envSpecs';
import { WgslSource } from '../gpu/kernel';
import { COMMON_WGSL } from '../gpu/wgsl';
import { envSources, type EnvDefinition } from './env';
import { CARTPOLE } from './cartpole';
import { ACROBOT } from './acrobot';
import { MOUNTAIN_CAR } from './mountainCar';
import { MOUNTAIN_CAR_CONTINUOUS } from './mountainCarContinuous';
import { PENDULUM } from './pendulum';

const ENVS = new Map<string, EnvDefinition>([CARTPOLE, ACROBOT, MOUNTAIN_CAR, MOUNTAIN_CAR_CONTINUOUS, PENDULUM].map((env) => [env.spec.id, env]));

/** The ids `envDefinition` accepts (a live list: registered envs join it). */
export { ENV_IDS };

/** The GPU definition of a built-in or registered env by id; throws naming the known ids for an unknown one. */
export function envDefinition(id: string): EnvDefinition {
  const env = ENVS.get(id);
  if (!env) throw new Error(`unknown env "${id}" (known: ${ENV_IDS.join(', ')})`);
  return env;
}

/** A user's env: its definition, and the mean return that counts as solved (default none). */
export interface UserEnv extends EnvDefinition {
  solvedReturn?: number | null;
}

/**
 * Checks a user's env without a GPU and without registering it: the spec (one
 * line naming the field), the WGSL present, and the module's EnvParams struct
 * taking exactly `params`. Returns the definition `registerEnv` would keep.
 */
export function checkUserEnv(env: UserEnv): EnvDefinition {
  checkEnvSpec(env.spec, env.solvedReturn ?? null);
  const { id } = env.spec;
  if (typeof env.wgsl !== 'string' || env.wgsl.trim() === '') throw new Error(`env "${id}": wgsl is empty (the env module's WGSL source)`);
  const bad = Object.entries(env.params ?? {}).find(([, v]) => typeof v !== 'number' || !Number.isFinite(v));
  if (bad) throw new Error(`env "${id}": params.${bad[0]} = ${bad[1]} is not a finite number`);
  const definition: EnvDefinition = { spec: env.spec, wgsl: env.wgsl, params: Object.freeze({ ...env.params }), source: env.source };
  checkParams(definition);
  return definition;
}

/**
 * Registers a user's env under its spec's id (checked as `checkUserEnv` does).
 * Compile errors surface when the env is first built; VecEnv.define compiles
 * before it registers.
 */
export function registerEnv(env: UserEnv): EnvDefinition {
  const definition = checkUserEnv(env);
  const spec = registerEnvSpec(env.spec, env.solvedReturn ?? null);
  const frozen: EnvDefinition = Object.freeze({ ...definition, spec });
  ENVS.set(spec.id, frozen);
  return frozen;
}

/**
 * EnvParams takes exactly the definition's params (reflection, no GPU). A
 * module the reflection cannot parse is left to the compiler, which reports
 * the line when the env is built.
 */
function checkParams(env: EnvDefinition): void {
  const source = new WgslSource(`env ${env.spec.id}`, [COMMON_WGSL, ...envSources(env)]);
  try {
    void source.reflection;
  } catch {
    return;
  }
  if (!source.reflection.structs.some((s) => s.name === 'EnvParams')) {
    throw new Error(`env "${env.spec.id}": the module declares no struct EnvParams (the contract is in shaders/auto_reset.wgsl)`);
  }
  try {
    source.struct('EnvParams').pack(env.params);
  } catch (error) {
    throw new Error(`env "${env.spec.id}": params do not fit its EnvParams: ${(error as Error).message}`);
  }
}
