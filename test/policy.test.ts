import { describe, it, expect } from 'vitest';
import randomWgsl from '../shaders/random.wgsl?raw';
import probeWgsl from './fixtures/distribution_probe.wgsl?raw';
import { PolicyKernels } from '../src/kernels/policy';
import { CATEGORICAL } from '../src/kernels/distribution';
import { ShaderFamily } from '../src/gpu/kernel';
import {
  logProbEntropyReference,
  klReference,
  inverseCdf,
  logSoftmax,
  gradLogProbReference,
  fisherWeightsReference,
} from '../src/reference/policy';
import { philox4x32, uniform01, STREAM_ACTION } from '../src/core/random';
import { storageBuffer, uniformBuffer, readFloat32, readInt32, submitPass } from '../src/gpu/buffers';
import { testGpu, seededRandom, expectClose } from './helpers';

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
    [9, 16],
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
    expect(() => first.sampler.encode({} as GPUComputePassEncoder, 4)).toThrow(/slot 4 is outside 0..3/);
  });

  it('refuses more actions than the distribution module holds', async () => {
    const gpu = await testGpu();
    const kernels = await PolicyKernels.create(gpu);
    const A = CATEGORICAL.maxParamsPerRow + 1;
    const buffer = storageBuffer(gpu, 'test.wide', 4 * A * 4);
    expect(() => kernels.kl({ rows: 4, numActions: A, logitsOld: buffer, logitsNew: buffer, kl: buffer, label: 'test.wide' })).toThrow(/takes rows of 1 to 16 parameters \(a multiple of 1\), got 17/);
  });
});

/** The probe's per-row outputs (test/fixtures/distribution_probe.wgsl OUT_*). */
const SCALARS = ['logProb', 'entropy', 'kl', 'inverseCdf', 'mode', 'updateLogProb', 'updateEntropy', 'updateKl'] as const;
const VECTORS = ['gradLogProb', 'fisherWeights', 'updateGradient'] as const;

interface ProbeInput {
  rows: number;
  count: number;
  logits: Float32Array;
  logitsOld: Float32Array;
  tangents: Float32Array;
  actions: Uint32Array;
  uniforms: Float32Array;
  weights: { wLogProb: number; wEntropy: number; wKl: number };
}

/** Every dist_* function of shaders/categorical.wgsl on each row, through the probe kernel. */
async function probe(o: ProbeInput) {
  const gpu = await testGpu();
  const family = await ShaderFamily.load(gpu, 'distribution_probe', [randomWgsl, CATEGORICAL.wgsl, probeWgsl]);
  const kernel = await family.kernel('probe');
  const scalars = storageBuffer(gpu, 'probe.scalars', o.rows * SCALARS.length * 4);
  const vectors = storageBuffer(gpu, 'probe.vectors', o.rows * VECTORS.length * o.count * 4);
  const group = kernel.bind({
    args: uniformBuffer(gpu, 'probe.args', family.struct('ProbeArgs').pack({ rows: o.rows, count: o.count, ...o.weights })),
    logits: storageBuffer(gpu, 'probe.logits', o.logits),
    logitsOld: storageBuffer(gpu, 'probe.logitsOld', o.logitsOld),
    tangents: storageBuffer(gpu, 'probe.tangents', o.tangents),
    actions: storageBuffer(gpu, 'probe.actions', o.actions),
    uniforms: storageBuffer(gpu, 'probe.uniforms', o.uniforms),
    scalars,
    vectors,
  });
  submitPass(gpu, 'probe', (pass) => kernel.dispatch(pass, group, o.rows));
  const s = await readFloat32(gpu, scalars, 0, o.rows * SCALARS.length);
  const v = await readFloat32(gpu, vectors, 0, o.rows * VECTORS.length * o.count);
  const scalar = (name: (typeof SCALARS)[number]) => Array.from({ length: o.rows }, (_, r) => s[r * SCALARS.length + SCALARS.indexOf(name)]);
  const vector = (name: (typeof VECTORS)[number]) =>
    Float32Array.from({ length: o.rows * o.count }, (_, i) => v[(Math.floor(i / o.count) * VECTORS.length + VECTORS.indexOf(name)) * o.count + (i % o.count)]);
  return { scalar, vector };
}

describe('distribution module (shaders/categorical.wgsl) vs float64 (src/reference/policy.ts)', () => {
  for (const count of [2, 5, 16]) {
    it(`${count} actions: log-prob, entropy, KL, inverse CDF, mode, gradients and Fisher weights in both roundings`, async () => {
      const rows = 120;
      const rand = seededRandom(300 + count);
      const logits = randomLogits(rows, count, rand);
      // Row r moves by a factor 10^-(r % 4): from tiny updates to large ones.
      const logitsOld = logits.map((l, k) => l + 10 ** -(Math.floor(k / count) % 4) * (2 * rand() - 1));
      const tangents = new Float32Array(rows * count).map(() => 2 * rand() - 1);
      const actions = Uint32Array.from({ length: rows }, () => Math.floor(rand() * count));
      const uniforms = new Float32Array(rows).map(() => rand());
      const weights = { wLogProb: -0.7, wEntropy: 0.05, wKl: 0.3 };
      const out = await probe({ rows, count, logits, logitsOld, tangents, actions, uniforms, weights });

      const reference = logProbEntropyReference(logits, actions, rows, count);
      const kl = klReference(logitsOld, logits, rows, count);
      expectClose(out.scalar('logProb'), reference.logProb, 1e-5, 2e-6, 'dist_log_prob');
      expectClose(out.scalar('entropy'), reference.entropy, 1e-5, 2e-6, 'dist_entropy');
      expectClose(out.scalar('kl'), kl, 1e-4, 2e-6, 'dist_kl');
      // The normalised form rounds lse = m + log s at the ulp of the largest logit (rows offset by 500: 3e-5).
      expectClose(out.scalar('updateLogProb'), reference.logProb, 1e-5, 1e-4, 'dist_update_log_prob');
      expectClose(out.scalar('updateEntropy'), reference.entropy, 1e-5, 1e-4, 'dist_update_entropy');
      expectClose(out.scalar('updateKl'), kl, 1e-4, 1e-4, 'dist_update_kl');

      const modes = Array.from({ length: rows }, (_, r) => {
        const row = Array.from(logits.subarray(r * count, (r + 1) * count));
        return row.indexOf(Math.max(...row));
      });
      expect(out.scalar('mode')).toEqual(modes);
      let compared = 0;
      out.scalar('inverseCdf').forEach((a, r) => {
        // Draws within f32 rounding of a CDF boundary may fall either side.
        let cdf = 0;
        for (const l of logSoftmax(logits, r * count, count)) {
          cdf += Math.exp(l);
          if (Math.abs(uniforms[r] - cdf) < 1e-5) return;
        }
        compared++;
        expect(a, `row ${r}`).toBe(inverseCdf(logits, r * count, count, uniforms[r]));
      });
      expect(compared).toBeGreaterThan(rows * 0.95);

      const grad = new Float64Array(rows * count);
      const fisher = new Float64Array(rows * count);
      for (let r = 0; r < rows; r++) {
        grad.set(gradLogProbReference(logits, r * count, count, actions[r]), r * count);
        fisher.set(fisherWeightsReference(logits, tangents, r * count, count), r * count);
      }
      expectClose(out.vector('gradLogProb'), grad, 1e-5, 2e-6, 'dist_grad_log_prob');
      expectClose(out.vector('fisherWeights'), fisher, 1e-5, 2e-6, 'dist_fisher_weights');

      // ∂/∂logits of wLogProb·log p_a − wEntropy·H + wKl·KL(old ‖ new), by central differences in float64.
      const objective = (row: Float64Array, r: number) => {
        const lp = logSoftmax(row, 0, count);
        const lpOld = logSoftmax(logitsOld, r * count, count);
        let entropy = 0;
        let divergence = 0;
        for (let k = 0; k < count; k++) {
          entropy -= Math.exp(lp[k]) * lp[k];
          divergence += Math.exp(lpOld[k]) * (lpOld[k] - lp[k]);
        }
        return weights.wLogProb * lp[actions[r]] - weights.wEntropy * entropy + weights.wKl * divergence;
      };
      const h = 1e-5;
      const updateGradient = Float64Array.from({ length: rows * count }, (_, i) => {
        const r = Math.floor(i / count);
        const shifted = (delta: number) => Float64Array.from(logits.subarray(r * count, (r + 1) * count), (l, k) => (k === i % count ? l + delta : l));
        return (objective(shifted(h), r) - objective(shifted(-h), r)) / (2 * h);
      });
      // p = exp(l − lse) carries lse's rounding (relative 3e-5 on the rows offset by 500).
      expectClose(out.vector('updateGradient'), updateGradient, 1e-4, 5e-5, 'dist_update_gradient');
    });
  }

  it('inverse CDF past the end of the CDF falls back to the last action with nonzero probability', async () => {
    const count = 4;
    // Zero-probability actions at either end; u = 1 is what a running sum that rounded short of u·s would meet.
    const rows = [
      { logits: [0, 0, -Infinity, -Infinity], u: 1, expected: 1 },
      { logits: [0, 0, -Infinity, -Infinity], u: 1 - 2 ** -24, expected: 1 },
      { logits: [-Infinity, 0, 0, -Infinity], u: 1, expected: 2 },
      { logits: [-Infinity, 0, 0, 0], u: 0, expected: 1 },
      { logits: [3, -Infinity, -Infinity, -Infinity], u: 1, expected: 0 },
    ];
    const logits = Float32Array.from(rows.flatMap((r) => r.logits));
    const uniforms = Float32Array.from(rows, (r) => r.u);
    const zeros = new Float32Array(rows.length * count);
    const out = await probe({
      rows: rows.length,
      count,
      logits,
      logitsOld: logits,
      tangents: zeros,
      actions: new Uint32Array(rows.length),
      uniforms,
      weights: { wLogProb: 0, wEntropy: 0, wKl: 0 },
    });
    const expected = rows.map((r) => r.expected);
    expect(out.scalar('inverseCdf')).toEqual(expected);
    expect(rows.map((r, i) => inverseCdf(logits, i * count, count, r.u))).toEqual(expected);
  });
});
