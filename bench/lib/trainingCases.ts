/**
 * Training cases: whole iterations of PPO, PPO-KL, TRPO and REINFORCE through
 * makeTrainer, and `solve` (PPO from scratch to a mean return of 475).
 *
 * Per configuration: env steps/s of pipelined iterations as the CLI runs them
 * (iteration k+1 queued before k's metrics are read; one submit each, host
 * encoding included), then the phase split from trainer.timePhases() (one
 * submit per phase, GPU wall time; the host's encoding time per phase is
 * captured beside it), the dispatch count, and per-kernel GPU times by
 * timestamp replay of the captured phases.
 */
import type { Algo, ResolvedConfig, TrainConfig } from '../../src/core/config';
import { resolveConfig } from '../../src/core/config';
import { makeTrainer } from '../../src/train/trainer';
import { stepsPerSecond, type IterationMetrics } from '../../src/core/metrics';
import { solvedReturn } from '../../src/core/envSpecs';
import { iterationCost } from './cost';
import { capturePasses, profileKernels, recordDispatches, replay } from './profile';
import { GPU_ADAPTER, GPU_MLP, readiness, readinessFields, studioGpuConfig } from './readiness';
import { MlpKernels } from '../../src/kernels/mlp';
import { fastestProbes, nearestCeilingRows, pairedCeiling } from './ceilingProbe';
import { cpuNow, median } from './timing';
import type { BenchCase, CaseContext, CaseOutcome, Point } from './types';

const round = (x: number, digits = 4) => Number(x.toPrecision(digits));

/** The Chromium target of issue 6: 256 envs × 32 steps, 4 epochs × 4 minibatches of 2 048, 64-64 tanh. */
export const TARGET_CONFIG: Partial<TrainConfig> = { preset: 'fast', numEnvs: 256, stepsPerIter: 8192, epochs: 4, minibatch: 2048 };

/** The configurations an algorithm runs at: presets (and the target for PPO), or the one --preset names, with the training flags over them. */
export function trainingConfigs(ctx: CaseContext, algo: Algo): { name: string; config: ResolvedConfig }[] {
  const { options } = ctx;
  const usesMinibatches = algo === 'ppo' || algo === 'ppo-kl';
  let bases: { name: string; base: Partial<TrainConfig> }[];
  if (options.presets.length === 1) bases = [{ name: options.presets[0], base: { preset: options.presets[0] } }];
  else if (options.quick) bases = [usesMinibatches ? { name: 'target', base: TARGET_CONFIG } : { name: 'small', base: { preset: 'seed', numEnvs: 256, stepsPerIter: 8192 } }];
  else bases = [{ name: 'seed', base: { preset: 'seed' } }, { name: 'fast', base: { preset: 'fast' } }, ...(usesMinibatches ? [{ name: 'target', base: TARGET_CONFIG }] : [])];
  return bases.map(({ name, base }) => ({ name, config: resolveConfig({ ...base, ...options.overrides, algo }) }));
}

/** Runs `count` iterations queued one ahead (as the CLI does) and returns their metrics (a population trainer's: every agent's). */
export async function pipelinedSteps<M>(trainer: { step(): Promise<M> }, count: number): Promise<M[]> {
  const out: M[] = [];
  let pending: Promise<M> | null = trainer.step();
  for (let k = 0; k < count; k++) {
    const next: Promise<M> | null = k + 1 < count ? trainer.step() : null;
    out.push(await pending!);
    pending = next;
  }
  return out;
}

const PHASES = ['collect', 'advantage', 'update'] as const;

/** A training configuration's shapes as point fields. */
export function describeConfig(config: ResolvedConfig): Point {
  const d = config.derived;
  const point: Point = {
    algo: config.algo,
    preset: config.preset,
    num_envs: config.numEnvs,
    steps_per_env: d.stepsPerEnv,
    batch_size: d.batchSize,
    hidden: config.hidden,
  };
  if (config.algo === 'ppo' || config.algo === 'ppo-kl') Object.assign(point, { epochs: config.epochs, minibatch: config.minibatch, minibatches: d.minibatches });
  if (config.algo === 'trpo') Object.assign(point, { cg_iters: config.cgIters, backtracks: config.backtracks });
  if (config.algo === 'trpo' || config.algo === 'reinforce') point.value_steps = config.valueSteps;
  return point;
}

/** Rows of the dense passes a configuration's update runs: the minibatch (PPO, PPO-KL) or the whole batch. */
export function updateRowsOf(config: ResolvedConfig): number {
  return config.algo === 'ppo' || config.algo === 'ppo-kl' ? config.minibatch : config.derived.batchSize;
}

/**
 * The configuration's fraction of the workload ceiling, measured in pairs
 * (bench/lib/ceilingProbe.ts): the probes within 80 % of the fastest at the
 * update's rows, then `pairs` iterations alone, each between two probe slots.
 */
async function pairedCeilingOf(ctx: CaseContext, config: ResolvedConfig, iterationFlops: number, pairs: number, step: () => Promise<number>) {
  const { gpu, options } = ctx;
  const rows = nearestCeilingRows(updateRowsOf(config), options.quick);
  const probes = await fastestProbes(gpu, rows, 3, options.quick);
  try {
    const paired = await pairedCeiling(probes, iterationFlops, pairs, step);
    return { ...paired, rows, shape: paired.winner.shape, reduction: paired.winner.reduction };
  } finally {
    for (const probe of probes) probe.destroy();
  }
}

async function measureConfig(ctx: CaseContext, name: string, config: ResolvedConfig, profiles: NonNullable<CaseOutcome['profiles']>): Promise<Point> {
  const { gpu, options } = ctx;
  const iterations = options.reps ?? (options.quick ? 2 : 3);
  const phaseRepeats = options.quick ? 1 : 2;
  const trainer = await makeTrainer(gpu, config);
  try {
    await pipelinedSteps(trainer, 1);
    const cpuStart = await cpuNow();
    const timed = await pipelinedSteps(trainer, iterations);
    const cpuEnd = await cpuNow();
    const walls = timed.map((m) => m.wall_s);
    const iterationSeconds = median(walls);
    const batch = config.derived.batchSize;
    ctx.log(`${config.algo} ${name}: ${Math.round(batch / iterationSeconds)} env-steps/s, ${iterationSeconds.toFixed(3)} s/iteration`);
    const cost = iterationCost(config);
    const paired = await pairedCeilingOf(ctx, config, cost.total.flops, iterations, async () => (await trainer.step()).wall_s);
    ctx.log(
      `${config.algo} ${name}: ${(100 * paired.fraction).toFixed(0)}% of the paired ceiling (pairs ${(100 * paired.range[0]).toFixed(0)}–${(100 * paired.range[1]).toFixed(0)}%; ` +
        `${paired.ceilingGflops.toFixed(2)} GFLOP/s at ${paired.rows} rows, ${paired.shape}/${paired.reduction})`,
    );

    const phaseSeconds: Record<string, number[]> = { collect: [], advantage: [], update: [], total: [] };
    const encodeMs: Record<string, number[]> = { collect: [], advantage: [], update: [] };
    let captured: Awaited<ReturnType<typeof capturePasses>>['passes'] = [];
    const phaseCpu: number[] = [];
    for (let k = 0; k < phaseRepeats; k++) {
      const c0 = await cpuNow();
      const { result, passes } = await capturePasses(gpu, () => trainer.timePhases());
      const c1 = await cpuNow();
      if (c0 !== null && c1 !== null) phaseCpu.push(c1 - c0);
      for (const key of Object.keys(phaseSeconds)) phaseSeconds[key].push(result[key as keyof typeof result]);
      for (const phase of PHASES) encodeMs[phase].push(passes.find((p) => p.label === `phase.${phase}`)?.encodeMs ?? NaN);
      captured = passes;
    }
    const phases = Object.fromEntries(Object.entries(phaseSeconds).map(([k, v]) => [k, round(median(v))]));
    if (options.profile) {
      for (const phase of PHASES) {
        const pass = captured.find((p) => p.label === `phase.${phase}`);
        if (!pass) continue;
        const profile = await profileKernels(gpu, replay(pass.dispatches));
        if (profile) profiles.push({ what: `${config.algo} ${name} ${phase}`, profile });
      }
    }
    const last = timed[timed.length - 1];
    return {
      config: name,
      ...describeConfig(config),
      sps: round(stepsPerSecond(batch, iterationSeconds)),
      best_sps: round(stepsPerSecond(batch, Math.min(...walls))),
      iteration_s: round(iterationSeconds),
      ...(cpuStart === null || cpuEnd === null ? {} : { iteration_cpu_s: round((cpuEnd - cpuStart) / iterations) }),
      iterations_timed: iterations,
      phases_s: phases,
      ...(phaseCpu.length ? { phases_cpu_s: round(median(phaseCpu)) } : {}),
      encode_ms: Object.fromEntries(Object.entries(encodeMs).map(([k, v]) => [k, round(median(v))])),
      dispatches: trainer.dispatchesPerIteration,
      ...readinessFields('', readiness(captured.flatMap((p) => p.dispatches))),
      flops_per_iter: cost.total.flops,
      bytes_per_iter: cost.total.bytes,
      gflops: round(cost.total.flops / iterationSeconds / 1e9),
      of_ceiling_paired: round(paired.fraction, 3),
      of_ceiling_paired_range: paired.range.map((f) => round(f, 3)),
      ceiling_paired_gflops: round(paired.ceilingGflops),
      ceiling_paired_rows: paired.rows,
      ceiling_paired_kernel: `${paired.shape}, ${paired.reduction}`,
      paired_iteration_s: round(paired.iterationSeconds),
      phase_gflops: Object.fromEntries(PHASES.map((p) => [p, round(cost[p].flops / (phases[p] as number) / 1e9)])),
      mean_return_last: last.mean_return === null ? null : round(last.mean_return),
    };
  } finally {
    trainer.destroy();
  }
}

/**
 * The dispatches of one iteration at the Studio's GPU default, recorded (not
 * run) with the MLP settings a GPU gets; it restores the device's own after.
 */
async function gpuDefaultReadiness(ctx: CaseContext, algo: Algo): Promise<Point> {
  const { gpu } = ctx;
  const config = studioGpuConfig(algo);
  MlpKernels.useAdapterDefaults(gpu, GPU_ADAPTER);
  const trainer = await makeTrainer(gpu, config);
  try {
    const r = readiness(recordDispatches((pass) => trainer.recordIteration(pass)));
    ctx.log(`${algo} studio-gpu: ${r.dispatches} dispatches, ${r.below_4096} below 4096 invocations (median ${r.median_invocations})`);
    return { config: 'studio-gpu', ...describeConfig(config), mlp: GPU_MLP, ...readinessFields('', r) };
  } finally {
    trainer.destroy();
    MlpKernels.useAdapterDefaults(gpu, gpu.adapter);
  }
}

function trainingCase(algo: Algo): BenchCase {
  return {
    name: algo,
    about: `${algo} training iterations: env steps/s including the update, seconds per phase, dispatches, useful FLOPs`,
    async run(ctx) {
      const points: Point[] = [];
      const profiles: NonNullable<CaseOutcome['profiles']> = [];
      for (const { name, config } of trainingConfigs(ctx, algo)) {
        try {
          points.push(await measureConfig(ctx, name, config, profiles));
        } catch (error) {
          const message = (error as Error).message;
          if (/not available/.test(message)) return { unit: 'sps', points: [], timing: '', unavailable: message };
          throw error;
        }
      }
      // Building a 4 096-env trainer and recording its ~60 000 dispatches takes a minute on a CPU driver: not in --quick.
      if (!ctx.options.quick) points.push(await gpuDefaultReadiness(ctx, algo));
      const iterations = ctx.options.reps ?? (ctx.options.quick ? 2 : 3);
      return {
        unit: 'sps',
        points,
        profiles,
        timing:
          `sps: median over ${iterations} pipelined iterations after 1 warm-up (one submit each, host encoding included); ` +
          `phases_s: trainer.timePhases(), one submit per phase, submit to onSubmittedWorkDone (host encoding excluded, reported as encode_ms)`,
        notes: [
          'gflops: useful dense-layer FLOPs per iteration (bench/lib/cost.ts) over the median iteration time',
          'of_ceiling_paired: the median over `iterations` pairs of one iteration\'s GFLOP/s (submitted alone, submit to metrics) over the workload ceiling\'s (at the update\'s rows, the fastest of the shapes × reductions within 80 % of the fastest, bench/lib/ceilingProbe.ts) timed just before and after it, so that the VM\'s drift cancels; of_ceiling_paired_range: the extreme pairs',
          `below_4096 / *_invocations: launched invocations (workgroups × size) of every dispatch of one iteration (bench/lib/readiness.ts); the studio-gpu point (not in --quick) is recorded, not run: the Studio GPU default (fast preset, 4 096 envs × 16 steps) with the MLP settings a GPU gets (${GPU_MLP})`,
        ],
      };
    },
  };
}


/** The solve case trains CartPole-v1 to its solved return. */
const SOLVED_RETURN = solvedReturn('CartPole-v1')!;

const solveCase: BenchCase = {
  name: 'solve',
  about: `PPO fast preset from scratch until an iteration’s mean return ≥ ${SOLVED_RETURN}: env steps and wall seconds (median of 3 seeds)`,
  async run(ctx) {
    const { gpu, options } = ctx;
    const seeds = options.overrides.seed !== undefined ? [options.overrides.seed] : [1, 2, 3];
    const budget = options.overrides.totalSteps || 3_000_000;
    const points: Point[] = [];
    for (const seed of seeds) {
      const config = resolveConfig({ preset: 'fast', ...options.overrides, algo: 'ppo', seed, totalSteps: budget, stopAtReturn: SOLVED_RETURN });
      const trainer = await makeTrainer(gpu, config);
      const start = performance.now();
      let solved: IterationMetrics | null = null;
      let last: IterationMetrics | null = null;
      let arrived = start;
      let pending: Promise<IterationMetrics> | null = trainer.step();
      while (pending) {
        const more = trainer.envSteps < budget;
        const next: Promise<IterationMetrics> | null = more ? trainer.step() : null;
        last = await pending;
        arrived = performance.now();
        if (last.mean_return !== null && last.mean_return >= SOLVED_RETURN) {
          solved = last;
          // The iteration queued behind it finishes before the trainer goes, but is not counted.
          await next;
          break;
        }
        pending = next;
      }
      const wall = (arrived - start) / 1000;
      trainer.destroy();
      const reached = solved ?? last!;
      points.push({
        seed,
        ...describeConfig(config),
        solved: solved !== null,
        env_steps: reached.env_steps,
        iterations: reached.iter + 1,
        wall_s: round(wall),
        final_mean_return: reached.mean_return === null ? null : round(reached.mean_return),
        sps: round(stepsPerSecond(reached.env_steps, wall)),
      });
      ctx.log(`solve seed ${seed}: ${solved ? 'solved' : 'not solved'} after ${reached.env_steps} env steps, ${wall.toFixed(1)} s`);
    }
    const solvedPoints = points.filter((p) => p.solved);
    const summary: Point = {
      seed: 'median',
      solved: `${solvedPoints.length}/${points.length}`,
      env_steps: median(points.map((p) => p.env_steps as number)),
      wall_s: round(median(points.map((p) => p.wall_s as number))),
    };
    summary.sps = round(stepsPerSecond(summary.env_steps as number, summary.wall_s as number));
    return {
      unit: 'wall_s',
      points: [...points, summary],
      headline: points.length,
      timing: `wall seconds from the first step() to the metrics of the first iteration with mean return ≥ ${SOLVED_RETURN} (setup and compilation excluded); budget ${budget} env steps`,
      notes: ['the median counts unsolved seeds at their budget'],
    };
  },
};

export const TRAINING_CASES: BenchCase[] = [...(['ppo', 'ppo-kl', 'trpo', 'reinforce'] as Algo[]).map(trainingCase), solveCase];
