/**
 * The diagonal Gaussian policy head through the update kernels: loss
 * gradients with respect to the network's parameters and the log-stds (PPO,
 * PPO-KL, TRPO's surrogate, REINFORCE) against float64 central differences of
 * the float64 loss, the Fisher-vector product against the explicit float64
 * Fisher, and the rollout (unclipped actions stored, clipped ones stepped).
 */
import { describe, it, expect } from 'vitest';
import { MlpLayout } from '../src/nn/mlp';
import { Mlp, MlpKernels } from '../src/kernels/mlp';
import { GAUSSIAN } from '../src/kernels/distribution';
import { FisherVectorProduct } from '../src/kernels/fvp';
import { PolicyGradientLoss } from '../src/kernels/pg';
import { PolicyKernels } from '../src/kernels/policy';
import { Rollout } from '../src/kernels/rollout';
import { envDefinition } from '../src/envs/registry';
import { ppoFamily, recordStride, STATS } from '../src/algos/ppo';
import { agentsBuffer } from '../src/gpu/agents';
import { storageBuffer, uniformBuffer, readFloat32, submitPass } from '../src/gpu/buffers';
import { METRICS_BLOCK_FLOATS, metricSlot } from '../src/core/metrics';
import { STREAM_ACTION } from '../src/core/random';
import {
  gaussianBatchLossGradient64,
  gaussianFisherMatrix64,
  gaussianPolicyRows64,
  type GaussianLossKind,
  type GaussianSample,
} from '../src/reference/gaussianPolicy';
import { gaussianLogProb64, gaussianSample64 } from '../src/reference/gaussian';
import { testGpu, seededRandom, randomArray, expectClose, boxMullerRadii } from './helpers';
import { f32, matVec } from './maths';
import type { GpuContext } from '../src/gpu/device';

const D = 2;
const layout = new MlpLayout([3, 8, 8, D], ['tanh', 'tanh', 'identity'], 'gaussian');

/** f32-exact parameters (log-stds in [−0.8, 0.3]), observations and samples whose old policy is near the current one. */
function makeCase(seed: number, rows: number) {
  const rand = seededRandom(seed);
  const params = f32(randomArray(layout.paramCount, rand, -0.8, 0.8));
  for (let i = 0; i < D; i++) params[layout.headOffset + i] = Math.fround(-0.8 + 1.1 * rand());
  const obs = f32(randomArray(rows * layout.inputDim, rand, -2, 2));
  const current = gaussianPolicyRows64(layout, params, obs, rows);
  const samples: GaussianSample[] = [];
  for (let r = 0; r < rows; r++) {
    const paramsOld = Float64Array.from({ length: 2 * D }, (_, k) => Math.fround(current[r * 2 * D + k] + 0.3 * (rand() - 0.5)));
    const action = Float64Array.from({ length: D }, (_, i) => Math.fround(paramsOld[i] + Math.exp(paramsOld[D + i]) * (2 * rand() - 1) * 1.5));
    samples.push({ action, paramsOld, logProbOld: Math.fround(gaussianLogProb64(paramsOld, 0, D, action, 0)), advantage: Math.fround(2 * rand() - 1) });
  }
  return { params, obs, samples, rows };
}

async function gaussianPolicy(gpu: GpuContext, params: ArrayLike<number>): Promise<Mlp> {
  const policy = Mlp.create(gpu, await MlpKernels.create(gpu), layout, 'test.gaussianPolicy');
  policy.setParams(Float32Array.from(params));
  return policy;
}

/** PPO / PPO-KL: minibatch_losses (Gaussian module) at the head's rows, then the network's backward (and the head's). */
async function ppoGradient(gpu: GpuContext, c: ReturnType<typeof makeCase>, loss: Extract<GaussianLossKind, { kind: 'ppo' | 'ppo-kl' }>): Promise<Float32Array> {
  const family = await ppoFamily(gpu, GAUSSIAN);
  const kernel = await family.kernel('minibatch_losses', { dynamicOffsets: ['slot'] });
  const B = c.rows;
  const stride = recordStride(2 * D, D);
  const records = new Float32Array(B * stride);
  c.samples.forEach((s, r) => records.set([s.logProbOld, s.advantage, 0, ...Array.from(s.paramsOld), ...Array.from(s.action)], r * stride));
  const metrics = new Float32Array(METRICS_BLOCK_FLOATS);
  const klCoef = loss.kind === 'ppo-kl' ? loss.klCoef : 0;
  metrics[metricSlot('kl_coef')] = klCoef;
  const policy = await gaussianPolicy(gpu, c.params);
  const pass = policy.prepare({ rows: B, input: storageBuffer(gpu, 'test.obs', Float32Array.from(c.obs)), label: 'test.pass' });
  const slotView = family.struct('MinibatchArgs');
  const group = kernel.bind({
    ppo: uniformBuffer(
      gpu,
      'test.ppo',
      family.struct('PpoArgs').pack({
        batchSize: B,
        minibatchSize: B,
        obsDim: 3,
        numActions: 2 * D,
        iteration: 0,
        halfBits: 3,
        normalizeAdvantages: 0,
        useKlPenalty: loss.kind === 'ppo-kl' ? 1 : 0,
        obsRows: B,
        minibatches: 1,
        blockRows: B,
        agents: 1,
      }),
    ),
    agents: agentsBuffer(gpu, 'test.agents', [{ seed: 1, clip: loss.kind === 'ppo' ? loss.clip : 0.2, entCoef: loss.entropyCoef, valueClip: 0, targetKl: 0, klTarget: 0.01 }]).params,
    slot: { buffer: uniformBuffer(gpu, 'test.slot', slotView.pack({ epoch: 0, minibatch: 0 })), offset: 0, size: slotView.paddedSize },
    mbRecordsIn: storageBuffer(gpu, 'test.records', records),
    metrics: storageBuffer(gpu, 'test.metrics', metrics),
    policyLogits: pass.output,
    policyGradOutput: pass.gradOutput,
    valuePredictions: storageBuffer(gpu, 'test.values', B * 4),
    valueGradOutput: storageBuffer(gpu, 'test.valueGrad', B * 4),
    rowStats: storageBuffer(gpu, 'test.rowStats', STATS.length * B * 4),
  });
  submitPass(gpu, 'test.ppo', (p) => {
    pass.encodeForward(p);
    kernel.dispatch(p, group, B, [0]);
    pass.encodeBackward(p);
  });
  return policy.readGrads();
}

/** TRPO's surrogate / REINFORCE: pg.wgsl's policy_gradient (Gaussian module), then the backward. */
async function pgGradient(gpu: GpuContext, c: ReturnType<typeof makeCase>, ratioWeighted: boolean): Promise<Float32Array> {
  const policy = await gaussianPolicy(gpu, c.params);
  const B = c.rows;
  const pass = policy.prepare({ rows: B, input: storageBuffer(gpu, 'test.obs', Float32Array.from(c.obs)), label: 'test.pass' });
  const f32s = (values: number[]) => storageBuffer(gpu, 'test.batch', Float32Array.from(values));
  const batch = {
    obs: pass.input,
    actions: f32s(c.samples.flatMap((s) => Array.from(s.action))),
    logProbs: f32s(c.samples.map((s) => s.logProbOld)),
    advantages: f32s(c.samples.map((s) => s.advantage)),
    returns: f32s(c.samples.map(() => 0)),
    logits: f32s(c.samples.flatMap((s) => Array.from(s.paramsOld))),
    metrics: storageBuffer(gpu, 'test.metrics', METRICS_BLOCK_FLOATS * 4),
  };
  const loss = await PolicyGradientLoss.create(gpu, { pass, batch, numActions: 2 * D, normalizeAdvantages: false, ratioWeighted, label: 'test.pg' });
  submitPass(gpu, 'test.pg', (p) => {
    pass.encodeForward(p);
    loss.encode(p);
    pass.encodeBackward(p);
  });
  return policy.readGrads();
}

describe('Gaussian head: loss gradients w.r.t. the network and the log-stds vs float64 central differences (rtol 2e-3, atol 2e-5)', () => {
  const cases: [string, GaussianLossKind][] = [
    ['PPO clipped surrogate + entropy', { kind: 'ppo', clip: 0.2, entropyCoef: 0.01 }],
    ['PPO-KL penalty + entropy', { kind: 'ppo-kl', klCoef: 0.7, entropyCoef: 0.02 }],
    ['TRPO surrogate', { kind: 'surrogate' }],
    ['REINFORCE', { kind: 'reinforce' }],
  ];
  cases.forEach(([name, loss], k) => {
    it(name, async () => {
      const gpu = await testGpu();
      const c = makeCase(100 + k, 24);
      const grads =
        loss.kind === 'ppo' || loss.kind === 'ppo-kl' ? await ppoGradient(gpu, c, loss) : await pgGradient(gpu, c, loss.kind === 'surrogate');
      const expected = gaussianBatchLossGradient64(layout, c.params, c.obs, c.samples, loss);
      // The log-std gradients are the head's own (a sum over rows); the rest comes through the network.
      const logStd = layout.headOffset;
      expect(Math.max(...Array.from(expected.subarray(logStd), Math.abs))).toBeGreaterThan(1e-3);
      expectClose(grads.subarray(logStd), expected.subarray(logStd), 2e-3, 2e-5, 'dLoss/dlog-std');
      expectClose(grads.subarray(0, logStd), expected.subarray(0, logStd), 2e-3, 2e-5, 'dLoss/dθ (network)');
    });
  });
});

describe('Gaussian head: Fisher-vector product vs the explicit float64 Fisher (mean block through the network + log-std block; rtol 1e-3, atol 1e-5)', () => {
  it('F v + damping v for 3 random directions', async () => {
    const gpu = await testGpu();
    const c = makeCase(7, 20);
    const policy = await gaussianPolicy(gpu, c.params);
    const damping = 0.01;
    const fvp = await FisherVectorProduct.create(gpu, { policy, rows: c.rows, obs: storageBuffer(gpu, 'test.obs', Float32Array.from(c.obs)), damping, label: 'test.fvp' });
    const F = gaussianFisherMatrix64(layout, c.params, c.obs, c.rows);
    const n = layout.paramCount;
    // Block-diagonal: no coupling between the layers' parameters and the log-stds; 2 + the mean part's 0 on the log-std diagonal.
    for (let i = 0; i < D; i++) {
      const row = layout.headOffset + i;
      for (let j = 0; j < layout.headOffset; j++) expect(F[row * n + j]).toBe(0);
      expect(F[row * n + row]).toBe(2);
    }
    const rand = seededRandom(8);
    for (let v = 0; v < 3; v++) {
      const vector = f32(randomArray(n, rand));
      const vectorBuffer = storageBuffer(gpu, 'test.vector', Float32Array.from(vector));
      const result = storageBuffer(gpu, 'test.result', n * 4);
      submitPass(gpu, 'test.fvp', (p) => {
        fvp.encodeForward(p);
        fvp.encode(p, vectorBuffer, result);
      });
      const expected = matVec(F, vector).map((x, j) => x + damping * vector[j]);
      expectClose(await readFloat32(gpu, result, 0, n), expected, 1e-3, 1e-5, `F v (direction ${v})`);
    }
    fvp.destroy();
  });
});

describe('Gaussian head: rollout on MountainCarContinuous-v0', () => {
  it('stores the sampled (unclipped) action, steps the env with it clipped to [−1, 1], keeps (μ, ℓ) for the log-probs (rtol 1e-5)', async () => {
    const gpu = await testGpu();
    const env = envDefinition('MountainCarContinuous-v0');
    const N = 16;
    const T = 3;
    const seed = 5;
    const rand = seededRandom(11);
    const mcLayout = new MlpLayout([2, 8, 8, 1], ['tanh', 'tanh', 'identity'], 'gaussian');
    const params = f32(randomArray(mcLayout.paramCount, rand, -0.5, 0.5));
    // σ = e^0.7 ≈ 2: many samples fall outside [−1, 1].
    params[mcLayout.headOffset] = Math.fround(0.7);
    const policy = Mlp.create(gpu, await MlpKernels.create(gpu), mcLayout, 'test.mcPolicy');
    policy.setParams(Float32Array.from(params));
    const rollout = await Rollout.create(gpu, policy, { env, numEnvs: N, numSteps: T, seed });
    rollout.reset();
    rollout.setIteration(2);
    submitPass(gpu, 'test.rollout', (p) => rollout.encode(p));
    const { storage } = rollout;
    const [actions, rows, rewards, obs] = await Promise.all([
      readFloat32(gpu, storage.actions, 0, T * N),
      readFloat32(gpu, storage.behaviourLogits, 0, T * N * 2),
      readFloat32(gpu, storage.rewards, 0, T * N),
      readFloat32(gpu, storage.obs, 0, T * N * 2),
    ]);
    const logProb = storageBuffer(gpu, 'test.logProb', T * N * 4);
    const entropy = storageBuffer(gpu, 'test.entropy', T * N * 4);
    const op = (await PolicyKernels.create(gpu, GAUSSIAN)).logProbEntropy({ rows: T * N, numActions: 2, logits: storage.behaviourLogits, actions: storage.actions, logProb, entropy, label: 'test.lp' });
    submitPass(gpu, 'test.lp', (p) => op.encode(p));
    const logProbs = await readFloat32(gpu, logProb);
    let outside = 0;
    const accurateTrig = gpu.adapter.backend === 'lavapipe';
    for (let t = 0; t < T; t++) {
      const expectedRows = gaussianPolicyRows64(mcLayout, params, obs.subarray(t * N * 2, (t + 1) * N * 2), N);
      expectClose(rows.subarray(t * N * 2, (t + 1) * N * 2), expectedRows, 1e-5, 1e-6, `behaviour (μ, ℓ) at step ${t}`);
      for (let n = 0; n < N; n++) {
        const i = t * N + n;
        const sampled = gaussianSample64(rows, i * 2, 1, [n, t, 2, 0], [seed, STREAM_ACTION]);
        // WGSL's builtin cos/sin may be off by 2^-11 (absolute): σ·r·2^-11 in the action (test/gaussian.test.ts).
        const trigBound = Math.exp(rows[i * 2 + 1]) * boxMullerRadii(1, [n, t, 2, 0], [seed, STREAM_ACTION])[0] * 2 ** -11;
        expectClose([actions[i]], [sampled[0]], 0, () => 5e-5 + trigBound, `action ${i}`);
        if (accurateTrig) expect(actions[i]).toBeCloseTo(sampled[0], 4);
        if (Math.abs(actions[i]) > 1) outside++;
        // Gymnasium's −0.1 a² cost, of the clipped action: the env was stepped with it (no goal within 3 steps).
        const clipped = Math.min(Math.max(actions[i], -1), 1);
        expect(rewards[i]).toBeCloseTo(-0.1 * clipped * clipped, 5);
        expect(logProbs[i]).toBeCloseTo(gaussianLogProb64(rows, i * 2, 1, actions, i), 4);
      }
    }
    expect(outside).toBeGreaterThan(3);
    op.destroy();
    rollout.destroy();
    policy.destroy();
  });
});
