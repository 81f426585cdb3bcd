import { describe, it, expect } from 'vitest';
import scaleWgsl from './fixtures/scale.wgsl?raw';
import { ShaderFamily } from '../src/gpu/kernel';
import { storageBuffer, uniformBuffer, readFloat32, submitPass } from '../src/gpu/buffers';
import { describeAdapter } from '../src/gpu/device';
import { testGpu } from './helpers';

describe('kernel loading by reflection', () => {
  // The reflected offsets and bindings themselves are checked without a GPU in reflection.test.ts.
  it('builds each pipeline with the bindings its entry point uses, and its workgroup size', async () => {
    const gpu = await testGpu();
    const family = await ShaderFamily.load(gpu, 'scale', scaleWgsl);
    const k = await family.kernel('scale', { constants: { WG: 32 } });
    expect([...k.bindings.values()]).toEqual(family.source.bindings('scale'));
    expect(k.workgroupSize).toBe(32);
    const fill = await family.kernel('fill');
    expect([...fill.bindings.keys()]).toEqual(['y']);
    expect(fill.workgroupSize).toBe(64);
  });

  it('runs a kernel over a 2-D split dispatch', async () => {
    const gpu = await testGpu();
    const family = await ShaderFamily.load(gpu, 'scale', scaleWgsl);
    const k = await family.kernel('scale', { constants: { WG: 1 } });
    const n = gpu.limits.maxComputeWorkgroupsPerDimension + 37;
    expect(k.workgroupsFor(n)[1]).toBeGreaterThan(1);
    const x = new Float32Array(n).map((_, i) => i % 1000);
    const xs = storageBuffer(gpu, 'test.x', x);
    const ys = storageBuffer(gpu, 'test.y', n * 4);
    const params = uniformBuffer(gpu, 'test.params', family.struct('ScaleParams').pack({ count: n, a: 2, offset: [0, 3], b: 0.5 }));
    const bg = k.bind({ params, x: xs, y: ys });
    submitPass(gpu, 'test', (pass) => k.dispatch(pass, bg, n));
    const y = await readFloat32(gpu, ys);
    for (const i of [0, 1, 999, 65535, n - 1]) expect(y[i]).toBe(2 * x[i] + 3.5);
  });

  it('names missing or unknown bindings and bad struct values', async () => {
    const gpu = await testGpu();
    const family = await ShaderFamily.load(gpu, 'scale', scaleWgsl);
    const k = await family.kernel('scale');
    const b = storageBuffer(gpu, 'b', 64);
    expect(() => k.bind({ x: b, y: b })).toThrow(/binding "params" not given/);
    expect(() => k.bind({ x: b, y: b, nope: b })).toThrow(/no binding named "nope"/);
    expect(() => family.struct('ScaleParams').pack({ count: 1, a: 1, b: 1 } as never)).toThrow(/"offset" missing/);
    await expect(family.kernel('missing')).rejects.toThrow(/no entry point "missing"/);
    await expect(ShaderFamily.load(gpu, 'broken', 'fn f( {')).rejects.toThrow(/WGSL compilation failed for broken/);
    // The failure is reported by load() alone, not left behind as an uncaptured error.
    await gpu.sync();
  });
});

describe('device helper', () => {
  it('reports the adapter', async () => {
    const gpu = await testGpu();
    expect(gpu.adapter.vendor.length).toBeGreaterThan(0);
    expect(describeAdapter(gpu.adapter)).toContain(gpu.adapter.vendor);
  });
});
