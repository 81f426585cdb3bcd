/**
 * Training configuration: every field with its default, a one-line doc and its
 * allowed range. `resolveConfig` applies a preset, then overrides, validates
 * everything before any GPU work, and computes the derived sizes once.
 */

import { ALGOS, algorithmInfo, type Algo } from './algorithms';
import { ENV_IDS, envSpec } from './envSpecs';

export { ALGOS, type Algo };
/** The hyperparameter presets `resolveConfig` starts from ('seed' is the reference PPO setup on CartPole). */
export const PRESETS = ['seed', 'fast', 'acrobot', 'mountain-car', 'mountain-car-continuous', 'pendulum'] as const;
/** A preset name: one of `PRESETS`. */
export type Preset = (typeof PRESETS)[number];
export const ADVANTAGE_NORMALIZATION = ['batch', 'minibatch', 'none'] as const;
export type AdvantageNormalization = (typeof ADVANTAGE_NORMALIZATION)[number];
export const INITS = ['pytorch', 'orthogonal'] as const;
export type Init = (typeof INITS)[number];

/**
 * Every setting of a training run: algorithm, env, sizes and hyperparameters.
 * `FIELDS` gives each field's allowed range; `resolveConfig` fills the
 * omitted ones from a preset and validates.
 */
export interface TrainConfig {
  algo: Algo;
  /** A known env id (core/envSpecs.ts: built-in or registered). */
  env: string;
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
  /** Networks see observations normalised by running moments (VecNormalize's obs), updated every iteration, frozen at evaluation. */
  normObs: boolean;
  /** Rewards divided by the running std of each env's discounted return (VecNormalize's reward); metrics stay in raw rewards. */
  normReward: boolean;
}

type Range = { min?: number; max?: number; int?: boolean; exclusiveMin?: boolean };

interface FieldSpec {
  flag: string;
  doc: string;
  kind: 'number' | 'boolean' | 'enum';
  range?: Range;
  values?: readonly string[];
}

/** Each config field's CLI flag, one-line description and allowed values or range (what validation checks). */
export const FIELDS: Record<keyof TrainConfig, FieldSpec> = {
  algo: { flag: 'algo', doc: 'algorithm', kind: 'enum', values: ALGOS },
  env: { flag: 'env', doc: 'environment', kind: 'enum', values: ENV_IDS },
  preset: { flag: 'preset', doc: 'hyperparameter preset', kind: 'enum', values: PRESETS },
  numEnvs: { flag: 'envs', doc: 'parallel environments', kind: 'number', range: { min: 1, max: 1 << 20, int: true } },
  stepsPerIter: { flag: 'steps-per-iter', doc: 'env steps per iteration', kind: 'number', range: { min: 1, max: 1 << 24, int: true } },
  iters: { flag: 'iters', doc: 'iterations (0: unbounded)', kind: 'number', range: { min: 0, max: 1e7, int: true } },
  totalSteps: { flag: 'total-steps', doc: 'env-step budget (0: none)', kind: 'number', range: { min: 0, max: 1e13, int: true } },
  stopAtReturn: { flag: 'stop-at-return', doc: 'stop when mean return reaches this (0: never)', kind: 'number', range: { min: -1e9, max: 1e9 } },
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
  normObs: { flag: 'norm-obs', doc: 'normalise observations by running mean and variance (clipped to ±10)', kind: 'boolean' },
  normReward: { flag: 'norm-reward', doc: 'scale rewards by the running std of the discounted return (clipped to ±10)', kind: 'boolean' },
};

/** Fields added after checkpoints were first written: a checkpoint's config without them reads as these values. */
export const LATER_FIELDS: Readonly<Partial<TrainConfig>> = { normObs: false, normReward: false };

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
  normObs: false,
  normReward: false,
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

/**
 * Settings shared by the per-env presets: rl-baselines3-zoo's PPO for these
 * envs (VecNormalize on, 16 envs, 4 epochs, orthogonal init, gradient-norm
 * clip 0.5, advantages normalised per minibatch), tuned by measurement on
 * lavapipe (bench/RESULTS.md, "Per-env presets").
 */
const ZOO_DISCRETE: Partial<TrainConfig> = {
  numEnvs: 16,
  gamma: 0.99,
  epochs: 4,
  init: 'orthogonal',
  maxGradNorm: 0.5,
  advantageNorm: 'minibatch',
  normObs: true,
  normReward: true,
};

/**
 * Acrobot-v1: 256-step rollouts, GAE λ 0.94 (the zoo's), minibatches of 256 and
 * lr 1e-3 (the zoo's 64 and 3e-4 cost 4× the updates per sample here), 10
 * epochs: with the zoo's 4 the deterministic return hovered at −80 ± 5 from
 * 250k steps on (one seed of three short at 500k); with 10 all three end at
 * −65 to −73.
 */
const ACROBOT_PRESET: Partial<TrainConfig> = {
  ...ZOO_DISCRETE,
  preset: 'acrobot',
  env: 'Acrobot-v1',
  stepsPerIter: 16 * 256,
  lambda: 0.94,
  epochs: 10,
  minibatch: 256,
  lr: 1e-3,
  valueLr: 1e-3,
};

/** MountainCar-v0: the zoo's 16-step rollouts, GAE λ 0.98, minibatches of 64, lr 3e-4. */
const MOUNTAIN_CAR_PRESET: Partial<TrainConfig> = {
  ...ZOO_DISCRETE,
  preset: 'mountain-car',
  env: 'MountainCar-v0',
  stepsPerIter: 16 * 16,
  lambda: 0.98,
  minibatch: 64,
  lr: 3e-4,
  valueLr: 3e-4,
};

/**
 * Pendulum-v1: rl-baselines3-zoo's PPO without gSDE (4 envs × 1 024 steps, γ 0.9,
 * GAE λ 0.95, 10 epochs of minibatches of 64, lr 1e-3, gradient-norm clip 0.5),
 * no normalisation; the Gaussian head's state-independent log-std starts at 0.
 */
const PENDULUM_PRESET: Partial<TrainConfig> = {
  preset: 'pendulum',
  env: 'Pendulum-v1',
  numEnvs: 4,
  stepsPerIter: 4 * 1024,
  gamma: 0.9,
  lambda: 0.95,
  epochs: 10,
  minibatch: 64,
  lr: 1e-3,
  valueLr: 1e-3,
  maxGradNorm: 0.5,
};

/**
 * MountainCarContinuous-v0: rl-baselines3-zoo's PPO settings (normalisation on,
 * γ 0.9999, λ 0.9, lr 7.77e-5, clip 0.1, entropy 0.00429, 10 epochs, grad-norm
 * clip 5) less gSDE, on 16 envs × 512 steps with minibatches of 256. With the
 * Gaussian head's log-std at 0 (σ = 1) the clipped random actions reach the
 * goal often enough early on; normalised rewards let its +100 win over the
 * action cost (without normalisation the policy settled on doing nothing).
 */
const MOUNTAIN_CAR_CONTINUOUS_PRESET: Partial<TrainConfig> = {
  preset: 'mountain-car-continuous',
  env: 'MountainCarContinuous-v0',
  numEnvs: 16,
  stepsPerIter: 16 * 512,
  gamma: 0.9999,
  lambda: 0.9,
  lr: 7.77e-5,
  valueLr: 7.77e-5,
  clip: 0.1,
  entCoef: 0.00429,
  epochs: 10,
  minibatch: 256,
  maxGradNorm: 5,
  normObs: true,
  normReward: true,
};

const PRESET_SETTINGS: Record<Preset, Partial<TrainConfig>> = {
  seed: {},
  fast: FAST_PRESET,
  acrobot: ACROBOT_PRESET,
  'mountain-car': MOUNTAIN_CAR_PRESET,
  'mountain-car-continuous': MOUNTAIN_CAR_CONTINUOUS_PRESET,
  pendulum: PENDULUM_PRESET,
};

/** The preset `--env` selects when no --preset is given (envs not listed use `seed`). */
export const ENV_PRESETS: Readonly<Record<string, Preset>> = { 'Acrobot-v1': 'acrobot', 'MountainCar-v0': 'mountain-car', 'MountainCarContinuous-v0': 'mountain-car-continuous', 'Pendulum-v1': 'pendulum' };

/** The full (unvalidated) config of `preset`: the seed preset with the preset's settings over it. */
export function presetConfig(preset: Preset): TrainConfig {
  return { ...SEED_PRESET, ...PRESET_SETTINGS[preset] };
}

/** The preset a run uses: the one given, else the env's own (ENV_PRESETS), else `seed`. */
export function defaultPreset(overrides: Partial<TrainConfig>): Preset {
  if (overrides.preset !== undefined) return overrides.preset;
  const env = overrides.env;
  return typeof env === 'string' && Object.hasOwn(ENV_PRESETS, env) ? ENV_PRESETS[env] : 'seed';
}

/**
 * The most actions a policy head holds: logits for a discrete space, and for a
 * box the components (a mean and a log-std each). src/kernels/distribution.ts
 * sizes its WGSL modules to these; an env with more is refused here, before
 * any GPU work, rather than when the networks are built.
 */
export const POLICY_MAX_DISCRETE_ACTIONS = 16;
export const POLICY_MAX_BOX_COMPONENTS = 8;

/** Sizes computed once from a validated config. */
export interface DerivedSizes {
  /** Steps per env per iteration (the rollout length T). */
  stepsPerEnv: number;
  /** Samples per iteration: T × numEnvs. */
  batchSize: number;
  /** Minibatches per epoch (full minibatches; the remainder of a permutation is left out of that epoch). */
  minibatches: number;
  obsDim: number;
  /** Distribution parameters per policy row: the number of actions (logits), or for a box 2 per component (means, log-stds). */
  numActions: number;
  /** Words a stored action takes: 1 (an index), or a box's components. */
  actionWords: number;
}

/** A validated config with the sizes derived from it (batch size, minibatches, obs and action sizes). */
export interface ResolvedConfig extends TrainConfig {
  /** Sizes computed from the validated fields. */
  derived: DerivedSizes;
}

/** A config field out of range: a one-line message naming the field, the value and what is allowed. */
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

/** What a field is and the values it allows, for error messages. */
export function fieldAllowed(key: keyof TrainConfig): string {
  return `${FIELDS[key].doc}; must be ${describeRange(FIELDS[key])}`;
}

/** Smallest positive normal f32: a nonzero real below it is flushed to 0 (or loses precision) on the GPU. */
export const F32_MIN_NORMAL = 2 ** -126;

function checkField(key: keyof TrainConfig, value: unknown): void {
  const spec = FIELDS[key];
  const fail = (why = '') => {
    // String() for numbers: JSON would print Infinity and NaN (from a checkpoint) as null.
    const shown = typeof value === 'number' ? String(value) : JSON.stringify(value);
    throw new ConfigError(`--${spec.flag}: ${shown} is not allowed (${spec.doc}; must be ${describeRange(spec)}${why})`);
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
    // Real-valued fields reach the GPU as f32, where such a value would read as 0.
    if (!r.int && v !== 0 && Math.abs(v) < F32_MIN_NORMAL) fail(`; nonzero values below ${F32_MIN_NORMAL} vanish in f32`);
  }
}

/** Preset, then overrides; validated; derived sizes attached. Throws ConfigError with one line. */
export function resolveConfig(overrides: Partial<TrainConfig> = {}): ResolvedConfig {
  // Only an absent preset means the default (the env's own, else seed): null (from a checkpoint) is refused like any other bad value.
  const preset = defaultPreset(overrides);
  checkField('preset', preset);
  const config: TrainConfig = { ...presetConfig(preset), ...overrides, preset };
  for (const key of Object.keys(overrides) as (keyof TrainConfig)[]) {
    if (!(key in FIELDS)) throw new ConfigError(`unknown config field "${key}"`);
  }
  for (const key of Object.keys(FIELDS) as (keyof TrainConfig)[]) checkField(key, config[key]);

  const spec = envSpec(config.env);
  const action = spec.action;
  const [actionSize, actionMax, actionWhat] =
    action.kind === 'discrete'
      ? [action.n, POLICY_MAX_DISCRETE_ACTIONS, 'discrete actions; the softmax policy head holds']
      : [action.dim, POLICY_MAX_BOX_COMPONENTS, 'box action components; the Gaussian policy head holds'];
  if (actionSize > actionMax) {
    throw new ConfigError(`--env: ${config.env} is not allowed (${actionSize} ${actionWhat} 1 to ${actionMax})`);
  }
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
      obsDim: spec.obsDim,
      numActions: action.kind === 'discrete' ? action.n : 2 * action.dim,
      actionWords: action.kind === 'discrete' ? 1 : action.dim,
    },
  };
}

/** A flag that stands alone (`--json`, `--json=false`) or one that takes a value (`--save FILE`, `--save=FILE`). */
export type FlagKind = 'boolean' | 'value';

/**
 * Splits argv into flags: `--flag value` or `--flag=value` for value flags,
 * bare `--flag` (or `--flag=true|false`) for boolean ones. Each flag may be
 * given once: a repeat is refused rather than letting the last one win
 * silently. A boolean flag never takes the next word, so `--quiet envs=8` is
 * an error naming --quiet, not a quiet run with envs unchanged.
 */
export function parseFlags(argv: readonly string[], kinds: Readonly<Record<string, FlagKind>>): Map<string, string | boolean> {
  const flags = new Map<string, string | boolean>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)} (flags start with --; see --help)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const kind = Object.hasOwn(kinds, name) ? kinds[name] : undefined;
    if (!kind) throw new ConfigError(`unknown flag --${name} (see --help)`);
    if (flags.has(name)) throw new ConfigError(`--${name}: given more than once (give each flag once)`);
    if (kind === 'boolean') {
      const forms = `write --${name}, --${name}=true or --${name}=false`;
      const next = argv[i + 1];
      if (inline === undefined && next !== undefined && !next.startsWith('--')) {
        throw new ConfigError(`--${name}: takes no separate value (got ${JSON.stringify(next)}; ${forms})`);
      }
      if (inline === undefined || inline === 'true' || inline === '1') flags.set(name, true);
      else if (inline === 'false' || inline === '0') flags.set(name, false);
      else throw new ConfigError(`--${name}: ${JSON.stringify(inline)} is not allowed (${forms})`);
    } else if (inline !== undefined) {
      flags.set(name, inline);
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new ConfigError(`--${name}: missing value`);
      flags.set(name, next);
      i++;
    }
  }
  return flags;
}

/** Plain decimal or exponent notation only: no hex, binary, octal, `+`, blanks, `Infinity` or empty text. */
const PLAIN_NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Reads a number as written on a command line, refusing forms that `Number()` would quietly accept or round away. */
export function parseNumberText(flag: string, raw: string, allowed: string): number {
  if (!PLAIN_NUMBER.test(raw)) throw new ConfigError(`--${flag}: ${JSON.stringify(raw)} is not a number (${allowed})`);
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new ConfigError(`--${flag}: ${raw} is out of range (${allowed})`);
  if (v === 0 && /[1-9]/.test(raw.split(/[eE]/)[0])) throw new ConfigError(`--${flag}: ${raw} underflows to 0 (${allowed})`);
  return v;
}

/**
 * Parses training flags into config overrides, and the caller's own flags
 * (`extraFlags`: --save, --json, ...) into `extra`. Numbers are checked for
 * their form here and for their range by resolveConfig.
 */
export function parseTrainArgs(
  argv: readonly string[],
  extraFlags: Readonly<Record<string, FlagKind>> = {},
): { overrides: Partial<TrainConfig>; extra: Record<string, string | boolean> } {
  const byFlag = new Map<string, keyof TrainConfig>();
  const kinds: Record<string, FlagKind> = { ...extraFlags };
  for (const [key, spec] of Object.entries(FIELDS) as [keyof TrainConfig, FieldSpec][]) {
    byFlag.set(spec.flag, key);
    kinds[spec.flag] = spec.kind === 'boolean' ? 'boolean' : 'value';
  }
  const overrides: Record<string, unknown> = {};
  const extra: Record<string, string | boolean> = {};
  for (const [name, raw] of parseFlags(argv, kinds)) {
    const key = byFlag.get(name);
    if (!key) extra[name] = raw;
    else if (FIELDS[key].kind === 'number') overrides[key] = parseNumberText(name, raw as string, fieldAllowed(key));
    else overrides[key] = raw;
  }
  return { overrides: overrides as Partial<TrainConfig>, extra };
}

export function configHelp(): string {
  const lines = Object.values(FIELDS).map((s) => `  --${s.flag.padEnd(22)} ${s.doc} (${describeRange(s)})`);
  return lines.join('\n');
}
