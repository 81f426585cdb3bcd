/**
 * Training configuration: every field with its default, a one-line doc and its
 * allowed range. `resolveConfig` applies a preset, then overrides, validates
 * everything before any GPU work, and computes the derived sizes once.
 */

import { ALGOS, algorithmInfo, type Algo } from './algorithms';

export { ALGOS, type Algo };
export const PRESETS = ['seed', 'fast'] as const;
export type Preset = (typeof PRESETS)[number];
export const ENVS = ['CartPole-v1'] as const;
export const ADVANTAGE_NORMALIZATION = ['batch', 'minibatch', 'none'] as const;
export type AdvantageNormalization = (typeof ADVANTAGE_NORMALIZATION)[number];
export const INITS = ['pytorch', 'orthogonal'] as const;
export type Init = (typeof INITS)[number];

export interface TrainConfig {
  algo: Algo;
  env: (typeof ENVS)[number];
  preset: Preset;
  /** Parallel environments. */
  numEnvs: number;
  /** Env steps per iteration across all envs (rounded up to a multiple of numEnvs). */
  stepsPerIter: number;
  /** Iterations to run (0: until totalSteps or solved). */
  iters: number;
  /** Env-step budget (0: no budget). */
  totalSteps: number;
  /** Stop once the mean return of an iteration reaches this (0: never). */
  stopAtReturn: number;
  seed: number;
  gamma: number;
  lambda: number;
  /** Treat truncation like termination in GAE (the seed code's behaviour). */
  truncationAsTerminal: boolean;
  advantageNorm: AdvantageNormalization;
  hidden: number;
  init: Init;
  /** Policy learning rate (PPO, PPO-KL, REINFORCE). */
  lr: number;
  valueLr: number;
  /** Anneal both learning rates linearly to 0 at totalSteps when set, else after iters (counted from a resumed checkpoint's iteration). */
  lrAnneal: boolean;
  epochs: number;
  minibatch: number;
  clip: number;
  /** Value clipping range (0: off). */
  valueClip: number;
  entCoef: number;
  /** Global gradient-norm clip per network (0: off). */
  maxGradNorm: number;
  /** PPO early stop when the epoch's approx KL exceeds 1.5 × this (0: off). */
  targetKl: number;
  /** PPO-KL: KL target and initial penalty coefficient. */
  klTarget: number;
  klCoef: number;
  /** TRPO. */
  maxKl: number;
  cgIters: number;
  damping: number;
  backtracks: number;
  acceptRatio: number;
  /** TRPO option: also require KL ≤ 1.5 × maxKl in the line search. */
  lineSearchKlCheck: boolean;
  /** Full-batch value-function Adam steps per iteration (TRPO, REINFORCE). */
  valueSteps: number;
}

type Range = { min?: number; max?: number; int?: boolean; exclusiveMin?: boolean };

interface FieldSpec {
  flag: string;
  doc: string;
  kind: 'number' | 'boolean' | 'enum';
  range?: Range;
  values?: readonly string[];
}

export const FIELDS: Record<keyof TrainConfig, FieldSpec> = {
  algo: { flag: 'algo', doc: 'algorithm', kind: 'enum', values: ALGOS },
  env: { flag: 'env', doc: 'environment', kind: 'enum', values: ENVS },
  preset: { flag: 'preset', doc: 'hyperparameter preset', kind: 'enum', values: PRESETS },
  numEnvs: { flag: 'envs', doc: 'parallel environments', kind: 'number', range: { min: 1, max: 1 << 20, int: true } },
  stepsPerIter: { flag: 'steps-per-iter', doc: 'env steps per iteration', kind: 'number', range: { min: 1, max: 1 << 24, int: true } },
  iters: { flag: 'iters', doc: 'iterations (0: unbounded)', kind: 'number', range: { min: 0, max: 1e7, int: true } },
  totalSteps: { flag: 'total-steps', doc: 'env-step budget (0: none)', kind: 'number', range: { min: 0, max: 1e13, int: true } },
  stopAtReturn: { flag: 'stop-at-return', doc: 'stop when mean return reaches this (0: never)', kind: 'number', range: { min: 0, max: 1e9 } },
  seed: { flag: 'seed', doc: 'random seed', kind: 'number', range: { min: 0, max: 4294967295, int: true } },
  gamma: { flag: 'gamma', doc: 'discount', kind: 'number', range: { min: 0, max: 1 } },
  lambda: { flag: 'lambda', doc: 'GAE lambda', kind: 'number', range: { min: 0, max: 1 } },
  truncationAsTerminal: { flag: 'truncation-as-terminal', doc: "seed code's GAE: no bootstrap on truncation", kind: 'boolean' },
  advantageNorm: { flag: 'adv-norm', doc: 'advantage normalisation', kind: 'enum', values: ADVANTAGE_NORMALIZATION },
  hidden: { flag: 'hidden', doc: 'hidden width of both 2-layer tanh networks', kind: 'number', range: { min: 1, max: 1024, int: true } },
  init: { flag: 'init', doc: 'weight initialisation', kind: 'enum', values: INITS },
  lr: { flag: 'lr', doc: 'policy learning rate', kind: 'number', range: { min: 0, max: 1, exclusiveMin: true } },
  valueLr: { flag: 'value-lr', doc: 'value learning rate', kind: 'number', range: { min: 0, max: 1, exclusiveMin: true } },
  lrAnneal: { flag: 'lr-anneal', doc: 'anneal learning rates linearly to 0', kind: 'boolean' },
  epochs: { flag: 'epochs', doc: 'PPO epochs per iteration', kind: 'number', range: { min: 1, max: 1000, int: true } },
  minibatch: { flag: 'minibatch', doc: 'PPO minibatch size', kind: 'number', range: { min: 1, max: 1 << 24, int: true } },
  clip: { flag: 'clip', doc: 'PPO clip range', kind: 'number', range: { min: 0, max: 10, exclusiveMin: true } },
  valueClip: { flag: 'value-clip', doc: 'value clip range (0: off)', kind: 'number', range: { min: 0, max: 1e6 } },
  entCoef: { flag: 'ent-coef', doc: 'entropy bonus coefficient', kind: 'number', range: { min: 0, max: 10 } },
  maxGradNorm: { flag: 'max-grad-norm', doc: 'global gradient-norm clip (0: off)', kind: 'number', range: { min: 0, max: 1e6 } },
  targetKl: { flag: 'target-kl', doc: 'PPO early-stop KL target (0: off)', kind: 'number', range: { min: 0, max: 10 } },
  klTarget: { flag: 'kl-target', doc: 'PPO-KL penalty target', kind: 'number', range: { min: 0, max: 10, exclusiveMin: true } },
  klCoef: { flag: 'kl-coef', doc: 'PPO-KL initial penalty coefficient', kind: 'number', range: { min: 0, max: 1e6 } },
  maxKl: { flag: 'max-kl', doc: 'TRPO trust-region size', kind: 'number', range: { min: 0, max: 10, exclusiveMin: true } },
  cgIters: { flag: 'cg-iters', doc: 'TRPO conjugate-gradient iterations', kind: 'number', range: { min: 1, max: 1000, int: true } },
  damping: { flag: 'damping', doc: 'TRPO Fisher damping', kind: 'number', range: { min: 0, max: 10 } },
  backtracks: { flag: 'backtracks', doc: 'TRPO line-search halvings', kind: 'number', range: { min: 1, max: 60, int: true } },
  acceptRatio: { flag: 'accept-ratio', doc: 'TRPO line-search accept ratio', kind: 'number', range: { min: 0, max: 1 } },
  lineSearchKlCheck: { flag: 'line-search-kl-check', doc: 'TRPO: also require KL ≤ 1.5 max-kl', kind: 'boolean' },
  valueSteps: { flag: 'value-steps', doc: 'value Adam steps per iteration (TRPO, REINFORCE)', kind: 'number', range: { min: 1, max: 10000, int: true } },
};

/** The seed article's setting (modular_rl defaults) for every algorithm. */
const SEED_PRESET: TrainConfig = {
  algo: 'ppo',
  env: 'CartPole-v1',
  preset: 'seed',
  numEnvs: 16,
  stepsPerIter: 10_000,
  iters: 0,
  totalSteps: 0,
  stopAtReturn: 0,
  seed: 1,
  gamma: 0.99,
  lambda: 1.0,
  truncationAsTerminal: false,
  advantageNorm: 'batch',
  hidden: 64,
  init: 'pytorch',
  lr: 1e-3,
  valueLr: 1e-3,
  lrAnneal: false,
  epochs: 10,
  minibatch: 128,
  clip: 0.2,
  valueClip: 0,
  entCoef: 0,
  maxGradNorm: 0,
  targetKl: 0,
  klTarget: 0.01,
  klCoef: 1.0,
  maxKl: 0.01,
  cgIters: 10,
  damping: 1e-3,
  backtracks: 10,
  acceptRatio: 0.1,
  lineSearchKlCheck: false,
  valueSteps: 10,
};

/**
 * Parallel setting: 16× the seed's envs with 32-step rollouts (8 192 steps per
 * iteration), minibatches of 256 and a doubled learning rate, so each
 * iteration records 40× fewer sequential rollout steps than the seed preset
 * and half as many minibatch updates per sample, while keeping its sample
 * efficiency close (measured on lavapipe: see README "Presets"). Larger
 * minibatches with few updates learned several times slower per sample, and
 * with N envs the completed-episode return cannot reach 475 before ~500·N
 * steps (a 475-step episode must finish), which caps how many envs pay off on
 * a CPU; on a GPU raise --envs (the Studio uses 4 096).
 */
const FAST_PRESET: Partial<TrainConfig> = {
  preset: 'fast',
  numEnvs: 256,
  stepsPerIter: 256 * 32,
  epochs: 10,
  minibatch: 256,
  lr: 2e-3,
  valueLr: 2e-3,
};

export function presetConfig(preset: Preset): TrainConfig {
  return preset === 'fast' ? { ...SEED_PRESET, ...FAST_PRESET } : { ...SEED_PRESET };
}

/** Sizes computed once from a validated config. */
export interface DerivedSizes {
  /** Steps per env per iteration (the rollout length T). */
  stepsPerEnv: number;
  /** Samples per iteration: T × numEnvs. */
  batchSize: number;
  /** Minibatches per epoch (full minibatches; the remainder of a permutation is left out of that epoch). */
  minibatches: number;
  obsDim: number;
  numActions: number;
}

export interface ResolvedConfig extends TrainConfig {
  derived: DerivedSizes;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function describeRange(spec: FieldSpec): string {
  if (spec.kind === 'enum') return `one of ${spec.values!.join(', ')}`;
  if (spec.kind === 'boolean') return 'true or false';
  const r = spec.range ?? {};
  const lo = r.min === undefined ? '-inf' : `${r.min}`;
  const hi = r.max === undefined ? 'inf' : `${r.max}`;
  return `${r.int ? 'an integer' : 'a number'} in ${r.exclusiveMin ? '(' : '['}${lo}, ${hi}]`;
}

function checkField(key: keyof TrainConfig, value: unknown): void {
  const spec = FIELDS[key];
  const fail = () => {
    throw new ConfigError(`--${spec.flag}: ${JSON.stringify(value)} is not allowed (${spec.doc}; must be ${describeRange(spec)})`);
  };
  if (spec.kind === 'enum') {
    if (typeof value !== 'string' || !spec.values!.includes(value)) fail();
  } else if (spec.kind === 'boolean') {
    if (typeof value !== 'boolean') fail();
  } else {
    const r = spec.range ?? {};
    if (typeof value !== 'number' || !Number.isFinite(value)) fail();
    const v = value as number;
    if (r.int && !Number.isInteger(v)) fail();
    if (r.min !== undefined && (r.exclusiveMin ? v <= r.min : v < r.min)) fail();
    if (r.max !== undefined && v > r.max) fail();
  }
}

/** Preset, then overrides; validated; derived sizes attached. Throws ConfigError with one line. */
export function resolveConfig(overrides: Partial<TrainConfig> = {}): ResolvedConfig {
  const preset = overrides.preset ?? 'seed';
  checkField('preset', preset);
  const config: TrainConfig = { ...presetConfig(preset), ...overrides, preset };
  for (const key of Object.keys(overrides) as (keyof TrainConfig)[]) {
    if (!(key in FIELDS)) throw new ConfigError(`unknown config field "${key}"`);
  }
  for (const key of Object.keys(FIELDS) as (keyof TrainConfig)[]) checkField(key, config[key]);

  const stepsPerEnv = Math.ceil(config.stepsPerIter / config.numEnvs);
  const batchSize = stepsPerEnv * config.numEnvs;
  if (batchSize > 1 << 24) {
    throw new ConfigError(`--steps-per-iter: ${config.stepsPerIter} with --envs ${config.numEnvs} gives ${batchSize} samples per iteration; must be at most ${1 << 24}`);
  }
  const usesMinibatches = algorithmInfo(config.algo).minibatches;
  if (usesMinibatches && config.minibatch > batchSize) {
    throw new ConfigError(`--minibatch: ${config.minibatch} is larger than the ${batchSize} samples per iteration (must be in [1, ${batchSize}])`);
  }
  if (config.lrAnneal && config.iters === 0 && config.totalSteps === 0) {
    throw new ConfigError('--lr-anneal: needs --iters or --total-steps to know where the schedule ends');
  }
  return {
    ...config,
    derived: {
      stepsPerEnv,
      batchSize,
      minibatches: usesMinibatches ? Math.floor(batchSize / config.minibatch) : 1,
      obsDim: 4,
      numActions: 2,
    },
  };
}

/** Parses `--flag value` / `--flag=value` / boolean `--flag` arguments into overrides. */
export function parseTrainArgs(argv: string[], extraFlags: readonly string[] = []): { overrides: Partial<TrainConfig>; extra: Record<string, string | boolean> } {
  const byFlag = new Map<string, keyof TrainConfig>();
  for (const [key, spec] of Object.entries(FIELDS) as [keyof TrainConfig, FieldSpec][]) byFlag.set(spec.flag, key);
  const overrides: Record<string, unknown> = {};
  const extra: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}" (flags start with --; see --help)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    let raw: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const key = byFlag.get(name);
    const isBooleanFlag = key ? FIELDS[key].kind === 'boolean' : false;
    if (raw === undefined && !isBooleanFlag) {
      const next = argv[i + 1];
      const extraIsBoolean = !key && extraFlags.includes(name) && (next === undefined || next.startsWith('--'));
      if (!extraIsBoolean) {
        if (next === undefined || (next.startsWith('--') && !/^--?\d/.test(next))) {
          if (key || extraFlags.includes(name)) throw new ConfigError(`--${name}: missing value`);
        } else {
          raw = next;
          i++;
        }
      }
    }
    if (!key) {
      if (!extraFlags.includes(name)) throw new ConfigError(`unknown flag --${name} (see --help)`);
      extra[name] = raw ?? true;
      continue;
    }
    const spec = FIELDS[key];
    if (spec.kind === 'boolean') {
      if (raw === undefined || raw === 'true' || raw === '1') overrides[key] = true;
      else if (raw === 'false' || raw === '0') overrides[key] = false;
      else throw new ConfigError(`--${name}: "${raw}" is not allowed (must be true or false)`);
    } else if (spec.kind === 'number') {
      const v = Number(raw);
      if (raw === undefined || raw.trim() === '' || !Number.isFinite(v)) {
        throw new ConfigError(`--${name}: "${raw}" is not a number (${spec.doc}; must be ${describeRange(spec)})`);
      }
      overrides[key] = v;
    } else {
      overrides[key] = raw;
    }
  }
  return { overrides: overrides as Partial<TrainConfig>, extra };
}

export function configHelp(): string {
  const lines = Object.values(FIELDS).map((s) => `  --${s.flag.padEnd(22)} ${s.doc} (${describeRange(s)})`);
  return lines.join('\n');
}
