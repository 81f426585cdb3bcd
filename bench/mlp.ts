/**
 * MLP kernel throughput: the PPO policy network 4→64→64→2 (tanh, tanh,
 * identity) forward and forward+backward at several batch sizes, and a single
 * 64→64 tanh dense layer. Wall time of one submit per repetition (dispatch
 * overhead included): median after warm-up, and the fastest repetition, which
 * says more on a shared, noisy CPU.
 *
 *   npx vite build --config vite.cli.config.ts && node dist-cli/bench/mlp.js [--reps N] [--batches 1024,16384]
 *
 * FLOP counting: forward 2·in·out per row per layer; backward 2·in·out per row
 * per layer for the parameter gradients plus 2·in·out for the input gradient
 * of every layer but the first (the network input needs none).
 */
import { requestGpu, describeAdapter, type GpuContext } from '../src/gpu/device';
import { storageBuffer } from '../src/gpu/buffers';
import { MlpLayout, initPyTorchDefault, type Activation } from '../src/nn/mlp';
import { Mlp, MlpKernels, type MlpPass } from '../src/kernels/mlp';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

const reps = Number(flag('reps', '7'));
const batches = flag('batches', '1024,16384,65536').split(',').map(Number);

async function timeSubmits(gpu: GpuContext, record: (pass: GPUComputePassEncoder) => void): Promise<{ median: number; min: number }> {
  const once = async () => {
    const start = performance.now();
    const encoder = gpu.device.createCommandEncoder({ label: 'bench.mlp' });
    const pass = encoder.beginComputePass({ label: 'bench.mlp' });
    record(pass);
    pass.end();
    gpu.device.queue.submit([encoder.finish()]);
    await gpu.sync();
    return (performance.now() - start) / 1000;
  };
  await once();
  await once();
  const times: number[] = [];
  for (let k = 0; k < reps; k++) times.push(await once());
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], min: times[0] };
}

function flops(layout: MlpLayout, rows: number): { forward: number; backward: number } {
  let forward = 0;
  let backward = 0;
  layout.layers.forEach((layer, l) => {
    const macs = layer.inDim * layer.outDim * rows;
    forward += 2 * macs;
    backward += (l === 0 ? 2 : 4) * macs;
  });
  return { forward, backward };
}

async function measure(gpu: GpuContext, kernels: MlpKernels, name: string, sizes: number[], activations: Activation[], rows: number): Promise<void> {
  const layout = new MlpLayout(sizes, activations);
  const mlp = Mlp.create(gpu, kernels, layout, `bench.${name}`);
  mlp.setParams(initPyTorchDefault(layout, 1));
  const input = new Float32Array(rows * layout.inputDim).map((_, k) => Math.sin(k));
  const inputBuffer = storageBuffer(gpu, 'bench.input', input);
  const pass: MlpPass = mlp.prepare({ rows, input: inputBuffer, label: `bench.${name}` });
  gpu.device.queue.writeBuffer(pass.gradOutput, 0, new Float32Array(rows * layout.outputDim).fill(1e-3));
  const f = flops(layout, rows);
  const forward = await timeSubmits(gpu, (p) => pass.encodeForward(p));
  const both = await timeSubmits(gpu, (p) => {
    pass.encodeForward(p);
    pass.encodeBackward(p);
  });
  const cell = (n: number, t: { median: number; min: number }) =>
    `${(t.median * 1e3).toFixed(2).padStart(8)} ms ${(n / t.median / 1e9).toFixed(2).padStart(6)} (best ${(n / t.min / 1e9).toFixed(2).padStart(5)}) GFLOP/s`;
  console.log([name.padEnd(14), String(rows).padStart(7), cell(f.forward, forward), cell(f.forward + f.backward, both)].join('  '));
  pass.destroy();
  inputBuffer.destroy();
  mlp.params.destroy();
  mlp.grads.destroy();
}

const gpu = await requestGpu({ quiet: true });
try {
  console.log(`adapter: ${describeAdapter(gpu.adapter)}`);
  console.log(`${reps} timed submits after 2 warm-up submits; FLOPs: forward 2·in·out/row/layer, backward 2·in·out (params) + 2·in·out (input, not for layer 0)`);
  console.log(`${'network'.padEnd(14)}  ${'rows'.padStart(7)}  ${'forward: median, GFLOP/s'.padEnd(42)}  forward + backward`);
  const kernels = await MlpKernels.create(gpu);
  for (const rows of batches) await measure(gpu, kernels, '4→64→64→2', [4, 64, 64, 2], ['tanh', 'tanh', 'identity'], rows);
  await measure(gpu, kernels, 'dense 64→64', [64, 64], ['tanh'], 16384);
} finally {
  gpu.destroy();
}
