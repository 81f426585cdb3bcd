/**
 * `npm run train -- [flags]`: headless training in Node on Dawn.
 * Human progress on stderr; with --json one JSON object per iteration on stdout
 * and a last line with "done": true. Bad flags exit 2 before any GPU work.
 */
import { ALGORITHMS } from '../core/algorithms';
import { ENV_IDS, envSpec, solvedReturn } from '../core/envSpecs';
import { FIELDS, LATER_FIELDS, configHelp, resolveConfig, type FlagKind, type ResolvedConfig, type TrainConfig } from '../core/config';
import { AGENT_FIELDS, MAX_POPULATION, parsePopulationArgs, resolvePopulation } from '../core/population';
import { requestGpu, describeAdapter } from '../gpu/device';
import { makeTrainer } from '../train/trainer';
import { ANY_ADAPTER, checkLimits } from '../train/limits';
import { firstNonFinite, stepsPerSecond, type IterationMetrics } from '../core/metrics';
import { checkSavePath, loadCheckpoint, saveCheckpoint } from '../train/checkpointFile';
import { checkCheckpointEnv, checkCheckpointFits, extractAgent, type Checkpoint } from '../train/checkpoint';
import { PBT_VALUE_FLAGS, parsePbtFlags, trainPopulation, type PopulationRun } from './population';
import { populationLimits, trainerLimits } from '../train/trainer';

const EXTRA_FLAGS: Record<string, FlagKind> = {
  save: 'value',
  load: 'value',
  json: 'boolean',
  help: 'boolean',
  quiet: 'boolean',
  agent: 'value',
  pbt: 'boolean',
  'pbt-interval': 'value',
  'pbt-burn-in': 'value',
  'pbt-fraction': 'value',
  'pbt-perturb': 'value',
  'pbt-resample': 'value',
  'pbt-envs': 'value',
  'pbt-source': 'value',
};
const DEFAULT_STEP_BUDGET = 1_000_000;

const HELP = `Usage: npm run train -- [flags]

Trains on a classic-control env (--env: ${ENV_IDS.join(', ')}) entirely on the GPU
(or the CPU fallback) and reports progress. Without --iters or --total-steps it runs
until solved (mean return >= the env's threshold: ${ENV_IDS.map((id) => `${id} ${solvedReturn(id)}`).join(', ')})
or ${DEFAULT_STEP_BUDGET.toLocaleString('en')} env steps.

  --json                    one JSON object per iteration on stdout
  --save FILE               write a checkpoint at the end (atomically)
  --load FILE               resume from a checkpoint (its config; flags given here override)
  --quiet                   no progress line
${configHelp()}

Each flag may be given once. Numbers are written plainly (12, 0.5, 3e-4).

Populations: P agents trained together on the GPU, every kernel covering all of them.
  --population P            agents (1 to ${MAX_POPULATION}); an unswept seed S gives agent k the seed S + k
  --seed 1..32              one agent per seed (a list a,b,c works too)
  --lr 3e-4,1e-3 --clip 0.1,0.2
                            a grid (every list × every other list; the first varies slowest)
  --lr log:1e-4..1e-2       P values log-spaced over the agents (lin: for even spacing)
  Sweepable: ${AGENT_FIELDS.map((f) => `--${FIELDS[f].flag}`).join(' ')}; every other flag is shared.
  --json writes one line per agent per iteration ("agent", "seed", swept values)
  and a summary line ("population", "best", "q1", "median", "q3"); without a bound
  the population stops when its median agent reaches the solved return.
  --pbt                     population-based training: every --pbt-interval iterations (10)
                            the worst --pbt-fraction (0.25) of the agents copy a random one of
                            the best as many (weights, optimizer state, normalisation
                            moments) and multiply each --pbt-perturb field (default per
                            algorithm, e.g. lr,clip,lambda for ppo; any sweepable flag but
                            seed; none: exploit only) by 0.8 or 1.2; lines carry
                            "pbt_parent" and the values
  --pbt-resample P          each explored field is, with probability P (0), set to a random
                            agent's starting value instead (the sweep is the prior)
  --pbt-burn-in N           no scores or exploits in the first N iterations (0): the first
                            exploit comes N + --pbt-interval iterations in
  --pbt-envs own|copy       a replaced agent keeps its own envs (own, the default) or takes
                            its source's, mid-episode (copy)
  --pbt-source top|best     a replaced agent copies a random one of the best fraction (top,
                            the default) or the best agent (best)
  --save FILE               saves the whole population; --load FILE --agent K --save OUT
                            writes agent K's own checkpoint (for eval and the Studio)

Algorithms (--algo):
${Object.entries(ALGORITHMS)
  .map(([name, info]) => `  ${name.padEnd(24)} ${info.description}\n  ${''.padEnd(24)} also reads ${info.hyperparameters.map((k) => `--${FIELDS[k].flag}`).join(' ')}`)
  .join('\n')}`;

/** What the command line asks for: one run, a population, or an agent taken out of a population checkpoint. */
type Parsed = { kind: 'single'; options: CliOptions } | { kind: 'population'; run: PopulationRun; given: (keyof TrainConfig)[] } | { kind: 'extract'; from: string; agent: number; save: string };

interface CliOptions {
  config: ResolvedConfig;
  /** The fields set by flags (a size refusal names these first). */
  given: (keyof TrainConfig)[];
  json: boolean;
  quiet: boolean;
  save?: string;
  resume?: Checkpoint;
}

async function parse(argv: string[]): Promise<Parsed | null> {
  const { base: overrides, sweeps, population, extra } = parsePopulationArgs(argv, EXTRA_FLAGS);
  if (extra.help) {
    process.stdout.write(HELP + '\n');
    return null;
  }
  const load = extra.load as string | undefined;
  const save = extra.save as string | undefined;
  if (extra.agent !== undefined) {
    const agent = Number(extra.agent);
    if (typeof extra.agent !== 'string' || extra.agent.trim() === '' || !Number.isInteger(agent) || agent < 0) {
      throw new Error(`--agent: ${JSON.stringify(extra.agent)} is not allowed (an agent index: an integer ≥ 0)`);
    }
    if (load === undefined || save === undefined) throw new Error('--agent: needs --load POPULATION_FILE and --save FILE (it writes that agent\'s own checkpoint)');
    await checkSavePath(save);
    return { kind: 'extract', from: load, agent, save };
  }
  const resume = load !== undefined ? await loadCheckpoint(load) : undefined;
  const given = Object.keys(overrides) as (keyof TrainConfig)[];
  const isPopulation = population !== undefined || sweeps.size > 0 || resume?.population !== undefined;
  // Resuming keeps the checkpoint's config; flags given now override it.
  const merged: Partial<TrainConfig> = { ...(resume?.config ?? {}), ...overrides };
  const bounded = merged.iters || merged.totalSteps || merged.stopAtReturn;
  if (!bounded) {
    merged.totalSteps = DEFAULT_STEP_BUDGET;
    // Resolved first, so a bad --env is reported as a flag error.
    merged.stopAtReturn = solvedReturn(resolveConfig(merged).env) ?? 0;
  }
  // A save that would fail is refused now, not after the whole run.
  if (save !== undefined) await checkSavePath(save);
  if (isPopulation) {
    let plan;
    if (resume?.population) {
      if (sweeps.size || population !== undefined) throw new Error(`--load: ${load} holds a population of ${resume.population.agents.length}; resume it without --population or swept flags`);
      // Each agent keeps its own record; flags given now override the shared fields only.
      const own = given.find((key) => (AGENT_FIELDS as readonly string[]).includes(key));
      if (own) throw new Error(`--${FIELDS[own].flag}: each agent of ${load} keeps its own; resume a population with shared flags only (e.g. --iters)`);
      const agents = resume.population.agents.map((a) => resolveConfig({ ...LATER_FIELDS, ...merged, ...pick(a) }));
      plan = { size: agents.length, agents, swept: AGENT_FIELDS.filter((f) => agents.some((a) => a[f] !== agents[0][f])) };
      checkCheckpointEnv(resume, envSpec(agents[0].env), load);
    } else {
      if (resume) throw new Error(`--load: ${load} holds one agent; a population starts fresh (or extract agents from a population checkpoint with --agent)`);
      plan = resolvePopulation(merged, sweeps, population);
    }
    const pbt = parsePbtFlags(extra, plan.agents[0].algo, plan.size);
    return { kind: 'population', given, run: { plan, pbt, json: extra.json === true, quiet: extra.quiet === true, save, resume } };
  }
  if (extra.pbt || PBT_VALUE_FLAGS.some((f) => extra[f] !== undefined)) {
    throw new Error('--pbt: population-based training needs a population (--population P, or swept flags such as --seed 1..8)');
  }
  const config = resolveConfig(merged);
  if (resume) {
    if (resume.population) throw new Error(`--load: ${load} holds a population; extract one agent with --agent K --save FILE`);
    checkCheckpointEnv(resume, envSpec(config.env), load);
    checkCheckpointFits(resume, config, load);
  }
  return {
    kind: 'single',
    options: {
      config,
      given,
      json: extra.json === true,
      quiet: extra.quiet === true,
      save,
      resume,
    },
  };
}

/** An agent's own record fields (a resumed population keeps them, whatever the shared flags say). */
function pick(config: TrainConfig): Partial<TrainConfig> {
  return Object.fromEntries(AGENT_FIELDS.map((f) => [f, config[f]]));
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function progressLine(m: IterationMetrics, config: ResolvedConfig, startSteps: number, elapsed: number): string {
  const ret = m.mean_return === null ? '   –  ' : m.mean_return.toFixed(1).padStart(6);
  // --iters counts from where this run started (a resumed checkpoint's steps).
  const target = config.iters ? startSteps + config.iters * config.derived.batchSize : config.totalSteps;
  const done = m.env_steps - startSteps;
  const eta = target ? formatDuration(((target - m.env_steps) * elapsed) / Math.max(done, 1)) : '?';
  const parts = [
    `iter ${String(m.iter).padStart(4)}`,
    `steps ${m.env_steps.toLocaleString('en')}`,
    `return ${ret}`,
    `kl ${m.approx_kl.toExponential(2)}`,
    `entropy ${m.entropy.toFixed(3)}`,
    `${Math.round(m.sps).toLocaleString('en')} steps/s`,
    `ETA ${eta}${config.stopAtReturn ? ` (or return ≥ ${config.stopAtReturn})` : ''}`,
  ];
  return parts.join('  ');
}

async function main(): Promise<number> {
  let parsed: Parsed | null;
  try {
    parsed = await parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`train: ${(error as Error).message}\n`);
    return 2;
  }
  if (!parsed) return 0;
  if (parsed.kind === 'extract') {
    try {
      const one = extractAgent(await loadCheckpoint(parsed.from), parsed.agent, parsed.from);
      await saveCheckpoint(parsed.save, one);
      process.stderr.write(`saved agent ${parsed.agent} of ${parsed.from} as ${parsed.save} (seed ${one.config.seed}, iteration ${one.iteration})\n`);
      return 0;
    } catch (error) {
      process.stderr.write(`train: ${(error as Error).message}\n`);
      return 2;
    }
  }
  if (parsed.kind === 'population') return mainPopulation(parsed.run, parsed.given);
  const options = parsed.options;
  const { config } = options;

  // What needs no adapter (the dispatches per iteration) is refused before one is started.
  const early = checkLimits(config, ANY_ADAPTER, options.given);
  if (early) {
    process.stderr.write(`train: ${early}\n`);
    return 2;
  }
  const gpu = await requestGpu();
  // The adapter's limits are known now; nothing has been created on it yet.
  const refusal = checkLimits(config, trainerLimits(gpu, 1), options.given);
  if (refusal) {
    gpu.destroy();
    process.stderr.write(`train: ${refusal}\n`);
    return 2;
  }
  const log = (line: string) => {
    if (!options!.quiet) process.stderr.write(line + '\n');
  };
  log(`adapter: ${describeAdapter(gpu.adapter)}`);
  log(
    `${config.algo} on ${config.env}: ${config.numEnvs} envs × ${config.derived.stepsPerEnv} steps = ${config.derived.batchSize} steps/iteration, preset ${config.preset}, seed ${config.seed}`,
  );

  // A CPU driver's first compile of the unrolled kernels takes tens of seconds; say why it waits.
  const compileStart = performance.now();
  const trainer = await makeTrainer(gpu, config);
  const compileSeconds = (performance.now() - compileStart) / 1000;
  if (compileSeconds > 2) log(`kernels compiled in ${compileSeconds.toFixed(1)} s (the driver caches them for the next run)`);
  const history: IterationMetrics[] = options.resume ? [...options.resume.history] : [];
  if (options.resume) {
    await trainer.restore(options.resume);
    log(`resumed from iteration ${trainer.iteration} (${trainer.envSteps.toLocaleString('en')} env steps)`);
  }

  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    log('interrupted: finishing the iteration in flight');
  });

  const startSteps = trainer.envSteps;
  const started = performance.now();
  const firstIter = trainer.iteration;
  const wantMore = (iterationsQueued: number, stepsQueued: number) =>
    !interrupted &&
    (!config.iters || iterationsQueued - firstIter < config.iters) &&
    (!config.totalSteps || stepsQueued < config.totalSteps);

  let solvedAt: number | null = null;
  let failure: Error | null = null;
  // The last iteration reported: after a failure, iterations queued behind it are not.
  let reported: IterationMetrics | null = null;
  // Iteration k+1 is queued before k's metrics are read, so the GPU never waits for the host.
  let pending: Promise<IterationMetrics> | null = wantMore(trainer.iteration, trainer.envSteps) ? trainer.step() : null;
  while (pending) {
    const next = wantMore(trainer.iteration, trainer.envSteps) && solvedAt === null ? trainer.step() : null;
    let metrics: IterationMetrics;
    try {
      metrics = await pending;
    } catch (error) {
      failure = error as Error;
      await next?.catch(() => undefined);
      break;
    }
    history.push(metrics);
    reported = metrics;
    if (options.json) process.stdout.write(JSON.stringify(metrics) + '\n');
    log(progressLine(metrics, config, startSteps, (performance.now() - started) / 1000));
    const bad = firstNonFinite(metrics);
    if (bad) {
      failure = new Error(`training diverged at iteration ${metrics.iter}: ${bad} is ${metrics[bad as keyof IterationMetrics]}`);
      await next?.catch(() => undefined);
      break;
    }
    if (config.stopAtReturn && metrics.mean_return !== null && metrics.mean_return >= config.stopAtReturn && solvedAt === null) {
      solvedAt = metrics.iter;
    }
    pending = next;
  }

  const wall = (performance.now() - started) / 1000;
  if (options.save && !failure) {
    await saveCheckpoint(options.save, await trainer.checkpoint(history));
    log(`saved ${options.save}`);
  }
  const last = history[history.length - 1];
  const reportedSteps = reported ? reported.env_steps : startSteps;
  const summary = {
    done: true,
    algo: config.algo,
    iterations: reported ? reported.iter + 1 - firstIter : 0,
    env_steps: reportedSteps,
    wall_s: wall,
    sps: stepsPerSecond(reportedSteps - startSteps, wall),
    final_mean_return: last?.mean_return ?? null,
    solved_at_iter: solvedAt,
    adapter: describeAdapter(gpu.adapter),
    error: failure ? failure.message : undefined,
  };
  if (options.json) process.stdout.write(JSON.stringify(summary) + '\n');
  log(
    solvedAt !== null
      ? `solved: mean return ≥ ${config.stopAtReturn} at iteration ${solvedAt} (${reportedSteps.toLocaleString('en')} env steps, ${wall.toFixed(1)} s)`
      : `finished ${summary.iterations} iterations, ${reportedSteps.toLocaleString('en')} env steps in ${wall.toFixed(1)} s`,
  );
  trainer.destroy();
  gpu.destroy();
  if (failure) {
    process.stderr.write(`train: ${failure.message}\n`);
    return 1;
  }
  return 0;
}

async function mainPopulation(run: PopulationRun, given: (keyof TrainConfig)[]): Promise<number> {
  const config = run.plan.agents[0];
  const P = run.plan.size;
  const refuse = (message: string) => {
    process.stderr.write(`train: ${message}\n`);
    return 2;
  };
  const early = checkLimits(config, populationLimits(ANY_ADAPTER, P), given);
  if (early) return refuse(P > 1 ? `${early} (with --population ${P}: each of the ${P} agents holds its own buffers)` : early);
  const gpu = await requestGpu();
  const refusal = checkLimits(config, trainerLimits(gpu, P), given);
  if (refusal) {
    gpu.destroy();
    return refuse(P > 1 ? `${refusal} (with --population ${P}: each of the ${P} agents holds its own buffers)` : refusal);
  }
  const log = (line: string) => {
    if (!run.quiet) process.stderr.write(line + '\n');
  };
  try {
    return await trainPopulation(gpu, run, log);
  } finally {
    gpu.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`train: ${error.message}\n`);
    process.exit(1);
  },
);
