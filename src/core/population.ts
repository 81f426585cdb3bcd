/**
 * Populations of agents: one base configuration plus per-agent values of the
 * hyperparameters that can differ between agents (the ones a population keeps
 * in a GPU buffer). Shapes and plans (network width, envs, steps, epochs,
 * minibatch, iteration budget) are shared by the population.
 *
 * A sweep is written in the field's own flag:
 *   --lr 3e-4,1e-3,3e-3     a list: one axis of a grid (every list × every other list)
 *   --seed 1..32            integers from..to: a list too
 *   --lr log:1e-4..1e-2     P values log-spaced from..to over the P agents (lin: for even spacing)
 * The grid's first swept flag varies slowest. With --population P and a grid of G
 * points, P must be a multiple of G and the grid repeats; an unswept seed S gives
 * agent k the seed S + k, so the agents of one grid point still differ.
 */
import { ConfigError, FIELDS, fieldAllowed, parseFlags, parseNumberText, resolveConfig, type Algo, type FlagKind, type ResolvedConfig, type TrainConfig } from './config';

/** Most agents in one population. */
export const MAX_POPULATION = 4096;

/** Fields each agent may set for itself; every other field is shared by the population. */
export const AGENT_FIELDS = [
  'seed',
  'lr',
  'valueLr',
  'clip',
  'valueClip',
  'entCoef',
  'maxGradNorm',
  'targetKl',
  'klTarget',
  'klCoef',
  'gamma',
  'lambda',
  'maxKl',
  'damping',
  'acceptRatio',
] as const satisfies readonly (keyof TrainConfig)[];
/** A field each agent of a population may set for itself (one of AGENT_FIELDS). */
export type AgentField = (typeof AGENT_FIELDS)[number];

/** Population-based training's defaults (--pbt-interval, --pbt-fraction): exploit every 10 iterations, the worst quarter copies the best quarter. */
export const PBT_DEFAULTS = { interval: 10, fraction: 0.25 } as const;

/**
 * The fields PBT explores by default for each algorithm (--pbt-perturb; each one the
 * algorithm reads): the policy's step size (the learning rate, or TRPO's maxKl) as in
 * Jaderberg et al., plus each algorithm's own knobs, and GAE's λ. Not γ: the presets' γ
 * (0.9 to 0.99) times 1.2 clamps to 1, no discount at all, and on Pendulum-v1 such copies
 * ended far below the agents they copied (bench/RESULTS.md, "PBT without γ"). Not the
 * entropy coefficient: the presets set it to 0, which 0.8 and 1.2 leave at 0
 * (`--pbt-perturb ent-coef` explores it from a value > 0).
 */
export const PBT_PERTURB_DEFAULTS: Readonly<Record<Algo, readonly AgentField[]>> = {
  ppo: ['lr', 'clip', 'lambda'],
  'ppo-kl': ['lr', 'klTarget', 'lambda'],
  trpo: ['maxKl', 'damping', 'lambda'],
  reinforce: ['lr', 'lambda'],
};

/** One field's values over a population (parseSweep reads the CLI's forms: a,b,c; a..b; log:a..b; lin:a..b). */
export type Sweep =
  /** One grid axis. */
  | { kind: 'list'; values: number[] }
  /** One value per agent, spread from..to over the population. */
  | { kind: 'spread'; scale: 'log' | 'lin'; from: number; to: number };

/** A population from resolvePopulation: its size and each agent's validated config. */
export interface PopulationPlan {
  size: number;
  /** Agent k's whole configuration, validated. */
  agents: ResolvedConfig[];
  /** The fields whose values differ between agents, in the order given. */
  swept: AgentField[];
}

const isAgentField = (key: keyof TrainConfig): key is AgentField => (AGENT_FIELDS as readonly string[]).includes(key);

const SWEEP_FORMS = 'a list a,b,c, integers a..b (seed), or log:a..b / lin:a..b';

/** Whether a flag's text is a sweep rather than one value. */
export function isSweepText(raw: string): boolean {
  return raw.includes(',') || raw.includes('..') || /^(log|lin):/.test(raw);
}

/** Reads one field's sweep text; refuses fields that the population shares. */
export function parseSweep(key: keyof TrainConfig, raw: string): Sweep {
  const spec = FIELDS[key];
  const flag = spec.flag;
  if (!isAgentField(key)) {
    const sweepable = AGENT_FIELDS.map((k) => `--${FIELDS[k].flag}`).join(', ');
    throw new ConfigError(`--${flag}: ${JSON.stringify(raw)} is a sweep, but ${spec.doc} is shared by every agent of a population (sweepable: ${sweepable})`);
  }
  const number = (text: string) => parseNumberText(flag, text, `a sweep is ${SWEEP_FORMS}`);
  const spread = /^(log|lin):(.+)\.\.(.+)$/.exec(raw);
  if (spread) {
    if (key === 'seed') throw new ConfigError(`--seed: ${JSON.stringify(raw)} is not allowed (seeds are integers: write --seed a..b or a list)`);
    const [from, to] = [number(spread[2]), number(spread[3])];
    const scale = spread[1] as 'log' | 'lin';
    if (scale === 'log' && (from <= 0 || to <= 0)) throw new ConfigError(`--${flag}: ${JSON.stringify(raw)} is not allowed (a log: spread needs both ends > 0)`);
    return { kind: 'spread', scale, from, to };
  }
  const range = /^(.+)\.\.(.+)$/.exec(raw);
  if (range) {
    if (key !== 'seed') throw new ConfigError(`--${flag}: ${JSON.stringify(raw)} is not allowed (a..b is for seeds; for ${spec.doc} write log:a..b or lin:a..b)`);
    const [from, to] = [number(range[1]), number(range[2])];
    if (!Number.isInteger(from) || !Number.isInteger(to) || to < from) {
      throw new ConfigError(`--seed: ${JSON.stringify(raw)} is not allowed (a..b needs integers with a <= b)`);
    }
    if (to - from + 1 > MAX_POPULATION) throw new ConfigError(`--seed: ${JSON.stringify(raw)} gives ${to - from + 1} seeds; at most ${MAX_POPULATION} agents`);
    return { kind: 'list', values: Array.from({ length: to - from + 1 }, (_, i) => from + i) };
  }
  const parts = raw.split(',');
  if (parts.some((p) => p === '')) throw new ConfigError(`--${flag}: ${JSON.stringify(raw)} has an empty item (${SWEEP_FORMS})`);
  const values = parts.map(number);
  if (new Set(values).size !== values.length) throw new ConfigError(`--${flag}: ${JSON.stringify(raw)} repeats a value (each grid value once)`);
  return { kind: 'list', values };
}

/** The value of a spread for agent k of P. */
function spreadValue(s: Extract<Sweep, { kind: 'spread' }>, k: number, size: number): number {
  if (size === 1) return s.from;
  const t = k / (size - 1);
  return s.scale === 'log' ? Math.exp(Math.log(s.from) + t * (Math.log(s.to) - Math.log(s.from))) : s.from + t * (s.to - s.from);
}

/**
 * The population's agents: `base` for everything, each sweep's value per agent.
 * Throws ConfigError (one line) for a bad size or any agent's bad value.
 */
export function resolvePopulation(base: Partial<TrainConfig>, sweeps: ReadonlyMap<AgentField, Sweep>, population?: number): PopulationPlan {
  if (population !== undefined && (!Number.isInteger(population) || population < 1 || population > MAX_POPULATION)) {
    throw new ConfigError(`--population: ${population} is not allowed (agents trained together; must be an integer in [1, ${MAX_POPULATION}])`);
  }
  const axes = [...sweeps].filter((entry): entry is [AgentField, Extract<Sweep, { kind: 'list' }>] => entry[1].kind === 'list');
  const grid = axes.reduce((n, [, s]) => n * s.values.length, 1);
  const axisNames = axes.map(([k]) => `--${FIELDS[k].flag}`).join(' × ');
  if (grid > MAX_POPULATION) throw new ConfigError(`${axisNames}: the grid has ${grid} points; at most ${MAX_POPULATION} agents`);
  const hasSpread = [...sweeps.values()].some((s) => s.kind === 'spread');
  let size: number;
  if (population !== undefined) {
    if (population % grid !== 0) throw new ConfigError(`--population: ${population} is not a multiple of the ${grid} grid points of ${axisNames}`);
    if (sweeps.get('seed')?.kind === 'list' && population !== grid) {
      throw new ConfigError(`--population: ${population} agents, but the seeds and grid give ${grid} (with listed seeds, leave --population out or make it ${grid})`);
    }
    size = population;
  } else {
    if (hasSpread && grid === 1) {
      const [key] = [...sweeps].find(([, s]) => s.kind === 'spread')!;
      throw new ConfigError(`--${FIELDS[key].flag}: a log:/lin: spread needs --population (how many agents to spread over)`);
    }
    size = grid;
  }
  const baseSeed = base.seed ?? resolveConfig(base).seed;
  const agents: ResolvedConfig[] = [];
  for (let k = 0; k < size; k++) {
    const values: Partial<TrainConfig> = {};
    // Mixed radix over the grid, the first axis slowest.
    let rest = k % grid;
    for (let a = axes.length - 1; a >= 0; a--) {
      const [key, axis] = axes[a];
      values[key] = axis.values[rest % axis.values.length];
      rest = Math.floor(rest / axis.values.length);
    }
    for (const [key, s] of sweeps) if (s.kind === 'spread') values[key] = spreadValue(s, k, size);
    if (!sweeps.has('seed')) values.seed = baseSeed + k;
    try {
      agents.push(resolveConfig({ ...base, ...values }));
    } catch (error) {
      if (error instanceof ConfigError && size > 1) throw new ConfigError(`agent ${k}: ${error.message}`);
      throw error;
    }
  }
  const candidates: AgentField[] = sweeps.has('seed') ? [...sweeps.keys()] : [...sweeps.keys(), 'seed'];
  return { size, agents, swept: candidates.filter((key) => agents.some((a) => a[key] !== agents[0][key])) };
}

/**
 * The train command's flags with sweeps: like parseTrainArgs, but a field's
 * text may be a sweep, and --population is read.
 */
export function parsePopulationArgs(
  argv: readonly string[],
  extraFlags: Readonly<Record<string, FlagKind>> = {},
): { base: Partial<TrainConfig>; sweeps: Map<AgentField, Sweep>; population?: number; extra: Record<string, string | boolean> } {
  const byFlag = new Map<string, keyof TrainConfig>();
  const kinds: Record<string, FlagKind> = { ...extraFlags, population: 'value' };
  for (const [key, spec] of Object.entries(FIELDS) as [keyof TrainConfig, (typeof FIELDS)[keyof TrainConfig]][]) {
    byFlag.set(spec.flag, key);
    kinds[spec.flag] = spec.kind === 'boolean' ? 'boolean' : 'value';
  }
  const base: Record<string, unknown> = {};
  const sweeps = new Map<AgentField, Sweep>();
  const extra: Record<string, string | boolean> = {};
  let population: number | undefined;
  for (const [name, raw] of parseFlags(argv, kinds)) {
    const key = byFlag.get(name);
    if (name === 'population') population = parseNumberText('population', raw as string, `agents trained together; must be an integer in [1, ${MAX_POPULATION}]`);
    else if (!key) extra[name] = raw;
    else if (FIELDS[key].kind !== 'number') base[key] = raw;
    else if (isSweepText(raw as string)) {
      const sweep = parseSweep(key, raw as string);
      // A one-value list is just that value.
      if (sweep.kind === 'list' && sweep.values.length === 1) base[key] = sweep.values[0];
      else sweeps.set(key as AgentField, sweep);
    } else base[key] = parseNumberText(name, raw as string, fieldAllowed(key));
  }
  return { base: base as Partial<TrainConfig>, sweeps, population, extra };
}

/** Agents' blocks one after another: the agent-major array a population's buffers hold (agent k's block k-th). */
export function agentMajor(blocks: readonly Float32Array[]): Float32Array<ArrayBuffer> {
  const out = new Float32Array(blocks.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** Population-based training's schedule and explore settings. */
export interface PbtSettings {
  /** Iterations between exploits (the score window). */
  interval: number;
  /**
   * Iterations before the first score window opens (default 0): nothing is scored
   * or replaced before, so the first exploit comes burnIn + interval iterations in,
   * scored on the `interval` iterations before it (Ray Tune's burn_in_period).
   * Early scores are noisy, and a slow starter replaced there may be a later leader.
   */
  burnIn?: number;
  /** Fraction of the population replaced per exploit (and copied from): 0 < fraction ≤ 0.5, at least one agent. */
  fraction: number;
  /** Fields multiplied by 0.8 or 1.2 at each exploit (clamped to their flags' ranges); empty: exploit only (`--pbt-perturb none`). */
  perturb: readonly AgentField[];
  /**
   * Probability in [0, 1] (default 0) that an explored field is instead resampled:
   * set to that field of a random agent's starting record, so the population's
   * starting values (a sweep's grid or spread) are the prior, as in Jaderberg et al.
   */
  resample?: number;
  /**
   * What a replaced agent does with its envs: 'own' (the default) keeps its own
   * envs, episodes and reward-normalisation returns; 'copy' takes its source's
   * too (their states, observations, running returns and episode counters), so
   * it continues the source's episodes under its own sampling streams.
   */
  envs?: PbtEnvs;
  /**
   * Where a replaced agent's source comes from: 'top' (the default, Jaderberg et
   * al.'s truncation selection) picks one of the best `fraction` at random; 'best'
   * copies the best agent into every replaced one, so the leader gets several
   * differently sampled twins.
   */
  source?: PbtSource;
}

/** PbtSettings.envs: a replaced agent keeps its own envs, or takes a copy of its source's. */
export type PbtEnvs = 'own' | 'copy';

/** PbtSettings.source: one of the top fraction at random, or the best agent. */
export type PbtSource = 'top' | 'best';

/** The numeric PBT settings: each one's flag, default, test and the allowed range as messages state it (flag and code share them). */
const PBT_NUMBERS = {
  interval: { flag: 'pbt-interval', fallback: PBT_DEFAULTS.interval, ok: (v: number) => Number.isInteger(v) && v >= 1 && v <= 1e6, allowed: 'iterations between exploits; must be an integer in [1, 1000000]' },
  burnIn: { flag: 'pbt-burn-in', fallback: 0, ok: (v: number) => Number.isInteger(v) && v >= 0 && v <= 1e6, allowed: 'iterations before the first score window; must be an integer in [0, 1000000]' },
  fraction: { flag: 'pbt-fraction', fallback: PBT_DEFAULTS.fraction, ok: (v: number) => v > 0 && v <= 0.5, allowed: 'share of agents replaced per exploit; must be in (0, 0.5]' },
  resample: { flag: 'pbt-resample', fallback: 0, ok: (v: number) => v >= 0 && v <= 1, allowed: 'probability that an explored field is resampled from the starting values; must be in [0, 1]' },
} as const;

/** Reads --pbt and its settings (--pbt-interval, --pbt-burn-in, --pbt-fraction, --pbt-perturb, --pbt-resample, --pbt-envs, --pbt-source; flags as given); null without --pbt. */
export function parsePbtFlags(extra: Record<string, string | boolean>, algo: string, size: number): PbtSettings | null {
  const given = PBT_VALUE_FLAGS.filter((f) => extra[f] !== undefined);
  if (!extra.pbt) {
    if (given.length) throw new ConfigError(`--${given[0]}: only with --pbt (population-based training)`);
    return null;
  }
  const number = (flag: string, fallback: number) => {
    const raw = extra[flag];
    if (raw === undefined) return fallback;
    const v = Number(raw);
    if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(v)) throw new ConfigError(`--${flag}: ${JSON.stringify(raw)} is not a number`);
    return v;
  };
  const checked = (key: keyof typeof PBT_NUMBERS) => {
    const { flag, fallback, ok, allowed } = PBT_NUMBERS[key];
    const v = number(flag, fallback);
    if (!ok(v)) throw new ConfigError(`--${flag}: ${v} is not allowed (${allowed})`);
    return v;
  };
  const interval = checked('interval');
  const burnIn = checked('burnIn');
  const fraction = checked('fraction');
  if (size < 2 || Math.floor(fraction * size) < 1) {
    throw new ConfigError(`--population: ${size} agents is too few for --pbt-fraction ${fraction} (at least ${Math.ceil(1 / fraction)} agents, so that one is replaced per exploit)`);
  }
  const byFlag = new Map(AGENT_FIELDS.map((f) => [FIELDS[f].flag, f] as const));
  // Every record field but the seed (an agent keeps its own streams); learning rates included, as the optimizers read them from the records.
  const perturbable: readonly AgentField[] = AGENT_FIELDS.filter((f) => f !== 'seed');
  let perturb: readonly AgentField[] = PBT_PERTURB_DEFAULTS[algo as Algo] ?? ['gamma'];
  const raw = extra['pbt-perturb'];
  // none: copies keep their source's values, so the population only selects.
  if (raw === 'none') perturb = [];
  else if (raw !== undefined) {
    const names = typeof raw === 'string' ? raw.split(',') : [];
    perturb = names.map((name) => {
      if (name === 'none') throw new ConfigError(`--pbt-perturb: ${JSON.stringify(raw)} is not allowed (none stands alone: exploit only, nothing explored)`);
      const field = byFlag.get(name);
      if (!field || !perturbable.includes(field)) {
        throw new ConfigError(`--pbt-perturb: ${JSON.stringify(name)} is not allowed (none, or a comma list of ${perturbable.map((f) => FIELDS[f].flag).join(', ')})`);
      }
      return field;
    });
    if (!perturb.length || new Set(perturb).size !== perturb.length) throw new ConfigError(`--pbt-perturb: ${JSON.stringify(raw)} must name each field once`);
  }
  const envs = extra['pbt-envs'] ?? 'own';
  if (envs !== 'own' && envs !== 'copy') throw new ConfigError(`--pbt-envs: ${JSON.stringify(envs)} is not allowed (own: a replaced agent keeps its envs; copy: it takes its source's)`);
  const resample = checked('resample');
  if (resample > 0 && !perturb.length) throw new ConfigError(`--pbt-resample: ${resample} needs explored fields (--pbt-perturb none explores nothing)`);
  const source = extra['pbt-source'] ?? 'top';
  if (source !== 'top' && source !== 'best') {
    throw new ConfigError(`--pbt-source: ${JSON.stringify(source)} is not allowed (top: one of the best fraction at random; best: the best agent)`);
  }
  return { interval, burnIn, fraction, perturb, resample, envs, source };
}

/**
 * Checks PBT settings given in code (the library's `makePopulationTrainer({ pbt })`)
 * by the CLI's rules; throws a ConfigError naming the field, its value and the
 * allowed range, before any GPU work.
 */
export function checkPbtSettings(pbt: PbtSettings, size: number): void {
  const bad = (field: string, value: unknown, allowed: string) => new ConfigError(`pbt.${field}: ${JSON.stringify(value)} is not allowed (${allowed})`);
  for (const [key, { fallback, ok, allowed }] of Object.entries(PBT_NUMBERS)) {
    const value = pbt[key as keyof typeof PBT_NUMBERS];
    // interval and fraction are required; the optional ones default as their flags do.
    const optional = key === 'burnIn' || key === 'resample';
    if (!ok((optional ? value ?? fallback : value) as number)) throw bad(key, value, allowed);
  }
  if (size < 2 || Math.floor(pbt.fraction * size) < 1) throw new ConfigError(`pbt.fraction: ${pbt.fraction} replaces no agent of ${size} (at least ${Math.ceil(1 / pbt.fraction)} agents)`);
  const perturbable: readonly AgentField[] = AGENT_FIELDS.filter((f) => f !== 'seed');
  for (const f of pbt.perturb) if (!perturbable.includes(f)) throw bad('perturb', f, `a list of ${perturbable.join(', ')}`);
  if (new Set(pbt.perturb).size !== pbt.perturb.length) throw bad('perturb', pbt.perturb, 'each field once');
  if (pbt.envs !== undefined && pbt.envs !== 'own' && pbt.envs !== 'copy') throw bad('envs', pbt.envs, "own or copy");
  if (pbt.source !== undefined && pbt.source !== 'top' && pbt.source !== 'best') throw bad('source', pbt.source, 'top or best');
}

/** The PBT flags that take a value (each only with --pbt). */
export const PBT_VALUE_FLAGS = ['pbt-interval', 'pbt-burn-in', 'pbt-fraction', 'pbt-perturb', 'pbt-resample', 'pbt-envs', 'pbt-source'] as const;
