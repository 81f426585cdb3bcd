/**
 * Env stepping alone on the GPU (the `env` case of `npm run bench`, with its
 * own knobs): VecEnv.encodeStep of one env (default CartPole-v1) on fixed
 * actions, many steps per submit,
 * median of timed repetitions after a warm-up.
 *
 *   node dist-cli/bench/env.js [--env Acrobot-v1] [--envs 1024,4096,16384,65536] [--steps 100] [--reps 5] [--wg 64] [--json]
 *
 * Prints env steps per second (sps) per env count, with the adapter.
 */
import { pathToFileURL } from 'node:url';
import { requestGpu, describeAdapter } from '../src/gpu/device';
import { benchEnvSteps } from './lib/kernelCases';

export { benchEnvSteps, type EnvBenchOptions, type EnvBenchResult } from './lib/kernelCases';

function parseArgs(argv: string[]) {
  const args = { id: 'CartPole-v1', envs: [1024, 4096, 16384, 65536], steps: 100, reps: 5, wg: 64, json: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const positiveInteger = (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} = ${v} is out of range (a positive integer)`);
      return n;
    };
    if (flag === '--env') args.id = value();
    else if (flag === '--envs') args.envs = value().split(',').map(positiveInteger);
    else if (flag === '--steps') args.steps = positiveInteger(value());
    else if (flag === '--reps') args.reps = positiveInteger(value());
    else if (flag === '--wg') args.wg = positiveInteger(value());
    else if (flag === '--json') args.json = true;
    else throw new Error(`unknown flag ${flag} (known: --env, --envs, --steps, --reps, --wg, --json)`);
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const gpu = await requestGpu();
  const adapter = describeAdapter(gpu.adapter);
  try {
    if (!args.json) console.log(`${args.id} env steps alone, ${adapter}`);
    for (const numEnvs of args.envs) {
      const r = await benchEnvSteps(gpu, { id: args.id, numEnvs, stepsPerSubmit: args.steps, repetitions: args.reps, workgroupSize: args.wg });
      if (args.json) {
        console.log(JSON.stringify({ case: 'env', runner: 'node', adapter, env: args.id, num_envs: numEnvs, steps_per_submit: r.stepsPerSubmit, wg: r.workgroupSize, median_s: r.medianSeconds, sps: r.sps }));
      } else {
        const perStep = (r.medianSeconds / r.stepsPerSubmit) * 1e6;
        console.log(
          `N=${String(numEnvs).padStart(6)}  ${r.stepsPerSubmit} steps/submit  ${perStep.toFixed(1).padStart(8)} µs/step  ${(r.sps / 1e6).toFixed(2).padStart(8)} M env-steps/s`,
        );
      }
    }
  } finally {
    gpu.destroy();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: Error) => {
    console.error(`bench/env: ${error.message}`);
    process.exitCode = 1;
  });
}
