/**
 * A synthetic full batch for the TRPO and REINFORCE update tests: a small
 * 4→8→8→2 policy and 4→8→8→1 value network, rollout-shaped buffers on the GPU
 * and the same values (f32-rounded) in float64 for the references.
 */
import { MlpLayout } from '../src/nn/mlp';
import { mlpForwardReference } from '../src/reference/mlp';
import { Mlp, MlpKernels } from '../src/kernels/mlp';
import { storageBuffer } from '../src/gpu/buffers';
import { softmaxReference } from '../src/reference/policy';
import type { SurrogateBatch } from '../src/reference/trpo';
import type { FullBatch } from '../src/kernels/pg';
import { resolveConfig, type ResolvedConfig, type TrainConfig } from '../src/core/config';
import { METRICS_BLOCK_FLOATS, metricSlot } from '../src/core/metrics';
import { testGpu, seededRandom, randomArray } from './helpers';
import { f32 } from './maths';

export interface SyntheticBatch {
  config: ResolvedConfig;
  policy: Mlp;
  value: Mlp;
  policyParams: Float64Array;
  valueParams: Float64Array;
  buffers: FullBatch;
  /** The surrogate's view, advantages normalised as on the GPU. */
  surrogate: SurrogateBatch;
  returns: Float64Array;
}

export async function syntheticBatch(overrides: Partial<TrainConfig>, seed: number): Promise<SyntheticBatch> {
  const gpu = await testGpu();
  const config = resolveConfig({ numEnvs: 8, stepsPerIter: 200, hidden: 8, ...overrides });
  const rows = config.derived.batchSize;
  const A = config.derived.numActions;
  const policyLayout = new MlpLayout([4, 8, 8, A], ['tanh', 'tanh', 'identity']);
  const valueLayout = new MlpLayout([4, 8, 8, 1], ['tanh', 'tanh', 'identity']);
  const rand = seededRandom(seed);
  const policyParams = f32(randomArray(policyLayout.paramCount, rand, -0.7, 0.7));
  const valueParams = f32(randomArray(valueLayout.paramCount, rand, -0.5, 0.5));
  const obs = f32(randomArray(rows * 4, rand, -1.5, 1.5));
  const actions = Int32Array.from({ length: rows }, () => Math.floor(rand() * A));
  const rawAdvantages = f32(randomArray(rows, rand, -2, 3));
  const returns = f32(randomArray(rows, rand, 2, 12));
  const mean = Math.fround(rawAdvantages.reduce((s, a) => s + a, 0) / rows);
  const std = Math.fround(Math.sqrt(rawAdvantages.reduce((s, a) => s + (a - mean) ** 2, 0) / rows));
  const acts = mlpForwardReference(policyLayout, policyParams, obs, rows);
  const logits = f32(acts[acts.length - 1]);
  const p = softmaxReference(logits, rows, A);
  const logProbs = f32(Float64Array.from(actions, (a, r) => Math.log(p[r * A + a])));

  const kernels = await MlpKernels.create(gpu);
  const policy = Mlp.create(gpu, kernels, policyLayout, 'test.policy');
  const value = Mlp.create(gpu, kernels, valueLayout, 'test.value');
  policy.setParams(Float32Array.from(policyParams));
  value.setParams(Float32Array.from(valueParams));
  const metrics = new Float32Array(METRICS_BLOCK_FLOATS);
  metrics[metricSlot('advantage_mean')] = mean;
  metrics[metricSlot('advantage_std')] = std;
  return {
    config,
    policy,
    value,
    policyParams,
    valueParams,
    buffers: {
      obs: storageBuffer(gpu, 'test.obs', Float32Array.from(obs)),
      actions: storageBuffer(gpu, 'test.actions', actions),
      logProbs: storageBuffer(gpu, 'test.logProbs', Float32Array.from(logProbs)),
      advantages: storageBuffer(gpu, 'test.advantages', Float32Array.from(rawAdvantages)),
      returns: storageBuffer(gpu, 'test.returns', Float32Array.from(returns)),
      logits: storageBuffer(gpu, 'test.logits', Float32Array.from(logits)),
      metrics: storageBuffer(gpu, 'test.metrics', metrics),
    },
    surrogate: {
      layout: policyLayout,
      rows,
      obs,
      actions,
      logProbsOld: logProbs,
      advantages: rawAdvantages.map((a) => (a - mean) / (std + 1e-8)),
      logitsOld: logits,
    },
    returns,
  };
}
