/**
 * The envs by Gymnasium id, with what config validation, the trainer, the CLI
 * and the Studio need to know about each: sizes, action space, time limit and
 * the mean return that counts as solved. Plain data below every GPU layer (as
 * algorithms.ts is for algorithms): src/envs adds each env's WGSL module and
 * constants under the same id, and a user's env registers its spec here too.
 */

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

/** An env's action space: discrete (an index) or a box of floats. */
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

interface EnvInfo {
  spec: EnvSpec;
  /** Gymnasium's reward_threshold; null where an env has none. */
  solvedReturn: number | null;
}

const discrete = (n: number): ActionSpec => Object.freeze({ kind: 'discrete', n } as const);
const box = (low: readonly number[], high: readonly number[]): ActionSpec =>
  Object.freeze({ kind: 'box', dim: low.length, low: Object.freeze([...low]), high: Object.freeze([...high]) } as const);

const BUILT_IN: readonly EnvInfo[] = [
  { spec: { id: 'CartPole-v1', obsDim: 4, stateDim: 4, action: discrete(2), maxEpisodeSteps: 500 }, solvedReturn: 475 },
  { spec: { id: 'Acrobot-v1', obsDim: 6, stateDim: 4, action: discrete(3), maxEpisodeSteps: 500 }, solvedReturn: -100 },
  { spec: { id: 'MountainCar-v0', obsDim: 2, stateDim: 2, action: discrete(3), maxEpisodeSteps: 200 }, solvedReturn: -110 },
  { spec: { id: 'MountainCarContinuous-v0', obsDim: 2, stateDim: 2, action: box([-1], [1]), maxEpisodeSteps: 999 }, solvedReturn: 90 },
  { spec: { id: 'Pendulum-v1', obsDim: 3, stateDim: 2, action: box([-2], [2]), maxEpisodeSteps: 200 }, solvedReturn: null },
];

const INFOS = new Map<string, EnvInfo>();
const ids: string[] = [];

/** Every known env id, built-in ones first, then registered ones in registration order (a live list). */
export const ENV_IDS: readonly string[] = ids;

function checkCount(id: string, field: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`env "${id}": ${field} = ${value} is out of range (an integer in 1..${max})`);
  }
}

/** Refuses a spec that is malformed or whose id is taken, with one line naming the field. */
export function checkEnvSpec(spec: EnvSpec, solvedReturn: number | null = null): void {
  const id = spec?.id;
  if (typeof id !== 'string' || !/^[A-Za-z0-9][\w.:/-]*$/.test(id)) {
    throw new Error(`env id ${JSON.stringify(id)} is not allowed (letters, digits and _ . : / -, starting with a letter or digit)`);
  }
  if (INFOS.has(id)) throw new Error(`env "${id}" is already registered`);
  checkCount(id, 'obsDim', spec.obsDim, 4096);
  checkCount(id, 'stateDim', spec.stateDim, 4096);
  checkCount(id, 'maxEpisodeSteps', spec.maxEpisodeSteps, 0xffffffff);
  const action = spec.action;
  if (action?.kind === 'discrete') {
    checkCount(id, 'action.n', action.n, 1 << 16);
  } else if (action?.kind === 'box') {
    checkCount(id, 'action.dim', action.dim, 64);
    for (const bound of ['low', 'high'] as const) {
      const values = action[bound];
      if (!Array.isArray(values) || values.length !== action.dim || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw new Error(`env "${id}": action.${bound} must be ${action.dim} finite numbers, got ${JSON.stringify(values)}`);
      }
    }
    const bad = action.low.findIndex((lo, k) => !(lo < action.high[k]));
    if (bad >= 0) throw new Error(`env "${id}": action.low[${bad}] = ${action.low[bad]} must be below action.high[${bad}] = ${action.high[bad]}`);
  } else {
    throw new Error(`env "${id}": action.kind = ${JSON.stringify((action as { kind?: unknown } | undefined)?.kind)} is not supported (discrete or box)`);
  }
  if (solvedReturn !== null && !Number.isFinite(solvedReturn)) throw new Error(`env "${id}": solvedReturn = ${solvedReturn} is not a finite number`);
}

/** Adds an env's spec under its id (checked as `checkEnvSpec` does) and returns the frozen copy kept. */
export function registerEnvSpec(spec: EnvSpec, solvedReturn: number | null = null): EnvSpec {
  checkEnvSpec(spec, solvedReturn);
  const frozen: EnvSpec = Object.freeze({
    id: spec.id,
    obsDim: spec.obsDim,
    stateDim: spec.stateDim,
    action: spec.action.kind === 'discrete' ? discrete(spec.action.n) : box(spec.action.low, spec.action.high),
    maxEpisodeSteps: spec.maxEpisodeSteps,
  });
  INFOS.set(spec.id, { spec: frozen, solvedReturn });
  ids.push(spec.id);
  return frozen;
}

for (const { spec, solvedReturn } of BUILT_IN) registerEnvSpec(spec, solvedReturn);

function info(id: string): EnvInfo {
  const found = INFOS.get(id);
  if (!found) throw new Error(`unknown env "${id}" (known: ${ids.join(', ')})`);
  return found;
}

/** The spec of a built-in or registered env by Gymnasium id; throws naming the known ids for an unknown one. */
export function envSpec(id: string): EnvSpec {
  return info(id).spec;
}

/** The mean return at which `id` counts as solved (Gymnasium's reward_threshold), or null. */
export function solvedReturn(id: string): number | null {
  return info(id).solvedReturn;
}
