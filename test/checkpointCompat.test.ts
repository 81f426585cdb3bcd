// Checkpoints written before the env state moved into the rollout's env slots
// (format version 1, CartPole only) still load and resume bit for bit (on lavapipe, which recorded them).
// The fixture was saved by the engine of that time (commit 7794072) after 2
// iterations; `.next.json` is iteration 2 of the same run trained straight
// through, without the timing fields.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTrainer, envSlotsFromCheckpoint } from '../src/train/trainer';
import { resolveConfig } from '../src/core/config';
import { parseCheckpoint } from '../src/train/checkpoint';
import { testGpu } from './helpers';

const fixtures = join(__dirname, 'fixtures');

describe('checkpoints from before the env state rows', () => {
  it('rebuild the state rows from the observations (CartPole: state = observation)', () => {
    const N = 2;
    const slots = Float32Array.from({ length: 5 * N }, (_, i) => i);
    const obs = Float32Array.of(0.1, 0.2, 0.3, 0.4, 1.1, 1.2, 1.3, 1.4);
    const full = envSlotsFromCheckpoint(slots, obs, 5 + 4, N);
    expect([...full.subarray(0, 5 * N)]).toEqual([...slots]);
    // Row 5 + c holds component c of every env.
    expect([...full.subarray(5 * N)]).toEqual([...Float32Array.of(0.1, 1.1, 0.2, 1.2, 0.3, 1.3, 0.4, 1.4)]);
    expect(() => envSlotsFromCheckpoint(new Float32Array(7), obs, 9, N)).toThrow(/"env.slots" has 7 values, this configuration needs 18/);
  });

  // The fixture's run was recorded on lavapipe: there the resumed iteration is the same
  // bits. Another adapter's kernels (SwiftShader's `tiles` shape) add the same gradients in
  // another order, so its update differs in the last bits: there the rollout's fields
  // (steps, episodes, returns, which the restored env state and weights decide) must still
  // be exact, and the update's within 1e-7 absolute + 1e-3 relative (measured on
  // SwiftShader: approx_kl and policy_loss off by 5e-9 and 5e-8).
  it('resume where the old engine left off, bit for bit on the adapter that recorded it', async () => {
    const gpu = await testGpu();
    const checkpoint = parseCheckpoint(readFileSync(join(fixtures, 'checkpoint_v1_cartpole.json'), 'utf8'));
    const expected = JSON.parse(readFileSync(join(fixtures, 'checkpoint_v1_cartpole.next.json'), 'utf8'));
    const trainer = await makeTrainer(gpu, resolveConfig(checkpoint.config));
    const recorder = gpu.adapter.backend === 'lavapipe';
    const rollout = new Set(['iter', 'env_steps', 'mean_return', 'episodes']);
    try {
      await trainer.restore(checkpoint);
      const metrics = await trainer.step();
      for (const [field, value] of Object.entries(expected)) {
        const actual = metrics[field as keyof typeof metrics];
        if (recorder || rollout.has(field) || typeof value !== 'number') expect(actual, field).toBe(value);
        else expect(Math.abs((actual as number) - value), field).toBeLessThanOrEqual(1e-7 + 1e-3 * Math.abs(value));
      }
    } finally {
      trainer.destroy();
    }
  });
});
