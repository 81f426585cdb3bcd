import { describe, it, expect } from 'vitest';
import { MlpLayout } from '../src/nn/mlp';
import { mlpBackwardReference, mlpForwardReference } from '../src/reference/mlp';
import { Mlp, MlpKernels } from '../src/kernels/mlp';
import { parameterVectorBytes } from '../src/kernels/fvp';
import { LineSearch } from '../src/kernels/linesearch';
import { storageBuffer, readFloat32, submitPass } from '../src/gpu/buffers';
import { fisherMatrixReference } from '../src/reference/fvp';
import { softmaxReference } from '../src/reference/policy';
import { conjugateGradientReference, trustRegionStepReference, type SurrogateBatch, type TrustRegionStepResult } from '../src/reference/trpo';
import { policyGradientReference, valueFitReference } from '../src/reference/pg';
import { AdamReference } from '../src/reference/adam';
import { TrpoUpdate } from '../src/algos/trpo';
import { syntheticBatch } from './fullBatch';
import { makeTrainer } from '../src/train/trainer';
import { resolveConfig } from '../src/core/config';
import { serializeCheckpoint, parseCheckpoint } from '../src/train/checkpoint';
import type { IterationMetrics } from '../src/core/metrics';
import { METRICS_BLOCK_FLOATS, metricSlot } from '../src/core/metrics';
import { testGpu, seededRandom, randomArray, expectClose } from './helpers';
import { dot, f32, matVec, maxAbs, solveDense } from './maths';

interface LineSearchCase {
  batch: SurrogateBatch;
  params: Float64Array;
  rawAdvantages: Float64Array;
  advantageMean: number;
  advantageStd: number;
  /** −g, the surrogate's negative gradient at θ. */
  negGradient: Float64Array;
  /** (F + damping I)⁻¹ (−g): the exact natural-gradient direction. */
  naturalStep: Float64Array;
  fisher: Float64Array;
}

/** A 3→6→5→3 policy on 40 rows, π_old = π_θ, with its exact Fisher matrix and natural step. */
function makeLineSearchCase(seed: number): LineSearchCase {
  const layout = new MlpLayout([3, 6, 5, 3], ['tanh', 'tanh', 'identity']);
  const rows = 40;
  const A = layout.outputDim;
  const n = layout.paramCount;
  const rand = seededRandom(seed);
  const params = f32(randomArray(n, rand, -0.8, 0.8));
  const obs = f32(randomArray(rows * 3, rand, -2, 2));
  const actions = Int32Array.from({ length: rows }, () => Math.floor(rand() * A));
  const rawAdvantages = f32(randomArray(rows, rand, -1, 1.6));
  const advantageMean = Math.fround(rawAdvantages.reduce((s, a) => s + a, 0) / rows);
  const advantageStd = Math.fround(Math.sqrt(rawAdvantages.reduce((s, a) => s + (a - advantageMean) ** 2, 0) / rows));
  const advantages = rawAdvantages.map((a) => (a - advantageMean) / (advantageStd + 1e-8));
  const acts = mlpForwardReference(layout, params, obs, rows);
  const logitsOld = f32(acts[acts.length - 1]);
  const p = softmaxReference(logitsOld, rows, A);
  const logProbsOld = f32(Float64Array.from(actions, (a, r) => Math.log(p[r * A + a])));
  // d(−mean ratio·Â)/d logit_k at θ = θ_old: −Â (1[k = a] − p_k) / R.
  const gradOutput = new Float64Array(rows * A);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < A; k++) gradOutput[r * A + k] = (-advantages[r] * ((k === actions[r] ? 1 : 0) - p[r * A + k])) / rows;
  }
  const g = mlpBackwardReference(layout, params, obs, acts, gradOutput, rows).grads;
  const negGradient = f32(g.map((x) => -x));
  const fisher = fisherMatrixReference(layout, params, obs, rows);
  for (let i = 0; i < n; i++) fisher[i * n + i] += 1e-3;
  return {
    batch: { layout, rows, obs, actions, logProbsOld, advantages, logitsOld },
    params,
    rawAdvantages,
    advantageMean,
    advantageStd,
    negGradient,
    naturalStep: f32(solveDense(fisher, negGradient)),
    fisher,
  };
}

interface StepSetting {
  stepDirection: Float64Array;
  negGradient: Float64Array;
  maxKl: number;
  klCheck: boolean;
}

function referenceStep(c: LineSearchCase, s: StepSetting): TrustRegionStepResult {
  const product = f32(matVec(c.fisher, s.stepDirection));
  return trustRegionStepReference({
    batch: c.batch,
    params: c.params,
    stepDirection: s.stepDirection,
    stepCurvature: dot(s.stepDirection, product),
    negGradDotStep: dot(s.negGradient, s.stepDirection),
    maxKl: s.maxKl,
    backtracks: 10,
    acceptRatio: 0.1,
    klCheck: s.klCheck,
  });
}

interface GpuStep {
  params: Float32Array;
  metrics: Float32Array;
  candidateStats: Float32Array;
}

async function gpuStep(c: LineSearchCase, s: StepSetting, cgResidual: number): Promise<GpuStep> {
  const gpu = await testGpu();
  const { layout, rows } = c.batch;
  const policy = Mlp.create(gpu, await MlpKernels.create(gpu), layout, 'test.policy');
  policy.setParams(Float32Array.from(c.params));
  const vector = (name: string, values: ArrayLike<number>) => {
    const data = new Float32Array(parameterVectorBytes(layout) / 4);
    data.set(values);
    return storageBuffer(gpu, `test.${name}`, data);
  };
  const metricsData = new Float32Array(METRICS_BLOCK_FLOATS);
  metricsData[metricSlot('advantage_mean')] = c.advantageMean;
  metricsData[metricSlot('advantage_std')] = c.advantageStd;
  const metrics = storageBuffer(gpu, 'test.metrics', metricsData);
  const lineSearch = await LineSearch.create(gpu, {
    policy,
    rows,
    batch: {
      obs: storageBuffer(gpu, 'test.obs', Float32Array.from(c.batch.obs)),
      actions: storageBuffer(gpu, 'test.actions', Int32Array.from(c.batch.actions)),
      logProbsOld: storageBuffer(gpu, 'test.logProbsOld', Float32Array.from(c.batch.logProbsOld)),
      advantages: storageBuffer(gpu, 'test.advantages', Float32Array.from(c.rawAdvantages)),
      logitsOld: storageBuffer(gpu, 'test.logitsOld', Float32Array.from(c.batch.logitsOld)),
      metrics,
    },
    stepDirection: vector('stepDirection', s.stepDirection),
    stepDirectionProduct: vector('stepDirectionProduct', f32(matVec(c.fisher, s.stepDirection))),
    negGradient: vector('negGradient', s.negGradient),
    cgResidual: { buffer: storageBuffer(gpu, 'test.cgState', Float32Array.of(0, 0, cgResidual)), index: 2 },
    maxKl: s.maxKl,
    backtracks: 10,
    acceptRatio: 0.1,
    klCheck: s.klCheck,
    normalizeAdvantages: true,
    label: 'test.linesearch',
  });
  submitPass(gpu, 'test.linesearch', (pass) => lineSearch.encode(pass));
  return {
    params: await policy.readParams(),
    metrics: await readFloat32(gpu, metrics),
    candidateStats: await readFloat32(gpu, lineSearch.candidateStats),
  };
}

/** GPU and float64 agree on every candidate's score, the choice, the metrics and θ_new. */
function expectSameStep(gpu: GpuStep, ref: TrustRegionStepResult, cgResidual: number): void {
  const slots = ref.candidates.length + 1;
  const surrogates = [ref.baseSurrogate, ...ref.candidates.map((c) => c.surrogate)];
  const kls = [0, ...ref.candidates.map((c) => c.kl)];
  // Scores are means over 40 rows of O(1) terms in f32: 1e-5 absolute.
  expectClose(gpu.candidateStats.slice(0, slots), surrogates, 1e-4, 1e-5, 'candidate surrogates');
  expectClose(gpu.candidateStats.slice(slots, 2 * slots), kls, 1e-3, 1e-6, 'candidate KLs');
  const m = (name: Parameters<typeof metricSlot>[0]) => gpu.metrics[metricSlot(name)];
  expect(m('step_frac')).toBe(ref.stepFraction);
  expect(m('line_search_failed')).toBe(ref.chosen < 0 ? 1 : 0);
  expect(m('cg_residual')).toBe(Math.fround(cgResidual));
  const chosen = ref.chosen < 0 ? null : ref.candidates[ref.chosen];
  expect(m('approx_kl')).toBeCloseTo(chosen ? chosen.kl : 0, 6);
  expect(m('policy_loss')).toBeCloseTo(chosen ? chosen.surrogate : ref.baseSurrogate, 5);
  expectClose(gpu.params, ref.params, 1e-5, 1e-6, 'θ_new');
}

describe('TRPO line search on the GPU', () => {
  const c = makeLineSearchCase(3);

  it('natural step, max_kl 0.01: the full step (k = 0) is accepted, as in float64', async () => {
    const setting = { stepDirection: c.naturalStep, negGradient: c.negGradient, maxKl: 0.01, klCheck: false };
    const ref = referenceStep(c, setting);
    expect(ref.chosen).toBe(0);
    expectSameStep(await gpuStep(c, setting, 3.5e-7), ref, 3.5e-7);
  });

  it('an overshooting step (max_kl 1): the first two fractions fail, 0.25 (k = 2) is accepted, as in float64', async () => {
    // float64 ratios −0.017, 0.067, 0.266: clear of the 0.1 threshold for f32.
    const setting = { stepDirection: c.naturalStep, negGradient: c.negGradient, maxKl: 1, klCheck: false };
    const ref = referenceStep(c, setting);
    expect(ref.chosen).toBe(2);
    expectSameStep(await gpuStep(c, setting, 1e-3), ref, 1e-3);
  });

  it('an uphill step: every fraction fails, θ is left bit-identical, step_frac 0', async () => {
    const setting = { stepDirection: f32(c.naturalStep.map((x) => -x)), negGradient: c.negGradient, maxKl: 0.01, klCheck: false };
    const ref = referenceStep(c, setting);
    expect(ref.chosen).toBe(-1);
    const step = await gpuStep(c, setting, 0);
    expectSameStep(step, ref, 0);
    expect(Array.from(step.params)).toEqual(Array.from(Float32Array.from(c.params)));
  });

  it('lineSearchKlCheck: a full step that passes the ratio test with KL over 1.5 max_kl is halved (k = 1), as in float64', async () => {
    // float64: full step ratio 0.150, KL 0.0545 > 0.045; half step KL 0.0084.
    const d = makeLineSearchCase(4);
    const setting = { stepDirection: d.naturalStep, negGradient: d.negGradient, maxKl: 0.03, klCheck: true };
    const ref = referenceStep(d, setting);
    expect(referenceStep(d, { ...setting, klCheck: false }).chosen).toBe(0);
    expect(ref.chosen).toBe(1);
    expectSameStep(await gpuStep(d, setting, 0), ref, 0);
  });
});

describe('TrpoUpdate', () => {
  it('one update on a 200-row batch follows the float64 seed pipeline: gradient, 10 CG steps, step, line search, value fit', async () => {
    const gpu = await testGpu();
    const s = await syntheticBatch({ algo: 'trpo' }, 7);
    const { config } = s;
    const update = await TrpoUpdate.create(gpu, config, s.policy, s.value, s.buffers);
    submitPass(gpu, 'test.trpo', (pass) => update.encode(pass));
    const theta = await s.policy.readParams();
    const valueParams = await s.value.readParams();
    const metrics = await readFloat32(gpu, s.buffers.metrics);

    const { layout, rows, obs } = s.surrogate;
    const n = layout.paramCount;
    const negGradient = policyGradientReference(s.surrogate, s.policyParams, true).grads.map((g) => -g);
    const fisher = fisherMatrixReference(layout, s.policyParams, obs, rows);
    for (let i = 0; i < n; i++) fisher[i * n + i] += config.damping;
    const cg = conjugateGradientReference((v) => matVec(fisher, v), negGradient, config.cgIters, 1e-10);
    const ref = trustRegionStepReference({
      batch: s.surrogate,
      params: s.policyParams,
      stepDirection: cg.x,
      stepCurvature: dot(cg.x, matVec(fisher, cg.x)),
      negGradDotStep: dot(negGradient, cg.x),
      maxKl: config.maxKl,
      backtracks: config.backtracks,
      acceptRatio: config.acceptRatio,
      klCheck: config.lineSearchKlCheck,
    });
    expect(ref.chosen).toBe(0);
    const m = (name: Parameters<typeof metricSlot>[0]) => metrics[metricSlot(name)];
    expect(m('step_frac')).toBe(ref.stepFraction);
    expect(m('line_search_failed')).toBe(0);
    // f32 CG over 10 iterations on a damped Fisher (condition ~1e3) drifts from float64 by ~0.3% of the step: 1% of max |Δθ|.
    const step = ref.params.map((p, i) => p - s.policyParams[i]);
    expectClose(theta, ref.params, 0, 1e-2 * maxAbs(step), 'θ_new');
    expect(Math.abs(m('cg_residual') - cg.residual)).toBeLessThan(0.2 * cg.residual);
    expect(m('approx_kl')).toBeCloseTo(ref.candidates[0].kl, 3);
    expect(m('policy_loss')).toBeCloseTo(ref.candidates[0].surrogate, 3);

    // Value fit: 10 Adam steps at lr 1e-3 (rtol 1e-4, atol 1e-5), and the last step's loss (rtol 1e-5).
    const adam = new AdamReference(s.value.layout.paramCount, { lr: config.valueLr });
    const value = valueFitReference(s.value.layout, s.valueParams, obs, s.returns, rows, config.valueSteps, adam);
    expectClose(valueParams, value.params, 1e-4, 1e-5, 'value θ after the fit');
    expect(Math.abs(m('value_loss') - value.lastLoss)).toBeLessThan(1e-5 * value.lastLoss);
  });
});

describe('TRPO training on the GPU', () => {
  it('improves the mean return within a few iterations, every step one of the line search fractions (smoke test)', async () => {
    const gpu = await testGpu();
    const trainer = await makeTrainer(gpu, resolveConfig({ algo: 'trpo', numEnvs: 64, stepsPerIter: 2048, seed: 1 }));
    const metrics: IterationMetrics[] = [];
    for (let i = 0; i < 6; i++) metrics.push(await trainer.step());
    const returns = metrics.map((m) => m.mean_return ?? 0);
    expect(Math.max(...returns.slice(-2)), `returns ${returns.map((r) => r.toFixed(1)).join(' ')}`).toBeGreaterThan(2 * returns[0]);
    const fractions = Array.from({ length: 10 }, (_, k) => 0.5 ** k);
    for (const m of metrics) {
      expect(m.line_search_failed ? [0] : fractions).toContain(m.step_frac);
      expect(m.cg_residual).toBeGreaterThanOrEqual(0);
      expect(m.cg_residual).toBeLessThan(1);
      expect(m.approx_kl).toBeGreaterThan(0);
      expect(m.approx_kl).toBeLessThan(0.1);
    }
    trainer.destroy();
  });

  it('checkpoint round-trip (value Adam only, no policy optimizer) resumes identically', async () => {
    const gpu = await testGpu();
    const config = resolveConfig({ algo: 'trpo', numEnvs: 16, stepsPerIter: 256, seed: 4 });
    const first = await makeTrainer(gpu, config);
    const history = [await first.step()];
    const checkpoint = parseCheckpoint(serializeCheckpoint(await first.checkpoint(history)));
    expect(Object.keys(checkpoint.arrays).filter((name) => name.includes('adam')).sort()).toEqual(['value.adam.control', 'value.adam.m', 'value.adam.v']);
    const continued = await first.step();
    const second = await makeTrainer(gpu, config);
    await second.restore(checkpoint);
    const resumed = await second.step();
    expect({ ...resumed, sps: 0, wall_s: 0 }).toEqual({ ...continued, sps: 0, wall_s: 0 });
    first.destroy();
    second.destroy();
  });
});
