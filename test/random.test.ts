import { describe, it, expect } from 'vitest';
import randomWgsl from '../shaders/random.wgsl?raw';
import philoxFixture from './fixtures/philox.wgsl?raw';
import { ShaderFamily } from '../src/gpu/kernel';
import { storageBuffer, uniformBuffer, readUint32, readFloat32, submitPass } from '../src/gpu/buffers';
import { philox4x32, uniform01, STREAM_RESET, STREAM_ACTION, STREAM_PERMUTATION, STREAM_INIT } from '../src/core/random';
import { testGpu, seededRandom } from './helpers';

const hex = (words: ArrayLike<number>) => Array.from(words, (w) => `0x${(w >>> 0).toString(16).padStart(8, '0')}`);

describe('Philox-4x32-10 (TS twin)', () => {
  // Known-answer vectors of Philox4x32-10 from Random123 (kat_vectors).
  it.each([
    { counter: [0, 0, 0, 0], key: [0, 0], expected: [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8] },
    {
      counter: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
      key: [0xffffffff, 0xffffffff],
      expected: [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
    },
    {
      counter: [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
      key: [0xa4093822, 0x299f31d0],
      expected: [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
    },
  ])('matches the known answer for counter $counter', ({ counter, key, expected }) => {
    const out = philox4x32(counter as [number, number, number, number], key as [number, number]);
    expect(hex(out)).toEqual(hex(expected));
  });

  it('maps bits to multiples of 2^-24 in [0, 1)', () => {
    expect(uniform01(0)).toBe(0);
    expect(uniform01(0xff)).toBe(0);
    expect(uniform01(0x100)).toBe(2 ** -24);
    expect(uniform01(0xffffffff)).toBe(1 - 2 ** -24);
    expect(Math.fround(uniform01(0xdeadbeef))).toBe(uniform01(0xdeadbeef));
  });

  it('gives distinct, evenly spread numbers on distinct streams', () => {
    const streams = [STREAM_RESET, STREAM_ACTION, STREAM_PERMUTATION, STREAM_INIT];
    expect(new Set(streams).size).toBe(4);
    const firsts = streams.map((s) => philox4x32([0, 0, 0, 0], [1234, s])[0]);
    expect(new Set(firsts).size).toBe(4);
    // Mean of 40 000 uniforms: standard error 0.0014, so 0.5 ± 0.007 is a 5-sigma bound.
    let sum = 0;
    for (let i = 0; i < 10_000; i++) for (const w of philox4x32([i, 7, 0, 0], [99, STREAM_ACTION])) sum += uniform01(w);
    expect(Math.abs(sum / 40_000 - 0.5)).toBeLessThan(0.007);
  });
});

describe('Philox-4x32-10 on the GPU', () => {
  it('equals the TS twin bit for bit on 4 096 counters and keys (tolerance: exact)', async () => {
    const gpu = await testGpu();
    const family = await ShaderFamily.load(gpu, 'philoxTest', [randomWgsl, philoxFixture]);
    const kernel = await family.kernel('philox');
    const rand = seededRandom(2024);
    const word = () => Math.floor(rand() * 2 ** 32) >>> 0;
    const edges = [0, 1, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
    const count = 4096;
    const counters = new Uint32Array(4 * count);
    const keys = new Uint32Array(2 * count);
    for (let i = 0; i < count; i++) {
      // The first 512 blocks mix edge words (carries in mulhi); the rest are random or small indices.
      for (let j = 0; j < 4; j++) counters[4 * i + j] = i < 512 ? edges[(i >> (j * 2)) % edges.length] : j === 0 ? i : word();
      keys[2 * i] = i < 512 ? edges[(i * 5) % edges.length] : word();
      keys[2 * i + 1] = i % 4;
    }
    const blocks = storageBuffer(gpu, 'philoxTest.philox.blocks', 16 * count);
    const uniforms = storageBuffer(gpu, 'philoxTest.philox.uniforms', 16 * count);
    const params = uniformBuffer(gpu, 'philoxTest.philox.params', family.struct('PhiloxParams').pack({ count }));
    const bindGroup = kernel.bind({
      params,
      counters: storageBuffer(gpu, 'philoxTest.philox.counters', counters),
      keys: storageBuffer(gpu, 'philoxTest.philox.keys', keys),
      blocks,
      uniforms,
    });
    submitPass(gpu, 'philoxTest', (pass) => kernel.dispatch(pass, bindGroup, count));
    const gpuBlocks = await readUint32(gpu, blocks);
    const gpuUniforms = await readFloat32(gpu, uniforms);
    for (let i = 0; i < count; i++) {
      const c = counters.subarray(4 * i, 4 * i + 4);
      const k = keys.subarray(2 * i, 2 * i + 2);
      const expected = philox4x32([c[0], c[1], c[2], c[3]], [k[0], k[1]]);
      const got = gpuBlocks.subarray(4 * i, 4 * i + 4);
      if (expected.some((w, j) => w !== got[j])) {
        expect.fail(`block ${i} (counter ${hex(c)}, key ${hex(k)}): GPU ${hex(got)}, TS ${hex(expected)}`);
      }
      for (let j = 0; j < 4; j++) expect(gpuUniforms[4 * i + j]).toBe(uniform01(expected[j]));
    }
  });
});
