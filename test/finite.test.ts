// NaN never hides: the GPU finiteness check against a host reference (bit
// patterns a float test could miss included), the trainer stopping within the
// iteration a NaN or infinity appears in any checked tensor, naming it, and
// restore refusing non-finite checkpoint arrays before writing anything.
import { describe, expect, it } from 'vitest';
import { FiniteCheck } from '../src/kernels/finite';
import { readFloat32, storageBuffer, submitPass } from '../src/gpu/buffers';
import { makeTrainer } from '../src/train/trainer';
import { resolveConfig } from '../src/core/config';
import { metricSlot } from '../src/core/metrics';
import type { Checkpoint } from '../src/train/checkpoint';
import { seededRandom, testGpu } from './helpers';

const TINY = { numEnvs: 16, stepsPerIter: 256, epochs: 2, minibatch: 64, hidden: 16, cgIters: 3, backtracks: 3, valueSteps: 2, seed: 9 } as const;

/** f32 values from raw bits, so NaN payloads survive. */
function fromBits(bits: number[]): Float32Array {
  return new Float32Array(Uint32Array.from(bits).buffer);
}

describe('FiniteCheck', () => {
  it('flags exactly the tensors holding NaN or ±inf, whatever their bits, and keeps earlier bits', async () => {
    const gpu = await testGpu();
    const rand = seededRandom(5);
    // Sizes around the partial counts (one partial, exactly 256 per partial, many partials), with offsets.
    const sizes = [1, 255, 256 * 17 + 3, 300_001, 40, 7];
    const offsets = [0, 3, 0, 17, 1, 0];
    const specials: (number[] | null)[] = [
      [0x7fc00000], // quiet NaN
      null, // all finite, with the extremes below
      [0xff800000], // −inf
      [0x7f800001], // signalling NaN, smallest payload
      [0xffffffff], // negative NaN, largest payload
      [0x7f800000], // +inf
    ];
    const finiteExtremes = fromBits([0x7f7fffff, 0xff7fffff, 0x00000001, 0x80000000, 0x00800000]); // ±max, subnormal, −0, smallest normal
    const hosts = sizes.map((n, k) => {
      const a = new Float32Array(offsets[k] + n);
      for (let i = 0; i < a.length; i++) a[i] = (rand() - 0.5) * 1e6;
      a.set(finiteExtremes.subarray(0, Math.min(finiteExtremes.length, n)), offsets[k]);
      // Non-finite values before the checked range must not count.
      if (offsets[k] > 0) a[0] = NaN;
      const bad = specials[k];
      if (bad) a.set(fromBits(bad), offsets[k] + Math.floor(rand() * n));
      return a;
    });
    const buffers = hosts.map((a, k) => storageBuffer(gpu, `test.tensor${k}`, a));
    const flags = storageBuffer(gpu, 'test.flags', Float32Array.of(7, 0, 7, 7));
    const check = await FiniteCheck.create(gpu, {
      tensors: hosts.map((_, k) => ({ name: `t${k}`, buffer: buffers[k], count: sizes[k], offset: offsets[k] })),
      flags,
      flagIndex: 1,
    });
    // The reference: Number.isFinite over each checked range.
    const expected = hosts.map((a, k) => `t${k}`).filter((_, k) => !hosts[k].subarray(offsets[k], offsets[k] + sizes[k]).every(Number.isFinite));
    expect(expected).toEqual(['t0', 't2', 't3', 't4', 't5']);
    submitPass(gpu, 'test.finite', (pass) => check.encode(pass));
    const first = await readFloat32(gpu, flags);
    expect(check.tensorsIn(first[1])).toEqual(expected);
    expect([first[0], first[2], first[3]]).toEqual([7, 7, 7]);

    // Fixing the tensors clears nothing: the bits stay set until the slot is written.
    for (let k = 0; k < hosts.length; k++) gpu.device.queue.writeBuffer(buffers[k], 0, new Float32Array(hosts[k].length));
    gpu.device.queue.writeBuffer(flags, 4, Float32Array.of(0));
    submitPass(gpu, 'test.finite', (pass) => check.encode(pass));
    expect((await readFloat32(gpu, flags))[1]).toBe(0);
    gpu.device.queue.writeBuffer(buffers[1], 4 * (offsets[1] + 254), Float32Array.of(Infinity));
    gpu.device.queue.writeBuffer(flags, 4, Float32Array.of(first[1]));
    submitPass(gpu, 'test.finite', (pass) => check.encode(pass));
    expect(check.tensorsIn((await readFloat32(gpu, flags))[1])).toEqual([...expected.slice(0, 1), 't1', ...expected.slice(1)]);

    check.destroy();
    for (const b of [...buffers, flags]) b.destroy();
  });

  it('refuses more tensors than an f32 flag has exact bits, and ranges outside their buffer', async () => {
    const gpu = await testGpu();
    const buffer = storageBuffer(gpu, 'test.tensor', 64);
    const flags = storageBuffer(gpu, 'test.flags', 16);
    const tensors = Array.from({ length: 25 }, (_, k) => ({ name: `t${k}`, buffer, count: 16 }));
    await expect(FiniteCheck.create(gpu, { tensors, flags, flagIndex: 0 })).rejects.toThrow(/25 tensors to check/);
    await expect(FiniteCheck.create(gpu, { tensors: [{ name: 'big', buffer, count: 17 }], flags, flagIndex: 0 })).rejects.toThrow(/tensor big/);
    await expect(FiniteCheck.create(gpu, { tensors: [{ name: 't', buffer, count: 4 }], flags, flagIndex: 4 })).rejects.toThrow(/flag index 4/);
    buffer.destroy();
    flags.destroy();
  });
});

describe('trainer finiteness', () => {
  const cases: { algo: 'ppo' | 'trpo' | 'reinforce'; tensor: string; index: (count: number) => number; value: number }[] = [
    // Hidden-layer weights and biases: the forward's tanh(clamp(x)) can turn their NaN into a finite output.
    { algo: 'ppo', tensor: 'policy', index: () => 4 * 16 + 16 + 5, value: NaN }, // layer 1 weight
    { algo: 'ppo', tensor: 'value', index: () => 4 * 16 + 3, value: Infinity }, // layer 0 bias
    { algo: 'ppo', tensor: 'policy.adam.m', index: (n) => n - 1, value: NaN },
    { algo: 'ppo', tensor: 'value.adam.v', index: () => 0, value: -Infinity },
    { algo: 'ppo', tensor: 'env.currentObs', index: () => 2, value: NaN },
    { algo: 'ppo', tensor: 'env.slots', index: (n) => n - 3, value: NaN },
    { algo: 'trpo', tensor: 'policy', index: () => 4 * 16 + 16 * 16 + 2, value: NaN }, // layer 1 bias
    { algo: 'trpo', tensor: 'value.adam.m', index: () => 7, value: Infinity },
    { algo: 'reinforce', tensor: 'policy.adam.v', index: () => 11, value: NaN },
  ];
  for (const c of cases) {
    it(`${c.algo}: ${c.value} in ${c.tensor} stops the next iteration, naming it; a restore clears it`, async () => {
      const gpu = await testGpu();
      const trainer = await makeTrainer(gpu, resolveConfig({ ...TINY, algo: c.algo }));
      const history = [await trainer.step()];
      const saved = await trainer.checkpoint(history);
      const healthy = await trainer.step();
      await trainer.restore(saved);

      const buffer = trainer.checkedTensors[c.tensor];
      expect(buffer, `checked tensors: ${Object.keys(trainer.checkedTensors).join(', ')}`).toBeDefined();
      gpu.device.queue.writeBuffer(buffer, 4 * c.index(buffer.size / 4), Float32Array.of(c.value));
      const error: Error = await trainer.step().then(
        () => expect.fail('the step should have been refused'),
        (e: Error) => e,
      );
      const match = /^training diverged at iteration 1: NaN or infinite values in (.*)$/.exec(error.message);
      expect(match, error.message).not.toBeNull();
      expect(match![1].split(', ')).toContain(c.tensor);
      // Diverged stays diverged.
      await expect(trainer.step()).rejects.toThrow(/training diverged at iteration 2/);

      await trainer.restore(saved);
      const again = await trainer.step();
      expect({ ...again, sps: 0, wall_s: 0 }).toEqual({ ...healthy, sps: 0, wall_s: 0 });
      trainer.destroy();
    });
  }

  it('restore refuses any checkpoint array holding NaN or ±inf, naming it, and changes nothing', async () => {
    const gpu = await testGpu();
    const trainer = await makeTrainer(gpu, resolveConfig({ ...TINY, algo: 'ppo' }));
    const history = [await trainer.step()];
    const saved = await trainer.checkpoint(history);
    const next = await trainer.step();
    const before = await trainer.checkpoint([...history, next]);
    for (const [name, array] of Object.entries(saved.arrays)) {
      for (const value of [NaN, Infinity, -Infinity]) {
        const broken: Checkpoint = { ...saved, arrays: { ...saved.arrays, [name]: array.map((x, i) => (i === array.length - 1 ? value : x)) } };
        await expect(trainer.restore(broken), name).rejects.toThrow(`checkpoint: array "${name}" holds ${value} at index ${array.length - 1}`);
      }
    }
    // Nothing was written: the state is the one after the second step.
    const after = await trainer.checkpoint([...history, next]);
    for (const [name, a] of Object.entries(before.arrays)) expect(Buffer.from(after.arrays[name].buffer).equals(Buffer.from(a.buffer)), name).toBe(true);
    trainer.destroy();
  });

  it('restores metrics blocks saved before the finiteness slot existed', async () => {
    const gpu = await testGpu();
    const trainer = await makeTrainer(gpu, resolveConfig({ ...TINY, algo: 'ppo-kl' }));
    const saved = await trainer.checkpoint([await trainer.step()]);
    const continued = await trainer.step();
    const legacy: Checkpoint = { ...saved, arrays: { ...saved.arrays, metrics: saved.arrays.metrics.slice(0, metricSlot('non_finite')) } };
    await trainer.restore(legacy);
    const resumed = await trainer.step();
    expect({ ...resumed, sps: 0, wall_s: 0 }).toEqual({ ...continued, sps: 0, wall_s: 0 });
    trainer.destroy();
  });
});
