/**
 * The benchmark harness: flag parsing, the useful-work model, the bench-only
 * peak microbenchmark kernels against float64 references, dispatch capture and
 * replay, per-kernel timing, one case end to end, and the text, HTML and saved
 * outputs.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestGpu, type GpuContext } from '../src/gpu/device';
import { ShaderFamily } from '../src/gpu/kernel';
import { readFloat32, storageBuffer, submitPass, uniformBuffer } from '../src/gpu/buffers';
import { MlpLayout, initPyTorchDefault } from '../src/nn/mlp';
import { Mlp, MlpKernels } from '../src/kernels/mlp';
import { resolveConfig } from '../src/core/config';
import { makeTrainer } from '../src/train/trainer';
import { CASE_NAMES, QUICK_CASES, parseBenchArgs } from '../bench/lib/options';
import { backwardCost, forwardCost, iterationCost, networkShape } from '../bench/lib/cost';
import { capturePasses, profileKernels, recordDispatches, replay } from '../bench/lib/profile';
import { runCase } from '../bench/lib/cases';
import { peakSources } from '../bench/lib/kernelCases';
import { FUSED_LAYERS, fusedChain, fusedEncoder, fusedFormsFor, fusedSources } from '../bench/lib/fusedCase';
import { markdownSection, consoleLines } from '../bench/lib/format';
import { reportHtml } from '../bench/lib/report';
import { BENCH_OUT_DIR, saveRun } from '../bench/lib/save';
import type { BenchRecord } from '../bench/lib/types';
import { readiness, studioGpuConfig } from '../bench/lib/readiness';
import { ceilingsOf, nearestCeiling, withCeilingFractions } from '../bench/lib/ceiling';
import { CeilingProbe, nearestCeilingRows, pairedCeiling, pairedFractions } from '../bench/lib/ceilingProbe';
import { updateRowsOf } from '../bench/lib/trainingCases';
import { emptyRecord } from '../bench/lib/cases';
import { VARIANTS, applyVariant, parseVariants } from '../bench/lib/variants';
import { testGpu, seededRandom, randomArray, expectClose } from './helpers';

describe('bench flags', () => {
  it('defaults: every case on both runners, both presets, results saved', () => {
    const o = parseBenchArgs([], '/out')!;
    expect(o.cases).toEqual([...CASE_NAMES]);
    expect(o.runners).toEqual(['node', 'browser']);
    expect(o.runnersExplicit).toBe(false);
    expect(o.presets).toEqual(['seed', 'fast']);
    expect(o.outDir).toBe('/out');
    expect(o.reps).toBeNull();
    expect(o.variant).toBeNull();
  });

  it('--quick picks the quick subset; --cases, --iters, training flags and runners are honoured', () => {
    expect(parseBenchArgs(['--quick', '--json'], '/out')!.cases).toEqual([...QUICK_CASES]);
    const o = parseBenchArgs(['--browser', '--cases', 'ppo,env', '--iters', '4', '--envs', '256', '--steps-per-iter', '8192', '--epochs', '4', '--minibatch', '2048', '--preset', 'fast', '--toggles', 'disable_robustness', '--no-save'], '/out')!;
    expect(o.cases).toEqual(['env', 'ppo']);
    expect(o.runners).toEqual(['browser']);
    expect(o.runnersExplicit).toBe(true);
    expect(o.reps).toBe(4);
    expect(o.presets).toEqual(['fast']);
    expect(o.overrides).toEqual({ numEnvs: 256, stepsPerIter: 8192, epochs: 4, minibatch: 2048 });
    expect(o.toggles).toEqual(['disable_robustness']);
    expect(o.outDir).toBeNull();
  });

  it('names bad flags', () => {
    expect(() => parseBenchArgs(['--cases', 'nope'], '')).toThrow(/--cases: unknown case "nope"/);
    expect(() => parseBenchArgs(['--algo', 'ppo'], '')).toThrow(/--algo: choose algorithms with --cases/);
    expect(() => parseBenchArgs(['--iters', '0'], '')).toThrow(/--iters: 0/);
    expect(() => parseBenchArgs(['--variant', 'rows3'], '')).toThrow(/--variant: "rows3"/);
    expect(() => parseBenchArgs(['--env-counts', '12,x'], '')).toThrow(/--env-counts: "x"/);
    expect(() => parseBenchArgs(['--epochs', '-1'], '')).not.toThrow();
    expect(() => parseBenchArgs(['--frobnicate'], '')).toThrow(/unknown flag --frobnicate/);
    expect(parseBenchArgs(['--help'], '')).toBeNull();
  });

  it('--storage-buffers N: Node only, at least 8; the record carries the device\'s count', async () => {
    expect(parseBenchArgs([], '')!.storageBuffers).toBeNull();
    expect(() => parseBenchArgs(['--storage-buffers', '7'], '')).toThrow('--storage-buffers: "7" is not allowed (storage buffers per shader stage; an integer of at least 8)');
    expect(() => parseBenchArgs(['--storage-buffers', 'ten'], '')).toThrow(/--storage-buffers: "ten" is not allowed/);
    expect(() => parseBenchArgs(['--browser', '--storage-buffers', '10'], '')).toThrow('--storage-buffers: Node only (Chromium grants its own, 10)');
    const options = parseBenchArgs(['--node', '--cases', 'env', '--env-counts', '64', '--iters', '1', '--storage-buffers', '10', '--no-save'], '')!;
    expect(options.storageBuffers).toBe(10);
    const record = await runCase('env', options, 'node', () => requestGpu({ quiet: true, maxStorageBuffersPerShaderStage: options.storageBuffers! }), () => undefined);
    expect(record.error).toBeUndefined();
    expect(record.storage_buffers).toBe(10);
  });
});

describe('bench variants (--variant, ab.js --variant-a)', () => {
  it('reads variants joined by +, each named in a refusal', () => {
    expect(parseVariants('variant', undefined)).toEqual([]);
    expect(parseVariants('variant', 'tiles+chain')).toEqual(['tiles', 'chain']);
    expect(parseVariants('variant-a', 'separate+alone')).toEqual(['separate', 'alone']);
    expect(VARIANTS).toEqual(expect.arrayContaining(['rows', 'tiles', 'single', 'serial', 'split', 'chain', 'layers', 'fused', 'separate', 'paired', 'alone', 'own-rows', 'workgroup']));
    expect(() => parseVariants('variant-a', 'rows+bogus')).toThrow(/^--variant-a: "bogus" is not one of rows, .* \(several joined by \+\)$/);
  });

  it('each kind of variant changes what that device compiles, and only that device', async () => {
    // Fresh devices: the choices are per device.
    const [a, b] = await Promise.all([requestGpu({ quiet: true }), requestGpu({ quiet: true })]);
    try {
      for (const v of ['rows', 'serial', 'chain'] as const) await applyVariant(a, v);
      for (const v of ['rows', 'serial', 'chain', 'separate', 'alone'] as const) await applyVariant(b, v);
      const [ka, kb] = await Promise.all([MlpKernels.create(a), MlpKernels.create(b)]);
      expect([ka.shape, ka.reduction, kb.shape, kb.reduction]).toEqual(['rows', 'serial', 'rows', 'serial']);
      const storage = a.limits.maxStorageBuffersPerShaderStage;
      expect([ka.chainKernels?.backwardParamsAdam != null, ka.chainKernels?.forwardPair != null]).toEqual([storage >= 13, storage >= 9]);
      expect([kb.chainKernels?.backwardParamsAdam, kb.chainKernels?.forwardPair]).toEqual([null, null]);
      await applyVariant(b, 'layers');
      expect((await MlpKernels.create(b)).chainKernels).toBeNull();
      // The tiles chains' form: own rows (an invocation per 4 rows) on a CPU driver by default, or a workgroup per 16 rows.
      await applyVariant(a, 'tiles');
      expect(a.adapter.isFallback).toBe(true);
      expect((await MlpKernels.create(a)).chainKernels!.spread.invocations(128)).toBe(32);
      await applyVariant(a, 'workgroup');
      expect((await MlpKernels.create(a)).chainKernels!.spread.invocations(128)).toBe(8 * 64);
    } finally {
      a.destroy();
      b.destroy();
    }
  });
});

describe('useful-work model', () => {
  const policy = networkShape(4, 64, 2);

  it('counts 2 FLOPs per multiply-add of the dense layers', () => {
    expect(forwardCost(policy, 1).flops).toBe(2 * (4 * 64 + 64 * 64 + 64 * 2));
    // Weights of every layer, input gradients of all but the first.
    expect(backwardCost(policy, 1).flops).toBe(2 * (4 * 64 + 64 * 64 + 64 * 2) + 2 * (64 * 64 + 64 * 2));
    expect(forwardCost(policy, 10).flops).toBe(10 * forwardCost(policy, 1).flops);
  });

  it('PPO seed iteration: T·N policy rows to collect, E·M·B rows per network to update', () => {
    const config = resolveConfig({ algo: 'ppo', preset: 'seed' });
    const value = networkShape(4, 64, 1);
    const cost = iterationCost(config);
    const { batchSize: B, stepsPerEnv: T, minibatches: M } = config.derived;
    expect(cost.collect.flops).toBe(T * forwardCost(policy, config.numEnvs).flops);
    const step = (layers: typeof policy, rows: number) => forwardCost(layers, rows).flops + backwardCost(layers, rows).flops;
    expect(cost.update.flops).toBe(config.epochs * M * (step(policy, 128) + step(value, 128)) + forwardCost(policy, B).flops);
    // One value forward: T+1 rows per env and ceil(625 / 500) = 2 final-observation slots per env.
    expect(cost.advantage.flops).toBe(forwardCost(value, B + config.numEnvs + 2 * config.numEnvs).flops);
    expect(cost.total.flops).toBe(cost.collect.flops + cost.advantage.flops + cost.update.flops);
    expect(cost.total.bytes).toBeGreaterThan(0);
  });
});

/** W [64][64] and rows × 64 inputs, seeded. */
function denseInputs(rows: number) {
  const rand = seededRandom(11);
  return { weights: randomArray(64 * 64, rand, -0.125, 0.125), input: randomArray(rows * 64, rand) };
}

describe('peak.wgsl (float64 reference)', () => {
  /** dense with `rowsPerInvocation` rows per invocation, dense_cols (one invocation per output of 4 rows) or dense_tiles (4 rows × 4 outputs). */
  async function runDense(gpu: GpuContext, rowsPerInvocation: number | 'cols' | 'tiles', rows: number) {
    const blocked = typeof rowsPerInvocation === 'number';
    const family = await ShaderFamily.load(gpu, 'peak', peakSources(blocked ? rowsPerInvocation : 1));
    const kernel = await family.kernel(blocked ? 'dense' : `dense_${rowsPerInvocation}`);
    const { weights, input } = denseInputs(rows);
    const output = storageBuffer(gpu, 'test.output', rows * 64 * 4);
    const group = kernel.bind({
      args: uniformBuffer(gpu, 'test.args', family.struct('PeakArgs').pack({ rows, aluIterations: 1 })),
      weights: storageBuffer(gpu, 'test.weights', new Float32Array(weights)),
      input: storageBuffer(gpu, 'test.input', new Float32Array(input)),
      output,
    });
    const invocations = blocked ? Math.ceil(rows / rowsPerInvocation) : Math.ceil(rows / 4) * (rowsPerInvocation === 'cols' ? 64 : 16);
    submitPass(gpu, 'test.dense', (pass) => kernel.dispatch(pass, group, invocations));
    const expected = new Float64Array(rows * 64);
    const w = new Float32Array(weights);
    const x = new Float32Array(input);
    for (let r = 0; r < rows; r++) for (let o = 0; o < 64; o++) for (let i = 0; i < 64; i++) expected[r * 64 + o] += w[o * 64 + i] * x[r * 64 + i];
    return { actual: await readFloat32(gpu, output), expected };
  }

  // 64 products of size ≤ 1/8 in f32: error ≤ 64·2^-24·Σ|w x| ≈ 3e-6; tolerance 1e-5 absolute.
  for (const rowsPerInvocation of [1, 4, 'cols', 'tiles'] as const) {
    const shape = { cols: 'per output element', tiles: '4 rows × 4 outputs per invocation' } as const;
    it(`dense ${typeof rowsPerInvocation === 'number' ? `${rowsPerInvocation} row(s) per invocation` : shape[rowsPerInvocation]}, 37 rows (a partial block): y = W x within 1e-5`, async () => {
      const gpu = await testGpu();
      const { actual, expected } = await runDense(gpu, rowsPerInvocation, 37);
      expectClose(actual, expected, 0, 1e-5, `dense×${rowsPerInvocation}`);
    });
  }

  it('alu: 8 fma chains x ← m·x + a per invocation match the float64 recurrence within 1e-5 relative', async () => {
    const gpu = await testGpu();
    const family = await ShaderFamily.load(gpu, 'peak', peakSources(1));
    const kernel = await family.kernel('alu');
    const invocations = 70;
    const iterations = 50;
    const output = storageBuffer(gpu, 'test.alu', invocations * 4);
    const group = kernel.bind({ args: uniformBuffer(gpu, 'test.aluArgs', family.struct('PeakArgs').pack({ rows: invocations, aluIterations: iterations })), output });
    submitPass(gpu, 'test.alu', (pass) => kernel.dispatch(pass, group, invocations));
    const m = [0.999, 0.998, 0.997, 0.996].map(Math.fround);
    const expected = Float64Array.from({ length: invocations }, (_, i) => {
      let s = 0;
      for (let c = 0; c < 8; c++) {
        for (let lane = 0; lane < 4; lane++) {
          let x = Math.fround((i + c) * Math.fround(1e-6));
          for (let t = 0; t < iterations; t++) x = x * m[lane] + Math.fround(1e-3);
          s += x;
        }
      }
      return s;
    });
    expectClose(await readFloat32(gpu, output), expected, 1e-5, 0, 'alu');
  });
});

describe('fused.wgsl (float64 reference)', () => {
  it('every form of the 4-layer tanh chain, 37 rows (partial row tiles and blocks): tanh(W x) layer by layer within 1e-5, every form the same bits', async () => {
    const gpu = await testGpu();
    const family = await ShaderFamily.load(gpu, 'fused', fusedSources());
    const rows = 37;
    const rand = seededRandom(23);
    const weights = new Float32Array(randomArray(FUSED_LAYERS * 64 * 64, rand, -0.125, 0.125));
    const input = new Float32Array(randomArray(rows * 64, rand));
    // float64 reference from the f32 inputs.
    let x = Float64Array.from(input);
    for (let l = 0; l < FUSED_LAYERS; l++) {
      const y = new Float64Array(rows * 64);
      for (let r = 0; r < rows; r++) {
        for (let o = 0; o < 64; o++) {
          let sum = 0;
          for (let i = 0; i < 64; i++) sum += weights[(l * 64 + o) * 64 + i] * x[r * 64 + i];
          y[r * 64 + o] = Math.tanh(sum);
        }
      }
      x = y;
    }
    const forms = fusedFormsFor(gpu);
    // The workgroup-memory forms need 24 KiB: the device requests the adapter's 32 KiB.
    expect(forms).toContain('chain_workgroup_weights');
    const outputs: Float32Array[] = [];
    for (const form of forms) {
      const kernel = await family.kernel(form);
      const chain = fusedChain(gpu, family, rows, weights, input);
      const encode = fusedEncoder(kernel, form, chain);
      submitPass(gpu, `test.fused.${form}`, encode);
      const actual = await readFloat32(gpu, chain.acts, FUSED_LAYERS * rows * 64, rows * 64);
      // Per layer 64 products |w x| ≤ 1/8 in f32: |error| ≤ 64 · 2^-24 · 8 ≈ 3e-5 at worst, and tanh does not amplify it;
      // with random signs the rounding errors cancel to ~1e-6, so 1e-5 absolute over 4 layers.
      expectClose(actual, x, 0, 1e-5, form);
      outputs.push(actual);
    }
    for (const [k, out] of outputs.entries()) expect(new Uint32Array(out.buffer), forms[k]).toEqual(new Uint32Array(outputs[0].buffer));
  });
});

describe('dispatch capture, replay and per-kernel timing', () => {
  async function smallPass(gpu: GpuContext) {
    const layout = new MlpLayout([4, 64, 64, 2], ['tanh', 'tanh', 'identity']);
    // An explicit shape, reduction and chaining (per layer), so the kernel names below do not depend on the adapter.
    const mlp = Mlp.create(gpu, await MlpKernels.create(gpu, 'rows', 'serial', 'layers'), layout, 'test.replay');
    mlp.setParams(initPyTorchDefault(layout, 9));
    const input = storageBuffer(gpu, 'test.replay.input', new Float32Array(randomArray(50 * 4, seededRandom(2))));
    return mlp.prepare({ rows: 50, input, label: 'test.replay' });
  }

  it('a replay of the recorded dispatches computes what the original pass does (bit for bit)', async () => {
    const gpu = await testGpu();
    const pass = await smallPass(gpu);
    submitPass(gpu, 'test.direct', (p) => pass.encodeForward(p));
    const direct = await readFloat32(gpu, pass.output);
    gpu.device.queue.writeBuffer(pass.output, 0, new Float32Array(100));
    const recorded = recordDispatches((p) => pass.encodeForward(p));
    expect(recorded.map((d) => d.pipeline.label)).toEqual(['mlp.forward_rows', 'mlp.forward_rows', 'mlp.forward_rows']);
    submitPass(gpu, 'test.replay', replay(recorded));
    expect(await readFloat32(gpu, pass.output)).toEqual(direct);
  });

  it('profileKernels: one duration per dispatch, grouped by kernel and call site, shares summing to 1', async () => {
    const gpu = await testGpu();
    const pass = await smallPass(gpu);
    const profile = await profileKernels(gpu, (p) => {
      pass.encodeForward(p);
      pass.encodeBackward(p);
    });
    if (!gpu.features.has('timestamp-query')) {
      expect(profile).toBeNull();
      return;
    }
    expect(profile!.dispatches).toBe(8);
    expect(profile!.byKernel.map((k) => k.name).sort()).toEqual(['mlp.backward_input_rows', 'mlp.backward_params', 'mlp.forward_rows']);
    expect(profile!.byKernel.reduce((n, k) => n + k.dispatches, 0)).toBe(8);
    expect(profile!.bySite.every((s) => s.name.endsWith('.layer*'))).toBe(true);
    expect(profile!.gpuMs).toBeGreaterThanOrEqual(0);
    if (profile!.gpuMs > 0) expect(profile!.byKernel.reduce((s, k) => s + k.share, 0)).toBeCloseTo(1, 6);
  });

  it('capturePasses sees every dispatch of the trainer’s phases and restores the device afterwards', async () => {
    const gpu = await testGpu();
    const trainer = await makeTrainer(gpu, resolveConfig({ algo: 'ppo', numEnvs: 8, stepsPerIter: 64, minibatch: 32, epochs: 1 }));
    const { result, passes } = await capturePasses(gpu, () => trainer.timePhases());
    expect(passes.map((p) => p.label)).toEqual(['phase.collect', 'phase.advantage', 'phase.update']);
    expect(passes.reduce((n, p) => n + p.dispatches.length, 0)).toBe(trainer.dispatchesPerIteration);
    expect(passes.every((p) => p.encodeMs >= 0)).toBe(true);
    expect(result.total).toBeGreaterThan(0);
    expect(Object.getOwnPropertyDescriptor(gpu.device, 'createCommandEncoder')).toBeUndefined();
    trainer.destroy();
  });
});

describe('GPU readiness and the workload ceiling', () => {
  it('readiness: launched invocations per recorded dispatch, and those below 4096', async () => {
    const gpu = await testGpu();
    const layout = new MlpLayout([4, 64, 64, 2], ['tanh', 'tanh', 'identity']);
    // What a GPU gets by default: `tiles`, `split`, per layer.
    const mlp = Mlp.create(gpu, await MlpKernels.create(gpu, 'tiles', 'split', 'layers'), layout, 'test.readiness');
    const rows = 2048;
    const pass = mlp.prepare({ rows, input: storageBuffer(gpu, 'test.readiness.input', rows * 4 * 4), label: 'test.readiness' });
    const r = readiness(recordDispatches((p) => {
      pass.encodeForward(p);
      pass.encodeBackward(p);
    }));
    // forward_tiles: 512 row tiles × 16, 16, 1 output tiles; backward_params_blocks: 32 row blocks × 16·2, 16·17, 1·17
    // tiles; backward_params_sum: 320, 4160, 130 parameters; backward_input_tiles: 512 × 16, 16 input tiles (the
    // first layer has no input gradient); every count rounded up to whole workgroups of 64.
    const launched = [8192, 8192, 512, 1024, 8704, 576, 192, 4160, 192, 8192, 8192].sort((a, b) => a - b);
    expect(r.dispatches).toBe(11);
    expect(r.below_4096).toBe(launched.filter((n) => n < 4096).length);
    expect([r.min_invocations, r.median_invocations, r.max_invocations]).toEqual([launched[0], launched[5], launched[10]]);
    expect(r.small_kernels.map((k) => k.replace(/ \(.*/, '')).sort()).toEqual(['mlp.backward_params_blocks ×2', 'mlp.backward_params_sum ×2', 'mlp.forward_tiles ×1']);
    pass.destroy();
  });

  it('the Studio GPU default is the fast preset at 4 096 envs × 16 steps', () => {
    const config = studioGpuConfig('ppo');
    expect([config.preset, config.numEnvs, config.derived.stepsPerEnv]).toEqual(['fast', 4096, 16]);
  });

  it('training points get the ceiling at the nearest row count and their fraction of it', () => {
    const options = parseBenchArgs(['--quick'], '')!;
    const peak: BenchRecord = {
      ...emptyRecord('peak', options, 'node'),
      points: [
        { kernel: 'ceiling_best', rows: 128, shape: 'rows', reduction: 'serial', gflops: 2 },
        { kernel: 'ceiling_best', rows: 2048, shape: 'tiles', reduction: 'split', gflops: 4 },
        { kernel: 'ceiling', rows: 2048, shape: 'rows', reduction: 'serial', gflops: 3 },
      ],
    };
    const ceilings = ceilingsOf(peak);
    expect(ceilings).toEqual([{ rows: 128, gflops: 2, shape: 'rows', reduction: 'serial' }, { rows: 2048, gflops: 4, shape: 'tiles', reduction: 'split' }]);
    expect(nearestCeiling(ceilings, 256)!.rows).toBe(128);
    expect(nearestCeiling(ceilings, 10000)!.rows).toBe(2048);
    const ppo: BenchRecord = { ...emptyRecord('ppo', options, 'node'), points: [{ minibatch: 2048, batch_size: 8192, gflops: 1 }, { config: 'studio-gpu', minibatch: 256 }] };
    const annotated = withCeilingFractions(ppo, ceilings);
    expect(annotated.points[0]).toMatchObject({ ceiling_rows: 2048, ceiling_gflops: 4, of_ceiling: 0.25 });
    expect(annotated.points[1]).toEqual(ppo.points[1]);
    const trpo: BenchRecord = { ...emptyRecord('trpo', options, 'node'), points: [{ batch_size: 10000, gflops: 3 }] };
    expect(withCeilingFractions(trpo, ceilings).points[0]).toMatchObject({ ceiling_rows: 2048, of_ceiling: 0.75 });
    expect(withCeilingFractions({ ...emptyRecord('mlp', options, 'node'), points: [{ gflops: 1, rows: 128 }] }, ceilings).points[0]).toEqual({ gflops: 1, rows: 128 });
  });

  it('paired fractions hold each iteration against the mean of the ceiling slots around it', () => {
    // Iteration k of 2e9 FLOPs in t[k] s; probe of 1e9 FLOPs timed p[k] s before and p[k + 1] s after it.
    const t = [1, 2, 1];
    const p = [0.1, 0.3, 0.1, 0.1];
    const f = pairedFractions(2e9, t, 1e9, p);
    // Pair k: (2e9 / t[k]) / (1e9 / ((p[k] + p[k + 1]) / 2)) = 2 · mean / t[k].
    const expected = [(2 * 0.2) / 1, (2 * 0.2) / 2, (2 * 0.1) / 1];
    expect(f.pairs).toBe(3);
    expect(f.fraction).toBeCloseTo(0.2, 12);
    expect(f.range[0]).toBeCloseTo(Math.min(...expected), 12);
    expect(f.range[1]).toBeCloseTo(Math.max(...expected), 12);
    expect(f.ceilingGflops).toBeCloseTo(10, 12);
    expect(f.iterationSeconds).toBe(1);
    expect(() => pairedFractions(1, [1, 1], 1, [1, 1])).toThrow(/2 iterations need 3 probe slots, got 2/);
    // The update's rows pick the nearest ceiling row count on a log scale.
    expect([128, 180, 200, 1000, 1500, 10000].map((r) => nearestCeilingRows(r, false))).toEqual([128, 128, 256, 2048, 2048, 8192]);
    expect(nearestCeilingRows(10000, true)).toBe(2048);
    const ppo = resolveConfig({ preset: 'seed', algo: 'ppo' });
    const trpo = resolveConfig({ preset: 'seed', algo: 'trpo' });
    expect([updateRowsOf(ppo), updateRowsOf(trpo)]).toEqual([128, 10000]);
  });

  it('pairedCeiling alternates probe slots and iterations and measures the probe on the device', async () => {
    const gpu = await testGpu();
    const probes = [await CeilingProbe.create(gpu, 128, 'rows', 'serial', true), await CeilingProbe.create(gpu, 128, 'tiles', 'split', true)];
    expect(probes[0].passes).toBe(32);
    expect(probes[0].flops).toBe(32 * 128 * 6 * 64 * 64);
    const order: string[] = [];
    probes.forEach((probe, k) => {
      const time = probe.time.bind(probe);
      probe.time = async () => {
        order.push('ab'[k]);
        return time();
      };
    });
    const f = await pairedCeiling(probes, 1e9, 2, async () => {
      order.push('i');
      return 0.5;
    });
    // Three submits of each probe a slot: slot, iteration, slot, iteration, slot.
    expect(order.join('')).toBe('aaabbbiaaabbbiaaabbb');
    expect(probes).toContain(f.winner);
    const other = await CeilingProbe.create(gpu, 96, 'rows', 'serial', true);
    await expect(pairedCeiling([probes[0], other], 1, 1, async () => 1)).rejects.toThrow(/same rows and passes/);
    other.destroy();
    expect(f.pairs).toBe(2);
    expect(f.ceilingGflops).toBeGreaterThan(0);
    // Both iterations took 0.5 s at 2 GFLOP/s: their fraction is 2 over the ceiling around them.
    expect(f.fraction).toBeGreaterThan(0);
    expect(f.range[0]).toBeLessThanOrEqual(f.fraction);
    expect(f.range[1]).toBeGreaterThanOrEqual(f.fraction);
    for (const probe of probes) probe.destroy();
  });
});

describe('runCase and outputs', () => {
  it('env case end to end: a record with the adapter, points and the headline figure', async () => {
    const options = parseBenchArgs(['--node', '--cases', 'env', '--env-counts', '64,256', '--iters', '1', '--quick'], '')!;
    const record = await runCase('env', options, 'node', () => requestGpu({ quiet: true }), () => undefined);
    expect(record.error).toBeUndefined();
    expect(record.adapter).toMatch(/\S/);
    expect(record.points.map((p) => `${p.env} ${p.num_envs}`)).toEqual([
      'CartPole-v1 64',
      'CartPole-v1 256',
      'Acrobot-v1 64',
      'Acrobot-v1 256',
      'MountainCar-v0 64',
      'MountainCar-v0 256',
      'MountainCarContinuous-v0 64',
      'MountainCarContinuous-v0 256',
      'Pendulum-v1 64',
      'Pendulum-v1 256',
    ]);
    expect(record.unit).toBe('sps');
    expect(record.sps).toBe(Math.max(...record.points.map((p) => p.sps as number)));
    expect(record.sps).toBeGreaterThan(0);
  });

  it('a failing case is a record with the error, not an exception', async () => {
    const options = parseBenchArgs(['--node', '--cases', 'env'], '')!;
    const record = await runCase('env', options, 'node', () => Promise.reject(new Error('no adapter here')), () => undefined);
    expect(record.error).toBe('no adapter here');
    expect(consoleLines(record)[1]).toMatch(/ERROR: no adapter here/);
  });

  const record: BenchRecord = {
    case: 'env',
    runner: 'node',
    adapter: 'test adapter',
    adapter_info: { vendor: 'v', architecture: 'a', description: 'd', isFallback: true, backend: 'lavapipe' },
    features: [],
    storage_buffers: 16,
    toggles: [],
    variant: null,
    unit: 'sps',
    sps: 2,
    headline: { num_envs: 2, sps: 2 },
    points: [
      { num_envs: 1, sps: 1 },
      { num_envs: 2, sps: 2, note: '</script><b>' },
    ],
    timing: 'wall',
    case_s: 1,
    load_start: [1, 1, 1],
    started_at: '2026-01-01T00:00:00Z',
  };
  const meta = { date: '2026-01-01 00:00:00 UTC', label: 'x', commit: 'abc', argv: ['--quick'], host: 'h' };

  it('markdown: a heading with the run and one table row per point', () => {
    const md = markdownSection([record], meta);
    expect(md).toMatch(/^### 2026-01-01 00:00:00 UTC — x/);
    expect(md.split('\n').filter((l) => l.startsWith('| env |'))).toHaveLength(2);
  });

  it('HTML report: uPlot inlined, the records embedded, no early </script>', () => {
    const html = reportHtml({ meta, records: [record] });
    expect(html).toContain('uPlot');
    expect(html).toContain('"test adapter"');
    expect(html).not.toContain('</script><b>');
    // Everything the page script needs is inside it: it parses as a standalone function.
    const script = html.slice(html.indexOf('const REPORT_DATA'), html.lastIndexOf('</script>'));
    expect(() => new Function('uPlot', 'document', script)).not.toThrow();
  });

  it('a saved run: JSON and HTML named by stamp and label, its table appended to the run log, all in the ignored folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-out-'));
    try {
      const first = saveRun(join(dir, 'out'), '2026-01-01T00-00-00', meta, [record]);
      const second = saveRun(join(dir, 'out'), '2026-01-01T00-05-00', { ...meta, label: 'a b' }, [record]);
      expect(first.json).toBe(join(dir, 'out', '2026-01-01T00-00-00-x.json'));
      expect(second.html).toBe(join(dir, 'out', '2026-01-01T00-05-00-a_b.html'));
      expect(JSON.parse(readFileSync(first.json, 'utf8')).records[0].case).toBe('env');
      expect(readFileSync(first.html, 'utf8')).toContain('REPORT_DATA');
      const runLog = readFileSync(first.log, 'utf8');
      expect(second.log).toBe(first.log);
      expect(runLog.match(/^### /gm)).toHaveLength(2);
      expect(runLog).toContain('Files: `2026-01-01T00-05-00-a_b.json`');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(readFileSync('.gitignore', 'utf8').split('\n')).toContain(`${BENCH_OUT_DIR}/`);
  });
});
