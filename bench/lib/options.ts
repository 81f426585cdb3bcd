/**
 * `npm run bench` flags. The training flags of `npm run train` (--envs,
 * --steps-per-iter, --epochs, --minibatch, --preset, ...) are parsed by the
 * same code and apply to the training cases, so a comparison with another
 * system can pin the exact configuration. Browser-safe: the page receives the
 * parsed options as JSON.
 */
import { ALGOS, ConfigError, configHelp, parseTrainArgs, type Algo, type FlagKind, type Preset, type TrainConfig } from '../../src/core/config';
import { MAX_POPULATION } from '../../src/core/population';
import { VARIANTS, type Variant } from './variants';

export type RunnerName = 'node' | 'browser';

export interface BenchOptions {
  /** Case names to run, in registry order. */
  cases: string[];
  runners: RunnerName[];
  /** The runners were chosen explicitly (a missing browser is then an error, not a skip). */
  runnersExplicit: boolean;
  quick: boolean;
  json: boolean;
  /** Timed repetitions per measurement (training cases: iterations); null: each case's default. */
  reps: number | null;
  /** Presets the training cases run at. */
  presets: Preset[];
  /** Training flags given on the command line, applied over each preset. */
  overrides: Partial<TrainConfig>;
  /** Env counts for the env and rollout cases; null: each case's default sweep. */
  envCounts: number[] | null;
  /** Batch sizes for the mlp case; null: its default sweep. */
  batches: number[] | null;
  /** Population sizes P for the population case; null: its default sweep. */
  populations: number[] | null;
  /** The population case's algorithm (--algo, default ppo). */
  populationAlgo: Algo;
  /** Dawn toggles for both runners (e.g. disable_robustness). */
  toggles: string[];
  /** The MLP kernel shape forced on the device (bench/lib/variants.ts); null: the adapter's default. */
  variant: Variant | null;
  /** Node's Vulkan driver choice (auto, lavapipe, swiftshader). */
  adapter: 'auto' | 'lavapipe' | 'swiftshader' | null;
  /** Node: at most this many storage buffers per shader stage (10: what a browser grants); null: the adapter's maximum. */
  storageBuffers: number | null;
  /** Per-kernel GPU times by timestamp replay (training, fvp, cg cases). */
  profile: boolean;
  /** Where JSON, HTML and the run log go; null: do not save. */
  outDir: string | null;
  /** A free-text tag saved with the results (e.g. "before", "after"). */
  label: string;
}

export const CASE_NAMES = ['env', 'rollout', 'mlp', 'peak', 'fused', 'fvp', 'cg', 'ppo', 'ppo-kl', 'trpo', 'reinforce', 'solve', 'population'] as const;
/** What --quick runs: a subset that finishes in under 3 minutes per runner on the CPU fallback. */
export const QUICK_CASES = ['env', 'rollout', 'mlp', 'peak', 'fvp', 'cg', 'ppo'] as const;

const EXTRA_FLAGS: Record<string, FlagKind> = {
  node: 'boolean',
  browser: 'boolean',
  quick: 'boolean',
  json: 'boolean',
  cases: 'value',
  toggles: 'value',
  variant: 'value',
  adapter: 'value',
  'storage-buffers': 'value',
  'env-counts': 'value',
  batches: 'value',
  population: 'value',
  'no-profile': 'boolean',
  out: 'value',
  'no-save': 'boolean',
  label: 'value',
  help: 'boolean',
};

export const BENCH_HELP = `Usage: npm run bench -- [flags]

Benchmarks webgpu-rl in Node (Dawn) and in headless Chromium (Playwright) with the
same cases; prints a table (or JSON lines), saves JSON and an HTML report under
bench/out/ (ignored by git) and appends a markdown table to bench/out/runs.md.

  --node, --browser     runners (default: both, the browser where Chromium is installed)
  --quick               the subset ${QUICK_CASES.join(',')} at small sizes (< 3 min per runner on a CPU)
  --json                one JSON object per case and runner on stdout
  --cases a,b           among ${CASE_NAMES.join(', ')}
  --iters N             timed repetitions per measurement (training cases: iterations)
  --env-counts a,b      env counts for env and rollout (default 1024 … 262144)
  --batches a,b         batch sizes for mlp (default 1024 … 65536)
  --population a,b      agents per population for the population case (default 1,4,16,64,256; --quick 1,4,16;
                        a P estimated over 10 min, 1 min in --quick, is skipped unless --iters is given)
  --algo NAME           the population case's algorithm (default ppo; only with --cases population)
  --toggles a,b         Dawn toggles for both runners, e.g. disable_robustness
  --variant NAME        MLP kernel shape, parameter-gradient reduction, layer chaining or rollout form instead of the adapter's default: ${VARIANTS.join(', ')}
  --adapter NAME        Node's driver: auto, lavapipe or swiftshader
  --storage-buffers N   Node: at most N storage buffers per shader stage (8 to the adapter's maximum;
                        10 runs what a browser that grants 10 runs, e.g. on a GPU)
  --no-profile          skip per-kernel GPU timing (timestamp-query replay)
  --out DIR             where results and the run log go (default bench/out)
  --no-save             write nothing (no results, no run log)
  --label TEXT          a tag saved with the results (e.g. before, after)
Training flags (as for npm run train; they apply to ${['ppo', 'ppo-kl', 'trpo', 'reinforce', 'fvp', 'cg', 'population'].join(', ')}):
  --preset seed|fast runs only that preset (default both); other flags override it
${configHelp()
  .split('\n')
  // --algo is --cases here, and --iters the repetitions above.
  .filter((line) => !/^\s+--(algo|iters)\s/.test(line))
  .join('\n')}`;

function list(flag: string, raw: string | boolean | undefined): string[] | null {
  if (raw === undefined) return null;
  if (raw === true || raw === '') throw new ConfigError(`--${flag}: missing value (a comma-separated list)`);
  return String(raw)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function positiveIntegers(flag: string, raw: string | boolean | undefined): number[] | null {
  const items = list(flag, raw);
  if (!items) return null;
  return items.map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--${flag}: "${s}" is not a positive integer`);
    return n;
  });
}

function populationSizes(raw: string | boolean | undefined): number[] | null {
  const sizes = positiveIntegers('population', raw);
  const over = sizes?.find((n) => n > MAX_POPULATION);
  if (over !== undefined) throw new ConfigError(`--population: ${over} is not allowed (agents trained together; at most ${MAX_POPULATION})`);
  return sizes;
}

/** Parses the command line; null when --help was printed. Throws ConfigError with one line. */
export function parseBenchArgs(argv: string[], defaultOutDir: string): BenchOptions | null {
  const { overrides, extra } = parseTrainArgs(argv, EXTRA_FLAGS);
  if (extra.help) return null;
  const named = list('cases', extra.cases);
  if (overrides.algo !== undefined && !named?.includes('population')) {
    throw new ConfigError('--algo: choose algorithms with --cases (ppo, ppo-kl, trpo, reinforce); --algo names the population case\'s algorithm, with --cases population');
  }
  if (overrides.algo !== undefined && !(ALGOS as readonly string[]).includes(overrides.algo)) throw new ConfigError(`--algo: "${overrides.algo}" is not one of ${ALGOS.join(', ')}`);
  const { iters, preset, algo, ...training } = overrides;
  if (iters !== undefined && iters < 1) throw new ConfigError(`--iters: ${iters} is not allowed (timed repetitions; must be at least 1)`);
  const quick = extra.quick === true;
  for (const name of named ?? []) {
    if (!(CASE_NAMES as readonly string[]).includes(name)) throw new ConfigError(`--cases: unknown case "${name}" (known: ${CASE_NAMES.join(', ')})`);
  }
  const wanted = named ?? (quick ? [...QUICK_CASES] : [...CASE_NAMES]);
  const runners: RunnerName[] = [];
  if (extra.node) runners.push('node');
  if (extra.browser) runners.push('browser');
  const adapter = extra.adapter === undefined ? null : String(extra.adapter);
  if (adapter !== null && !['auto', 'lavapipe', 'swiftshader'].includes(adapter)) {
    throw new ConfigError(`--adapter: "${adapter}" is not one of auto, lavapipe, swiftshader`);
  }
  let storageBuffers: number | null = null;
  if (extra['storage-buffers'] !== undefined) {
    storageBuffers = Number(extra['storage-buffers']);
    if (!Number.isInteger(storageBuffers) || storageBuffers < 8) {
      throw new ConfigError(`--storage-buffers: "${extra['storage-buffers']}" is not allowed (storage buffers per shader stage; an integer of at least 8)`);
    }
    if (extra.browser) throw new ConfigError('--storage-buffers: Node only (Chromium grants its own, 10)');
  }
  const variant = extra.variant === undefined ? null : String(extra.variant);
  if (variant !== null && !(VARIANTS as readonly string[]).includes(variant)) throw new ConfigError(`--variant: "${variant}" is not one of ${VARIANTS.join(', ')}`);
  return {
    cases: CASE_NAMES.filter((c) => wanted.includes(c)),
    runners: runners.length ? runners : ['node', 'browser'],
    runnersExplicit: runners.length > 0,
    quick,
    json: extra.json === true,
    reps: iters ?? null,
    presets: preset ? [preset] : ['seed', 'fast'],
    overrides: training,
    envCounts: positiveIntegers('env-counts', extra['env-counts']),
    batches: positiveIntegers('batches', extra.batches),
    populations: populationSizes(extra.population),
    populationAlgo: algo ?? 'ppo',
    toggles: list('toggles', extra.toggles) ?? [],
    variant: variant as Variant | null,
    adapter: adapter as BenchOptions['adapter'],
    storageBuffers,
    profile: extra['no-profile'] !== true,
    outDir: extra['no-save'] ? null : typeof extra.out === 'string' ? extra.out : defaultOutDir,
    label: typeof extra.label === 'string' ? extra.label : '',
  };
}
