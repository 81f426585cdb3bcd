import { describe, it, expect } from 'vitest';
import { storageBuffer, uniformBuffer, readFloat32, submitPass } from '../src/gpu/buffers';
import { metricSlot, METRICS_BLOCK_FLOATS } from '../src/core/metrics';
import { policyLoss64, valueLoss64, type PolicySample } from '../src/reference/ppoLoss';
import { testGpu, seededRandom, expectClose } from './helpers';
import type { GpuContext } from '../src/gpu/device';
import { UniformSlots } from '../src/gpu/slots';
import { PpoUpdate, ppoFamily, STATS, recordStride as recordFloats } from '../src/algos/ppo';
import { makeTrainer } from '../src/train/trainer';
import { resolveConfig } from '../src/core/config';
import { MlpKernels } from '../src/kernels/mlp';
import { agentSeedsUniform, agentsBuffer } from '../src/gpu/agents';
import type { AgentParamValues } from '../src/core/agentParams';

const numActions = 3;
const obsDim = 4;
const recordStride = recordFloats(numActions, 1);

interface PpoCase {
  batchSize: number;
  minibatchSize: number;
  clip?: number;
  entropyCoef?: number;
  valueClip?: number;
  klPenalty?: boolean;
  normalize?: number;
}

/** PpoArgs (what all agents share). */
function ppoArgs(o: PpoCase) {
  return {
    batchSize: o.batchSize,
    minibatchSize: o.minibatchSize,
    obsDim,
    numActions,
    iteration: 3,
    halfBits: Math.max(1, Math.ceil(Math.ceil(Math.log2(Math.max(2, o.batchSize))) / 2)),
    normalizeAdvantages: o.normalize ?? 0,
    useKlPenalty: o.klPenalty ? 1 : 0,
    obsRows: o.batchSize,
    minibatches: Math.floor(o.batchSize / o.minibatchSize),
    blockRows: o.minibatchSize,
    agents: 1,
  };
}

/** The one agent's AgentParams record. */
function agentOf(o: PpoCase): AgentParamValues {
  return { seed: 7, clip: o.clip ?? 0.2, entCoef: o.entropyCoef ?? 0, valueClip: o.valueClip ?? 0, targetKl: 0.01, klTarget: 0.01 };
}

describe('PPO minibatch permutation', () => {
  for (const [batchSize, B] of [
    [1000, 100],
    [10000, 128],
    [64, 64],
  ] as const) {
    it(`batch ${batchSize}, minibatch ${B}: each epoch's minibatches draw distinct samples, fresh per epoch, in one gather`, async () => {
      const gpu = await testGpu();
      const family = await ppoFamily(gpu);
      const gather = await family.kernel('gather_epoch', { dynamicOffsets: ['slot'] });
      const M = Math.floor(batchSize / B);
      const epochs = 2;
      const slots = UniformSlots.create(
        gpu,
        family.struct('MinibatchArgs'),
        Array.from({ length: epochs * M }, (_, k) => ({ epoch: Math.floor(k / M), minibatch: k % M })),
        'slots',
      );
      // Each sample carries its own index, so the gathered records name the permutation.
      const obs = new Float32Array(batchSize * obsDim).map((_, i) => Math.floor(i / obsDim));
      const indices = new Float32Array(batchSize).map((_, i) => i);
      const agents = agentsBuffer(gpu, 'agents', [agentOf({ batchSize, minibatchSize: B })]);
      const buffers = {
        ppo: uniformBuffer(gpu, 'ppo', family.struct('PpoArgs').pack(ppoArgs({ batchSize, minibatchSize: B }))),
        agentSeeds: agentSeedsUniform(gpu, 'agentSeeds', 'test', { agents }),
        slot: slots.binding,
        obs: storageBuffer(gpu, 'obs', obs),
        actions: storageBuffer(gpu, 'actions', new Int32Array(batchSize)),
        logProbs: storageBuffer(gpu, 'logProbs', indices),
        advantages: storageBuffer(gpu, 'advantages', new Float32Array(batchSize)),
        returns: storageBuffer(gpu, 'returns', indices),
        logits: storageBuffer(gpu, 'logits', new Float32Array(batchSize * numActions)),
        mbObs: storageBuffer(gpu, 'mbObs', M * B * obsDim * 4),
        mbRecords: storageBuffer(gpu, 'mbRecords', M * B * recordStride * 4),
      };
      const group = gather.bind(buffers);
      const perEpoch: number[][] = [];
      for (let e = 0; e < epochs; e++) {
        const drawn: number[] = [];
        // The epoch's slot is its first minibatch's.
        submitPass(gpu, 'gather', (pass) => gather.dispatch(pass, group, M * B, [slots.offset(e * M)]));
        const records = await readFloat32(gpu, buffers.mbRecords, 0, M * B * recordStride);
        const mbObs = await readFloat32(gpu, buffers.mbObs, 0, M * B * obsDim);
        for (let m = 0; m < M; m++) {
          for (let r = 0; r < B; r++) {
            const row = m * B + r;
            const j = records[row * recordStride];
            expect(records[row * recordStride + 2]).toBe(j);
            expect(mbObs[row * obsDim + 2]).toBe(j);
            drawn.push(j);
          }
        }
        expect(new Set(drawn).size).toBe(M * B);
        expect(Math.min(...drawn)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...drawn)).toBeLessThan(batchSize);
        if (M * B === batchSize) expect([...drawn].sort((a, b) => a - b)).toEqual(Array.from(indices));
        perEpoch.push(drawn);
      }
      if (batchSize > 1) expect(perEpoch[0]).not.toEqual(perEpoch[1]);
    });
  }
});

interface LossInputs {
  args: ReturnType<typeof ppoArgs>;
  agent: AgentParamValues;
  /** [B][recordStride] as gather_minibatch writes them */
  records: Float32Array;
  /** [B][numActions] policy outputs */
  logits: Float32Array;
  /** [B] value outputs */
  values: Float32Array;
  metrics: Float32Array;
}

/** One minibatch_losses dispatch over B = args.minibatchSize rows: both gradients and the statistics rows. */
async function minibatchLosses(gpu: GpuContext, o: LossInputs) {
  const family = await ppoFamily(gpu);
  const k = await family.kernel('minibatch_losses', { dynamicOffsets: ['slot'] });
  const B = o.args.minibatchSize;
  const slotView = family.struct('MinibatchArgs');
  const policyGradOutput = storageBuffer(gpu, 'policyGrad', B * numActions * 4);
  const valueGradOutput = storageBuffer(gpu, 'valueGrad', B * 4);
  const rowStats = storageBuffer(gpu, 'rowStats', STATS.length * B * 4);
  const group = k.bind({
    ppo: uniformBuffer(gpu, 'ppo', family.struct('PpoArgs').pack(o.args)),
    slot: { buffer: uniformBuffer(gpu, 'slot', slotView.pack({ epoch: 0, minibatch: 0 })), offset: 0, size: slotView.paddedSize },
    mbRecordsIn: storageBuffer(gpu, 'records', o.records),
    metrics: storageBuffer(gpu, 'metrics', o.metrics),
    policyLogits: storageBuffer(gpu, 'logits', o.logits),
    policyGradOutput,
    valuePredictions: storageBuffer(gpu, 'values', o.values),
    valueGradOutput,
    rowStats,
    agents: agentsBuffer(gpu, 'agents', [o.agent]).params,
  });
  submitPass(gpu, 'minibatch_losses', (pass) => k.dispatch(pass, group, B, [0]));
  return {
    policyGrad: await readFloat32(gpu, policyGradOutput),
    valueGrad: await readFloat32(gpu, valueGradOutput),
    stats: await readFloat32(gpu, rowStats),
  };
}

describe('PPO loss gradients (one minibatch_losses dispatch for both) vs float64 finite differences (rtol 2e-3, atol 2e-5)', () => {
  const cases = [
    { name: 'clipped surrogate', clip: 0.2, entropyCoef: 0, klPenalty: false },
    { name: 'clipped surrogate + entropy bonus', clip: 0.1, entropyCoef: 0.05, klPenalty: false },
    { name: 'adaptive KL penalty', clip: 0.2, entropyCoef: 0.01, klPenalty: true },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const gpu = await testGpu();
      const B = 37;
      const rand = seededRandom(c.name.length * 31);
      const samples: PolicySample[] = [];
      const records = new Float32Array(B * recordStride);
      const logits = new Float32Array(B * numActions);
      for (let r = 0; r < B; r++) {
        const z = Array.from({ length: numActions }, () => Math.fround(2 * rand() - 1));
        // Old logits near the new ones, so ratios fall on both sides of the clip range.
        const zOld = z.map((x) => Math.fround(x + 0.6 * (rand() - 0.5)));
        const action = Math.floor(rand() * numActions);
        const mOld = Math.max(...zOld);
        const logProbOld = Math.fround(zOld[action] - mOld - Math.log(zOld.reduce((a, x) => a + Math.exp(x - mOld), 0)));
        const advantage = Math.fround(2 * rand() - 1);
        samples.push({ logits: z, logitsOld: zOld, action, logProbOld, advantage });
        logits.set(z, r * numActions);
        records.set([logProbOld, advantage, 0, ...zOld, action], r * recordStride);
      }
      const klCoef = 0.7;
      const metrics = new Float32Array(METRICS_BLOCK_FLOATS);
      metrics[metricSlot('kl_coef')] = klCoef;
      const ppoCase = { batchSize: B, minibatchSize: B, clip: c.clip, entropyCoef: c.entropyCoef, klPenalty: c.klPenalty };
      const { policyGrad: grad, stats } = await minibatchLosses(gpu, { args: ppoArgs(ppoCase), agent: agentOf(ppoCase), records, logits, values: new Float32Array(B), metrics });
      const options = { clip: c.clip, entropyCoef: c.entropyCoef, klCoef: c.klPenalty ? klCoef : undefined };
      const expectedGrad = new Float64Array(B * numActions);
      const expectedLoss = new Float64Array(B);
      const h = 1e-6;
      let clippedRows = 0;
      samples.forEach((s, r) => {
        const base = policyLoss64(s, options);
        expectedLoss[r] = base.loss;
        if (Math.abs(base.ratio - 1) > c.clip) clippedRows++;
        for (let a = 0; a < numActions; a++) {
          const plus = { ...s, logits: s.logits.map((x, i) => (i === a ? x + h : x)) };
          const minus = { ...s, logits: s.logits.map((x, i) => (i === a ? x - h : x)) };
          expectedGrad[r * numActions + a] = (policyLoss64(plus, options).loss - policyLoss64(minus, options).loss) / (2 * h) / B;
        }
      });
      if (!c.klPenalty) expect(clippedRows).toBeGreaterThan(0);
      expectClose(grad, expectedGrad, 2e-3, 2e-5, 'dLoss/dlogits');
      expectClose(stats.subarray(0, B), expectedLoss, 1e-4, 1e-5, 'per-sample loss');
    });
  }

  it('value loss gradient, plain and clipped', async () => {
    const gpu = await testGpu();
    const B = 41;
    for (const valueClip of [0, 0.3]) {
      const rand = seededRandom(99 + valueClip * 10);
      const values = new Float32Array(B).map(() => Math.fround(4 * rand() - 2));
      const records = new Float32Array(B * recordStride);
      const targets: number[] = [];
      const olds: number[] = [];
      for (let r = 0; r < B; r++) {
        const target = Math.fround(4 * rand() - 2);
        // The kernel derives the old value as return − advantage (in f32).
        const advantage = Math.fround(target - Math.fround(values[r] + (rand() - 0.5)));
        targets.push(target);
        olds.push(Math.fround(target - advantage));
        records.set([0, advantage, target], r * recordStride);
      }
      const ppoCase = { batchSize: B, minibatchSize: B, valueClip };
      const logits = new Float32Array(B * numActions);
      const { valueGrad: grad, stats } = await minibatchLosses(gpu, { args: ppoArgs(ppoCase), agent: agentOf(ppoCase), records, logits, values, metrics: new Float32Array(METRICS_BLOCK_FLOATS) });
      const h = 1e-6;
      const expected = Array.from(values, (v, r) => (valueLoss64(v + h, targets[r], olds[r], valueClip) - valueLoss64(v - h, targets[r], olds[r], valueClip)) / (2 * h) / B);
      expectClose(grad, expected, 1e-3, 1e-5, `dLoss/dvalue (valueClip ${valueClip})`);
      // The value_loss statistics row holds the per-sample loss (rtol 1e-5).
      const losses = Array.from(values, (v, r) => valueLoss64(v, targets[r], olds[r], valueClip));
      const row = STATS.indexOf('value_loss');
      expectClose(stats.subarray(row * B, (row + 1) * B), losses, 1e-5, 1e-6, `per-sample value loss (valueClip ${valueClip})`);
    }
  });
});

describe('the losses opening the paired input-gradient chains (ppo_chain.wgsl): bit for bit with their own dispatch', () => {
  // Every branch of the losses: clip and KL penalty, value clipping, an entropy bonus, minibatch-normalised advantages.
  const cases = [
    { algo: 'ppo', valueClip: 0.2, entCoef: 0.01, advantageNorm: 'minibatch' },
    { algo: 'ppo-kl', advantageNorm: 'batch' },
  ] as const;
  for (const overrides of cases) {
    it(`${overrides.algo}: every checkpoint array and metric after 2 iterations, in one dispatch fewer per minibatch where the device binds 14 storage buffers`, async () => {
      const gpu = await testGpu();
      const config = resolveConfig({ preset: 'seed', stepsPerIter: 16 * 40, minibatch: 80, epochs: 2, ...overrides });
      const run = async (chained: boolean) => {
        PpoUpdate.useLossesChain(gpu, chained);
        try {
          const trainer = await makeTrainer(gpu, config);
          const metrics = [await trainer.step(), await trainer.step()].map(({ wall_s: _w, sps: _s, ...m }) => m);
          const { arrays } = await trainer.checkpoint([]);
          const dispatches = trainer.dispatchesPerIteration;
          trainer.destroy();
          return { metrics, arrays: Object.entries(arrays).map(([name, a]) => [name, new Uint32Array(a.buffer, a.byteOffset, a.length)] as const), dispatches };
        } finally {
          PpoUpdate.useLossesChain(gpu, true);
        }
      };
      const [fused, alone] = [await run(true), await run(false)];
      expect(fused.arrays).toEqual(alone.arrays);
      expect(fused.metrics).toEqual(alone.metrics);
      expect(fused.arrays.find(([name]) => name === 'policy')![1].some((x) => x !== 0)).toBe(true);
      // Where the `rows` chains pair with fused steps and the losses chain's 14 storage buffers bind (lavapipe), one dispatch fewer per minibatch.
      const pairs = MlpKernels.holdsEvaluationRows(gpu) && gpu.limits.maxStorageBuffersPerShaderStage >= 14;
      expect(alone.dispatches - fused.dispatches).toBe(pairs ? config.epochs * config.derived.minibatches : 0);
    });
  }
});
