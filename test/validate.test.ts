/**
 * Validate mode (`requestGpu({ validate: true })`): a GPU error is reported
 * once, named after the call that caused it, and the context keeps working.
 * A destroyed raw buffer bound to GAE fails at submit; the next sync names
 * `gae.encode`, and the next correct scan on the same context matches the
 * float64 reverse loop (rtol 1e-5, atol 1e-5). Reads reject with their own
 * call's name. The probes execute nothing: training in validate mode gives
 * bit-identical metrics and weights.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestGpu, type GpuContext } from '../src/gpu/device';
import { Gae, packDoneFlags } from '../src/kernels/gae';
import { gaeReference } from '../src/reference/gae';
import { readBytes, readFloat32, storageBuffer } from '../src/gpu/buffers';
import { resolveConfig } from '../src/core/config';
import { ALGOS } from '../src/core/algorithms';
import { makeTrainer } from '../src/train/trainer';
import { expectClose, randomArray, seededRandom } from './helpers';

let gpu: GpuContext;
beforeAll(async () => {
  gpu = await requestGpu({ quiet: true, validate: true });
});
afterAll(() => gpu?.destroy());

const numEnvs = 6;
const numSteps = 5;
const options = { numEnvs, numSteps, gamma: 0.99, lambda: 0.95, truncationAsTerminal: true };

/** One scan's inputs, seeded. */
function inputs(seed: number) {
  const rand = seededRandom(seed);
  const n = numEnvs * numSteps;
  const rewards = randomArray(n, rand, 0, 2);
  const values = randomArray(n + numEnvs, rand, -3, 3);
  const terminated = Array.from({ length: n }, () => rand() < 0.1);
  const truncated = Array.from({ length: n }, () => rand() < 0.1);
  return { rewards, values, doneFlags: packDoneFlags(terminated, truncated) };
}

/** Records `gae` in a pass of the caller's own encoder and submits it, as a user's program does. */
function submitScan(gae: Gae): void {
  const encoder = gpu.device.createCommandEncoder({ label: 'user' });
  const pass = encoder.beginComputePass();
  gae.encode(pass);
  pass.end();
  gpu.device.queue.submit([encoder.finish()]);
}

describe('validate mode', () => {
  it('names the encode call whose dispatch used a destroyed buffer, once; the next scan is correct', async () => {
    expect(gpu.validate).toBe(true);
    const x = inputs(7);
    const rewards = storageBuffer(gpu, 'rewards', new Float32Array(x.rewards));
    const buffers = { rewards, doneFlags: storageBuffer(gpu, 'doneFlags', x.doneFlags), values: storageBuffer(gpu, 'values', new Float32Array(x.values)) };
    const broken = await Gae.create(gpu, buffers, options, 'gae');
    rewards.destroy();
    submitScan(broken);
    await expect(gpu.sync()).rejects.toThrow(/^gae\.encode: GPU validation error: .*rewards.*destroyed/);
    // Reported once: the caller's own submit failed for the same reason, and is not reported again.
    await expect(gpu.sync()).resolves.toBeUndefined();
    broken.destroy();

    const fixed = await Gae.create(gpu, { ...buffers, rewards: storageBuffer(gpu, 'rewards2', new Float32Array(x.rewards)) }, options, 'gae');
    submitScan(fixed);
    await gpu.sync();
    const expected = gaeReference({ ...options, rewards: x.rewards, values: x.values, doneFlags: x.doneFlags, finalValues: new Float64Array(numEnvs * numSteps) });
    expectClose(await fixed.arrays.advantages.read(), expected.advantages, 1e-5, 1e-5, 'advantages');
    expectClose(await fixed.arrays.returns.read(), expected.returns, 1e-5, 1e-5, 'returns');
    fixed.destroy();
  });

  it('a read of a destroyed buffer rejects naming the read; the next read works', async () => {
    const gone = storageBuffer(gpu, 'gone', new Float32Array([1, 2, 3, 4]));
    gone.destroy();
    await expect(readBytes(gpu, gone)).rejects.toThrow(/^readBytes\(gone\): GPU validation error: .*destroyed/);
    const kept = storageBuffer(gpu, 'kept', new Float32Array([1, 2, 3, 4]));
    expect([...(await readFloat32(gpu, kept))]).toEqual([1, 2, 3, 4]);
    kept.destroy();
  });

  it('is off by default; training with it on is bit-identical, every algorithm', async () => {
    const plain = await requestGpu({ quiet: true });
    expect(plain.validate).toBe(false);
    for (const algo of ALGOS) {
      const config = resolveConfig({ algo, numEnvs: 8, stepsPerIter: 128, epochs: 2, minibatch: 64, seed: 3 });
      const runs = [];
      for (const context of [plain, gpu]) {
        const trainer = await makeTrainer(context, config);
        // Everything but the timings (sps, wall_s).
        const metrics = [];
        for (let i = 0; i < 2; i++) {
          const { sps: _sps, wall_s: _wall, ...computed } = await trainer.step();
          metrics.push(computed);
        }
        runs.push({ metrics, policy: [...(await trainer.policy.readParams())] });
        trainer.destroy();
      }
      expect(runs[1], algo).toEqual(runs[0]);
    }
    plain.destroy();
  });
});
