/**
 * `npm run pbt`: population-based training against a plain population of the
 * same agents. Both runs train P agents (seeds S..S+P−1, the env's preset with
 * the flags given over it) for the same number of iterations, one with PBT on;
 * then every agent is extracted from its run's checkpoint and evaluated
 * deterministically (the distribution's mode) on the same episodes. Flags are
 * parsed by the training flags' code, so a bad value is one line naming it.
 */
import { integer } from './targets';
import { ConfigError, FIELDS, configHelp, parseNumberText, parseTrainArgs, resolveConfig, type ResolvedConfig, type TrainConfig } from '../../src/core/config';
import { parseSweep, resolvePopulation, MAX_POPULATION, AGENT_FIELDS, type AgentField, type Sweep } from '../../src/core/population';
import { solvedReturn } from '../../src/core/envSpecs';
import { populationSummary, quantile, type IterationMetrics } from '../../src/core/metrics';
import { describeAdapter, type GpuContext } from '../../src/gpu/device';
import { makePopulationTrainer, type AgentIterationMetrics, type PbtSettings } from '../../src/train/trainer';
import { extractAgent } from '../../src/train/checkpoint';
import { evaluatePolicy } from '../../src/train/evaluate';
import { parsePbtFlags } from '../../src/cli/population';

/** Targets of envs without a solved return (Pendulum-v1's is the issue's −200). */
const OTHER_TARGETS: Readonly<Record<string, number>> = { 'Pendulum-v1': -200 };

/**
 * Fields explored by default: for the PPO family the CLI's default (the learning rate,
 * the clip or KL target, γ) and GAE's λ.
 */
const BENCH_PERTURB: Readonly<Record<string, string>> = { ppo: 'lr,clip,lambda', 'ppo-kl': 'lr,kl-target,lambda' };

export const PBT_BENCH_DEFAULTS = { population: 32, interval: 5, fraction: 0.25, evalEpisodes: 100 } as const;

/**
 * plain: every agent at the preset's values. pbt: PBT over the starting population
 * (the preset's values, or the --pbt-start spreads). sweep: that starting population
 * trained without PBT, which tells the spread's share from PBT's.
 */
export type RunKind = 'plain' | 'pbt' | 'sweep';

export interface PbtBenchOptions {
  /** Agents of each run (seeds base..base+P−1). */
  population: number;
  /** Training flags over the env's preset (env, algo, shapes, iters, base seed). */
  overrides: Partial<TrainConfig>;
  /** PBT settings of the PBT run. */
  pbt: PbtSettings;
  /** Training mean return that counts as reaching the target. */
  target: number;
  /** Episodes of each agent's final deterministic evaluation. */
  evalEpisodes: number;
  /** Which runs, in order. */
  runs: RunKind[];
  /** The pbt and sweep runs' starting values (--pbt-start, the CLI's sweep forms); empty: the preset's. */
  start: Map<AgentField, Sweep>;
  /** --pbt-start as given ('' without it). */
  startText: string;
}

/** One run's figures (one JSON line). */
export interface PbtRunResult {
  run: RunKind;
  env: string;
  algo: string;
  population: number;
  iters: number;
  /** Env steps each agent took (numEnvs × steps per env × iterations). */
  env_steps_per_agent: number;
  target: number;
  eval_episodes: number;
  /** Median and best over the agents of their final deterministic mean return. */
  median_eval: number;
  best_eval: number;
  best_eval_agent: number;
  /** Iterations trained (1-based) when some agent's training mean return first reached the target; null: never. */
  iters_to_target: number | null;
  /** That agent. */
  target_agent: number | null;
  /** Iterations at which an exploit replaced agents, and agents replaced in all. */
  exploits: number;
  agents_replaced: number;
  /** Training mean return of the last iteration: median and best over the agents. */
  final_train_median: number | null;
  final_train_best: number | null;
  /** PBT only: each explored field's median over the agents and the best-evaluated agent's value at the end. */
  explored?: Record<string, { median: number; best_agent: number }>;
  pbt?: { interval: number; burn_in: number; fraction: number; perturb: string[]; resample: number; envs: string; source: string };
  /** pbt and sweep runs started from spreads: --pbt-start as given. */
  start?: string;
  /** Each agent's final deterministic mean return, agent k at k. */
  evals: number[];
  train_s: number;
  eval_s: number;
  adapter: string;
}

export const PBT_BENCH_USAGE = `usage: npm run pbt -- --env ID --iters N [--population P] [--seed S] [--target R] [--eval-episodes E]
  [--runs plain,pbt,sweep] [--pbt-start 'lr=log:A..B;clip=lin:C..D'] [--pbt-interval K] [--pbt-burn-in N] [--pbt-fraction F] [--pbt-perturb a,b,c|none] [--pbt-resample P] [--pbt-envs own|copy] [--pbt-source top|best] [training flags]
Trains P agents (seeds S..S+P-1, default 1..${PBT_BENCH_DEFAULTS.population}) plainly and with PBT for N iterations each, then
evaluates every agent deterministically over E episodes (default ${PBT_BENCH_DEFAULTS.evalEpisodes}). One JSON line per run on
stdout, a table on stderr. PBT defaults: every ${PBT_BENCH_DEFAULTS.interval} iterations, fraction ${PBT_BENCH_DEFAULTS.fraction}, perturb (ppo) ${BENCH_PERTURB.ppo}.
--pbt-start: the PBT run's starting values, as in Jaderberg et al. (a spread, not the preset's value, for
each field named; the sweep forms of train --population), agent k keeping seed S+k; the plain run keeps
the preset's values. The sweep run trains that starting population without PBT.
Target defaults: the env's solved return, Pendulum-v1 ${OTHER_TARGETS['Pendulum-v1']}.
training flags (over the env's preset):
${configHelp()}`;

/** Parses argv (after `--`); null for --help. Throws ConfigError with one line. */
export function parsePbtBenchArgs(argv: readonly string[]): PbtBenchOptions | null {
  const { overrides, extra } = parseTrainArgs(argv, {
    population: 'value',
    target: 'value',
    'eval-episodes': 'value',
    runs: 'value',
    'pbt-interval': 'value',
    'pbt-fraction': 'value',
    'pbt-perturb': 'value',
    'pbt-envs': 'value',
    'pbt-source': 'value',
    'pbt-burn-in': 'value',
    'pbt-resample': 'value',
    'pbt-start': 'value',
    help: 'boolean',
  });
  if (extra.help === true) return null;
  if (overrides.env === undefined) throw new ConfigError('--env: required (the env whose preset is trained)');
  if (!overrides.iters) throw new ConfigError('--iters: required and > 0 (the iteration budget of both runs)');
  if (overrides.totalSteps || overrides.stopAtReturn) throw new ConfigError(`--${overrides.totalSteps ? 'total-steps' : 'stop-at-return'}: not allowed (both runs train exactly --iters iterations)`);
  const population = integer('population', (extra.population as string | undefined) ?? String(PBT_BENCH_DEFAULTS.population), 2, MAX_POPULATION);
  const config = resolveConfig(overrides);
  const known = solvedReturn(config.env) ?? OTHER_TARGETS[config.env];
  if (extra.target === undefined && known === undefined) throw new ConfigError(`--target: required for ${config.env} (it has no solved return)`);
  const target = extra.target === undefined ? known : parseNumberText('target', extra.target as string, 'a number');
  const runs = ((extra.runs as string | undefined) ?? 'plain,pbt').split(',');
  if (!runs.length || runs.some((r) => r !== 'plain' && r !== 'pbt' && r !== 'sweep') || new Set(runs).size !== runs.length) {
    throw new ConfigError(`--runs: ${JSON.stringify(extra.runs)} is not allowed (a comma list of plain, pbt, sweep, each once)`);
  }
  const startText = (extra['pbt-start'] as string | undefined) ?? '';
  const start = parseStart(startText);
  if (runs.includes('sweep') && !start.size) throw new ConfigError('--runs: sweep needs --pbt-start (the starting population it trains without PBT)');
  // Every starting agent's values checked now, before any GPU work.
  if (start.size) asStartFlag(() => resolvePopulation(overrides, start, population));
  const pbtFlags: Record<string, string | boolean> = {
    pbt: true,
    'pbt-interval': (extra['pbt-interval'] as string | undefined) ?? String(PBT_BENCH_DEFAULTS.interval),
    'pbt-fraction': (extra['pbt-fraction'] as string | undefined) ?? String(PBT_BENCH_DEFAULTS.fraction),
  };
  const perturb = (extra['pbt-perturb'] as string | undefined) ?? BENCH_PERTURB[config.algo];
  if (perturb !== undefined) pbtFlags['pbt-perturb'] = perturb;
  for (const flag of ['pbt-burn-in', 'pbt-resample', 'pbt-envs', 'pbt-source'] as const) if (extra[flag] !== undefined) pbtFlags[flag] = extra[flag];
  const pbt = parsePbtFlags(pbtFlags, config.algo, population)!;
  return {
    population,
    overrides,
    pbt,
    target: target!,
    evalEpisodes: integer('eval-episodes', (extra['eval-episodes'] as string | undefined) ?? String(PBT_BENCH_DEFAULTS.evalEpisodes), 1, 4096),
    runs: runs as RunKind[],
    start,
    startText,
  };
}

/** Runs `check`, naming --pbt-start in front of the one-line ConfigError it throws. */
function asStartFlag<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`--pbt-start: ${error.message}`);
    throw error;
  }
}

/** --pbt-start: `field=sweep` items joined by `;`, each field a sweepable flag other than seed, each a sweep. */
function parseStart(text: string): Map<AgentField, Sweep> {
  const start = new Map<AgentField, Sweep>();
  if (!text) return start;
  const byFlag = new Map(AGENT_FIELDS.map((k) => [FIELDS[k].flag, k] as const));
  const forms = "field=sweep items joined by ';', e.g. lr=log:5e-4..4e-3;clip=lin:0.1..0.3";
  for (const item of text.split(';')) {
    const eq = item.indexOf('=');
    const key = eq > 0 ? byFlag.get(item.slice(0, eq)) : undefined;
    if (key === undefined || key === 'seed') {
      const sweepable = AGENT_FIELDS.filter((k) => k !== 'seed').map((k) => FIELDS[k].flag).join(', ');
      throw new ConfigError(`--pbt-start: ${JSON.stringify(item)} is not allowed (${forms}; fields: ${sweepable})`);
    }
    if (start.has(key)) throw new ConfigError(`--pbt-start: ${FIELDS[key].flag} given more than once`);
    const sweep = asStartFlag(() => parseSweep(key, item.slice(eq + 1)));
    if (sweep.kind === 'list' && sweep.values.length < 2) throw new ConfigError(`--pbt-start: ${JSON.stringify(item)} is one value, not a spread (${forms})`);
    start.set(key, sweep);
  }
  return start;
}

/** The agents' configs: the preset with the flags over it, agent k with seed S + k; the pbt and sweep runs from --pbt-start's spreads. */
export function benchAgents(options: PbtBenchOptions, run: RunKind = 'plain'): ResolvedConfig[] {
  return resolvePopulation(options.overrides, run === 'plain' ? new Map() : options.start, options.population).agents;
}

function median(values: readonly number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

/** Trains one run, evaluates every agent deterministically, and returns its figures. */
export async function runPopulation(gpu: GpuContext, options: PbtBenchOptions, run: RunKind, log: (line: string) => void): Promise<PbtRunResult> {
  const configs = benchAgents(options, run);
  const config = configs[0];
  const P = configs.length;
  const trainer = await makePopulationTrainer(gpu, configs, run === 'pbt' ? { pbt: options.pbt } : {});
  const histories: IterationMetrics[][] = configs.map(() => []);
  let last: AgentIterationMetrics[] = [];
  let itersToTarget: number | null = null;
  let targetAgent: number | null = null;
  let exploits = 0;
  let replaced = 0;
  const started = performance.now();
  try {
    // Iteration k+1 is queued before k's metrics are awaited, as the CLI does.
    let pending: Promise<AgentIterationMetrics[]> | null = trainer.step();
    while (pending) {
      const next = trainer.iteration < config.iters ? trainer.step() : null;
      const agents = await pending;
      agents.forEach((m, k) => {
        const { hyper: _hyper, pbt_parent: _parent, ...plain } = m;
        histories[k].push(plain);
      });
      const moved = agents.filter((m) => m.pbt_parent !== null && m.pbt_parent !== undefined).length;
      if (moved) {
        exploits++;
        replaced += moved;
      }
      const summary = populationSummary(agents);
      if (itersToTarget === null && summary.best !== null && summary.best >= options.target) {
        itersToTarget = summary.iter + 1;
        targetAgent = summary.best_agent;
      }
      log(`${run} iter ${summary.iter}: median ${summary.median?.toFixed(1) ?? '–'}, best ${summary.best?.toFixed(1) ?? '–'} (agent ${summary.best_agent ?? '–'})${moved ? `, PBT replaced ${moved}` : ''}`);
      last = agents;
      pending = next;
    }
    const trainSeconds = (performance.now() - started) / 1000;
    const checkpoint = await trainer.checkpoint(histories);
    const finalConfigs = run === 'pbt' ? await trainer.agentConfigs() : configs;
    const evalStart = performance.now();
    const evals: number[] = [];
    for (let k = 0; k < P; k++) {
      // Every agent of both runs meets the same episodes: the eval seed is its training seed's.
      const result = await evaluatePolicy(gpu, extractAgent(checkpoint, k), { episodes: options.evalEpisodes, seed: 2000 + configs[k].seed, greedy: true });
      evals.push(result.mean);
    }
    const evalSeconds = (performance.now() - evalStart) / 1000;
    const bestAgent = evals.indexOf(Math.max(...evals));
    const summary = populationSummary(last);
    const result: PbtRunResult = {
      run,
      env: config.env,
      algo: config.algo,
      population: P,
      iters: config.iters,
      env_steps_per_agent: trainer.envSteps,
      target: options.target,
      eval_episodes: options.evalEpisodes,
      median_eval: median(evals),
      best_eval: evals[bestAgent],
      best_eval_agent: bestAgent,
      iters_to_target: itersToTarget,
      target_agent: targetAgent,
      exploits,
      agents_replaced: replaced,
      final_train_median: summary.median,
      final_train_best: summary.best,
      evals,
      train_s: Number(trainSeconds.toFixed(1)),
      eval_s: Number(evalSeconds.toFixed(1)),
      adapter: describeAdapter(gpu.adapter),
    };
    if (run !== 'plain' && options.startText) result.start = options.startText;
    if (run === 'pbt') {
      result.pbt = { interval: options.pbt.interval, burn_in: options.pbt.burnIn ?? 0, fraction: options.pbt.fraction, perturb: options.pbt.perturb.map((f) => FIELDS[f].flag), resample: options.pbt.resample ?? 0, envs: options.pbt.envs ?? 'own', source: options.pbt.source ?? 'top' };
      result.explored = Object.fromEntries(
        options.pbt.perturb.map((f: AgentField) => [FIELDS[f].flag, { median: median(finalConfigs.map((c) => c[f])), best_agent: finalConfigs[bestAgent][f] }]),
      );
    }
    return result;
  } finally {
    trainer.destroy();
  }
}

function fixed(v: number | null, digits = 1): string {
  return v === null ? '–' : v.toFixed(digits);
}

/** The runs as a markdown table. */
export function pbtTable(results: readonly PbtRunResult[]): string {
  if (!results.length) return '';
  const r0 = results[0];
  return [
    `${r0.algo} on ${r0.env}: ${r0.population} agents × ${r0.iters} iterations (${r0.env_steps_per_agent.toLocaleString('en')} env steps each), target ${r0.target}, ${r0.eval_episodes} deterministic episodes per agent; adapter: ${r0.adapter}`,
    '',
    '| run | median eval | best eval (agent) | iterations to target (agent) | exploits (agents replaced) | final training median / best | train s | eval s |',
    '|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.run} | ${fixed(r.median_eval)} | ${fixed(r.best_eval)} (${r.best_eval_agent}) | ${r.iters_to_target === null ? 'not reached' : `${r.iters_to_target} (${r.target_agent})`} | ${r.exploits} (${r.agents_replaced}) | ${fixed(r.final_train_median)} / ${fixed(r.final_train_best)} | ${r.train_s} | ${r.eval_s} |`,
    ),
  ].join('\n');
}
