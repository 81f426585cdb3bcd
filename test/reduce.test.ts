import { describe, it, expect } from 'vitest';
import { Reduction, ReduceKernels, FINISH_BLOCK, type ReduceOp } from '../src/kernels/reduce';
import { storageBuffer, readFloat32, readUint32, submitPass } from '../src/gpu/buffers';
import { testGpu, seededRandom, randomArray, expectClose } from './helpers';

const U = 2 ** -24;

/** The shader header's first-order bound on |error| / Σ|terms| for `count` elements. */
function sumErrorBound(count: number): number {
  const partials = Reduction.partialCount(count);
  return (Math.ceil(count / partials) / 4 + 2 + FINISH_BLOCK + partials / FINISH_BLOCK) * U;
}

async function run(op: ReduceOp, x: Float32Array, options: { y?: Float32Array; offset?: number; outputIndex?: number } = {}) {
  const gpu = await testGpu();
  const kernels = await ReduceKernels.create(gpu);
  const offset = options.offset ?? 0;
  const outputIndex = options.outputIndex ?? 3;
  const output = storageBuffer(gpu, 'test.output', new Float32Array(8).fill(-7));
  const reduction = Reduction.create(gpu, kernels, {
    input: storageBuffer(gpu, 'test.input', x),
    inputB: options.y ? storageBuffer(gpu, 'test.inputB', options.y) : undefined,
    offset,
    offsetB: offset,
    count: x.length - offset,
    op,
    output,
    outputIndex,
  });
  submitPass(gpu, 'test.reduce', (pass) => reduction.encode(pass));
  return { all: await readFloat32(gpu, output), output, reduction, gpu };
}

describe('reductions vs float64 (|error| ≤ (m/4 + 2 + 64 + P/64)·2⁻²⁴·Σ|terms|, the shader header bound)', () => {
  for (const n of [1, 7, 1000, 100_003]) {
    it(`sum, sumSquares, dot, mean over ${n} values`, async () => {
      const rand = seededRandom(n);
      const x = new Float32Array(randomArray(n, rand, -1, 3));
      const y = new Float32Array(randomArray(n, rand, -2, 2));
      const bound = sumErrorBound(n);
      const cases: [ReduceOp, (k: number) => number][] = [
        ['sum', (k) => x[k]],
        ['sumSquares', (k) => x[k] * x[k]],
        ['dot', (k) => x[k] * y[k]],
        ['mean', (k) => x[k] / n],
      ];
      for (const [op, term] of cases) {
        let exact = 0;
        let magnitude = 0;
        for (let k = 0; k < n; k++) {
          exact += term(k);
          magnitude += Math.abs(term(k));
        }
        const { all } = await run(op, x, { y });
        // The slot is written, its neighbours are not.
        expect([all[2], all[4]], op).toEqual([-7, -7]);
        expectClose([all[3]], [exact], 0, bound * magnitude, `${op} of ${n}`);
      }
    });
  }

  it('reads input from an offset', async () => {
    const x = new Float32Array(randomArray(1500, seededRandom(5), -1, 1));
    const { all } = await run('sum', x, { offset: 517 });
    const exact = x.slice(517).reduce((s, v) => s + v, 0);
    expectClose([all[3]], [exact], 0, sumErrorBound(1500 - 517) * 1500, 'sum from offset 517');
  });

  it('is bit-identical run to run', async () => {
    const x = new Float32Array(randomArray(100_003, seededRandom(9), -1, 1));
    for (const op of ['sum', 'meanStd'] as const) {
      const first = await run(op, x);
      const again = await run(op, x);
      expect(new Uint32Array(again.all.buffer), op).toEqual(new Uint32Array(first.all.buffer));
      // And the same reduction encoded twice on the same buffers.
      submitPass(first.gpu, 'test.repeat', (pass) => first.reduction.encode(pass));
      expect(await readUint32(first.gpu, first.output), op).toEqual(new Uint32Array(first.all.buffer));
    }
  });
});

describe('meanStd vs float64 mean and population std (mean: the sum bound; std: rtol 1e-5)', () => {
  for (const [n, centre, spread] of [
    [1, 3, 1],
    [7, 0, 1],
    [1000, 0, 2],
    [100_003, 0, 1],
    // Far from 0: a naive E[x²] − E[x]² in f32 would lose every digit here.
    [100_003, 1000, 0.5],
  ] as const) {
    it(`${n} values around ${centre} ± ${spread}`, async () => {
      const x = new Float32Array(randomArray(n, seededRandom(n + centre), centre - spread, centre + spread));
      let mean = 0;
      for (const v of x) mean += v;
      mean /= n;
      let m2 = 0;
      for (const v of x) m2 += (v - mean) ** 2;
      const std = Math.sqrt(m2 / n);
      const { all } = await run('meanStd', x);
      expect([all[2], all[5]]).toEqual([-7, -7]);
      const magnitude = x.reduce((s, v) => s + Math.abs(v), 0) / n;
      expectClose([all[3]], [mean], 0, sumErrorBound(n) * magnitude, 'mean');
      expectClose([all[4]], [std], 1e-5, 1e-7, 'std');
    });
  }
});

describe('Reduction.create validation', () => {
  it('names bad counts, ops, sizes and a missing inputB', async () => {
    const gpu = await testGpu();
    const kernels = await ReduceKernels.create(gpu);
    const input = storageBuffer(gpu, 'test.small', 40);
    const output = storageBuffer(gpu, 'test.out', 16);
    const base = { input, output, outputIndex: 0, count: 10, op: 'sum' as ReduceOp };
    expect(() => Reduction.create(gpu, kernels, { ...base, count: 0 })).toThrow(/count must be a positive integer, got 0/);
    expect(() => Reduction.create(gpu, kernels, { ...base, op: 'max' as ReduceOp })).toThrow(/op "max" is not one of/);
    expect(() => Reduction.create(gpu, kernels, { ...base, count: 11 })).toThrow(/input buffer test.small holds 10 floats, needs 11/);
    expect(() => Reduction.create(gpu, kernels, { ...base, op: 'meanStd', outputIndex: 3 })).toThrow(/output buffer test.out holds 4 floats, needs 5/);
    expect(() => Reduction.create(gpu, kernels, { ...base, op: 'dot' })).toThrow(/"dot" needs inputB/);
  });
});
