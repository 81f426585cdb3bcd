import { describe, it, expect } from 'vitest';
import { Adam, adamStepForm, defaultAdamStepForm, type AdamOptions } from '../src/kernels/optim';
import { countDispatches } from '../src/train/trainer';
import { AdamReference } from '../src/reference/adam';
import { storageBuffer, readFloat32, submitPass } from '../src/gpu/buffers';
import { agentsBuffer } from '../src/gpu/agents';
import { AGENT_PARAMS_BYTES, agentParamOffset } from '../src/core/agentParams';
import { testGpu, seededRandom, randomArray, expectClose } from './helpers';

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

async function setup(count: number, options: Omit<AdamOptions, 'count' | 'lr'> & { lr: number }, seed: number) {
  const gpu = await testGpu();
  const rand = seededRandom(seed);
  const initial = new Float32Array(randomArray(count, rand, -1, 1));
  const params = storageBuffer(gpu, 'test.params', initial);
  const grads = storageBuffer(gpu, 'test.grads', count * 4);
  const adam = await Adam.create(gpu, { count, ...options, label: 'test.adam' });
  const reference = new AdamReference(count, options);
  const theta = Float64Array.from(initial);
  /** Writes fresh random grads (scaled), runs one GPU step, and returns the grads. */
  const step = (scale = 1) => {
    const g = new Float32Array(randomArray(count, rand, -scale, scale));
    gpu.device.queue.writeBuffer(grads, 0, g);
    submitPass(gpu, 'test.adam.step', (pass) => adam.encodeStep(pass, params, grads));
    return g;
  };
  const control = async () => {
    const c = (await adam.readState()).control;
    const field = (name: string) => c[adam.controlView.offsetOf(name) / 4];
    return { raw: c, step: field('step'), gradScale: field('gradScale'), gradNormSquared: field('gradNormSquared'), active: field('activeFlag') };
  };
  return { gpu, adam, reference, theta, params, grads, step, control, read: () => readFloat32(gpu, params, 0, count) };
}

// Both ways of recording a step: one fused dispatch, and prepare + update (SwiftShader's default).
for (const fused of [true, false]) {
  describe(fused ? 'fused step' : 'prepare + update', () => {
    describe('Adam vs float64 torch.optim.Adam formulas (rtol 1e-5, atol 1e-7)', () => {
      for (const count of [1, 1001, 4610]) {
        it(`5 steps on ${count} parameters, learning rate changed before step 4`, async () => {
          const s = await setup(count, { lr: 1e-2, fused }, count);
          for (let k = 1; k <= 5; k++) {
            const lr = k >= 4 ? 3e-3 : 1e-2;
            if (k === 4) s.adam.setLearningRate(lr);
            s.reference.update(s.theta, s.step(), lr);
          }
          expectClose(await s.read(), s.theta, 1e-5, 1e-7, 'params');
          const state = await s.adam.readState();
          expectClose(state.m, s.reference.m, 1e-5, 1e-7, 'm');
          expectClose(state.v, s.reference.v, 1e-5, 1e-9, 'v');
          expect((await s.control()).step).toBe(5);
        });
      }

      it('several steps recorded into one pass (3, then 2), with clipping and an external flag: the control copies alternate', async () => {
        const gpu = await testGpu();
        const flags = storageBuffer(gpu, 'test.flags', new Float32Array([0, 1]));
        const s = await setup(1001, { lr: 1e-2, maxGradNorm: 0.3, activeFlag: { buffer: flags, index: 1 }, fused }, 5);
        for (const steps of [3, 2]) {
          const grads = Array.from({ length: steps }, () => new Float32Array(randomArray(1001, seededRandom(steps * 7 + s.reference.step), -1, 1)));
          const buffers = grads.map((g, k) => storageBuffer(gpu, `test.grads${k}`, g));
          submitPass(gpu, 'test.adam.steps', (pass) => {
            for (const b of buffers) s.adam.encodeStep(pass, s.params, b);
          });
          for (const g of grads) s.reference.update(s.theta, g);
          expectClose(await s.read(), s.theta, 1e-5, 1e-7, `params after ${s.reference.step} steps`);
          const control = await s.control();
          expect(control.step).toBe(s.reference.step);
          expectClose([control.gradScale], [s.reference.gradScale], 1e-5, 0, 'gradScale of the last step');
        }
      });

      it('β near 1 (0.9999): bias corrections without cancellation', async () => {
        const s = await setup(257, { lr: 1e-3, beta1: 0.99, beta2: 0.9999, eps: 1e-6, fused }, 3);
        for (let k = 0; k < 5; k++) s.reference.update(s.theta, s.step());
        expectClose(await s.read(), s.theta, 1e-5, 1e-7, 'params');
      });
    });

    describe('active flag', () => {
      it('own flag: inactive steps change nothing, not even t; the next active step is step t + 1', async () => {
        const s = await setup(1001, { lr: 1e-2, fused }, 21);
        for (let k = 0; k < 2; k++) s.reference.update(s.theta, s.step());
        const before = { params: await s.read(), state: await s.adam.readState() };
        s.adam.setActive(false);
        s.step();
        s.step();
        const after = await s.adam.readState();
        const control = await s.control();
        expect(control.active).toBe(0);
        s.adam.setActive(true);
        expect(new Uint32Array((await s.read()).buffer)).toEqual(new Uint32Array(before.params.buffer));
        expect(new Uint32Array(after.m.buffer)).toEqual(new Uint32Array(before.state.m.buffer));
        expect(new Uint32Array(after.v.buffer)).toEqual(new Uint32Array(before.state.v.buffer));
        // Only the flag itself differs in the control block.
        const activeAt = s.adam.controlView.offsetOf('activeFlag') / 4;
        expect(Array.from(after.control).filter((_, k) => k !== activeAt)).toEqual(Array.from(before.state.control).filter((_, k) => k !== activeAt));
        s.reference.update(s.theta, s.step());
        expectClose(await s.read(), s.theta, 1e-5, 1e-7, 'params after resuming');
        expect((await s.control()).step).toBe(3);
      });

      it('external flag in another buffer gates the step (0 → no-op, 1 → step)', async () => {
        const gpu = await testGpu();
        const flags = storageBuffer(gpu, 'test.metrics', new Float32Array([5, 6, 0, 7]));
        const s = await setup(300, { lr: 1e-2, activeFlag: { buffer: flags, index: 2 }, fused }, 22);
        const initial = await s.read();
        s.step();
        expect(await s.read()).toEqual(initial);
        expect((await s.control()).step).toBe(0);
        gpu.device.queue.writeBuffer(flags, 8, Float32Array.of(1));
        s.reference.update(s.theta, s.step());
        expectClose(await s.read(), s.theta, 1e-5, 1e-7, 'params');
        expect((await s.control()).step).toBe(1);
        // The flag's buffer is only read.
        expect(await readFloat32(gpu, flags)).toEqual(new Float32Array([5, 6, 1, 7]));
      });
    });

    describe("learning rates from the agents' records (learningRateField)", () => {
      it('at fraction 1 equal host-written rates bit for bit: 2 agents, valueLr, clipping, a record changed on the GPU before step 3', async () => {
        const gpu = await testGpu();
        const count = 1001;
        const rand = seededRandom(fused ? 51 : 52);
        const rates = [3e-3, 1e-2];
        const later = 7e-3;
        const agents = agentsBuffer(gpu, 'test.agents', rates.map((valueLr, a) => ({ valueLr, lr: 0.5, maxGradNorm: [0.4, 5][a] })));
        const initial = new Float32Array(randomArray(2 * count, rand));
        const grads = [0, 1, 2].map(() => storageBuffer(gpu, 'test.grads', new Float32Array(randomArray(2 * count, rand, -0.2, 0.2))));
        const runs = await Promise.all(
          [{ learningRateField: 'valueLr' as const }, { lr: rates }].map(async (rate) => ({
            adam: await Adam.create(gpu, { count, agents, clipGradNorm: true, fused, ...rate, label: 'test.adam.rates' }),
            params: storageBuffer(gpu, 'test.params', initial),
          })),
        );
        const [records, host] = runs;
        for (let step = 0; step < 3; step++) {
          if (step === 2) {
            // Agent 1's record changes on the GPU (as PBT's explore writes it); the host-rate twin is told.
            gpu.device.queue.writeBuffer(agents.params, AGENT_PARAMS_BYTES + agentParamOffset('valueLr'), Float32Array.of(later));
            host.adam.setLearningRate([rates[0], later]);
          }
          records.adam.setLearningRateFraction(1);
          for (const run of runs) submitPass(gpu, 'test.adam.rates', (pass) => run.adam.encodeStep(pass, run.params, grads[step]));
        }
        expect(bits(await readFloat32(gpu, records.params)), 'params').toEqual(bits(await readFloat32(gpu, host.params)));
        const [got, want] = [await records.adam.readState(), await host.adam.readState()];
        for (const part of records.adam.stateParts) expect(bits(got[part]), part).toEqual(bits(want[part]));
        const floats = records.adam.controlView.size / 4;
        const rateAt = records.adam.controlView.offsetOf('learningRate') / 4;
        expect([got.control[rateAt], got.control[floats + rateAt]]).toEqual([Math.fround(rates[0]), Math.fround(later)]);
        for (const run of runs) run.adam.destroy();
      });

      it('with an annealing fraction match float64 Adam at rate lr × fraction (rtol 1e-5, atol 1e-7); the rate is f32(lr)·f32(fraction)', async () => {
        const gpu = await testGpu();
        const count = 1001;
        const rand = seededRandom(fused ? 61 : 62);
        const rates = [2e-3, 9e-3];
        const agents = agentsBuffer(gpu, 'test.agents', rates.map((lr) => ({ lr, valueLr: 1 })));
        const initial = new Float32Array(randomArray(2 * count, rand));
        const params = storageBuffer(gpu, 'test.params', initial);
        const grads = storageBuffer(gpu, 'test.grads', 2 * count * 4);
        const adam = await Adam.create(gpu, { count, agents, learningRateField: 'lr', fused, label: 'test.adam.anneal' });
        const references = rates.map((lr) => new AdamReference(count, { lr }));
        const thetas = rates.map((_, a) => Float64Array.from(initial.subarray(a * count, (a + 1) * count)));
        const fractions = [1, 0.75, 0.5, 0.2];
        for (const fraction of fractions) {
          const g = new Float32Array(randomArray(2 * count, rand));
          gpu.device.queue.writeBuffer(grads, 0, g);
          adam.setLearningRateFraction(fraction);
          submitPass(gpu, 'test.adam.anneal', (pass) => adam.encodeStep(pass, params, grads));
          references.forEach((r, a) => r.update(thetas[a], g.subarray(a * count, (a + 1) * count), rates[a] * fraction));
        }
        const got = await readFloat32(gpu, params);
        const state = await adam.readState();
        const floats = adam.controlView.size / 4;
        rates.forEach((lr, a) => {
          const block = (x: Float32Array) => x.subarray(a * count, (a + 1) * count);
          expectClose(block(got), thetas[a], 1e-5, 1e-7, `agent ${a} params`);
          expectClose(block(state.m), references[a].m, 1e-5, 1e-7, `agent ${a} m`);
          expectClose(block(state.v), references[a].v, 1e-5, 1e-9, `agent ${a} v`);
          const f = Math.fround;
          expect(state.control[a * floats + adam.controlView.offsetOf('learningRate') / 4]).toBe(f(f(lr) * f(fractions[fractions.length - 1])));
        });
        adam.destroy();
      });
    });

    describe('global gradient-norm clipping (gradScale = min(1, maxNorm / (‖g‖ + 1e-6)); rtol 1e-5)', () => {
      it('scales large gradients down and leaves small ones alone', async () => {
        const count = 4610;
        const maxGradNorm = 0.5;
        const s = await setup(count, { lr: 1e-2, maxGradNorm, fused }, 31);
        for (const scale of [1, 1e-4, 3]) {
          const g = s.step(scale);
          s.reference.update(s.theta, g);
          const norm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
          const control = await s.control();
          expectClose([control.gradNormSquared], [norm * norm], 1e-5, 0, 'gradNormSquared');
          expectClose([control.gradScale], [Math.min(1, maxGradNorm / (norm + 1e-6))], 1e-5, 0, `gradScale at gradient scale ${scale}`);
          expect(control.gradScale < 1).toBe(norm > maxGradNorm);
          expectClose(await s.read(), s.theta, 1e-5, 1e-7, 'params');
        }
      });
    });
  });
}

describe('Adam state and options', () => {
  it('dispatches per step: fused 1, else 2; clipping adds the norm reduction (2)', async () => {
    const gpu = await testGpu();
    const params = storageBuffer(gpu, 'test.params', 40);
    for (const [options, dispatches] of [
      [{ lr: 1, fused: true }, 1],
      [{ lr: 1, fused: true, maxGradNorm: 1 }, 3],
      [{ lr: 1, fused: false }, 2],
      [{ lr: 1, fused: false, maxGradNorm: 1 }, 4],
    ] as const) {
      const adam = await Adam.create(gpu, { count: 10, ...options, label: 'test.adam.count' });
      expect(countDispatches((pass) => adam.encodeStep(pass, params, params))).toBe(dispatches);
      expect(adam.stepDispatchCount).toBe(dispatches);
      // Clipping's norm needs every gradient before the step: no other kernel may take it.
      expect(adam.fusible).toBe(!('maxGradNorm' in options));
      adam.destroy();
    }
  });

  it('the step form: per adapter by default, a device override for Adams created after it', async () => {
    expect(defaultAdamStepForm({ backend: 'lavapipe' })).toEqual({ fused: true, paramsPerInvocation: 8 });
    expect(defaultAdamStepForm({ backend: 'swiftshader' })).toEqual({ fused: true, paramsPerInvocation: 16 });
    expect(defaultAdamStepForm({ backend: 'system' })).toEqual({ fused: true, paramsPerInvocation: 1 });
    const gpu = await testGpu();
    const params = storageBuffer(gpu, 'test.stepForm.params', 40);
    const make = () => Adam.create(gpu, { count: 10, lr: 1, label: 'test.stepForm' });
    const a = await make();
    expect([a.options.fused, a.options.paramsPerInvocation]).toEqual([true, defaultAdamStepForm(gpu.adapter).paramsPerInvocation]);
    Adam.useStepForm(gpu, { fused: false, paramsPerInvocation: 3 });
    try {
      expect(adamStepForm(gpu)).toEqual({ fused: false, paramsPerInvocation: 3 });
      const b = await make();
      expect([b.options.fused, b.options.paramsPerInvocation, b.stepDispatchCount]).toEqual([false, 3, 2]);
      expect(countDispatches((pass) => b.encodeStep(pass, params, params))).toBe(2);
      // Options still win over the device's form, and Adams made before keep theirs.
      const c = await Adam.create(gpu, { count: 10, lr: 1, fused: true, paramsPerInvocation: 5, label: 'test.stepForm' });
      expect([c.options.fused, c.options.paramsPerInvocation, a.options.fused]).toEqual([true, 5, true]);
      b.destroy();
      c.destroy();
      expect(() => Adam.useStepForm(gpu, { paramsPerInvocation: 0 })).toThrow('Adam.useStepForm: paramsPerInvocation must be an integer in [1, 64], got 0');
    } finally {
      Adam.useStepForm(gpu, null);
    }
    expect(adamStepForm(gpu)).toEqual(defaultAdamStepForm(gpu.adapter));
    a.destroy();
    params.destroy();
  });

  it('several parameters per invocation: the same bits as one (2 agents, 1001 parameters each, both ways of recording)', async () => {
    const gpu = await testGpu();
    const count = 1001;
    const agents = agentsBuffer(gpu, 'test.perInvocation.agents', [{ lr: 0.01 }, { lr: 0.002 }]);
    const run = async (paramsPerInvocation: number, fused: boolean) => {
      const rand = seededRandom(57);
      const params = storageBuffer(gpu, 'test.perInvocation.params', new Float32Array(randomArray(2 * count, rand, -1, 1)));
      const grads = storageBuffer(gpu, 'test.perInvocation.grads', 2 * count * 4);
      const adam = await Adam.create(gpu, { count, agents, learningRateField: 'lr', fused, paramsPerInvocation, label: 'test.perInvocation' });
      for (let k = 0; k < 3; k++) {
        gpu.device.queue.writeBuffer(grads, 0, new Float32Array(randomArray(2 * count, rand, -1, 1)));
        submitPass(gpu, 'test.perInvocation.step', (pass) => adam.encodeStep(pass, params, grads));
      }
      const state = await adam.readState();
      const out = [await readFloat32(gpu, params, 0, 2 * count), state.m, state.v, state.control].map(bits);
      adam.destroy();
      params.destroy();
      grads.destroy();
      return out;
    };
    // Every form gives the bits of one parameter an invocation in one dispatch a step.
    const one = await run(1, true);
    for (const fused of [true, false]) {
      for (const n of [1, 3, 8, 16, 64]) expect(await run(n, fused), `${n} per invocation, ${fused ? 'fused' : 'prepare + update'}`).toEqual(one);
    }
    for (const bad of [0, 65, 1.5]) {
      await expect(Adam.create(gpu, { count, lr: 1, paramsPerInvocation: bad })).rejects.toThrow(`adam: paramsPerInvocation must be an integer in [1, 64], got ${bad}`);
    }
    agents.params.destroy();
  });

  it('readState/writeState round-trip into a fresh optimizer, which then continues identically', async () => {
    const a = await setup(500, { lr: 1e-2 }, 41);
    // An odd count, so the source reads its other control copy next and the fresh optimizer its first.
    for (let k = 0; k < 3; k++) a.step();
    const state = await a.adam.readState();
    const b = await Adam.create(a.gpu, { count: 500, lr: 1e-2, label: 'test.adam.restored' });
    b.writeState(state);
    const restored = await b.readState();
    for (const part of a.adam.stateParts) expect(restored[part]).toEqual(state[part]);
    const paramsB = storageBuffer(a.gpu, 'test.paramsB', await a.read());
    a.step();
    submitPass(a.gpu, 'test.adam.restored.step', (pass) => b.encodeStep(pass, paramsB, a.grads));
    expect(await readFloat32(a.gpu, paramsB, 0, 500), 'restored optimizer steps like the original').toEqual(await a.read());
    expect(() => b.writeState({ ...state, m: new Float32Array(3) })).toThrow(/"m" needs 500 values, got 3/);
  });

  it("a population's padded vectors with normCount: each agent's clipped steps equal its single run's bit for bit", async () => {
    const gpu = await testGpu();
    // A 3→16→16→1 Gaussian policy's 354 parameters padded to 356 (parameterStride), 3 agents clipping at different norms.
    const [count, stride, P] = [354, 356, 3];
    const run = async (normCount: number) => {
      const rand = seededRandom(61);
      const maxNorms = [0.3, 0.5, 50];
      const initial = new Float32Array(randomArray(P * count, rand, -1, 1));
      const grads = [0, 1, 2].map(() => new Float32Array(randomArray(P * count, rand, -0.2, 0.2)));
      const padded = (a: Float32Array) => {
        const out = new Float32Array(P * stride);
        for (let k = 0; k < P; k++) out.set(a.subarray(k * count, (k + 1) * count), k * stride);
        return out;
      };
      const agents = agentsBuffer(gpu, 'test.agents', maxNorms.map((maxGradNorm) => ({ maxGradNorm, lr: 0.01 })));
      const population = await Adam.create(gpu, { count: stride, normCount, agents, clipGradNorm: true, learningRateField: 'lr', label: 'test.adam.padded' });
      const params = storageBuffer(gpu, 'test.params', padded(initial));
      for (const g of grads) submitPass(gpu, 'test.adam.padded', (pass) => population.encodeStep(pass, params, storageBuffer(gpu, 'test.grads', padded(g))));
      const got = await readFloat32(gpu, params);
      const state = await population.readState();
      const controlFloats = population.controlView.size / 4;
      const scaleAt = population.controlView.offsetOf('gradScale') / 4;
      // Clipped and unclipped agents: the comparison covers the norm.
      expect(state.control[scaleAt]).toBeLessThan(1);
      expect(state.control[2 * controlFloats + scaleAt]).toBe(1);
      for (let k = 0; k < P; k++) {
        const single = await Adam.create(gpu, { count, lr: 0.01, maxGradNorm: maxNorms[k], label: 'test.adam.single' });
        const own = storageBuffer(gpu, 'test.params', initial.slice(k * count, (k + 1) * count));
        for (const g of grads) submitPass(gpu, 'test.adam.single', (pass) => single.encodeStep(pass, own, storageBuffer(gpu, 'test.grads', g.slice(k * count, (k + 1) * count))));
        const want = await single.readState();
        const pairs: [number[], number[]][] = [
          [bits(got.subarray(k * stride, k * stride + count)), bits(await readFloat32(gpu, own))],
          ...(['m', 'v'] as const).map((part): [number[], number[]] => [bits(state[part].subarray(k * stride, k * stride + count)), bits(want[part])]),
          [bits(state.control.subarray(k * controlFloats, (k + 1) * controlFloats)), bits(want.control)],
        ];
        for (const [a, b] of pairs) expect(a, `agent ${k}`).toEqual(b);
        single.destroy();
      }
      population.destroy();
    };
    // Summing the padding too (no normCount) groups the norm's last terms differently from a single run's
    // (a vec4 of the loop, not its scalar tail): that made agent 0 of a PPO-KL population differ from its
    // single run on SwiftShader (test/population.train.test.ts); these values happen to round alike either way.
    await run(count);
  });

  it('names invalid options', async () => {
    const gpu = await testGpu();
    await expect(Adam.create(gpu, { count: 0, lr: 1 })).rejects.toThrow(/count must be a positive integer, got 0/);
    await expect(Adam.create(gpu, { count: 4, lr: 1, beta2: 1 })).rejects.toThrow(/beta2 must be in \[0, 1\), got 1/);
    await expect(Adam.create(gpu, { count: 4, lr: 1, maxGradNorm: 0 })).rejects.toThrow(/maxGradNorm must be > 0 when given, got 0/);
    await expect(Adam.create(gpu, { count: 4, lr: 1, normCount: 5 })).rejects.toThrow(/normCount must be an integer in \[1, count 4\], got 5/);
    await expect(Adam.create(gpu, { count: 4 })).rejects.toThrow(/give exactly one of lr .* and learningRateField .*, got neither/);
    const agents = agentsBuffer(gpu, 'test.agents', [{ lr: 1 }]);
    await expect(Adam.create(gpu, { count: 4, lr: 1, learningRateField: 'lr', agents })).rejects.toThrow(/give exactly one of lr .*, got both/);
    await expect(Adam.create(gpu, { count: 4, learningRateField: 'lr' })).rejects.toThrow(/learningRateField 'lr' reads the agents' records; pass agents/);
    await expect(Adam.create(gpu, { count: 4, learningRateField: 'clip' as 'lr', agents })).rejects.toThrow(/learningRateField must be 'lr' or 'valueLr', got "clip"/);
    const records = await Adam.create(gpu, { count: 4, learningRateField: 'lr', agents });
    expect(() => records.setLearningRate(1)).toThrow(/adam\.setLearningRate: the rates come from the agents' records \(learningRateField 'lr'\)/);
    expect(() => records.setLearningRateFraction(-0.5)).toThrow(/adam\.setLearningRateFraction: fraction must be a finite number ≥ 0, got -0.5/);
    records.destroy();
    const host = await Adam.create(gpu, { count: 4, lr: 1 });
    expect(() => host.setLearningRateFraction(0.5)).toThrow(/adam\.setLearningRateFraction: applies with learningRateField/);
    host.destroy();
    const small = storageBuffer(gpu, 'test.tiny', 16);
    await expect(Adam.create(gpu, { count: 4, lr: 1, activeFlag: { buffer: small, index: 4 } })).rejects.toThrow(/activeFlag index 4 is outside buffer test.tiny/);
  });
});
