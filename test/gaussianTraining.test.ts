/**
 * Short training runs of all four algorithms on Pendulum-v1 (box actions, the
 * Gaussian head), and a checkpoint round trip that carries the log-stds.
 * Learning curves over hundreds of thousands of steps are in bench/RESULTS.md.
 */
import { describe, expect, it } from 'vitest';
import { makeTrainer, type Trainer } from '../src/train/trainer';
import { resolveConfig, type TrainConfig } from '../src/core/config';
import { networkLayouts } from '../src/train/networks';
import { parseCheckpoint, serializeCheckpoint } from '../src/train/checkpoint';
import { evaluatePolicy } from '../src/train/evaluate';
import type { IterationMetrics } from '../src/core/metrics';
import { testGpu } from './helpers';

// 16 envs × 200 steps: every env finishes one 200-step episode per iteration.
const SHAPE = { env: 'Pendulum-v1', numEnvs: 16, stepsPerIter: 3200, hidden: 32, gamma: 0.9, lambda: 0.95, seed: 3 } as const;

async function logStds(trainer: Trainer): Promise<number[]> {
  const params = await trainer.policy.readParams();
  return Array.from(params.subarray(trainer.policy.layout.headOffset));
}

async function run(config: Partial<TrainConfig>, iterations: number): Promise<{ metrics: IterationMetrics[]; logStd: number[] }> {
  const gpu = await testGpu();
  const trainer = await makeTrainer(gpu, resolveConfig({ ...SHAPE, ...config }));
  expect(await logStds(trainer)).toEqual([0]);
  const metrics: IterationMetrics[] = [];
  for (let i = 0; i < iterations; i++) metrics.push(await trainer.step());
  const logStd = await logStds(trainer);
  trainer.destroy();
  for (const m of metrics) {
    for (const key of ['mean_return', 'approx_kl', 'entropy', 'policy_loss', 'value_loss'] as const) expect(Number.isFinite(m[key]), `${key} at iteration ${m.iter}`).toBe(true);
    // Every env ends one episode per iteration; Pendulum's return lies in [−16.27·200, 0].
    expect(m.episodes).toBe(16);
    expect(m.mean_return!).toBeLessThan(0);
    expect(m.mean_return!).toBeGreaterThan(-16.3 * 200);
    // Entropy of a 1-D Gaussian is ℓ + ½ + ½ log 2π: the reported entropy is the log-std's.
  }
  expect(metrics[metrics.length - 1].entropy).toBeCloseTo(logStd[0] + 0.5 + 0.5 * Math.log(2 * Math.PI), 4);
  return { metrics, logStd };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('training on Pendulum-v1 with the Gaussian head', () => {
  it('PPO: the return rises over 10 iterations, KL stays small, the log-std moves', async () => {
    const { metrics, logStd } = await run({ algo: 'ppo', minibatch: 256, epochs: 10, lr: 3e-3 }, 10);
    const returns = metrics.map((m) => m.mean_return!);
    expect(mean(returns.slice(-3))).toBeGreaterThan(mean(returns.slice(0, 3)) + 100);
    for (const m of metrics) expect(m.approx_kl).toBeLessThan(0.2);
    expect(Math.abs(logStd[0])).toBeGreaterThan(1e-3);
  });

  it('PPO-KL: the penalty coefficient adapts and the KL stays small', async () => {
    const { metrics, logStd } = await run({ algo: 'ppo-kl', minibatch: 256, epochs: 4, lr: 3e-3 }, 4);
    expect(new Set(metrics.map((m) => m.kl_coef)).size).toBeGreaterThan(1);
    for (const m of metrics) expect(m.approx_kl).toBeLessThan(0.2);
    expect(Math.abs(logStd[0])).toBeGreaterThan(1e-3);
  });

  it('TRPO: every accepted step keeps KL(old ‖ new) ≤ 1.5 max-kl (the line search checks it on the GPU)', async () => {
    const maxKl = 0.01;
    const { metrics, logStd } = await run({ algo: 'trpo', maxKl, lineSearchKlCheck: true, cgIters: 10 }, 4);
    for (const m of metrics) {
      expect(m.approx_kl).toBeLessThanOrEqual(1.5 * maxKl);
      expect(m.step_frac!).toBeGreaterThanOrEqual(0);
    }
    expect(metrics.some((m) => m.step_frac! > 0 && m.approx_kl > 1e-4)).toBe(true);
    expect(Math.abs(logStd[0])).toBeGreaterThan(1e-4);
  });

  it('REINFORCE: one policy-gradient step per iteration moves the policy', async () => {
    const { metrics, logStd } = await run({ algo: 'reinforce', lr: 3e-3 }, 4);
    for (const m of metrics) expect(m.approx_kl).toBeGreaterThan(0);
    expect(Math.abs(logStd[0])).toBeGreaterThan(1e-4);
  });
});

describe('checkpoints on a box env', () => {
  it('save and restore carry the log-stds: the resumed run equals the straight one bit for bit; eval acts with the mean', async () => {
    const gpu = await testGpu();
    const config = resolveConfig({ ...SHAPE, algo: 'ppo', minibatch: 400, epochs: 2, iters: 3 });
    const straight = await makeTrainer(gpu, config);
    const history = [await straight.step(), await straight.step()];
    const saved = parseCheckpoint(serializeCheckpoint(await straight.checkpoint(history)));
    const layout = networkLayouts(config).policy;
    expect(saved.arrays.policy.length).toBe(layout.paramCount);
    expect(saved.arrays.policy[layout.headOffset]).not.toBe(0);
    const resumed = await makeTrainer(gpu, resolveConfig({ ...saved.config, iters: 1 }));
    await resumed.restore(saved);
    const strip = (m: IterationMetrics) => ({ ...m, sps: 0, wall_s: 0 });
    expect(strip(await resumed.step())).toEqual(strip(await straight.step()));
    expect(await resumed.policy.readParams()).toEqual(await straight.policy.readParams());
    straight.destroy();
    resumed.destroy();

    const greedy = await evaluatePolicy(gpu, saved, { episodes: 4, seed: 1, greedy: true });
    const sampled = await evaluatePolicy(gpu, saved, { episodes: 4, seed: 1 });
    expect(Number.isFinite(greedy.mean)).toBe(true);
    // Same starts (same seed); the greedy run acts with the means, the sampled one draws around them.
    expect(greedy.mean).not.toBe(sampled.mean);
  });
});
