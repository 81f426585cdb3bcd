/**
 * Population-based training against a plain population (bench/lib/pbt.ts): for
 * one env, trains P agents with the preset's hyperparameters and P agents with
 * PBT for the same iterations, evaluates every agent deterministically, and
 * writes one JSON line per run to stdout and a markdown table to stderr.
 *
 *   npm run pbt -- --env CartPole-v1 --envs 8 --steps-per-iter 1024 --iters 40
 */
import { cpus, loadavg } from 'node:os';
import { requestGpu, describeAdapter } from '../src/gpu/device';
import { ConfigError, resolveConfig } from '../src/core/config';
import { parsePbtBenchArgs, pbtTable, runPopulation, PBT_BENCH_USAGE, type PbtBenchOptions, type PbtRunResult } from './lib/pbt';

async function main(): Promise<number> {
  let options: PbtBenchOptions | null;
  try {
    options = parsePbtBenchArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`pbt: ${error.message}\n`);
    return 2;
  }
  if (!options) {
    process.stdout.write(PBT_BENCH_USAGE + '\n');
    return 0;
  }
  const config = resolveConfig(options.overrides);
  const gpu = await requestGpu();
  const log = (line: string) => process.stderr.write(line + '\n');
  log(`adapter: ${describeAdapter(gpu.adapter)}`);
  log(
    `${config.algo} on ${config.env}, preset ${config.preset}: ${options.population} agents × ${config.numEnvs} envs × ${config.derived.stepsPerEnv} steps, ${config.epochs} epochs, ${config.iters} iterations; PBT every ${options.pbt.interval} iterations after ${options.pbt.burnIn ?? 0}, fraction ${options.pbt.fraction}, perturbing ${options.pbt.perturb.join(', ') || 'nothing (exploit only)'}${options.pbt.resample ? ` (resampled with probability ${options.pbt.resample})` : ''}, envs ${options.pbt.envs ?? 'own'}, sources ${options.pbt.source ?? 'top'}, starting from ${options.startText || "the preset's values"}; target ${options.target}`,
  );
  const results: PbtRunResult[] = [];
  for (const run of options.runs) {
    const load = loadavg()[0];
    const result = await runPopulation(gpu, options, run, log);
    results.push(result);
    process.stdout.write(JSON.stringify({ ...result, load_avg: [Number(load.toFixed(2)), Number(loadavg()[0].toFixed(2))], cpus: cpus().length }) + '\n');
  }
  gpu.destroy();
  log('\n' + pbtTable(results));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`pbt: ${error.message}\n`);
    process.exit(1);
  },
);
