/** Every env the engine knows, by Gymnasium id. */
import type { EnvDefinition } from './env';
import { CARTPOLE } from './cartpole';
import { MOUNTAIN_CAR_CONTINUOUS } from './mountainCarContinuous';
import { PENDULUM } from './pendulum';

const ENVS: ReadonlyMap<string, EnvDefinition> = new Map([CARTPOLE, MOUNTAIN_CAR_CONTINUOUS, PENDULUM].map((env) => [env.spec.id, env]));

/** The ids `envDefinition` accepts. */
export const ENV_IDS: readonly string[] = [...ENVS.keys()];

export function envDefinition(id: string): EnvDefinition {
  const env = ENVS.get(id);
  if (!env) throw new Error(`unknown env "${id}" (known: ${ENV_IDS.join(', ')})`);
  return env;
}
