// Your own environment: a WGSL module written to the env contract
// (shaders/auto_reset.wgsl's header), registered with VecEnv.define, stepped
// from the host and trained with PPO for a few iterations. The env is
// examples/walk_to_target.wgsl: a walker steps left, stays or steps right
// towards a target on a segment; reaching it ends the episode with a bonus.
// Run: npm run build && node examples/custom-env.mjs
import { readFileSync } from 'node:fs';
import { requestGpu, VecEnv, resolveConfig, makeTrainer, evaluatePolicy } from 'webgpu-rl';

const gpu = await requestGpu();
await VecEnv.define(gpu, {
  spec: { id: 'WalkToTarget-v0', obsDim: 2, stateDim: 2, action: { kind: 'discrete', n: 3 }, maxEpisodeSteps: 50 },
  wgsl: readFileSync(new URL('./walk_to_target.wgsl', import.meta.url), 'utf8'),
  params: { bound: 1, stepSize: 0.1, reach: 0.05, goalBonus: 1 }, // one value per EnvParams field
  source: 'walk_to_target.wgsl', // compile errors name this file and its line
});

// Stepping: from position 0 with the target at 0.5, walking right reaches it on the 5th step.
const env = await VecEnv.create(gpu, { id: 'WalkToTarget-v0', numEnvs: 1, seed: 1 });
env.setState(Float32Array.of(0, 0.5));
const rewards = [];
let terminated = 0;
while (!terminated) {
  const step = await env.step(Int32Array.of(2));
  rewards.push(step.reward[0]);
  terminated = step.terminated[0];
}
env.destroy();
console.log(`walked right: ${rewards.length} steps, rewards ${rewards.map((r) => r.toFixed(2)).join(' ')}`);

// Training: the trainer takes the id like a built-in env's.
const trainer = await makeTrainer(
  gpu,
  resolveConfig({ env: 'WalkToTarget-v0', numEnvs: 64, stepsPerIter: 2048, epochs: 4, minibatch: 256, lr: 3e-3, valueLr: 3e-3, lambda: 0.95, seed: 1 }),
);
// The same 256 fresh episodes before and after training.
const evaluate = async () => (await evaluatePolicy(gpu, await trainer.checkpoint([]), { episodes: 256, seed: 5 })).mean;
const before = await evaluate();
for (let i = 0; i < 6; i++) await trainer.step();
const after = await evaluate();
if (!(after > before)) throw new Error(`training did not raise the mean return (${before} before, ${after} after)`);
console.log(`PPO, 6 iterations: mean return ${before.toFixed(2)} before, ${after.toFixed(2)} after`);

trainer.destroy();
gpu.destroy();
