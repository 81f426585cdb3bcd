/**
 * Sample efficiency to a return target: for one env and algorithm, trains each
 * seed with the env's preset (flags on top) up to an env-step budget,
 * evaluates the policy deterministically (the distribution's mode) every
 * --eval-every env steps, and reports per seed the env steps and training wall
 * seconds at the first evaluation that reached the target, and the final
 * deterministic return over --final-episodes. Prints a markdown table with the
 * adapter and writes it as JSON to bench/out/ (ignored by git).
 *
 *   npm run targets -- --env Acrobot-v1 --target -80 --budget 500000 --seeds 3
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestGpu, describeAdapter, type GpuContext } from '../src/gpu/device';
import { resolveConfig, ConfigError } from '../src/core/config';
import { makeTrainer } from '../src/train/trainer';
import { evaluatePolicy } from '../src/train/evaluate';
import type { IterationMetrics } from '../src/core/metrics';
import { parseTargetArgs, TARGETS_USAGE, type TargetOptions } from './lib/targets';

interface SeedResult {
  seed: number;
  /** Env steps at the first evaluation that reached the target (null: not reached). */
  steps_to_target: number | null;
  /** Training wall seconds (evaluations excluded) up to then. */
  wall_s_to_target: number | null;
  env_steps: number;
  wall_s: number;
  final_deterministic_return: number;
  final_sampled_return: number;
}

async function runSeed(gpu: GpuContext, options: TargetOptions, seed: number): Promise<SeedResult> {
  const config = resolveConfig({ ...options.overrides, seed, totalSteps: options.budget, iters: 0, stopAtReturn: 0 });
  const trainer = await makeTrainer(gpu, config);
  const history: IterationMetrics[] = [];
  let wall = 0;
  let nextEval = options.evalEvery;
  let reached: { steps: number; wall: number } | null = null;
  try {
    while (trainer.envSteps < options.budget) {
      const t0 = performance.now();
      history.push(await trainer.step());
      wall += (performance.now() - t0) / 1000;
      if (trainer.envSteps >= nextEval || trainer.envSteps >= options.budget) {
        nextEval = trainer.envSteps + options.evalEvery;
        const checkpoint = await trainer.checkpoint(history);
        const evaluation = await evaluatePolicy(gpu, checkpoint, { episodes: options.evalEpisodes, seed: 1000 + seed, greedy: true });
        process.stderr.write(`seed ${seed}: ${trainer.envSteps} env steps, ${wall.toFixed(1)} s, deterministic return ${evaluation.mean.toFixed(1)}\n`);
        if (!reached && evaluation.mean >= options.target) {
          reached = { steps: trainer.envSteps, wall };
          if (options.stopAtTarget) break;
        }
      }
    }
    const checkpoint = await trainer.checkpoint(history);
    const final = await evaluatePolicy(gpu, checkpoint, { episodes: options.finalEpisodes, seed: 2000 + seed, greedy: true });
    const sampled = await evaluatePolicy(gpu, checkpoint, { episodes: options.finalEpisodes, seed: 2000 + seed, greedy: false });
    return {
      seed,
      steps_to_target: reached?.steps ?? null,
      wall_s_to_target: reached ? Number(reached.wall.toFixed(1)) : null,
      env_steps: trainer.envSteps,
      wall_s: Number(wall.toFixed(1)),
      final_deterministic_return: final.mean,
      final_sampled_return: sampled.mean,
    };
  } finally {
    trainer.destroy();
  }
}

async function main(): Promise<number> {
  let options: TargetOptions | null;
  try {
    options = parseTargetArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`targets: ${error.message}\n`);
    return 2;
  }
  if (!options) {
    process.stdout.write(TARGETS_USAGE + '\n');
    return 0;
  }
  const config = resolveConfig({ ...options.overrides, totalSteps: options.budget });
  const gpu = await requestGpu();
  const adapter = describeAdapter(gpu.adapter);
  process.stderr.write(`adapter: ${adapter}\n${config.algo} on ${config.env}, preset ${config.preset}, target ${options.target} within ${options.budget} env steps\n`);
  const results: SeedResult[] = [];
  for (const seed of options.seeds) results.push(await runSeed(gpu, options, seed));
  gpu.destroy();
  const lines = [
    `${config.algo} on ${config.env} (preset ${config.preset}), target ${options.target}, budget ${options.budget} env steps; adapter: ${adapter}`,
    '',
    '| seed | env steps to target | wall s to target | final deterministic return | final sampled return |',
    '|---|---|---|---|---|',
    ...results.map(
      (r) => `| ${r.seed} | ${r.steps_to_target ?? 'not reached'} | ${r.wall_s_to_target ?? '–'} | ${r.final_deterministic_return.toFixed(1)} | ${r.final_sampled_return.toFixed(1)} |`,
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (options.outDir) {
    mkdirSync(options.outDir, { recursive: true });
    const { derived: _derived, ...plain } = config;
    const file = join(options.outDir, `targets-${config.env}-${config.algo}.json`);
    writeFileSync(file, JSON.stringify({ adapter, config: plain, target: options.target, budget: options.budget, results }, null, 1) + '\n');
    process.stderr.write(`wrote ${file}\n`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`targets: ${error.message}\n`);
    process.exit(1);
  },
);
