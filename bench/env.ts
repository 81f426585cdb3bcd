/**
 * Env stepping alone on the GPU: CartPoleVec.encodeStep on actions filled once
 * (alternating 0, 1 across envs, so poles fall and auto-resets happen all the
 * time), many steps per submit, median of timed repetitions after a warm-up.
 *
 *   node dist-cli/bench/env.js [--envs 1024,4096,16384,65536] [--steps 100] [--reps 5] [--wg 64] [--json]
 *
 * Prints env steps per second (sps) per env count, with the adapter.
 */
import { pathToFileURL } from 'node:url';
import { requestGpu, describeAdapter, type GpuContext } from '../src/gpu/device';
import { CartPoleVec } from '../src/envs/cartpole';

export interface EnvBenchOptions {
  numEnvs: number;
  /** Steps recorded in one compute pass and submitted together. */
  stepsPerSubmit: number;
  /** Timed submits (after one warm-up submit). */
  repetitions: number;
  workgroupSize: number;
}

export interface EnvBenchResult extends EnvBenchOptions {
  /** Median seconds per submit. */
  medianSeconds: number;
  /** Env steps per second over the median submit. */
  sps: number;
}

export async function benchEnvSteps(gpu: GpuContext, options: EnvBenchOptions): Promise<EnvBenchResult> {
  const { numEnvs, stepsPerSubmit, repetitions, workgroupSize } = options;
  const env = await CartPoleVec.create(gpu, { numEnvs, seed: 1, workgroupSize });
  gpu.device.queue.writeBuffer(env.buffers.actions, 0, Int32Array.from({ length: numEnvs }, (_, i) => i & 1));
  const runOnce = async () => {
    const encoder = gpu.device.createCommandEncoder({ label: 'bench.env' });
    const pass = encoder.beginComputePass({ label: 'bench.env' });
    for (let s = 0; s < stepsPerSubmit; s++) env.encodeStep(pass);
    pass.end();
    const start = performance.now();
    gpu.device.queue.submit([encoder.finish()]);
    await gpu.sync();
    return (performance.now() - start) / 1000;
  };
  await runOnce();
  const times: number[] = [];
  for (let r = 0; r < repetitions; r++) times.push(await runOnce());
  env.destroy();
  times.sort((a, b) => a - b);
  const medianSeconds = times[Math.floor(times.length / 2)];
  return { ...options, medianSeconds, sps: (numEnvs * stepsPerSubmit) / medianSeconds };
}

function parseArgs(argv: string[]) {
  const args = { envs: [1024, 4096, 16384, 65536], steps: 100, reps: 5, wg: 64, json: false };
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
    if (flag === '--envs') args.envs = value().split(',').map(positiveInteger);
    else if (flag === '--steps') args.steps = positiveInteger(value());
    else if (flag === '--reps') args.reps = positiveInteger(value());
    else if (flag === '--wg') args.wg = positiveInteger(value());
    else if (flag === '--json') args.json = true;
    else throw new Error(`unknown flag ${flag} (known: --envs, --steps, --reps, --wg, --json)`);
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const gpu = await requestGpu();
  const adapter = describeAdapter(gpu.adapter);
  try {
    if (!args.json) console.log(`CartPole env steps alone, ${adapter}`);
    for (const numEnvs of args.envs) {
      const r = await benchEnvSteps(gpu, { numEnvs, stepsPerSubmit: args.steps, repetitions: args.reps, workgroupSize: args.wg });
      if (args.json) {
        console.log(JSON.stringify({ bench: 'env_step', adapter, num_envs: numEnvs, steps_per_submit: r.stepsPerSubmit, wg: r.workgroupSize, median_s: r.medianSeconds, sps: r.sps }));
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
