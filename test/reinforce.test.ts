import { describe, it, expect } from 'vitest';
import { ReinforceUpdate } from '../src/algos/reinforce';
import { readFloat32, submitPass } from '../src/gpu/buffers';
import { policyGradientReference, valueFitReference } from '../src/reference/pg';
import { AdamReference } from '../src/reference/adam';
import { metricSlot } from '../src/core/metrics';
import { syntheticBatch } from './fullBatch';
import { testGpu, expectClose } from './helpers';
import { maxAbs } from './maths';
import { makeTrainer } from '../src/train/trainer';
import { resolveConfig } from '../src/core/config';
import type { IterationMetrics } from '../src/core/metrics';

describe('ReinforceUpdate', () => {
  it('one update on a 200-row batch: the float64 gradient of −mean(logp·Â), one Adam step, the value fit', async () => {
    const gpu = await testGpu();
    const s = await syntheticBatch({ algo: 'reinforce' }, 9);
    const { config } = s;
    const update = await ReinforceUpdate.create(gpu, config, s.policy, s.value, s.buffers);
    submitPass(gpu, 'test.reinforce', (pass) => update.encode(pass));
    const [theta, grads, valueParams, metrics] = await Promise.all([
      s.policy.readParams(),
      s.policy.readGrads(),
      s.value.readParams(),
      readFloat32(gpu, s.buffers.metrics),
    ]);
    const ref = policyGradientReference(s.surrogate, s.policyParams, false);
    // Gradient of a mean over 200 rows in f32: rtol 1e-4, atol 1e-5·max.
    expectClose(grads, ref.grads, 1e-4, 1e-5 * maxAbs(ref.grads), 'policy gradient');
    expect(metrics[metricSlot('policy_loss')]).toBeCloseTo(ref.loss, 5);
    // Adam's first step is ±lr·sign(g) for all but the tiniest g, so it is checked on the GPU's own gradient (1e-6 absolute).
    const stepped = Float64Array.from(s.policyParams);
    new AdamReference(stepped.length, { lr: config.lr }).update(stepped, grads);
    expectClose(theta, stepped, 0, 1e-6, 'θ after one Adam step');

    const { rows, obs } = s.surrogate;
    const value = valueFitReference(s.value.layout, s.valueParams, obs, s.returns, rows, config.valueSteps, new AdamReference(s.value.layout.paramCount, { lr: config.valueLr }));
    expectClose(valueParams, value.params, 1e-4, 1e-5, 'value θ after the fit');
    expect(Math.abs(metrics[metricSlot('value_loss')] - value.lastLoss)).toBeLessThan(1e-5 * value.lastLoss);
  });

  it('follows the learning-rate fraction of prepareIteration', async () => {
    const gpu = await testGpu();
    const s = await syntheticBatch({ algo: 'reinforce', lr: 1e-2 }, 10);
    const update = await ReinforceUpdate.create(gpu, s.config, s.policy, s.value, s.buffers);
    update.prepareIteration(0, 0.25);
    submitPass(gpu, 'test.reinforce', (pass) => update.encode(pass));
    const [theta, grads] = await Promise.all([s.policy.readParams(), s.policy.readGrads()]);
    const stepped = Float64Array.from(s.policyParams);
    new AdamReference(stepped.length, { lr: 2.5e-3 }).update(stepped, grads);
    expectClose(theta, stepped, 0, 1e-6, 'θ after one Adam step at lr 0.25 × 1e-2');
  });
});

describe('REINFORCE training on the GPU', () => {
  it('improves the mean return within a few iterations (smoke test)', async () => {
    const gpu = await testGpu();
    const trainer = await makeTrainer(gpu, resolveConfig({ algo: 'reinforce', numEnvs: 64, stepsPerIter: 2048, lr: 1e-2, seed: 1 }));
    const metrics: IterationMetrics[] = [];
    for (let i = 0; i < 8; i++) metrics.push(await trainer.step());
    const returns = metrics.map((m) => m.mean_return ?? 0);
    expect(Math.max(...returns.slice(-3)), `returns ${returns.map((r) => r.toFixed(1)).join(' ')}`).toBeGreaterThan(2 * returns[0]);
    for (const m of metrics) {
      expect(Number.isFinite(m.policy_loss) && Number.isFinite(m.value_loss)).toBe(true);
      expect(m.entropy).toBeLessThanOrEqual(Math.log(2) + 1e-6);
    }
    trainer.destroy();
  });

  it('reading dispatchesPerIteration between steps changes nothing (one Adam step per iteration alternates its control buffers)', async () => {
    const gpu = await testGpu();
    const config = resolveConfig({ algo: 'reinforce', numEnvs: 16, stepsPerIter: 256, lr: 1e-2, seed: 3 });
    const run = async (readCount: boolean) => {
      const trainer = await makeTrainer(gpu, config);
      const out: string[] = [];
      for (let i = 0; i < 3; i++) {
        if (readCount) expect(trainer.dispatchesPerIteration).toBeGreaterThan(0);
        const { wall_s: _wall, sps: _sps, ...m } = await trainer.step();
        out.push(JSON.stringify(m));
      }
      const weights = await trainer.policy.readParams();
      trainer.destroy();
      return { out, weights: new Uint32Array(weights.buffer) };
    };
    const counted = await run(true);
    const plain = await run(false);
    expect(counted.out).toEqual(plain.out);
    expect(counted.weights).toEqual(plain.weights);
  });
});
