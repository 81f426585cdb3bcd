// Generalized advantage estimation on the GPU for 64 envs × 32 steps, against
// the float64 reference. Buffers are [T][N] row-major f32, done flags u32
// (bit 0 terminated, bit 1 truncated), values [T+1][N].
// Run: npm run build && node examples/gae.mjs
import { requestGpu, storageBuffer, readFloat32, submitPass } from 'webgpu-rl';
import { Gae } from 'webgpu-rl/kernels';
import { gaeReference } from 'webgpu-rl/reference';

const gpu = await requestGpu();
const [numEnvs, numSteps] = [64, 32];
const n = numEnvs * numSteps;
const rewards = Float32Array.from({ length: n }, (_, i) => (i % 7) / 7);
const doneFlags = Uint32Array.from({ length: n }, (_, i) => (i % 13 === 0 ? 1 : 0));
const values = Float32Array.from({ length: n + numEnvs }, (_, i) => Math.sin(i));
const options = { numEnvs, numSteps, gamma: 0.99, lambda: 0.95, truncationAsTerminal: true };

const buffers = {
  rewards: storageBuffer(gpu, 'rewards', rewards),
  doneFlags: storageBuffer(gpu, 'doneFlags', doneFlags),
  values: storageBuffer(gpu, 'values', values),
  // Read only for truncated steps that bootstrap; none here (truncationAsTerminal).
  finalValues: storageBuffer(gpu, 'finalValues', 16),
  advantages: storageBuffer(gpu, 'advantages', n * 4),
  returns: storageBuffer(gpu, 'returns', n * 4),
};
const gae = await Gae.create(gpu, buffers, options);
submitPass(gpu, 'example.gae', (pass) => gae.encode(pass));

const expected = gaeReference({ ...options, rewards, doneFlags, values, finalValues: new Float64Array(n) });
const advantages = await readFloat32(gpu, buffers.advantages);
const error = advantages.reduce((worst, a, i) => Math.max(worst, Math.abs(a - expected.advantages[i])), 0);
if (!(error < 1e-4)) throw new Error(`advantages differ from the float64 reference by ${error}`);
console.log(`GAE ${numSteps} steps × ${numEnvs} envs: max |advantage - float64 reference| = ${error.toExponential(2)}`);

gae.destroy();
for (const buffer of Object.values(buffers)) buffer.destroy();
gpu.destroy();
