/**
 * Where a TRPO iteration's update time goes, on the seed's shapes (4→64→64→2
 * policy, 4→64→64→1 value, 10 000 samples, 10 CG iterations, 10 line-search
 * fractions, 10 value steps): each phase is one submit, timed to
 * onSubmittedWorkDone, median over repetitions after a warm-up. Then whole
 * training iterations (collect, advantage, update) of PPO, TRPO and REINFORCE
 * on the same adapter through the trainer's timePhases().
 *
 *   npx vite build --config vite.cli.config.ts && node dist-cli/bench/trpo.js [--reps N] [--rows N] [--iters N]
 */
import { requestGpu, describeAdapter, type GpuContext } from '../src/gpu/device';
import { storageBuffer } from '../src/gpu/buffers';
import { MlpLayout, initPyTorchDefault } from '../src/nn/mlp';
import { Mlp, MlpKernels } from '../src/kernels/mlp';
import { TrpoUpdate } from '../src/algos/trpo';
import { ReinforceUpdate } from '../src/algos/reinforce';
import { resolveConfig, type Algo } from '../src/core/config';
import { METRICS_BLOCK_FLOATS, metricSlot } from '../src/core/metrics';
import { countDispatches, makeTrainer } from '../src/train/trainer';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

const reps = Number(flag('reps', '5'));
const rows = Number(flag('rows', '10000'));
const trainerIters = Number(flag('iters', '3'));

async function timeSubmit(gpu: GpuContext, label: string, record: (pass: GPUComputePassEncoder) => void): Promise<number> {
  const encoder = gpu.device.createCommandEncoder({ label });
  const pass = encoder.beginComputePass({ label });
  record(pass);
  pass.end();
  const start = performance.now();
  gpu.device.queue.submit([encoder.finish()]);
  await gpu.sync();
  return (performance.now() - start) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;

/** A seed-shaped batch with CartPole-like observations; timings do not depend on the values. */
async function syntheticUpdate(gpu: GpuContext, algo: 'trpo' | 'reinforce') {
  const config = resolveConfig({ algo, numEnvs: 16, stepsPerIter: rows });
  const n = config.derived.batchSize;
  const kernels = await MlpKernels.create(gpu);
  const policyLayout = new MlpLayout([4, 64, 64, 2], ['tanh', 'tanh', 'identity']);
  const valueLayout = new MlpLayout([4, 64, 64, 1], ['tanh', 'tanh', 'identity']);
  const policy = Mlp.create(gpu, kernels, policyLayout, 'bench.policy');
  const value = Mlp.create(gpu, kernels, valueLayout, 'bench.value');
  policy.setParams(initPyTorchDefault(policyLayout, 1, { lastLayerScale: 0.1 }));
  value.setParams(initPyTorchDefault(valueLayout, 2));
  let state = 12345;
  const uniform = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const obs = Float32Array.from({ length: (n + 16) * 4 }, () => 0.2 * (2 * uniform() - 1));
  const metrics = new Float32Array(METRICS_BLOCK_FLOATS);
  metrics[metricSlot('advantage_std')] = 1;
  const batch = {
    obs: storageBuffer(gpu, 'bench.obs', obs),
    actions: storageBuffer(gpu, 'bench.actions', Int32Array.from({ length: n }, () => (uniform() < 0.5 ? 0 : 1))),
    logProbs: storageBuffer(gpu, 'bench.logProbs', new Float32Array(n).fill(Math.log(0.5))),
    advantages: storageBuffer(gpu, 'bench.advantages', Float32Array.from({ length: n }, () => 2 * uniform() - 1)),
    returns: storageBuffer(gpu, 'bench.returns', Float32Array.from({ length: n }, () => 50 * uniform())),
    logits: storageBuffer(gpu, 'bench.logits', new Float32Array(n * 2)),
    metrics: storageBuffer(gpu, 'bench.metrics', metrics),
  };
  const release = () => {
    policy.destroy();
    value.destroy();
    for (const buffer of Object.values(batch)) buffer.destroy();
  };
  return { config, policy, value, batch, n, release };
}

async function main(): Promise<void> {
  const gpu = await requestGpu();
  console.log(`adapter: ${describeAdapter(gpu.adapter)}`);

  const s = await syntheticUpdate(gpu, 'trpo');
  const trpo = await TrpoUpdate.create(gpu, s.config, s.policy, s.value, s.batch);
  const phases: [string, (pass: GPUComputePassEncoder) => void][] = [
    ['gradient', (pass) => trpo.encodeGradient(pass)],
    ['cg', (pass) => trpo.encodeSolve(pass)],
    ['line search', (pass) => trpo.encodeLineSearch(pass)],
    ['value fit', (pass) => trpo.encodeValueFit(pass)],
  ];
  console.log(`\nTRPO update phases, ${s.n} samples, median of ${reps} after a warm-up (one submit per phase):`);
  const times = new Map<string, number[]>(phases.map(([name]) => [name, []]));
  for (let r = 0; r <= reps; r++) {
    for (const [name, record] of phases) {
      const t = await timeSubmit(gpu, `bench.trpo.${name}`, record);
      if (r > 0) times.get(name)!.push(t);
    }
  }
  let total = 0;
  for (const [name, record] of phases) {
    const t = median(times.get(name)!);
    total += t;
    console.log(`  ${name.padEnd(12)} ${ms(t).padStart(10)}  ${String(countDispatches(record)).padStart(4)} dispatches`);
  }
  console.log(`  ${'total'.padEnd(12)} ${ms(total).padStart(10)}  ${String(countDispatches((pass) => trpo.encode(pass))).padStart(4)} dispatches`);
  trpo.destroy();
  s.release();

  const r = await syntheticUpdate(gpu, 'reinforce');
  const reinforce = await ReinforceUpdate.create(gpu, r.config, r.policy, r.value, r.batch);
  const reinforceTimes: number[] = [];
  for (let k = 0; k <= reps; k++) {
    const t = await timeSubmit(gpu, 'bench.reinforce', (pass) => reinforce.encode(pass));
    if (k > 0) reinforceTimes.push(t);
  }
  console.log(`\nREINFORCE update (policy step + value fit), ${r.n} samples: ${ms(median(reinforceTimes))}, ${countDispatches((pass) => reinforce.encode(pass))} dispatches`);
  reinforce.destroy();
  r.release();

  console.log(`\nWhole iterations, --preset seed (16 envs, 10 000 steps), median of ${trainerIters} after a warm-up:`);
  for (const algo of ['ppo', 'trpo', 'reinforce'] as Algo[]) {
    const trainer = await makeTrainer(gpu, resolveConfig({ algo, preset: 'seed', seed: 1 }));
    await trainer.timePhases();
    const split = { collect: [] as number[], advantage: [] as number[], update: [] as number[], total: [] as number[] };
    for (let k = 0; k < trainerIters; k++) {
      const t = await trainer.timePhases();
      for (const key of Object.keys(split) as (keyof typeof split)[]) split[key].push(t[key]);
    }
    const line = (Object.keys(split) as (keyof typeof split)[]).map((key) => `${key} ${ms(median(split[key]))}`).join(', ');
    console.log(`  ${algo.padEnd(10)} ${line}; ${trainer.dispatchesPerIteration} dispatches`);
    trainer.destroy();
  }
  gpu.destroy();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
