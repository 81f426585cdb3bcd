/** Shared test utilities: one GPU context per test file, seeded random data, tolerance checks. */
import { afterAll, expect } from 'vitest';
import { requestGpu, type GpuContext } from '../src/gpu/device';
import { mulberry32 } from '../src/core/prng';

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
 * Asserts |actual - expected| <= atol + rtol * |expected| element-wise, reporting
 * the worst element so a failure says where and by how much.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what = 'values'): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `${what}[${worst}]: got ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`,
    );
  }
}
