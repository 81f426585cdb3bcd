// Resume semantics: --iters on resume counts the iterations after the
// checkpoint, and the learning-rate schedule ends at --total-steps when given
// (else --iters after the start), so 2 iterations saved and 2 resumed equal 4
// straight, bit for bit, with every option on; and the CLI's summary counts
// the iterations it reported.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { makeTrainer, type Trainer } from '../src/train/trainer';
import { resolveConfig, type TrainConfig } from '../src/core/config';
import { parseCheckpoint, serializeCheckpoint } from '../src/train/checkpoint';
import type { IterationMetrics } from '../src/core/metrics';
import { bundleForNode, runNode } from './node-child';
import { testGpu } from './helpers';

const SHAPE = { numEnvs: 16, stepsPerIter: 512, minibatch: 128, epochs: 3, hidden: 16, cgIters: 4, backtracks: 4, valueSteps: 3, seed: 17 } as const;
const BATCH = 512;

// Every option that changes what an iteration computes.
const EVERY_OPTION: Record<'ppo' | 'ppo-kl' | 'trpo', Partial<TrainConfig>> = {
  ppo: { lrAnneal: true, maxGradNorm: 0.5, targetKl: 0.02, advantageNorm: 'minibatch', valueClip: 0.2, entCoef: 0.01, init: 'orthogonal', lambda: 0.95, normObs: true, normReward: true },
  'ppo-kl': { lrAnneal: true, maxGradNorm: 0.5, advantageNorm: 'none', entCoef: 0.01, klTarget: 0.005, klCoef: 0.5 },
  trpo: { lrAnneal: true, lineSearchKlCheck: true, advantageNorm: 'batch', init: 'orthogonal', truncationAsTerminal: true, damping: 0.01, normObs: true },
};

const strip = (m: IterationMetrics) => ({ ...m, sps: 0, wall_s: 0 });

async function steps(trainer: Trainer, n: number): Promise<IterationMetrics[]> {
  const out: IterationMetrics[] = [];
  for (let i = 0; i < n; i++) out.push(await trainer.step());
  return out;
}

async function expectSameState(a: Trainer, b: Trainer) {
  const [ca, cb] = [await a.checkpoint([]), await b.checkpoint([])];
  expect(Object.keys(cb.arrays).sort()).toEqual(Object.keys(ca.arrays).sort());
  for (const [name, x] of Object.entries(ca.arrays)) expect(Buffer.from(cb.arrays[name].buffer).equals(Buffer.from(x.buffer)), name).toBe(true);
}

describe('2 + 2 iterations equal 4', () => {
  for (const [algo, options] of Object.entries(EVERY_OPTION) as [keyof typeof EVERY_OPTION, Partial<TrainConfig>][]) {
    it(`${algo}, every option on, learning rates annealed over --total-steps`, async () => {
      const gpu = await testGpu();
      const base = { ...SHAPE, ...options, algo, totalSteps: 4 * BATCH };
      const straight = await makeTrainer(gpu, resolveConfig(base));
      const four = await steps(straight, 4);

      const first = await makeTrainer(gpu, resolveConfig({ ...base, iters: 2 }));
      const two = await steps(first, 2);
      const saved = parseCheckpoint(serializeCheckpoint(await first.checkpoint(two)));
      first.destroy();
      // As the CLI resumes: the checkpoint's config, then --iters 2.
      const resumed = await makeTrainer(gpu, resolveConfig({ ...saved.config, iters: 2 }));
      await resumed.restore(saved);
      const more = await steps(resumed, 2);

      expect([...two, ...more].map(strip)).toEqual(four.map(strip));
      // The schedule really anneals: the resumed iterations update the policy.
      for (const m of more) expect(m.approx_kl).toBeGreaterThan(0);
      await expectSameState(straight, resumed);
      straight.destroy();
      resumed.destroy();
    });
  }

  it('without --total-steps, --iters counts from the checkpoint and the schedule continues to the new end', async () => {
    const gpu = await testGpu();
    const config = resolveConfig({ ...SHAPE, algo: 'ppo', lrAnneal: true, iters: 2 });
    const first = await makeTrainer(gpu, config);
    const two = await steps(first, 2);
    const saved = await first.checkpoint(two);
    const next = await makeTrainer(gpu, resolveConfig({ ...saved.config, iters: 2 }));
    await next.restore(saved);
    const more = await steps(next, 2);
    // Annealing over 0..2 would leave a learning rate of 0 here (the approx_kl 0).
    for (const m of more) expect(m.approx_kl).toBeGreaterThan(0);
    // Iteration 3 of 4 runs at a quarter of the rate, so it moves the policy less than iteration 2 at half.
    expect(more[1].approx_kl).toBeLessThan(more[0].approx_kl);
    first.destroy();
    next.destroy();
  });
});

describe('train CLI resume and summary', () => {
  it('--iters 2 --save, then --load --iters 2, prints what a straight 4-iteration run prints', async () => {
    const script = await bundleForNode('src/cli/train.ts');
    const dir = mkdtempSync(join(tmpdir(), 'webgpu-rl-'));
    const file = join(dir, 'h.json');
    const shape = ['--envs', '16', '--steps-per-iter', '512', '--minibatch', '128', '--epochs', '2', '--hidden', '16', '--lr-anneal', '--total-steps', String(4 * BATCH), '--json'];
    const lines = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const timeless = (m: Record<string, unknown>) => ({ ...m, sps: 0, wall_s: 0 });
    const straight = await runNode(script, shape, { timeoutMs: 120_000 });
    expect(straight.code, straight.stderr).toBe(0);
    const a = await runNode(script, [...shape, '--iters', '2', '--save', file], { timeoutMs: 120_000 });
    expect(a.code, a.stderr).toBe(0);
    const b = await runNode(script, ['--load', file, '--iters', '2', '--json'], { timeoutMs: 120_000 });
    expect(b.code, b.stderr).toBe(0);
    const four = lines(straight.stdout);
    const [two, more] = [lines(a.stdout), lines(b.stdout)];
    expect([...two.slice(0, 2), ...more.slice(0, 2)].map(timeless)).toEqual(four.slice(0, 4).map(timeless));
    expect(more[2]).toMatchObject({ done: true, iterations: 2, env_steps: 4 * BATCH });
  });

  it('after divergence, the summary counts the iterations reported', async () => {
    const script = await bundleForNode('src/cli/train.ts');
    const dir = mkdtempSync(join(tmpdir(), 'webgpu-rl-'));
    const file = join(dir, 'big.json');
    const shape = ['--envs', '16', '--steps-per-iter', '256', '--minibatch', '128', '--epochs', '1', '--hidden', '16', '--json'];
    const a = await runNode(script, [...shape, '--iters', '1', '--save', file], { timeoutMs: 120_000 });
    expect(a.code, a.stderr).toBe(0);
    // Finite but huge value weights: the value pass overflows and the advantages stop being finite.
    const checkpoint = parseCheckpoint(readFileSync(file, 'utf8'));
    checkpoint.arrays.value = checkpoint.arrays.value.map(() => 3e38);
    writeFileSync(file, serializeCheckpoint(checkpoint));
    const b = await runNode(script, ['--load', file, '--iters', '5', '--json'], { timeoutMs: 120_000 });
    expect(b.code, b.stderr).toBe(1);
    const out = b.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const reported = out.filter((l) => !('done' in l));
    const summary = out[out.length - 1];
    // The iteration behind the failing one was already queued; neither is counted.
    const steps = reported.length ? reported[reported.length - 1].env_steps : 256;
    expect(summary).toMatchObject({ done: true, iterations: reported.length, env_steps: steps });
    expect(summary.error).toMatch(/diverged at iteration/);
    expect(b.stderr).toContain(`finished ${reported.length} iterations`);
  });
});
