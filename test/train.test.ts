import { describe, it, expect } from 'vitest';
import { makeTrainer } from '../src/train/trainer';
import { resolveConfig, parseTrainArgs, ConfigError } from '../src/core/config';
import { serializeCheckpoint, parseCheckpoint, checkpointLayout } from '../src/train/checkpoint';
import { ALGOS } from '../src/core/algorithms';
import type { IterationMetrics } from '../src/core/metrics';
import { bundleForNode, runNode } from './node-child';
import { readFileSync } from 'node:fs';
import { evaluatePolicy } from '../src/train/evaluate';
import { testGpu } from './helpers';

// Small but real: 64 envs × 32 steps, 4 epochs of 4 minibatches.
const SMALL = { numEnvs: 64, stepsPerIter: 2048, epochs: 4, minibatch: 512, lr: 3e-3, valueLr: 3e-3, lambda: 0.95 } as const;

async function run(overrides: Parameters<typeof resolveConfig>[0], iterations: number) {
  const gpu = await testGpu();
  const trainer = await makeTrainer(gpu, resolveConfig(overrides));
  const metrics: IterationMetrics[] = [];
  for (let i = 0; i < iterations; i++) metrics.push(await trainer.step());
  const weights = await trainer.policy.readParams();
  return { trainer, metrics, weights };
}

describe('PPO training on the GPU', () => {
  it('improves the mean return within a few iterations (smoke test)', async () => {
    const { metrics, trainer } = await run({ ...SMALL, seed: 3 }, 12);
    const returns = metrics.map((m) => m.mean_return).filter((r): r is number => r !== null);
    const early = returns.slice(0, 2).reduce((a, b) => a + b, 0) / 2;
    const late = Math.max(...returns.slice(-4));
    expect(late, `returns ${returns.map((r) => r.toFixed(1)).join(' ')}`).toBeGreaterThan(early * 2);
    for (const m of metrics) {
      expect(Number.isFinite(m.approx_kl) && m.approx_kl >= 0).toBe(true);
      expect(m.entropy).toBeGreaterThan(0);
      expect(m.entropy).toBeLessThanOrEqual(Math.log(2) + 1e-6);
      expect(m.clip_frac).toBeGreaterThanOrEqual(0);
      expect(m.clip_frac).toBeLessThanOrEqual(1);
    }
    expect(trainer.envSteps).toBe(12 * 2048);
    trainer.destroy();
  });

  it('is bit-reproducible: same seed, same adapter → identical metrics and weights', async () => {
    const a = await run({ ...SMALL, seed: 11 }, 3);
    const b = await run({ ...SMALL, seed: 11 }, 3);
    const strip = (m: IterationMetrics) => ({ ...m, sps: 0, wall_s: 0 });
    expect(b.metrics.map(strip)).toEqual(a.metrics.map(strip));
    expect(Buffer.from(b.weights.buffer).equals(Buffer.from(a.weights.buffer))).toBe(true);
    const c = await run({ ...SMALL, seed: 12 }, 1);
    expect(Buffer.from(c.weights.buffer).equals(Buffer.from(a.weights.buffer))).toBe(false);
  });

  it('PPO-KL adapts its penalty coefficient on the GPU', async () => {
    const { metrics } = await run({ ...SMALL, algo: 'ppo-kl', klCoef: 1, klTarget: 0.01, seed: 5 }, 3);
    // Each iteration's kl_coef is the previous one adapted by this iteration's KL.
    let coef = 1;
    for (const m of metrics) {
      coef = m.approx_kl > 0.013 ? coef * 1.5 : m.approx_kl < 0.007 ? coef / 1.5 : coef;
      expect(m.kl_coef).toBeCloseTo(coef, 5);
    }
  });

  it('target-KL early stop fires on the GPU and freezes the rest of the update', async () => {
    const { metrics } = await run({ ...SMALL, targetKl: 1e-6, seed: 2 }, 1);
    expect(metrics[0].stopped_epoch).toBe(0);
    // Only the first epoch updated the policy, so the update's KL stays small.
    const free = await run({ ...SMALL, seed: 2 }, 1);
    expect(metrics[0].approx_kl).toBeLessThan(free.metrics[0].approx_kl);
  });

  it('checkpoint save/load round-trip is bit-exact and resumes identically', async () => {
    const gpu = await testGpu();
    const config = resolveConfig({ ...SMALL, seed: 21 });
    const first = await makeTrainer(gpu, config);
    const history: IterationMetrics[] = [await first.step(), await first.step()];
    const text = serializeCheckpoint(await first.checkpoint(history));
    const restored = parseCheckpoint(text);
    const again = await first.checkpoint(history);
    for (const [name, a] of Object.entries(again.arrays)) {
      expect(Buffer.from(restored.arrays[name].buffer).equals(Buffer.from(a.buffer)), name).toBe(true);
    }
    const continued = await first.step();
    const second = await makeTrainer(gpu, config);
    await second.restore(restored);
    expect(second.iteration).toBe(2);
    const resumed = await second.step();
    expect({ ...resumed, sps: 0, wall_s: 0 }).toEqual({ ...continued, sps: 0, wall_s: 0 });
    expect(Buffer.from((await second.policy.readParams()).buffer).equals(Buffer.from((await first.policy.readParams()).buffer))).toBe(true);
  });
});

describe('checkpoint layout', () => {
  it('a trainer of every algorithm checkpoints exactly the arrays checkpointLayout names, which parseCheckpoint accepts', async () => {
    const gpu = await testGpu();
    for (const algo of ALGOS) {
      const config = resolveConfig({ ...SMALL, algo });
      const trainer = await makeTrainer(gpu, config);
      const checkpoint = await trainer.checkpoint([]);
      trainer.destroy();
      const lengths = Object.fromEntries(Object.entries(checkpoint.arrays).map(([name, a]) => [name, a.length]));
      expect(lengths, algo).toEqual(Object.fromEntries(checkpointLayout(config)));
      expect(parseCheckpoint(serializeCheckpoint(checkpoint), algo).arrays).toEqual(checkpoint.arrays);
    }
  });
});

describe('training configuration', () => {
  it('rejects bad values with one line naming the flag, the value and the range', () => {
    expect(() => resolveConfig({ numEnvs: 0 })).toThrow(/^--envs: 0 is not allowed .*\[1, 1048576\]/);
    expect(() => resolveConfig({ gamma: 1.5 })).toThrow(/--gamma: 1.5 .*\[0, 1\]/);
    expect(() => resolveConfig({ algo: 'dqn' as never })).toThrow(/--algo: "dqn" .*one of ppo, ppo-kl, trpo, reinforce/);
    expect(() => resolveConfig({ minibatch: 20000 })).toThrow(/--minibatch: 20000 is larger than the 10000 samples/);
    expect(() => parseTrainArgs(['--lr', 'fast'])).toThrow(ConfigError);
    expect(() => parseTrainArgs(['--nope', '1'])).toThrow(/unknown flag --nope/);
    expect(parseTrainArgs(['--envs=32', '--truncation-as-terminal', '--seed', '4']).overrides).toEqual({ numEnvs: 32, truncationAsTerminal: true, seed: 4 });
  });

  it('derives the rollout shape once', () => {
    const c = resolveConfig({ preset: 'seed', numEnvs: 16 });
    expect(c.derived).toMatchObject({ stepsPerEnv: 625, batchSize: 10000, minibatches: 78 });
    expect(c).toMatchObject({ gamma: 0.99, lambda: 1, lr: 1e-3, epochs: 10, minibatch: 128, clip: 0.2 });
  });
});

describe('train CLI', () => {
  it('refuses bad flags before any GPU work, exit code 2, one line', async () => {
    const script = await bundleForNode('src/cli/train.ts');
    for (const args of [['--envs', '-3'], ['--algo', 'sarsa'], ['--gamma'], ['--bogus']]) {
      const r = await runNode(script, args, { env: { VK_ICD_FILENAMES: '/nonexistent.json', WEBGPU_RL_ADAPTER: 'lavapipe' } });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^train: (unknown flag )?--/);
    }
  });

  it('trains, prints JSON lines with the contract fields, saves and evaluates a checkpoint', async () => {
    const script = await bundleForNode('src/cli/train.ts');
    const { mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'webgpu-rl-')), 'ppo.json');
    // With --lr-anneal: its checkpoint must evaluate too (evaluation has no step plan to anneal over).
    const r = await runNode(script, ['--envs', '32', '--steps-per-iter', '1024', '--epochs', '2', '--minibatch', '256', '--iters', '2', '--lr-anneal', '--json', '--save', file], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    for (const field of ['iter', 'env_steps', 'mean_return', 'episodes', 'approx_kl', 'entropy', 'policy_loss', 'value_loss', 'sps', 'wall_s']) {
      expect(lines[0]).toHaveProperty(field);
    }
    expect(lines[2].done).toBe(true);
    expect(r.stderr).toMatch(/iter +1 +steps 2,048/);
    const evalScript = await bundleForNode('src/cli/eval.ts');
    const e = await runNode(evalScript, ['--load', file, '--episodes', '8', '--json'], { timeoutMs: 120_000 });
    expect(e.code, e.stderr).toBe(0);
    const result = JSON.parse(e.stdout.split('\n')[0]);
    expect(result.episodes).toBe(8);
    expect(result.env).toBe('CartPole-v1');
    expect(result.mean_return).toBeGreaterThan(5);
    // Sampled and deterministic (the distribution's mode) returns, as evaluatePolicy gives them for the CLI's default seed.
    const gpu = await testGpu();
    const checkpoint = parseCheckpoint(readFileSync(file, 'utf8'));
    const sampled = await evaluatePolicy(gpu, checkpoint, { episodes: 8, seed: 12345, greedy: false });
    const deterministic = await evaluatePolicy(gpu, checkpoint, { episodes: 8, seed: 12345, greedy: true });
    expect([result.mean_return, result.std_return]).toEqual([sampled.mean, sampled.std]);
    expect([result.mean_return_deterministic, result.std_return_deterministic]).toEqual([deterministic.mean, deterministic.std]);
  });
});
