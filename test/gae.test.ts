import { describe, expect, it } from 'vitest';
import { Gae } from '../src/kernels/gae';
import { gaeReference } from '../src/reference/gae';
import { storageBuffer, readFloat32, submitPass } from '../src/gpu/buffers';
import { testGpu, seededRandom, randomArray, expectClose } from './helpers';

/**
 * Done flags as a time-limited env produces them: each env's elapsed count
 * starts anywhere below maxEpisodeSteps, ~8% of steps terminate, and a step
 * truncates when the count reaches maxEpisodeSteps (sometimes while also
 * terminating). maxEpisodeSteps = 1: every step may truncate, flags drawn freely.
 */
function doneFlagsOf(numEnvs: number, numSteps: number, maxEpisodeSteps: number, rand: () => number): Uint32Array {
  const flags = new Uint32Array(numEnvs * numSteps);
  for (let env = 0; env < numEnvs; env++) {
    let elapsed = Math.floor(rand() * maxEpisodeSteps);
    for (let t = 0; t < numSteps; t++) {
      const u = rand();
      const terminated = u < 0.08;
      const truncated = maxEpisodeSteps === 1 ? u > 0.87 || u < 0.01 : ++elapsed >= maxEpisodeSteps;
      flags[t * numEnvs + env] = (terminated ? 1 : 0) | (truncated ? 2 : 0);
      if (terminated || truncated) elapsed = 0;
    }
  }
  return flags;
}

describe('GAE kernel vs float64 reverse loop (rtol 1e-5, atol 1e-4)', () => {
  // sharedBuffer: the final values sit in the values buffer after its T+1 rows, as the trainer keeps them.
  for (const [numEnvs, numSteps, truncationAsTerminal, lambda, maxEpisodeSteps, sharedBuffer] of [
    [7, 50, false, 0.95, 7, true],
    [64, 33, true, 1.0, 5, true],
    [130, 5, false, 1.0, 1, false],
    [33, 40, false, 0.9, 4, false],
  ] as const) {
    it(`N=${numEnvs} T=${numSteps} truncationAsTerminal=${truncationAsTerminal} lambda=${lambda} maxEpisodeSteps=${maxEpisodeSteps} final values ${sharedBuffer ? 'after the values' : 'in their own buffer'}`, async () => {
      const gpu = await testGpu();
      const rand = seededRandom(numEnvs * 1000 + numSteps);
      const n = numEnvs * numSteps;
      const rewards = randomArray(n, rand, 0, 2);
      const doneFlags = doneFlagsOf(numEnvs, numSteps, maxEpisodeSteps, rand);
      const values = randomArray(n + numEnvs, rand, -5, 5);
      // One slot per (env, block of maxEpisodeSteps steps); slots no bootstrapped truncation uses hold NaN, so reading one fails the test.
      const slots = Math.ceil(numSteps / maxEpisodeSteps) * numEnvs;
      const slotValues = new Float64Array(slots).fill(NaN);
      const finalValuesDense = new Float64Array(n);
      const perEnv = new Uint32Array(numEnvs);
      for (let t = 0; t < numSteps; t++) {
        for (let env = 0; env < numEnvs; env++) {
          if (doneFlags[t * numEnvs + env] !== 2) continue;
          const slot = Math.floor(t / maxEpisodeSteps) * numEnvs + env;
          expect(Number.isNaN(slotValues[slot]), `slot ${slot} used twice`).toBe(true);
          slotValues[slot] = finalValuesDense[t * numEnvs + env] = Math.fround(-5 + 10 * rand());
          perEnv[env]++;
        }
      }
      // The slot indirection is exercised: some env bootstraps from several truncations.
      expect(Math.max(...perEnv)).toBeGreaterThan(1);
      const f32 = (a: Float64Array) => new Float32Array(a);
      const finalValuesOffset = sharedBuffer ? values.length : 0;
      const valuesBuffer = storageBuffer(gpu, 'values', f32(sharedBuffer ? Float64Array.of(...values, ...slotValues) : values));
      const buffers = {
        rewards: storageBuffer(gpu, 'rewards', f32(rewards)),
        doneFlags: storageBuffer(gpu, 'doneFlags', doneFlags),
        values: valuesBuffer,
        finalValues: sharedBuffer ? valuesBuffer : storageBuffer(gpu, 'finalValues', f32(slotValues)),
        advantages: storageBuffer(gpu, 'advantages', n * 4),
        returns: storageBuffer(gpu, 'returns', n * 4),
      };
      const options = { numEnvs, numSteps, gamma: 0.99, lambda, truncationAsTerminal };
      const gae = await Gae.create(gpu, buffers, { ...options, maxEpisodeSteps, finalValuesOffset });
      submitPass(gpu, 'gae.test', (pass) => gae.encode(pass));
      // The reference reads dense [T][N] final values; it sees the same float32-rounded inputs the GPU sees.
      const expected = gaeReference({ ...options, rewards: f32(rewards), doneFlags, values: f32(values), finalValues: finalValuesDense });
      expectClose(await readFloat32(gpu, buffers.advantages), expected.advantages, 1e-5, 1e-4, 'advantages');
      expectClose(await readFloat32(gpu, buffers.returns), expected.returns, 1e-5, 1e-4, 'returns');
      gae.destroy();
      for (const b of new Set(Object.values(buffers))) b.destroy();
    });
  }

  it('rejects a finalValues buffer too small for its slots', async () => {
    const gpu = await testGpu();
    const buffer = (floats: number) => storageBuffer(gpu, 'b', floats * 4);
    const [N, T] = [4, 10];
    const buffers = { rewards: buffer(N * T), doneFlags: buffer(N * T), values: buffer(N * (T + 1)), finalValues: buffer(N * 3), advantages: buffer(N * T), returns: buffer(N * T) };
    const options = { numEnvs: N, numSteps: T, gamma: 0.99, lambda: 0.95, truncationAsTerminal: false };
    // ceil(10 / 4) = 3 slots of N fit; an offset of 1 or a limit of 3 steps (4 slots) does not.
    (await Gae.create(gpu, buffers, { ...options, maxEpisodeSteps: 4 })).destroy();
    await expect(Gae.create(gpu, buffers, { ...options, maxEpisodeSteps: 4, finalValuesOffset: 1 })).rejects.toThrow(/finalValues buffer .* needs 52/);
    await expect(Gae.create(gpu, buffers, { ...options, maxEpisodeSteps: 3 })).rejects.toThrow(/finalValues buffer .* needs 64/);
    await expect(Gae.create(gpu, buffers, { ...options, maxEpisodeSteps: 0 })).rejects.toThrow(/maxEpisodeSteps must be an integer/);
    for (const b of Object.values(buffers)) b.destroy();
  });
});
