import { describe, it, expect } from 'vitest';
import randomWgsl from '../shaders/random.wgsl?raw';
import probeWgsl from './fixtures/gaussian_probe.wgsl?raw';
import { GAUSSIAN } from '../src/kernels/distribution';
import { ShaderFamily } from '../src/gpu/kernel';
import { storageBuffer, uniformBuffer, readFloat32, submitPass } from '../src/gpu/buffers';
import {
  gaussianLogProb64,
  gaussianEntropy64,
  gaussianKl64,
  gaussianSample64,
  gaussianGradLogProb64,
  gaussianFisherWeights64,
  gaussianFisherMonteCarlo64,
} from '../src/reference/gaussian';
import { STREAM_ACTION } from '../src/core/random';
import { normalSampler } from '../src/core/prng';
import { testGpu, seededRandom, expectClose, boxMullerRadii } from './helpers';

/** The probe's per-row scalars (test/fixtures/gaussian_probe.wgsl OUT_*). */
const SCALARS = ['logProb', 'entropy', 'kl', 'updateLogProb', 'updateEntropy', 'updateKl', 'sampleLogProb'] as const;

interface ProbeInput {
  rows: number;
  dim: number;
  params: Float32Array;
  paramsOld: Float32Array;
  tangents: Float32Array;
  actions: Float32Array;
  seed: number;
  t: number;
  iteration: number;
  weights: { wLogProb: number; wEntropy: number; wKl: number };
}

/** Every dist_* function of shaders/gaussian.wgsl on each row, through the probe kernel. */
async function probe(o: ProbeInput) {
  const gpu = await testGpu();
  const family = await ShaderFamily.load(gpu, 'gaussian_probe', [randomWgsl, GAUSSIAN.wgsl, probeWgsl]);
  const kernel = await family.kernel('probe');
  const D = o.dim;
  const scalars = storageBuffer(gpu, 'probe.scalars', o.rows * SCALARS.length * 4);
  const vectors = storageBuffer(gpu, 'probe.vectors', o.rows * 8 * D * 4);
  const inputs = {
    params: storageBuffer(gpu, 'probe.params', o.params),
    paramsOld: storageBuffer(gpu, 'probe.paramsOld', o.paramsOld),
    tangents: storageBuffer(gpu, 'probe.tangents', o.tangents),
    actions: storageBuffer(gpu, 'probe.actions', o.actions),
  };
  const args = uniformBuffer(
    gpu,
    'probe.args',
    family.struct('ProbeArgs').pack({ rows: o.rows, dim: D, seed: o.seed, t: o.t, iteration: o.iteration, ...o.weights }),
  );
  const group = kernel.bind({ args, ...inputs, scalars, vectors });
  submitPass(gpu, 'probe', (pass) => kernel.dispatch(pass, group, o.rows));
  const s = await readFloat32(gpu, scalars, 0, o.rows * SCALARS.length);
  const v = await readFloat32(gpu, vectors, 0, o.rows * 8 * D);
  for (const buffer of [scalars, vectors, args, ...Object.values(inputs)]) buffer.destroy();
  const scalar = (name: (typeof SCALARS)[number]) => Array.from({ length: o.rows }, (_, r) => s[r * SCALARS.length + SCALARS.indexOf(name)]);
  // Per-row vector parts: [offset, length] in units of D within a row's 8D values.
  const parts = { sample: [0, 1], mode: [1, 1], gradLogProb: [2, 2], fisherWeights: [4, 2], updateGradient: [6, 2] } as const;
  const vector = (name: keyof typeof parts) => {
    const [offset, width] = parts[name];
    const n = width * D;
    return Float32Array.from({ length: o.rows * n }, (_, i) => v[Math.floor(i / n) * 8 * D + offset * D + (i % n)]);
  };
  return { scalar, vector };
}

/**
 * Rows of params: means in [−3, 3]; log-stds in [−2, 1], with every 5th row at
 * −5 (σ ≈ 0.007, a near-deterministic policy) and every 7th at 2 (σ ≈ 7.4).
 */
function randomParams(rows: number, dim: number, rand: () => number): Float32Array {
  const params = new Float32Array(rows * 2 * dim);
  for (let r = 0; r < rows; r++) {
    const logStd = r % 5 === 0 ? -5 : r % 7 === 0 ? 2 : null;
    for (let i = 0; i < dim; i++) {
      params[r * 2 * dim + i] = 3 * (2 * rand() - 1);
      params[r * 2 * dim + dim + i] = logStd ?? -2 + 3 * rand();
    }
  }
  return params;
}

const standardNormal = normalSampler(seededRandom(99));

/** Actions μ + σ z with z standard normal, scaled by 1.5 so some lie in the tails. */
function actionsNear(params: Float32Array, rows: number, dim: number): Float32Array {
  return Float32Array.from({ length: rows * dim }, (_, k) => {
    const [r, i] = [Math.floor(k / dim), k % dim];
    return params[r * 2 * dim + i] + Math.exp(params[r * 2 * dim + dim + i]) * 1.5 * standardNormal();
  });
}

describe('distribution module (shaders/gaussian.wgsl) vs float64 (src/reference/gaussian.ts)', () => {
  for (const dim of [1, 3, 6, 8]) {
    it(`${dim} components: log-prob, entropy, KL, sample, mode, gradients and Fisher weights, update functions`, async () => {
      const rows = 120;
      const P = 2 * dim;
      const rand = seededRandom(700 + dim);
      const params = randomParams(rows, dim, rand);
      // Row r moves by a factor 10^-(r % 4): from tiny updates (KL ~ 1e-6) to large ones.
      const paramsOld = params.map((p, k) => p + 10 ** -(Math.floor(k / P) % 4) * (2 * rand() - 1));
      const tangents = new Float32Array(rows * P).map(() => 2 * rand() - 1);
      const actions = actionsNear(params, rows, dim);
      const weights = { wLogProb: -0.7, wEntropy: 0.05, wKl: 0.3 };
      const [seed, t, iteration] = [31, 5, 2];
      const out = await probe({ rows, dim, params, paramsOld, tangents, actions, seed, t, iteration, weights });

      const perRow = <T>(f: (r: number) => T) => Array.from({ length: rows }, (_, r) => f(r));
      const logProb = perRow((r) => gaussianLogProb64(params, r * P, dim, actions, r * dim));
      const entropy = perRow((r) => gaussianEntropy64(params, r * P, dim));
      const kl = perRow((r) => gaussianKl64(paramsOld, params, r * P, dim));
      // f32 z = (a − μ)·e^−ℓ carries ~2 ulp; ½z² sums to ≲ 50 over 8 components.
      expectClose(out.scalar('logProb'), logProb, 1e-6, 1e-6, 'dist_log_prob');
      expectClose(out.scalar('entropy'), entropy, 1e-6, 1e-6, 'dist_entropy');
      // The series keeps tiny KLs relative: no absolute floor beyond 1e-10.
      expectClose(out.scalar('kl'), kl, 5e-6, 1e-10, 'dist_kl');
      expect(Math.min(...kl), 'smallest KL exercised').toBeLessThan(1e-5);
      expectClose(out.scalar('updateLogProb'), logProb, 1e-6, 1e-6, 'dist_update_log_prob');
      expectClose(out.scalar('updateEntropy'), entropy, 1e-6, 1e-6, 'dist_update_entropy');
      expectClose(out.scalar('updateKl'), kl, 5e-6, 1e-10, 'dist_update_kl');

      expect(Array.from(out.vector('mode')), 'dist_mode is the mean, exactly').toEqual(perRow((r) => Array.from(params.subarray(r * P, r * P + dim))).flat());
      // Box–Muller in f32 with the builtin cos and sin, which WGSL allows an
      // absolute error of 2^-11 on [−π, π]: z = r·(cos φ, sin φ) may be off by
      // r·2^-11, the sample by σ·r·2^-11 (SwiftShader uses that room). lavapipe's
      // builtins are accurate to ~1e-7, so there the sample is held to ~1e-6 in z
      // (log, cos and sin of f32 arguments) times σ ≤ 7.4.
      const sample = out.vector('sample');
      const expectedSample = perRow((r) => Array.from(gaussianSample64(params, r * P, dim, [r, t, iteration, 0], [seed, STREAM_ACTION]))).flat();
      const trigBound = perRow((r) => boxMullerRadii(dim, [r, t, iteration, 0], [seed, STREAM_ACTION]).map((radius, i) => Math.exp(params[r * P + dim + i]) * radius * 2 ** -11)).flat();
      expectClose(sample, expectedSample, 1e-6, (i) => 1e-5 + trigBound[i], 'dist_sample (WGSL cos/sin accuracy)');
      if ((await testGpu()).adapter.backend === 'lavapipe') expectClose(sample, expectedSample, 1e-6, 1e-5, 'dist_sample');
      expectClose(
        out.scalar('sampleLogProb'),
        perRow((r) => gaussianLogProb64(params, r * P, dim, sample, r * dim)),
        1e-6,
        1e-6,
        'dist_log_prob of dist_sample',
      );

      const grad = perRow((r) => Array.from(gaussianGradLogProb64(params, r * P, dim, actions, r * dim))).flat();
      const fisher = perRow((r) => Array.from(gaussianFisherWeights64(params, tangents, r * P, dim))).flat();
      // (a − μ)/σ² reaches ~1e3 on the σ ≈ 0.007 rows: relative error governs; z² − 1 cancels near z = ±1.
      expectClose(out.vector('gradLogProb'), grad, 2e-6, 2e-6, 'dist_grad_log_prob');
      expectClose(out.vector('fisherWeights'), fisher, 1e-6, 1e-7, 'dist_fisher_weights');

      // ∂/∂params of wLogProb·log π(a) − wEntropy·H + wKl·KL(old ‖ new), by central differences in float64.
      const objective = (row: Float64Array, r: number) =>
        weights.wLogProb * gaussianLogProb64(row, 0, dim, actions, r * dim) -
        weights.wEntropy * gaussianEntropy64(row, 0, dim) +
        weights.wKl * gaussianKl64(paramsOld.subarray(r * P, (r + 1) * P), row, 0, dim);
      const h = 1e-6;
      const updateGradient = Float64Array.from({ length: rows * P }, (_, k) => {
        const r = Math.floor(k / P);
        const shifted = (delta: number) => Float64Array.from(params.subarray(r * P, (r + 1) * P), (p, j) => (j === k % P ? p + delta : p));
        return (objective(shifted(h), r) - objective(shifted(-h), r)) / (2 * h);
      });
      // Central differences (h = 1e-6) err by ~h²·f'''/6, which grows as σ⁻³: ~1e-6 on the rows with σ ≈ 0.007.
      expectClose(out.vector('updateGradient'), updateGradient, 1e-5, 2e-5, 'dist_update_gradient');
    });
  }

  it('refuses more action components than the module holds; 2 parameters per component', () => {
    expect(GAUSSIAN.paramsPerRow(3, 'test')).toBe(6);
    expect(() => GAUSSIAN.paramsPerRow(9, 'test')).toThrow(/^test: a gaussian distribution holds 1 to 16 parameters per row, 9 actions need 18$/);
  });
});

describe('Gaussian Fisher (float64)', () => {
  it('the closed form diag(1/σ², 2) equals the explicit E[∇log π ∇log πᵀ] (Monte Carlo, 200k draws, within 2% of √(F_pp F_qq))', () => {
    const dim = 2;
    const params = Float64Array.of(0.4, -1.1, -0.7, 0.3);
    const explicit = gaussianFisherMonteCarlo64(params, 0, dim, 200_000, normalSampler(seededRandom(12)));
    const n = 2 * dim;
    for (let p = 0; p < n; p++) {
      const unit = Float64Array.from({ length: n }, (_, k) => (k === p ? 1 : 0));
      const column = gaussianFisherWeights64(params, unit, 0, dim);
      for (let q = 0; q < n; q++) {
        const scale = Math.sqrt(explicit[p * n + p] * explicit[q * n + q]);
        expect(Math.abs(explicit[q * n + p] - column[q]), `F[${q}][${p}]: explicit ${explicit[q * n + p]}, closed form ${column[q]}`).toBeLessThan(0.02 * scale);
      }
    }
  });
});

describe('Gaussian sampling statistics', () => {
  it('20 000 draws of 5 components (two Philox draws per row): mean, variance, tail mass and independence of z = (a − μ)/σ within 4 standard errors', async () => {
    const rows = 20_000;
    const dim = 5;
    const P = 2 * dim;
    const means = [0, 1.5, -2, 0.25, 10];
    const logStds = [0, -1, 0.5, -3, 1];
    const params = Float32Array.from({ length: rows * P }, (_, k) => (k % P < dim ? means[k % P] : logStds[(k % P) - dim]));
    const zeros = new Float32Array(rows * P);
    const input = { rows, dim, params, paramsOld: params, tangents: zeros, actions: new Float32Array(rows * dim), seed: 4, iteration: 1 };
    const weights = { wLogProb: 0, wEntropy: 0, wKl: 0 };
    const out = await probe({ ...input, t: 0, weights });
    const samples = out.vector('sample');
    const z = (r: number, i: number) => (samples[r * dim + i] - means[i]) / Math.exp(logStds[i]);
    const se = 1 / Math.sqrt(rows);
    for (let i = 0; i < dim; i++) {
      let sum = 0;
      let sumSquares = 0;
      let within1 = 0;
      let within2 = 0;
      for (let r = 0; r < rows; r++) {
        const v = z(r, i);
        sum += v;
        sumSquares += v * v;
        if (Math.abs(v) < 1) within1++;
        if (Math.abs(v) < 2) within2++;
      }
      const mean = sum / rows;
      const variance = sumSquares / rows - mean * mean;
      expect(Math.abs(mean), `component ${i} mean`).toBeLessThan(4 * se);
      expect(Math.abs(variance - 1), `component ${i} variance`).toBeLessThan(4 * Math.SQRT2 * se);
      // P(|z| < 1) = 0.682689, P(|z| < 2) = 0.954500; binomial standard errors.
      expect(Math.abs(within1 / rows - 0.682689), `component ${i} P(|z| < 1)`).toBeLessThan(4 * Math.sqrt(0.682689 * 0.317311) * se);
      expect(Math.abs(within2 / rows - 0.9545), `component ${i} P(|z| < 2)`).toBeLessThan(4 * Math.sqrt(0.9545 * 0.0455) * se);
      for (let j = 0; j < i; j++) {
        let cross = 0;
        for (let r = 0; r < rows; r++) cross += z(r, i) * z(r, j);
        expect(Math.abs(cross / rows), `components ${j}, ${i} correlation`).toBeLessThan(4 * se);
      }
    }
    const again = (await probe({ ...input, t: 0, weights })).vector('sample');
    expect(new Uint32Array(again.buffer), 'same counter and key: the same bits').toEqual(new Uint32Array(samples.buffer));
    const nextStep = (await probe({ ...input, t: 1, weights })).vector('sample');
    const moved = nextStep.filter((v, k) => v !== samples[k]).length;
    expect(moved, 'another step draws other numbers').toBeGreaterThan(0.99 * rows * dim);
  });
});
