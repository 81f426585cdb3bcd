// The library in a web page: the same imports as in Node (bundlers pick the
// `browser` build), WebGPU from navigator.gpu. Runs GAE on GpuArrays against
// the float64 reference and steps CartPole-v1, then writes one line into
// #result (data-state "done", or "failed" with the error).
// Bundle it with any bundler (vite build, esbuild --bundle, webpack) and serve
// it over http://localhost or https (WebGPU needs a secure context).
import { requestGpu, describeAdapter, GpuArray, CartPoleVec, submitPass } from 'webgpu-rl';
import { Gae, packDoneFlags } from 'webgpu-rl/kernels';
import { gaeReference } from 'webgpu-rl/reference';

const result = document.getElementById('result');

async function main() {
  const gpu = await requestGpu();
  const [numEnvs, numSteps] = [16, 8];
  const n = numEnvs * numSteps;
  const rewards = Float32Array.from({ length: n }, (_, i) => (i % 5) / 5);
  const doneFlags = packDoneFlags(
    Array.from({ length: n }, (_, i) => i % 11 === 0),
    Array.from({ length: n }, () => false),
  );
  const values = Float32Array.from({ length: n + numEnvs }, (_, i) => Math.cos(i));
  const options = { numEnvs, numSteps, gamma: 0.99, lambda: 0.95, truncationAsTerminal: true };
  const gae = await Gae.create(
    gpu,
    {
      rewards: GpuArray.from(gpu, rewards, { shape: [numSteps, numEnvs] }),
      doneFlags: GpuArray.from(gpu, doneFlags, { shape: [numSteps, numEnvs] }),
      values: GpuArray.from(gpu, values, { shape: [numSteps + 1, numEnvs] }),
    },
    options,
  );
  submitPass(gpu, 'page.gae', (pass) => gae.encode(pass));
  const expected = gaeReference({ ...options, rewards, doneFlags, values, finalValues: new Float64Array(n) });
  const advantages = await gae.arrays.advantages.read();
  const error = advantages.reduce((worst, a, i) => Math.max(worst, Math.abs(a - expected.advantages[i])), 0);
  if (!(error < 1e-4)) throw new Error(`advantages differ from the float64 reference by ${error}`);

  const env = await CartPoleVec.create(gpu, { numEnvs: 64, seed: 1 });
  const step = await env.step(new Int32Array(64).fill(1));
  const reward = step.reward.reduce((s, r) => s + r, 0);
  gpu.destroy();
  return `GAE error ${error.toExponential(2)}; CartPole reward ${reward} over 64 envs; ${describeAdapter(gpu.adapter)}`;
}

main().then(
  (line) => {
    result.textContent = line;
    result.dataset.state = 'done';
  },
  (error) => {
    result.textContent = String(error?.message ?? error);
    result.dataset.state = 'failed';
  },
);
