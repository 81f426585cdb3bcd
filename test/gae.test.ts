import { describe, it } from 'vitest';
import { Gae } from '../src/kernels/gae';
import { gaeReference } from '../src/reference/gae';
import { storageBuffer, readFloat32, submitPass } from '../src/gpu/buffers';
import { testGpu, seededRandom, randomArray, expectClose } from './helpers';

describe('GAE kernel vs float64 reverse loop (rtol 1e-5, atol 1e-4)', () => {
  for (const [numEnvs, numSteps, truncationAsTerminal, lambda] of [
    [7, 50, false, 0.95],
    [64, 33, true, 1.0],
    [130, 5, false, 1.0],
  ] as const) {
    it(`N=${numEnvs} T=${numSteps} truncationAsTerminal=${truncationAsTerminal} lambda=${lambda}`, async () => {
      const gpu = await testGpu();
      const rand = seededRandom(numEnvs * 1000 + numSteps);
      const n = numEnvs * numSteps;
      const rewards = randomArray(n, rand, 0, 2);
      // Random episode ends: ~8% terminated, ~4% truncated, some both.
      const doneFlags = new Uint32Array(n).map(() => {
        const u = rand();
        return u < 0.08 ? 1 : u < 0.12 ? 2 : u < 0.13 ? 3 : 0;
      });
      const values = randomArray(n + numEnvs, rand, -5, 5);
      const finalValues = randomArray(n, rand, -5, 5);
      const f32 = (a: Float64Array) => new Float32Array(a);
      const buffers = {
        rewards: storageBuffer(gpu, 'rewards', f32(rewards)),
        doneFlags: storageBuffer(gpu, 'doneFlags', doneFlags),
        values: storageBuffer(gpu, 'values', f32(values)),
        finalValues: storageBuffer(gpu, 'finalValues', f32(finalValues)),
        advantages: storageBuffer(gpu, 'advantages', n * 4),
        returns: storageBuffer(gpu, 'returns', n * 4),
      };
      const options = { numEnvs, numSteps, gamma: 0.99, lambda, truncationAsTerminal };
      const gae = await Gae.create(gpu, buffers, options);
      submitPass(gpu, 'gae.test', (pass) => gae.encode(pass));
      // The reference sees the same float32-rounded inputs the GPU sees.
      const expected = gaeReference({
        ...options,
        rewards: f32(rewards),
        doneFlags,
        values: f32(values),
        finalValues: f32(finalValues),
      });
      expectClose(await readFloat32(gpu, buffers.advantages), expected.advantages, 1e-5, 1e-4, 'advantages');
      expectClose(await readFloat32(gpu, buffers.returns), expected.returns, 1e-5, 1e-4, 'returns');
    });
  }
});
