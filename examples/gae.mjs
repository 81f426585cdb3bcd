// Generalized advantage estimation on the GPU for 64 envs × 32 steps, against
// the float64 reference. The inputs are GpuArrays with their layouts as shapes:
// rewards f32 [T][N], done flags u32 [T][N] (bit 0 terminated, bit 1
// truncated: packDoneFlags makes them), values f32 [T+1][N]; a wrong dtype or
// shape is one error naming the argument. Advantages and returns come back as
// GpuArrays too.
// Run: npm run build && node examples/gae.mjs
import { requestGpu, GpuArray, submitPass } from 'webgpu-rl';
import { Gae, packDoneFlags } from 'webgpu-rl/kernels';
import { gaeReference } from 'webgpu-rl/reference';

const gpu = await requestGpu();
const [numEnvs, numSteps] = [64, 32];
const n = numEnvs * numSteps;
const rewards = Float32Array.from({ length: n }, (_, i) => (i % 7) / 7);
const terminated = Array.from({ length: n }, (_, i) => i % 13 === 0);
const truncated = Array.from({ length: n }, (_, i) => i % 29 === 0);
const doneFlags = packDoneFlags(terminated, truncated);
const values = Float32Array.from({ length: n + numEnvs }, (_, i) => Math.sin(i));
// With truncationAsTerminal no final values are read (else pass finalValues).
const options = { numEnvs, numSteps, gamma: 0.99, lambda: 0.95, truncationAsTerminal: true };

const rows = [numSteps, numEnvs];
const inputs = {
  rewards: GpuArray.from(gpu, rewards, { shape: rows, label: 'rewards' }),
  doneFlags: GpuArray.from(gpu, doneFlags, { shape: rows, label: 'doneFlags' }),
  values: GpuArray.from(gpu, values, { shape: [numSteps + 1, numEnvs], label: 'values' }),
};
try {
  // Done flags as floats would give wrong advantages silently; here they are refused.
  await Gae.create(gpu, { ...inputs, doneFlags: GpuArray.from(gpu, Float32Array.from(doneFlags), { shape: rows }) }, options);
} catch (error) {
  console.log(`refused: ${error.message}`);
}
const gae = await Gae.create(gpu, inputs, options); // allocates advantages and returns
submitPass(gpu, 'example.gae', (pass) => gae.encode(pass));

const expected = gaeReference({ ...options, rewards, doneFlags, values, finalValues: new Float64Array(n) });
const advantages = await gae.arrays.advantages.read();
const error = advantages.reduce((worst, a, i) => Math.max(worst, Math.abs(a - expected.advantages[i])), 0);
if (!(error < 1e-4)) throw new Error(`advantages differ from the float64 reference by ${error}`);
console.log(`GAE ${numSteps} steps × ${numEnvs} envs: max |advantage - float64 reference| = ${error.toExponential(2)}`);

gae.destroy();
for (const array of Object.values(inputs)) array.destroy();
gpu.destroy();
