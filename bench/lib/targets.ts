/**
 * `npm run targets` flags: which env and algorithm, how many seeds, the step
 * budget and the return target, how often to evaluate; any training flag of
 * `npm run train` applies on top of the env's preset. Parsed by the same code
 * as the training flags, so a bad value is one line naming the flag.
 */
import { ConfigError, configHelp, parseNumberText, parseTrainArgs, type TrainConfig } from '../../src/core/config';

export interface TargetOptions {
  /** Seeds trained, one run each. */
  seeds: number[];
  /** Env-step budget per seed. */
  budget: number;
  /** Deterministic mean return that counts as reaching the target. */
  target: number;
  /** Env steps between deterministic evaluations during training. */
  evalEvery: number;
  /** Episodes per evaluation during training. */
  evalEpisodes: number;
  /** Episodes of the final deterministic evaluation. */
  finalEpisodes: number;
  /** Stop a seed once an evaluation reaches the target (else train to the budget). */
  stopAtTarget: boolean;
  /** Training flags over the env's preset (env and algo included). */
  overrides: Partial<TrainConfig>;
  /** Where the JSON table goes; null: not saved. */
  outDir: string | null;
}

export const TARGETS_USAGE = `usage: npm run targets -- --env ID --target R --budget STEPS [--algo A] [--seeds N | --seed-list 1,2,3]
  [--eval-every STEPS] [--eval-episodes N] [--final-episodes N] [--stop-at-target] [--out DIR | --no-save] [training flags]
training flags (over the env's preset):
${configHelp()}`;

/** An integer flag value in [lo, hi], or a ConfigError naming the flag (the bench scripts' own flags). */
export function integer(flag: string, raw: string, lo: number, hi: number): number {
  const allowed = `must be an integer in [${lo}, ${hi}]`;
  const v = parseNumberText(flag, raw, allowed);
  if (!Number.isInteger(v) || v < lo || v > hi) throw new ConfigError(`--${flag}: ${raw} is not allowed (${allowed})`);
  return v;
}

/** Parses argv (after `--`); null for --help. Throws ConfigError with one line. */
export function parseTargetArgs(argv: readonly string[]): TargetOptions | null {
  const { overrides, extra } = parseTrainArgs(argv, {
    seeds: 'value',
    'seed-list': 'value',
    budget: 'value',
    target: 'value',
    'eval-every': 'value',
    'eval-episodes': 'value',
    'final-episodes': 'value',
    'stop-at-target': 'boolean',
    out: 'value',
    'no-save': 'boolean',
    help: 'boolean',
  });
  if (extra.help === true) return null;
  if (overrides.env === undefined) throw new ConfigError('--env: required (the env whose preset is trained)');
  if (extra.target === undefined) throw new ConfigError('--target: required (the deterministic mean return to reach)');
  if (extra.budget === undefined) throw new ConfigError('--budget: required (env steps per seed)');
  if (extra.seeds !== undefined && extra['seed-list'] !== undefined) throw new ConfigError('--seeds: give --seeds or --seed-list, not both');
  if (overrides.seed !== undefined) throw new ConfigError('--seed: use --seeds N (seeds 1..N) or --seed-list');
  const target = parseNumberText('target', extra.target as string, 'a number');
  const budget = integer('budget', extra.budget as string, 1, 1e13);
  const seeds =
    extra['seed-list'] !== undefined
      ? (extra['seed-list'] as string).split(',').map((s) => integer('seed-list', s, 0, 4294967295))
      : Array.from({ length: integer('seeds', (extra.seeds as string | undefined) ?? '3', 1, 1000) }, (_, i) => i + 1);
  return {
    seeds,
    budget,
    target,
    evalEvery: integer('eval-every', (extra['eval-every'] as string | undefined) ?? String(Math.max(1, Math.round(budget / 20))), 1, 1e13),
    evalEpisodes: integer('eval-episodes', (extra['eval-episodes'] as string | undefined) ?? '20', 1, 4096),
    finalEpisodes: integer('final-episodes', (extra['final-episodes'] as string | undefined) ?? '100', 1, 4096),
    stopAtTarget: extra['stop-at-target'] === true,
    overrides,
    outDir: extra['no-save'] === true ? null : ((extra.out as string | undefined) ?? 'bench/out'),
  };
}
