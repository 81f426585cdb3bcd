/** Shared test utilities: one GPU context per test file, seeded random data, tolerance checks. */
import { afterAll, expect } from 'vitest';
import { requestGpu, type GpuContext } from '../src/gpu/device';
import { mulberry32 } from '../src/core/prng';
import { philox4x32, uniform01 } from '../src/core/random';

let context: Promise<GpuContext> | null = null;

afterAll(async () => {
  if (context) (await context).destroy();
  context = null;
});

/** The GPU for this test file (the adapter Node finds, or WEBGPU_RL_ADAPTER). */
export function testGpu(): Promise<GpuContext> {
  context ??= requestGpu({ quiet: true });
  return context;
}

/** Deterministic uniform [0, 1) generator (mulberry32) for test inputs. */
export const seededRandom = mulberry32;

export function randomArray(n: number, rand: () => number, lo = -1, hi = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rand();
  return out;
}

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| element-wise (atol may
 * be a per-element bound), reporting the worst element so a failure says where
 * and by how much.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number | ((i: number) => number), what = 'values'): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const absolute = typeof atol === 'number' ? () => atol : atol;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (absolute(i) + rtol * Math.abs(expected[i]));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `${what}[${worst}]: got ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${absolute(worst)})`,
    );
  }
}

/** Each of a row's D normals' Box–Muller radius r = sqrt(−2 ln(1 − u)), from the same Philox words as dist_sample. */
export function boxMullerRadii(dim: number, counter: readonly [number, number, number, number], key: readonly [number, number]): number[] {
  const radii: number[] = [];
  for (let j = 0; 4 * j < dim; j++) {
    const bits = philox4x32([counter[0], counter[1], counter[2], counter[3] + j], key);
    for (const first of [bits[0], bits[2]]) radii.push(...Array(2).fill(Math.sqrt(-2 * Math.log(1 - uniform01(first)))));
  }
  return radii.slice(0, dim);
}
