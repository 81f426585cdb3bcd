/**
 * The population case: P agents trained together by makePopulationTrainer
 * (one submit per iteration, every dispatch covering all P agents) at the
 * seed and fast presets' fixed shapes, for P = 1, 4, 16, 64, 256. Per P: the
 * aggregate env steps/s of all agents, the wall seconds per iteration and per
 * agent, the dispatches per iteration (the same for every P) and the
 * invocations they launch.
 *
 * The agents differ only in their seeds (resolvePopulation's seed + k). A P
 * whose buffers the adapter cannot hold (the trainer's ConfigError) or whose
 * iterations would outlast the point's time budget is skipped with the reason
 * in its point and in the record's notes.
 */
import { ConfigError, resolveConfig, type ResolvedConfig } from '../../src/core/config';
import { MAX_POPULATION, resolvePopulation } from '../../src/core/population';
import { makePopulationTrainer, populationLimits, trainerLimits, type PopulationTrainer } from '../../src/train/trainer';
import { withinLimits, type DeviceLimits } from '../../src/train/limits';
import { recordDispatches } from './profile';
import { invocationsOf, readiness } from './readiness';
import { cpuNow, median } from './timing';
import { describeConfig, pipelinedSteps } from './trainingCases';
import type { BenchCase, CaseContext, Point } from './types';

const round = (x: number, digits = 4) => Number(x.toPrecision(digits));

/** Population sizes measured by default, and in --quick. */
export const POPULATION_SIZES = [1, 4, 16, 64, 256] as const;
export const QUICK_POPULATION_SIZES = [1, 4, 16] as const;

/**
 * Time budgets of one point, in wall seconds: the timed iterations stop at
 * about `timed` (at least one), and a P whose warm-up plus one iteration is
 * estimated above `point` (from the nearest smaller P measured) is skipped,
 * unless --iters fixes the iterations.
 */
export const POPULATION_BUDGET = { timed: 120, point: 600 } as const;
export const QUICK_POPULATION_BUDGET = { timed: 20, point: 60 } as const;

interface Measured {
  population: number;
  iterationSeconds: number;
}

/** Seconds per iteration expected at `population` agents from the nearest smaller population measured (linear in P: an upper bound, as per-agent time falls with P). */
function estimateSeconds(measured: readonly Measured[], population: number): number | null {
  const below = measured.filter((m) => m.population <= population).sort((a, b) => b.population - a.population)[0];
  return below ? (below.iterationSeconds * population) / below.population : null;
}

/** The most agents of `config`'s shapes whose buffers `limits` hold (0: not even one), as the trainer checks them. */
export function largestPopulation(config: ResolvedConfig, limits: DeviceLimits): number {
  let [fits, over] = [0, MAX_POPULATION + 1];
  while (over - fits > 1) {
    const mid = (fits + over) >> 1;
    if (withinLimits(config, populationLimits(limits, mid))) fits = mid;
    else over = mid;
  }
  return fits;
}

/** Times `trainer` (then releases it) and describes the point. */
async function measurePopulation(ctx: CaseContext, name: string, trainer: PopulationTrainer, budget: { timed: number }): Promise<Point> {
  const { options } = ctx;
  const P = trainer.configs.length;
  const config = trainer.config;
  try {
    const warmStart = performance.now();
    await pipelinedSteps(trainer, 1);
    const warmSeconds = (performance.now() - warmStart) / 1000;
    const iterations = options.reps ?? Math.max(1, Math.min(options.quick ? 2 : 3, Math.floor(budget.timed / warmSeconds)));
    const cpuStart = await cpuNow();
    const timed = await pipelinedSteps(trainer, iterations);
    const cpuEnd = await cpuNow();
    // Every agent's metrics carry the iteration's wall seconds.
    const walls = timed.map((agents) => agents[0].wall_s);
    const iterationSeconds = median(walls);
    const batch = config.derived.batchSize;
    const aggregate = (P * batch) / iterationSeconds;
    ctx.log(`population ${config.algo} ${name} P=${P}: ${Math.round(aggregate)} env-steps/s in all, ${iterationSeconds.toFixed(3)} s/iteration (${iterations} timed)`);
    // Recorded last: recording advances Adam's control-buffer parity, so the trainer is inspected, not trained, afterwards.
    const recorded = recordDispatches((pass) => trainer.recordIteration(pass));
    const r = readiness(recorded);
    return {
      config: name,
      ...describeConfig(config),
      population: P,
      sps: round(aggregate),
      best_sps: round((P * batch) / Math.min(...walls)),
      agent_sps: round(batch / iterationSeconds),
      iteration_s: round(iterationSeconds),
      agent_iteration_s: round(iterationSeconds / P),
      ...(cpuStart === null || cpuEnd === null ? {} : { iteration_cpu_s: round((cpuEnd - cpuStart) / iterations) }),
      iterations_timed: iterations,
      warmup_s: round(warmSeconds),
      dispatches: trainer.dispatchesPerIteration,
      invocations_per_iter: recorded.reduce((n, d) => n + invocationsOf(d), 0),
      median_invocations: r.median_invocations,
      max_invocations: r.max_invocations,
      below_4096: r.below_4096,
    };
  } finally {
    trainer.destroy();
  }
}

export const populationCase: BenchCase = {
  name: 'population',
  about: 'P agents in one trainer (P = 1 … 256, seed and fast presets): aggregate env steps/s, seconds per iteration and per agent, dispatches per iteration',
  async run(ctx) {
    const { options } = ctx;
    const sizes = options.populations ?? [...(options.quick ? QUICK_POPULATION_SIZES : POPULATION_SIZES)];
    const budget = options.quick ? QUICK_POPULATION_BUDGET : POPULATION_BUDGET;
    const points: Point[] = [];
    const notes: string[] = [];
    for (const preset of options.presets) {
      const base = { preset, ...options.overrides, algo: options.populationAlgo };
      const single = resolveConfig(base);
      const measured: Measured[] = [];
      let latestSingle: number | null = null;
      for (const P of sizes) {
        const shape: Point = { config: preset, ...describeConfig(single), population: P };
        const skip = (reason: string) => {
          points.push({ ...shape, skipped: reason });
          notes.push(`${single.algo} ${preset} P=${P} skipped: ${reason}`);
          ctx.log(`population ${single.algo} ${preset} P=${P} skipped: ${reason}`);
        };
        const estimate = estimateSeconds(measured, P);
        if (options.reps === null && estimate !== null && 2 * estimate > budget.point) {
          skip(`warm-up and one iteration estimated at ${Math.round(2 * estimate)} s, over the ${budget.point} s budget per point`);
          continue;
        }
        const agents = resolvePopulation(base, new Map(), P).agents;
        let trainer: PopulationTrainer;
        try {
          trainer = await makePopulationTrainer(ctx.gpu, agents);
        } catch (error) {
          // The adapter's limits (checked before any GPU work), or an algorithm without populations yet.
          // The trainer's message measures each agent's share of the limits (the limit over P).
          if (error instanceof ConfigError) skip(`over the adapter's limits: ${error.message} (each agent's share of the limit; at most ${largestPopulation(single, trainerLimits(ctx.gpu, 1))} agents of these shapes fit)`);
          else if (P > 1) skip(`the trainer refused it: ${(error as Error).message}`);
          else throw error;
          continue;
        }
        const point = await measurePopulation(ctx, preset, trainer, budget);
        if (P === 1) latestSingle = point.sps as number;
        if (latestSingle !== null) point.speedup = round((point.sps as number) / latestSingle);
        measured.push({ population: P, iterationSeconds: point.iteration_s as number });
        points.push(point);
      }
    }
    const iterations = options.reps === null ? `up to ${options.quick ? 2 : 3}, fewer where they would take over ${budget.timed} s` : String(options.reps);
    return {
      unit: 'sps',
      points,
      timing:
        `sps: aggregate env steps/s of all P agents, P × batch_size over the median wall seconds of ${iterations} pipelined iterations after 1 warm-up ` +
        `(one submit per iteration for the whole population, host encoding included); agent_iteration_s: iteration_s / P; agent_sps: one agent's env steps/s`,
      notes: [
        'agents differ only in their seeds (seed + k); shapes are the preset’s (with any training flags)',
        'speedup: sps over that of the latest P = 1 point of the same preset before it (so --population 1,64,1,64 gives alternating pairs)',
        'dispatches: per iteration, each covering all P agents (workgroup z is the agent); invocations_per_iter, median_invocations, max_invocations and below_4096: launched invocations (workgroups × size) of one recorded iteration (bench/lib/readiness.ts)',
        ...notes,
      ],
    };
  },
};
