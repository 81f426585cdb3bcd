/**
 * The train command for a population (`--population P`, or any swept flag such
 * as `--seed 1..32` or `--lr 3e-4,1e-3`): every agent trained in the same
 * submits, one JSON line per agent per iteration (`--json`) plus a population
 * summary line, progress as the median and best agent, and `--pbt` for
 * population-based training on the GPU. Flags are checked before any GPU work.
 */
import { FIELDS, type ResolvedConfig } from '../core/config';
import { type AgentField, type PopulationPlan } from '../core/population';
import { shortestF32 } from '../core/agentParams';
import { firstNonFinite, populationSummary, stepsPerSecond, type IterationMetrics } from '../core/metrics';
import { describeAdapter, type GpuContext } from '../gpu/device';
import { makePopulationTrainer, type AgentIterationMetrics, type PbtSettings } from '../train/trainer';
import { saveCheckpoint } from '../train/checkpointFile';
import type { Checkpoint } from '../train/checkpoint';

// The PBT flags are read where the Studio reads them too (no Node-only code there).
export { parsePbtFlags, PBT_VALUE_FLAGS } from '../core/population';

/** One agent's JSON line: its metrics, which agent, its seed and swept (or explored) hyperparameters. */
export function agentLine(m: AgentIterationMetrics, agent: number, config: ResolvedConfig, fields: readonly AgentField[]): Record<string, unknown> {
  const line: Record<string, unknown> = { ...m, agent, seed: config.seed };
  for (const field of fields) {
    const held = m.hyper?.[field];
    // The f32 the agent's record holds: as given while unchanged, else its shortest decimal.
    line[FIELDS[field].flag.replace(/-/g, '_')] = held === undefined || held === Math.fround(config[field]) ? config[field] : shortestF32(held);
  }
  delete line.hyper;
  return line;
}

export interface PopulationRun {
  plan: PopulationPlan;
  pbt: PbtSettings | null;
  json: boolean;
  quiet: boolean;
  save?: string;
  resume?: Checkpoint;
}

function fixed(v: number | null, digits = 1): string {
  return v === null ? '–' : v.toFixed(digits);
}

/** Trains the population; returns the exit code (0 done, 1 failed). */
export async function trainPopulation(gpu: GpuContext, run: PopulationRun, log: (line: string) => void): Promise<number> {
  const { plan, pbt } = run;
  const configs = plan.agents;
  const config = configs[0];
  const P = plan.size;
  log(`adapter: ${describeAdapter(gpu.adapter)}`);
  const swept = plan.swept.map((f) => `--${FIELDS[f].flag}`).join(' ');
  log(
    `${config.algo} on ${config.env}: population of ${P} agents × ${config.numEnvs} envs × ${config.derived.stepsPerEnv} steps = ${(P * config.derived.batchSize).toLocaleString('en')} steps/iteration, preset ${config.preset}${swept ? `, sweeping ${swept}` : ''}${pbt ? `, PBT every ${pbt.interval} iterations${pbt.burnIn ? ` after ${pbt.burnIn}` : ''} (${pbt.perturb.map((f) => FIELDS[f].flag).join(', ') || 'exploit only'}${pbt.resample ? `, resampled with probability ${pbt.resample}` : ''}${pbt.envs === 'copy' ? '; envs copied' : ''}${pbt.source === 'best' ? '; copies of the best agent' : ''})` : ''}`,
  );
  const compileStart = performance.now();
  const trainer = await makePopulationTrainer(gpu, configs, pbt ? { pbt } : {});
  const compileSeconds = (performance.now() - compileStart) / 1000;
  if (compileSeconds > 2) log(`kernels compiled in ${compileSeconds.toFixed(1)} s (the driver caches them for the next run)`);
  const histories: IterationMetrics[][] = run.resume?.population ? run.resume.population.histories.map((h) => [...h]) : configs.map(() => []);
  if (run.resume) {
    await trainer.restore(run.resume);
    log(`resumed from iteration ${trainer.iteration} (${(P * trainer.envSteps).toLocaleString('en')} env steps)`);
  }
  const fields = [...new Set<AgentField>([...plan.swept.filter((f) => f !== 'seed'), ...(pbt?.perturb ?? [])])];

  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    log('interrupted: finishing the iteration in flight');
  });
  const startSteps = trainer.envSteps;
  const firstIter = trainer.iteration;
  const started = performance.now();
  const wantMore = (iterationsQueued: number, stepsQueued: number) =>
    !interrupted && (!config.iters || iterationsQueued - firstIter < config.iters) && (!config.totalSteps || stepsQueued < config.totalSteps);

  let solvedAt: number | null = null;
  let failure: Error | null = null;
  let reported: AgentIterationMetrics[] | null = null;
  let pending: Promise<AgentIterationMetrics[]> | null = wantMore(trainer.iteration, trainer.envSteps) ? trainer.step() : null;
  while (pending) {
    const next = wantMore(trainer.iteration, trainer.envSteps) && solvedAt === null ? trainer.step() : null;
    let agents: AgentIterationMetrics[];
    try {
      agents = await pending;
    } catch (error) {
      failure = error as Error;
      await next?.catch(() => undefined);
      break;
    }
    reported = agents;
    agents.forEach((m, k) => {
      const { hyper: _hyper, ...plain } = m;
      histories[k].push(plain);
    });
    const summary = populationSummary(agents);
    if (run.json) {
      const lines = agents.map((m, k) => JSON.stringify(agentLine(m, k, configs[k], fields)));
      process.stdout.write(lines.join('\n') + '\n' + JSON.stringify(summary) + '\n');
    }
    const exploited = agents.filter((m) => m.pbt_parent !== null && m.pbt_parent !== undefined).length;
    log(
      [
        `iter ${String(summary.iter).padStart(4)}`,
        `steps ${summary.env_steps.toLocaleString('en')}`,
        `median ${fixed(summary.median).padStart(6)} [${fixed(summary.q1)}, ${fixed(summary.q3)}]`,
        `best ${fixed(summary.best)} (agent ${summary.best_agent ?? '–'})`,
        `${Math.round(summary.sps).toLocaleString('en')} steps/s`,
        ...(exploited ? [`PBT: ${exploited} agents replaced`] : []),
      ].join('  '),
    );
    const bad = agents.map((m, k) => [k, firstNonFinite(m)] as const).find(([, field]) => field);
    if (bad) {
      failure = new Error(`training diverged at iteration ${summary.iter}: agent ${bad[0]}'s ${bad[1]} is not finite`);
      await next?.catch(() => undefined);
      break;
    }
    // The population counts as solved when its median agent reaches the return.
    if (config.stopAtReturn && summary.median !== null && summary.median >= config.stopAtReturn && solvedAt === null) solvedAt = summary.iter;
    pending = next;
  }

  const wall = (performance.now() - started) / 1000;
  if (run.save && !failure) {
    await saveCheckpoint(run.save, await trainer.checkpoint(histories));
    log(`saved ${run.save} (${P} agents; --agent K extracts one)`);
  }
  const last = reported ? populationSummary(reported) : null;
  const stepsEach = reported ? reported[0].env_steps : startSteps;
  const done = {
    done: true,
    algo: config.algo,
    population: P,
    iterations: reported ? reported[0].iter + 1 - firstIter : 0,
    env_steps: P * stepsEach,
    wall_s: wall,
    sps: stepsPerSecond(P * (stepsEach - startSteps), wall),
    final_median_return: last?.median ?? null,
    final_best_return: last?.best ?? null,
    best_agent: last?.best_agent ?? null,
    solved_at_iter: solvedAt,
    adapter: describeAdapter(gpu.adapter),
    error: failure ? failure.message : undefined,
  };
  if (run.json) process.stdout.write(JSON.stringify(done) + '\n');
  log(
    solvedAt !== null
      ? `solved: median return ≥ ${config.stopAtReturn} at iteration ${solvedAt} (${done.env_steps.toLocaleString('en')} env steps in all, ${wall.toFixed(1)} s)`
      : `finished ${done.iterations} iterations, ${done.env_steps.toLocaleString('en')} env steps in all in ${wall.toFixed(1)} s; final median ${fixed(done.final_median_return)}, best ${fixed(done.final_best_return)} (agent ${done.best_agent ?? '–'})`,
  );
  trainer.destroy();
  if (failure) {
    process.stderr.write(`train: ${failure.message}\n`);
    return 1;
  }
  return 0;
}
