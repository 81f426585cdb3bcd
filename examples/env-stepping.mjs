// CartPole-v1 stepped on the GPU, 1 024 envs at once, checked against the
// float64 reference for the first step. Run: npm run build && node examples/env-stepping.mjs
import { requestGpu, describeAdapter, CartPoleVec } from 'webgpu-rl';
import { CartPoleRef } from 'webgpu-rl/reference';

const gpu = await requestGpu();
console.log(describeAdapter(gpu.adapter));

const numEnvs = 1024;
const env = await CartPoleVec.create(gpu, { numEnvs, seed: 1 });
const reference = new CartPoleRef(numEnvs, 1);

// Alternate pushes, env by env: 0 pushes left, 1 pushes right.
const actions = Int32Array.from({ length: numEnvs }, (_, i) => i % 2);
const first = await env.step(actions);
const expected = reference.step(actions);
const error = first.obs.reduce((worst, x, i) => Math.max(worst, Math.abs(x - expected.obs[i])), 0);
if (!(error < 1e-5)) throw new Error(`first step differs from the float64 reference by ${error}`);
console.log(`first step: max |obs - float64 reference| = ${error.toExponential(2)}`);

// Keep pushing one way: poles fall, episodes end and restart in the same step.
let episodes = 0;
let reward = first.reward.reduce((s, r) => s + r, 0);
for (let t = 1; t < 100; t++) {
  const { reward: r, terminated, truncated } = await env.step(actions);
  reward += r.reduce((s, x) => s + x, 0);
  episodes += terminated.reduce((s, x) => s + x, 0) + truncated.reduce((s, x) => s + x, 0);
}
console.log(`100 steps × ${numEnvs} envs: ${episodes} episodes ended, ${reward} reward in total`);

env.destroy();
gpu.destroy();
