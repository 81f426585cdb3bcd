import { describe, it, expect } from 'vitest';
import { PolicyKernels } from '../src/kernels/policy';
import { logProbEntropyReference, klReference, inverseCdf, logSoftmax } from '../src/reference/policy';
import { philox4x32, uniform01, STREAM_ACTION } from '../src/core/random';
import { storageBuffer, readFloat32, readInt32, submitPass } from '../src/gpu/buffers';
import { testGpu, seededRandom, randomArray, expectClose } from './helpers';

/** Random logits, with some rows of large spread (near-deterministic policies) to test stability. */
function randomLogits(rows: number, numActions: number, rand: () => number): Float32Array {
  const logits = new Float32Array(rows * numActions);
  for (let r = 0; r < rows; r++) {
    const spread = r % 5 === 0 ? 60 : 3;
    for (let a = 0; a < numActions; a++) logits[r * numActions + a] = spread * (2 * rand() - 1) + (r % 7 === 0 ? 500 : 0);
  }
  return logits;
}

describe('log-prob and entropy vs float64 (rtol 1e-5, atol 2e-6)', () => {
  for (const [rows, numActions] of [
    [1, 1],
    [130, 2],
    [77, 5],
    [9, 18],
  ] as const) {
    it(`${rows} rows × ${numActions} actions`, async () => {
      const gpu = await testGpu();
      const kernels = await PolicyKernels.create(gpu);
      const rand = seededRandom(rows * 100 + numActions);
      const logits = randomLogits(rows, numActions, rand);
      const actions = Int32Array.from({ length: rows }, () => Math.floor(rand() * numActions));
      const logProb = storageBuffer(gpu, 'test.logProb', rows * 4);
      const entropy = storageBuffer(gpu, 'test.entropy', rows * 4);
      const op = kernels.logProbEntropy({
        rows,
        numActions,
        logits: storageBuffer(gpu, 'test.logits', logits),
        actions: storageBuffer(gpu, 'test.actions', actions),
        logProb,
        entropy,
        label: 'test.logProbEntropy',
      });
      submitPass(gpu, 'test', (pass) => op.encode(pass));
      const expected = logProbEntropyReference(logits, actions, rows, numActions);
      expectClose(await readFloat32(gpu, logProb, 0, rows), expected.logProb, 1e-5, 2e-6, 'logProb');
      expectClose(await readFloat32(gpu, entropy, 0, rows), expected.entropy, 1e-5, 2e-6, 'entropy');
    });
  }
});

describe('KL(old ‖ new) vs float64 (rtol 1e-4, atol 2e-6)', () => {
  for (const [rows, numActions] of [
    [130, 2],
    [33, 7],
  ] as const) {
    it(`${rows} rows × ${numActions} actions, small and large policy changes`, async () => {
      const gpu = await testGpu();
      const kernels = await PolicyKernels.create(gpu);
      const rand = seededRandom(rows + numActions);
      const logitsOld = randomLogits(rows, numActions, rand);
      // Row r moves by a factor 10^-(r % 4): from tiny updates (KL ~ 1e-7) to large ones.
      const logitsNew = logitsOld.map((l, k) => l + 10 ** -(Math.floor(k / numActions) % 4) * (2 * rand() - 1));
      const kl = storageBuffer(gpu, 'test.kl', rows * 4);
      const op = kernels.kl({
        rows,
        numActions,
        logitsOld: storageBuffer(gpu, 'test.logitsOld', logitsOld),
        logitsNew: storageBuffer(gpu, 'test.logitsNew', logitsNew),
        kl,
        label: 'test.kl',
      });
      submitPass(gpu, 'test', (pass) => op.encode(pass));
      expectClose(await readFloat32(gpu, kl, 0, rows), klReference(logitsOld, logitsNew, rows, numActions), 1e-4, 2e-6, 'kl');
    });
  }
});

describe('categorical sampler', () => {
  async function sample(logits: Float32Array, rows: number, numActions: number, seed: number, t: number, iteration = 0) {
    const gpu = await testGpu();
    const kernels = await PolicyKernels.create(gpu);
    const actions = storageBuffer(gpu, 'test.sampled', rows * 4);
    const logProb = storageBuffer(gpu, 'test.sampledLogProb', rows * 4);
    const sampler = kernels.sampler({ rows, numActions, logits: storageBuffer(gpu, 'test.logits', logits), actions, logProb, seed, steps: 4, label: 'test.sampler' });
    if (iteration) sampler.setIteration(iteration);
    submitPass(gpu, 'test', (pass) => sampler.encode(pass, t));
    return { actions: await readInt32(gpu, actions, 0, rows), logProb: await readFloat32(gpu, logProb, 0, rows), sampler };
  }

  it('frequencies match known probabilities (chi-square, 3 dof, below the p = 0.001 quantile 16.27), over several steps', async () => {
    const probabilities = [0.1, 0.2, 0.3, 0.4];
    const rows = 4000;
    const logits = new Float32Array(rows * 4).map((_, k) => Math.log(probabilities[k % 4]) + 3);
    for (const t of [0, 3]) {
      const { actions } = await sample(logits, rows, 4, 1234, t);
      const counts = [0, 0, 0, 0];
      for (const a of actions) counts[a]++;
      const chiSquare = probabilities.reduce((s, p, a) => s + (counts[a] - rows * p) ** 2 / (rows * p), 0);
      expect(chiSquare, `t=${t} counts ${counts}`).toBeLessThan(16.27);
    }
  });

  it('equals the float64 inverse CDF of the same Philox uniforms; logProb of the sampled action (rtol 1e-5, atol 2e-6)', async () => {
    const rows = 500;
    const numActions = 5;
    const seed = 77;
    const t = 2;
    const iteration = 9;
    const logits = randomLogits(rows, numActions, seededRandom(5));
    const { actions, logProb } = await sample(logits, rows, numActions, seed, t, iteration);
    let compared = 0;
    for (let r = 0; r < rows; r++) {
      const u = uniform01(philox4x32([r, t, iteration, 0], [seed, STREAM_ACTION])[0]);
      // Skip draws within f32 rounding of a CDF boundary, where either side is right.
      const lp = logSoftmax(logits, r * numActions, numActions);
      let cdf = 0;
      let nearBoundary = false;
      for (const l of lp) {
        cdf += Math.exp(l);
        nearBoundary ||= Math.abs(u - cdf) < 1e-5;
      }
      if (nearBoundary) continue;
      compared++;
      expect(actions[r], `row ${r}`).toBe(inverseCdf(logits, r * numActions, numActions, u));
    }
    expect(compared).toBeGreaterThan(rows * 0.95);
    const expectedLogProb = Array.from(actions, (a, r) => logSoftmax(logits, r * numActions, numActions)[a]);
    expectClose(logProb, expectedLogProb, 1e-5, 2e-6, 'logProb of sampled actions');
  });

  it('is bit-identical with the same seed and step, different with another seed or step', async () => {
    const rows = 256;
    const logits = randomLogits(rows, 3, seededRandom(8)).map((l) => l / 20);
    const first = await sample(logits, rows, 3, 5, 1);
    const again = await sample(logits, rows, 3, 5, 1);
    expect(again.actions).toEqual(first.actions);
    expect(new Uint32Array(again.logProb.buffer)).toEqual(new Uint32Array(first.logProb.buffer));
    expect((await sample(logits, rows, 3, 6, 1)).actions).not.toEqual(first.actions);
    expect((await sample(logits, rows, 3, 5, 2)).actions).not.toEqual(first.actions);
    expect(() => first.sampler.encode({} as GPUComputePassEncoder, 4)).toThrow(/step 4 is outside 0..3/);
  });
});
