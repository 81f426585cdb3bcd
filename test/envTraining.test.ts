import { describe, it, expect } from 'vitest';
import { makeTrainer } from '../src/train/trainer';
import { resolveConfig } from '../src/core/config';
import type { IterationMetrics } from '../src/core/metrics';
import { testGpu } from './helpers';

// 8 envs × 128 steps, 2 epochs of 4 minibatches: the pipeline end to end, not learning.
const TINY = { numEnvs: 8, stepsPerIter: 1024, epochs: 2, minibatch: 256 } as const;

describe('training on other classic-control envs', () => {
  it("derives the networks' sizes from the env's spec; unknown ids are refused with the known ones", () => {
    expect(resolveConfig({ env: 'Acrobot-v1' }).derived).toMatchObject({ obsDim: 6, numActions: 3 });
    expect(resolveConfig({ env: 'MountainCar-v0' }).derived).toMatchObject({ obsDim: 2, numActions: 3 });
    expect(resolveConfig().derived).toMatchObject({ obsDim: 4, numActions: 2 });
    expect(() => resolveConfig({ env: 'Pong-v5' })).toThrow(/^--env: "Pong-v5" is not allowed \(environment; must be one of CartPole-v1, Acrobot-v1, MountainCar-v0/);
    // Negative solved thresholds (Acrobot -100, MountainCar -110) are valid stop points.
    expect(resolveConfig({ env: 'Acrobot-v1', stopAtReturn: -100 }).stopAtReturn).toBe(-100);
  });

  it.each([
    ['Acrobot-v1', 500],
    ['MountainCar-v0', 200],
  ] as const)('%s: every algorithm runs iterations with finite metrics and returns in the env’s range', async (env, limit) => {
    const gpu = await testGpu();
    for (const algo of ['ppo', 'ppo-kl', 'trpo', 'reinforce'] as const) {
      const trainer = await makeTrainer(gpu, resolveConfig({ ...TINY, env, algo, seed: 2 }));
      const metrics: IterationMetrics[] = [];
      // A random policy's episodes last up to the time limit: enough iterations for some to end.
      const iterations = Math.ceil((limit * TINY.numEnvs) / TINY.stepsPerIter) + 1;
      for (let i = 0; i < iterations; i++) metrics.push(await trainer.step());
      for (const m of metrics) {
        for (const key of ['approx_kl', 'entropy', 'policy_loss', 'value_loss'] as const) expect(Number.isFinite(m[key]), `${algo} ${key}`).toBe(true);
        expect(m.entropy).toBeLessThanOrEqual(Math.log(3) + 1e-5);
        if (m.mean_return !== null) {
          // Every step costs -1 (Acrobot's terminal step 0): returns lie in [-limit, 0].
          expect(m.mean_return, `${algo} mean return`).toBeGreaterThanOrEqual(-limit);
          expect(m.mean_return).toBeLessThanOrEqual(0);
        }
      }
      expect(metrics.reduce((n, m) => n + m.episodes, 0), `${algo} episodes`).toBeGreaterThan(0);
      trainer.destroy();
    }
  });

  it('a checkpoint records its env; loading it into another env is refused with one line', async () => {
    const gpu = await testGpu();
    const acrobot = await makeTrainer(gpu, resolveConfig({ ...TINY, env: 'Acrobot-v1', seed: 4 }));
    await acrobot.step();
    const checkpoint = await acrobot.checkpoint([]);
    expect(checkpoint.config.env).toBe('Acrobot-v1');
    expect(checkpoint.env).toEqual({ id: 'Acrobot-v1', obsDim: 6, stateDim: 4, action: { kind: 'discrete', n: 3 }, maxEpisodeSteps: 500 });
    const cartpole = await makeTrainer(gpu, resolveConfig({ ...TINY, seed: 4 }));
    await expect(cartpole.restore(checkpoint)).rejects.toThrow(/^checkpoint: trained on Acrobot-v1, cannot load it into CartPole-v1$/);
    // Into the same env it resumes.
    const again = await makeTrainer(gpu, resolveConfig({ ...TINY, env: 'Acrobot-v1', seed: 4 }));
    await again.restore(checkpoint);
    expect(Array.from(await again.policy.readParams())).toEqual(Array.from(checkpoint.arrays.policy));
    for (const t of [acrobot, cartpole, again]) t.destroy();
  });
});
