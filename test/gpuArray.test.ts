/**
 * GpuArray and the kernels' argument checks: every public kernel API, given a
 * wrong dtype, a wrong shape or a destroyed array, throws one error naming the
 * argument before any GPU work; the next correct call on the same context works
 * and agrees with the float64 reference.
 */
import { describe, expect, it } from 'vitest';
import { GpuArray } from '../src/gpu/array';
import { submitPass } from '../src/gpu/buffers';
import { Gae, packDoneFlags } from '../src/kernels/gae';
import { Mlp, MlpKernels } from '../src/kernels/mlp';
import { FisherVectorProduct } from '../src/kernels/fvp';
import { ConjugateGradient } from '../src/kernels/cg';
import { MlpLayout } from '../src/nn/mlp';
import { CartPoleVec, VecEnv } from '../src/envs/vecEnv';
import { gaeReference } from '../src/reference/gae';
import { mlpForwardReference } from '../src/reference/mlp';
import { fisherVectorProductReference } from '../src/reference/fvp';
import { conjugateGradientReference } from '../src/reference/trpo';
import { testGpu, seededRandom, randomArray, expectClose } from './helpers';
import { f32 } from './maths';

/** Runs `attempt`, expects exactly `pattern`, then checks the context reports no GPU error left behind. */
async function rejectsCleanly(attempt: () => unknown, pattern: RegExp): Promise<void> {
  await expect((async () => attempt())()).rejects.toThrow(pattern);
  await (await testGpu()).sync();
}

describe('GpuArray', () => {
  it('uploads each dtype, reads it back exactly, and views part of a buffer without copying', async () => {
    const gpu = await testGpu();
    const f = GpuArray.from(gpu, Float32Array.of(1.5, -2, 3, 4, 5, 6), { shape: [2, 3], label: 'f' });
    const u = GpuArray.from(gpu, Uint32Array.of(0xffffffff, 7));
    const i = GpuArray.from(gpu, Int32Array.of(-5));
    expect([f.dtype, u.dtype, i.dtype]).toEqual(['f32', 'u32', 'i32']);
    expect(f.describe()).toBe('f32 [2, 3] "f"');
    expect([...(await f.read())]).toEqual([1.5, -2, 3, 4, 5, 6]);
    expect([...(await u.read())]).toEqual([0xffffffff, 7]);
    expect([...(await i.read())]).toEqual([-5]);
    const row = f.view([3], 3);
    expect([...(await row.read())]).toEqual([4, 5, 6]);
    row.write(Float32Array.of(7, 8, 9));
    expect([...(await f.read())]).toEqual([1.5, -2, 3, 7, 8, 9]);
    const z = GpuArray.zeros(gpu, 'i32', [2, 2]);
    expect([...(await z.read())]).toEqual([0, 0, 0, 0]);
    // Buffers are whole vec4s, so the aligned kernels can read any array.
    expect([f.buffer.size, u.buffer.size, i.buffer.size]).toEqual([32, 16, 16]);
    for (const a of [f, u, i, z]) a.destroy();
    expect(row.destroyed).toBe(true);
  });

  it('refuses host data the kernels cannot read, shapes that do not fit, and reads after destroy', async () => {
    const gpu = await testGpu();
    expect(() => GpuArray.from(gpu, new Float64Array(4) as never, { label: 'obs' })).toThrow(
      /^GpuArray\.from\(obs\): data is Float64Array; the kernels take Float32Array \(f32\), Uint32Array \(u32\) or Int32Array \(i32\)/,
    );
    expect(() => GpuArray.from(gpu, new Float32Array(6), { shape: [4, 2] })).toThrow(/shape \[4, 2\] holds 8 elements, data has 6/);
    const a = GpuArray.from(gpu, new Float32Array(6), { label: 'a' });
    expect(() => a.view([2, 3], 1)).toThrow(/6 elements from element 1 do not fit in f32 \[6\] "a"/);
    expect(() => a.write(new Int32Array(6))).toThrow(/a\.write: data is Int32Array, the array holds f32/);
    a.destroy();
    await rejectsCleanly(() => a.read(), /a\.read: f32 \[6\] "a" was destroyed/);
  });
});

describe('Gae with GpuArrays (advantages within rtol 1e-5, atol 1e-4 of the float64 scan)', () => {
  const [numEnvs, numSteps] = [8, 12];
  const options = { numEnvs, numSteps, gamma: 0.99, lambda: 0.95, truncationAsTerminal: true };

  async function inputs() {
    const gpu = await testGpu();
    const rand = seededRandom(11);
    const n = numEnvs * numSteps;
    const rewards = f32(randomArray(n, rand, 0, 1));
    const values = f32(randomArray(n + numEnvs, rand));
    const terminated = Array.from({ length: n }, () => rand() < 0.1);
    const truncated = Array.from({ length: n }, () => rand() < 0.05);
    const host = { rewards, values, doneFlags: packDoneFlags(terminated, truncated) };
    const arrays = {
      rewards: GpuArray.from(gpu, Float32Array.from(rewards), { shape: [numSteps, numEnvs], label: 'rewards' }),
      doneFlags: GpuArray.from(gpu, host.doneFlags, { shape: [numSteps, numEnvs], label: 'doneFlags' }),
      values: GpuArray.from(gpu, Float32Array.from(values), { shape: [numSteps + 1, numEnvs], label: 'values' }),
    };
    return { gpu, host, arrays };
  }

  it('names the argument of a wrong dtype, a wrong shape, a host array or a destroyed array; then a correct call works', async () => {
    const { gpu, host, arrays } = await inputs();
    const floatFlags = GpuArray.from(gpu, Float32Array.from(host.doneFlags), { shape: [numSteps, numEnvs], label: 'flagsAsFloats' });
    await rejectsCleanly(
      () => Gae.create(gpu, { ...arrays, doneFlags: floatFlags }, options),
      /^gae: doneFlags must be u32 \[T\]\[N\] \(bit 0 terminated, bit 1 truncated\) = \[12, 8\], got f32 \[12, 8\] "flagsAsFloats"$/,
    );
    await rejectsCleanly(
      () => Gae.create(gpu, { ...arrays, values: arrays.values.view([numSteps, numEnvs]) }, options),
      /^gae: values must be f32 \[T\+1\]\[N\] = \[13, 8\], got f32 \[12, 8\] "values"$/,
    );
    await rejectsCleanly(
      () => Gae.create(gpu, { ...arrays, rewards: Float32Array.from(host.rewards) as never }, options),
      /^gae: rewards must be a GpuArray or a GPUBuffer, got Float32Array \(upload it with GpuArray\.from\(gpu, data\)\)$/,
    );
    await rejectsCleanly(() => Gae.create(gpu, arrays, { ...options, truncationAsTerminal: false }), /^gae: finalValues is required when truncationAsTerminal is false/);
    floatFlags.destroy();
    await rejectsCleanly(() => Gae.create(gpu, { ...arrays, doneFlags: floatFlags }, options), /^gae: doneFlags \(f32 \[12, 8\] "flagsAsFloats"\) was destroyed$/);

    const gae = await Gae.create(gpu, arrays, options);
    submitPass(gpu, 'test.gae', (pass) => gae.encode(pass));
    const expected = gaeReference({ ...options, ...host, finalValues: new Float64Array(numEnvs * numSteps) });
    expectClose(await gae.arrays.advantages.read(), expected.advantages, 1e-5, 1e-4, 'advantages');
    expectClose(await gae.arrays.returns.read(), expected.returns, 1e-5, 1e-4, 'returns');
    expect(gae.arrays.rewards).toBe(arrays.rewards);

    // An array destroyed after binding: encode names it, records nothing, and a fresh scan works.
    arrays.values.destroy();
    expect(() => submitPass(gpu, 'test.gae', (pass) => gae.encode(pass))).toThrow(/^gae\.encode: values \(f32 \[13, 8\] "values"\) was destroyed$/);
    await gpu.sync();
    gae.destroy();
    expect(gae.arrays.advantages.destroyed).toBe(true);
    const again = await inputs();
    const second = await Gae.create(gpu, again.arrays, options);
    submitPass(gpu, 'test.gae', (pass) => second.encode(pass));
    expectClose(await second.arrays.advantages.read(), expected.advantages, 1e-5, 1e-4, 'advantages after the errors');
    second.destroy();
    for (const a of [...Object.values(arrays), ...Object.values(again.arrays)]) a.destroy();
  });
});

describe('Mlp / MlpPass with GpuArrays (forward within 1e-5 of float64)', () => {
  const layout = new MlpLayout([4, 8, 3], ['tanh', 'identity']);
  const rows = 6;

  it('names input, params or grads when wrong or destroyed; then a correct pass works', async () => {
    const gpu = await testGpu();
    const rand = seededRandom(5);
    const params = f32(randomArray(layout.paramCount, rand, -0.5, 0.5));
    const obs = f32(randomArray(rows * layout.inputDim, rand, -2, 2));
    const mlp = Mlp.create(gpu, await MlpKernels.create(gpu), layout, 'net');
    mlp.setParams(Float32Array.from(params));
    const input = GpuArray.from(gpu, Float32Array.from(obs), { shape: [rows, layout.inputDim], label: 'obs' });

    expect(() => mlp.prepare({ rows, input: GpuArray.from(gpu, new Uint32Array(rows * 4), { shape: [rows, 4], label: 'ints' }), label: 'pass' })).toThrow(
      /^pass: input must be f32 \[rows\]\[inputDim\] = \[6, 4\], got u32 \[6, 4\] "ints"$/,
    );
    expect(() => mlp.prepare({ rows, input: input.view([rows * 4]), label: 'pass' })).toThrow(/^pass: input must be f32 \[rows\]\[inputDim\] = \[6, 4\], got f32 \[24\] "obs"$/);
    expect(() => mlp.prepare({ rows, input, params: GpuArray.zeros(gpu, 'f32', [layout.paramCount + 1], 'longer'), label: 'pass' })).toThrow(
      /^pass: params must be f32 \[paramCount\] = \[67\], got f32 \[68\] "longer"$/,
    );
    expect(() => mlp.setParams(new Float64Array(layout.paramCount) as never)).toThrow(/^net\.setParams: values must be a Float32Array, got Float64Array$/);
    const gone = GpuArray.from(gpu, Float32Array.from(obs), { shape: [rows, 4], label: 'gone' });
    gone.destroy();
    expect(() => mlp.prepare({ rows, input: gone, label: 'pass' })).toThrow(/^pass: input \(f32 \[6, 4\] "gone"\) was destroyed$/);
    await gpu.sync();

    const pass = mlp.prepare({ rows, input, label: 'pass' });
    const wrongGrads = GpuArray.zeros(gpu, 'i32', [layout.paramCount], 'intGrads');
    expect(() => submitPass(gpu, 'test', (p) => pass.encodeBackward(p, { grads: wrongGrads }))).toThrow(
      /^pass\.encodeBackward: grads must be f32 \[paramCount\] = \[67\], got i32 \[67\] "intGrads"$/,
    );
    await gpu.sync();
    submitPass(gpu, 'test.forward', (p) => pass.encodeForward(p));
    expect(pass.arrays.output.shape).toEqual([rows, layout.outputDim]);
    expectClose(await pass.arrays.output.read(), mlpForwardReference(layout, params, obs, rows).at(-1)!, 1e-5, 1e-5, 'output');
    expect([...(await mlp.arrays.params.read())]).toEqual([...Float32Array.from(params)]);

    input.destroy();
    expect(() => submitPass(gpu, 'test', (p) => pass.encodeForward(p))).toThrow(/^pass\.encodeForward: input \(f32 \[6, 4\] "obs"\) was destroyed$/);
    await gpu.sync();
    pass.destroy();
    mlp.destroy();
    expect(mlp.arrays.params.destroyed).toBe(true);
    wrongGrads.destroy();
  });
});

describe('FisherVectorProduct and ConjugateGradient with GpuArrays (FVP 1e-4 relative, CG 1e-3 relative, of float64)', () => {
  const layout = new MlpLayout([4, 8, 3], ['tanh', 'identity']);
  const rows = 10;
  const damping = 0.1;

  it('names obs, vector, result and rhs when wrong or destroyed; then a correct solve works', async () => {
    const gpu = await testGpu();
    const rand = seededRandom(9);
    const params = f32(randomArray(layout.paramCount, rand, -0.8, 0.8));
    const obs = f32(randomArray(rows * layout.inputDim, rand, -2, 2));
    const g = f32(randomArray(layout.paramCount, rand));
    const policy = Mlp.create(gpu, await MlpKernels.create(gpu), layout, 'policy');
    policy.setParams(Float32Array.from(params));
    const obsArray = GpuArray.from(gpu, Float32Array.from(obs), { shape: [rows, layout.inputDim], label: 'obs' });

    await rejectsCleanly(
      () => FisherVectorProduct.create(gpu, { policy, rows: rows + 1, obs: obsArray, damping }),
      /^fvp: obs must be f32 \[rows\]\[inputDim\] = \[11, 4\], got f32 \[10, 4\] "obs"$/,
    );
    const fvp = await FisherVectorProduct.create(gpu, { policy, rows, obs: obsArray, damping });
    const vector = GpuArray.from(gpu, Float32Array.from(g), { label: 'v' });
    const result = GpuArray.zeros(gpu, 'f32', [layout.paramCount], 'Fv');
    const halfResult = result.view([layout.paramCount - 3]);
    expect(() => submitPass(gpu, 'test', (p) => fvp.encode(p, vector, halfResult))).toThrow(/^fvp\.encode: result must be f32 \[paramCount\] = \[67\], got f32 \[64\] "Fv"$/);
    const intVector = GpuArray.zeros(gpu, 'u32', [layout.paramCount], 'uv');
    expect(() => submitPass(gpu, 'test', (p) => fvp.encode(p, intVector, result))).toThrow(/^fvp\.encode: vector must be f32 \[paramCount\] = \[67\], got u32 \[67\] "uv"$/);
    intVector.destroy();
    expect(() => submitPass(gpu, 'test', (p) => fvp.encode(p, intVector, result))).toThrow(/^fvp\.encode: vector \(u32 \[67\] "uv"\) was destroyed$/);
    await gpu.sync();

    submitPass(gpu, 'test.fvp', (p) => {
      fvp.encodeForward(p);
      fvp.encode(p, vector, result);
    });
    const product = fisherVectorProductReference(layout, params, obs, rows, g, damping);
    const productScale = Math.max(...product.map(Math.abs));
    expectClose(await result.read(), product, 0, 1e-4 * productScale, 'F·v');

    const rhs = GpuArray.from(gpu, Float32Array.from(g), { label: 'g' });
    const cgOptions = { count: layout.paramCount, iterations: 10, applyOperator: (p: GPUComputePassEncoder, v: GPUBuffer, r: GPUBuffer) => fvp.encode(p, v, r) };
    await rejectsCleanly(() => ConjugateGradient.create(gpu, { ...cgOptions, rhs: rhs.view([layout.paramCount - 1]) }), /^cg: rhs must be f32 \[count\] = \[67\], got f32 \[66\] "g"$/);
    await rejectsCleanly(
      () => ConjugateGradient.create(gpu, { ...cgOptions, rhs: GpuArray.from(gpu, new Int32Array(layout.paramCount), { label: 'ig' }) }),
      /^cg: rhs must be f32 \[count\] = \[67\], got i32 \[67\] "ig"$/,
    );
    const cg = await ConjugateGradient.create(gpu, { ...cgOptions, rhs });
    submitPass(gpu, 'test.cg', (p) => {
      fvp.encodeForward(p);
      cg.encode(p);
    });
    const reference = conjugateGradientReference((v) => fisherVectorProductReference(layout, params, obs, rows, v, damping), g, 10, 1e-10);
    const scale = Math.max(...reference.x.map(Math.abs));
    expectClose(await cg.arrays.solution.read(), reference.x, 0, 1e-3 * scale, 'CG solution');

    rhs.destroy();
    expect(() => submitPass(gpu, 'test', (p) => cg.encode(p))).toThrow(/^cg\.encode: rhs \(f32 \[67\] "g"\) was destroyed$/);
    await gpu.sync();
    cg.destroy();
    fvp.destroy();
    for (const a of [vector, result, obsArray]) a.destroy();
    policy.destroy();
  });
});

describe('VecEnv with typed arguments', () => {
  it('names actions of the wrong type, then steps; its arrays are its buffers with dtype and shape', async () => {
    const gpu = await testGpu();
    const env = await CartPoleVec.create(gpu, { numEnvs: 4, seed: 3 });
    await rejectsCleanly(() => env.step(new Float32Array(4)), /^CartPoleVec\.step: actions must be an Int32Array of numEnvs action indices, got Float32Array$/);
    expect(() => env.setState([0, 0, 0, 0] as never)).toThrow(/^CartPoleVec\.setState: states must be a Float32Array \(or Float64Array\) of numEnvs × 4, got Array$/);
    const { obs } = await env.step(Int32Array.of(0, 1, 0, 1));
    expect(env.arrays.obs.describe()).toMatch(/^f32 \[4, 4\] /);
    expect(env.arrays.actions.dtype).toBe('i32');
    expect([...(await env.arrays.obs.read())]).toEqual([...obs]);
    env.destroy();

    const pendulum = await VecEnv.create(gpu, { id: 'Pendulum-v1', numEnvs: 2, seed: 1 });
    await rejectsCleanly(() => pendulum.step(new Int32Array(2)), /^VecEnv\.step: actions must be a Float32Array of numEnvs × 1 values, got Int32Array$/);
    expect(pendulum.arrays.actions.describe()).toMatch(/^f32 \[2, 1\] /);
    expect((await pendulum.step(Float32Array.of(0.5, -0.5))).reward.length).toBe(2);
    pendulum.destroy();
  });
});
