// Training from a program: a config (a preset plus overrides, validated with
// one-line errors), a trainer on the GPU context, one `step()` per iteration
// resolving to that iteration's metrics, and a checkpoint at the end.
// Run: npm run build && node examples/train.mjs
import { requestGpu, resolveConfig, makeTrainer, serializeCheckpoint } from 'webgpu-rl';

const iterations = 3;
const gpu = await requestGpu();
const config = resolveConfig({ algo: 'ppo', preset: 'fast', numEnvs: 64, stepsPerIter: 2048, seed: 1, iters: iterations });
const trainer = await makeTrainer(gpu, config);

const history = [];
for (let i = 0; i < iterations; i++) {
  const m = await trainer.step();
  history.push(m);
  const meanReturn = m.mean_return === null ? '—' : m.mean_return.toFixed(1);
  console.log(`iter ${m.iter}  steps ${m.env_steps}  return ${meanReturn}  kl ${m.approx_kl.toExponential(2)}  entropy ${m.entropy.toFixed(3)}`);
}
if (history.some((m) => !Number.isFinite(m.policy_loss) || !Number.isFinite(m.entropy))) throw new Error('a metric is not finite');

const checkpoint = serializeCheckpoint(await trainer.checkpoint(history));
console.log(`checkpoint: ${(checkpoint.length / 1024).toFixed(0)} kB of JSON`);

trainer.destroy();
gpu.destroy();
