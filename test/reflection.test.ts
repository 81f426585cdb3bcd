/**
 * Layouts without a GPU: struct offsets and bindings reflected from WGSL
 * (WgslSource), the WGSL constants generated from TS lists, and the stride of
 * uniform slot tables.
 */
import { describe, it, expect } from 'vitest';
import scaleWgsl from './fixtures/scale.wgsl?raw';
import { WgslSource } from '../src/gpu/kernel';
import { COMMON_WGSL, wgslConstants, wgslIndexConstants } from '../src/gpu/wgsl';
import { uniformSlotStride } from '../src/gpu/slots';
import type { GpuContext } from '../src/gpu/device';

describe('WgslSource', () => {
  const source = new WgslSource('scale', scaleWgsl);

  it('struct offsets follow WGSL alignment (vec2<u32> at 8, the f32 after it at 16, padded to 32)', () => {
    const view = source.struct('ScaleParams');
    expect(view.offsetOf('count')).toBe(0);
    expect(view.offsetOf('a')).toBe(4);
    expect(view.offsetOf('offset')).toBe(8);
    expect(view.offsetOf('b')).toBe(16);
    expect(view.paddedSize).toBe(32);
    expect(() => source.struct('Missing')).toThrow(/scale.wgsl has no struct Missing/);
    expect(() => view.offsetOf('nope')).toThrow(/ScaleParams has no field "nope"/);
  });

  it('packs values at the reflected offsets and names missing or unknown fields', () => {
    const view = source.struct('ScaleParams');
    const data = new DataView(view.pack({ count: 7, a: 2.5, offset: [1, 3], b: -0.5 }));
    expect(data.byteLength).toBe(32);
    expect([data.getUint32(0, true), data.getFloat32(4, true), data.getUint32(8, true), data.getUint32(12, true), data.getFloat32(16, true)]).toEqual([7, 2.5, 1, 3, -0.5]);
    expect(() => view.pack({ count: 1, a: 1, b: 1 } as never)).toThrow(/"offset" missing/);
    expect(() => view.pack({ count: 1, a: 1, offset: [1], b: 1 })).toThrow(/offset: expected 2 values, got 1/);
    expect(() => view.pack({ count: 1, a: 1, offset: [1, 2], b: 1, c: 0 })).toThrow(/no field "c"/);
  });

  it('entry points and the bindings each uses, in binding order, with their kinds', () => {
    expect(source.entryPoints()).toEqual(['scale', 'fill']);
    expect(source.bindings('scale').map((b) => [b.name, b.binding, b.kind])).toEqual([
      ['params', 0, 'uniform'],
      ['x', 1, 'read-only-storage'],
      ['y', 2, 'storage'],
    ]);
    expect(source.bindings('fill').map((b) => b.name)).toEqual(['y']);
    expect(source.defaultWorkgroupSize('scale')).toBe(64);
    expect(() => source.bindings('missing')).toThrow(/no entry point "missing" \(has scale, fill\)/);
  });

  it('helper sources go first and leave the family’s reflection unchanged', () => {
    const joined = new WgslSource('scale', [COMMON_WGSL, scaleWgsl]);
    expect(joined.parts).toEqual([COMMON_WGSL, scaleWgsl]);
    expect(joined.code.startsWith(COMMON_WGSL)).toBe(true);
    expect(joined.entryPoints()).toEqual(['scale', 'fill']);
    expect(joined.bindings('scale')).toEqual(source.bindings('scale'));
    expect(joined.struct('ScaleParams').offsetOf('b')).toBe(16);
  });
});

describe('generated WGSL constants', () => {
  it('wgslConstants writes one typed const per entry', () => {
    expect(wgslConstants({ ROWS: 4, TILE: 16 })).toBe('const ROWS: u32 = 4u;\nconst TILE: u32 = 16u;\n');
    expect(wgslConstants({ SHIFT: -2 }, 'i32')).toBe('const SHIFT: i32 = -2i;\n');
    expect(wgslConstants({ HALF: 0.5, ONE: 1 }, 'f32')).toBe('const HALF: f32 = 0.5;\nconst ONE: f32 = 1.0;\n');
    expect(wgslConstants({ FUSED: true })).toBe('const FUSED: bool = true;\n');
    expect(() => wgslConstants({ rows: 4 })).toThrow(/"rows" is not an UPPER_SNAKE_CASE name/);
    expect(() => wgslConstants({ ROWS: 1.5 })).toThrow(/ROWS = 1.5 is not an integer/);
  });

  it('wgslIndexConstants numbers a TS list in order and adds its count', () => {
    expect(wgslIndexConstants('SLOT', ['obs', 'reward', 'done'])).toBe(
      'const SLOT_OBS: u32 = 0u;\nconst SLOT_REWARD: u32 = 1u;\nconst SLOT_DONE: u32 = 2u;\nconst SLOT_COUNT: u32 = 3u;\n',
    );
  });

  it('generated constants parse as part of a family', () => {
    const family = new WgslSource('consts', [wgslConstants({ N: 3 }), '@group(0) @binding(0) var<storage, read_write> s: array<f32, N>;\n@compute @workgroup_size(1) fn main() { s[N - 1u] = 1.0; }']);
    expect(family.entryPoints()).toEqual(['main']);
    expect(family.bindings('main').map((b) => [b.name, b.kind])).toEqual([['s', 'storage']]);
  });
});

describe('uniformSlotStride', () => {
  const withAlignment = (minUniformBufferOffsetAlignment: number) => ({ limits: { minUniformBufferOffsetAlignment } }) as unknown as GpuContext;
  const params = new WgslSource('scale', scaleWgsl).struct('ScaleParams');

  it('rounds the padded struct size up to the dynamic-offset alignment', () => {
    expect(uniformSlotStride(withAlignment(256), params)).toBe(256);
    expect(uniformSlotStride(withAlignment(32), params)).toBe(32);
    expect(uniformSlotStride(withAlignment(16), params)).toBe(32);
    // 17 vec4s: 272 bytes, one more than a 256-byte slot holds.
    const fields = Array.from({ length: 17 }, (_, i) => `f${i}: vec4<f32>`).join(', ');
    const big = new WgslSource('big', `struct Big { ${fields} }`).struct('Big');
    expect(big.paddedSize).toBe(272);
    expect(uniformSlotStride(withAlignment(256), big)).toBe(512);
  });
});
