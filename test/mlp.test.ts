import { describe, it, expect } from 'vitest';
import { MlpLayout, initPyTorchDefault, initOrthogonal, type Activation } from '../src/nn/mlp';
import { mlpForwardReference, mlpBackwardReference } from '../src/reference/mlp';
import { DENSE_GEOMETRY, MLP_KERNEL_SHAPES, PARAM_REDUCTIONS, Mlp, MlpKernels, MlpPass, MlpTangents, optimizedCount, parameterVectorBytes, type AdamFusion, type DenseChaining, type MlpKernelShape, type NetworkPairing, type ParamReduction } from '../src/kernels/mlp';
import { Adam } from '../src/kernels/optim';
import { agentsBuffer } from '../src/gpu/agents';
import { countDispatches } from '../src/train/trainer';
import { mlpTangentReference } from '../src/reference/fvp';
import { storageBuffer, readFloat32, submitPass } from '../src/gpu/buffers';
import { GpuArray } from '../src/gpu/array';
import { recordDispatches } from '../bench/lib/profile';
import { testGpu, seededRandom, randomArray, expectClose } from './helpers';
import type { GpuContext } from '../src/gpu/device';

describe('MlpLayout', () => {
  it('lays out W_l [out][in] then b_l, layer after layer', () => {
    const layout = new MlpLayout([4, 64, 64, 2], ['tanh', 'tanh', 'identity']);
    expect(layout.layers.map((l) => [l.inDim, l.outDim, l.weightOffset, l.biasOffset])).toEqual([
      [4, 64, 0, 256],
      [64, 64, 320, 4416],
      [64, 2, 4480, 4608],
    ]);
    expect(layout.paramCount).toBe(4610);
    expect(layout.inputDim).toBe(4);
    expect(layout.outputDim).toBe(2);
  });

  it('names bad sizes and activations', () => {
    expect(() => new MlpLayout([4], [])).toThrow(/at least 2 entries/);
    expect(() => new MlpLayout([4, 0], ['tanh'])).toThrow(/positive integers, got 0/);
    expect(() => new MlpLayout([4, 8, 2], ['tanh'])).toThrow(/2 layers need 2 activations, got 1/);
    expect(() => new MlpLayout([4, 2], ['relu' as Activation])).toThrow(/"relu" is not one of tanh, identity/);
  });
});

describe('initialisers', () => {
  const layout = new MlpLayout([4, 64, 64, 2], ['tanh', 'tanh', 'identity']);

  it('PyTorch default: uniform(±1/√in) weights and biases, last layer scaled, deterministic', () => {
    const params = initPyTorchDefault(layout, 7, { lastLayerScale: 0.1 });
    expect(initPyTorchDefault(layout, 7, { lastLayerScale: 0.1 })).toEqual(params);
    expect(initPyTorchDefault(layout, 8)).not.toEqual(params);
    layout.layers.forEach((layer, l) => {
      const bound = (l === 2 ? 0.1 : 1) / Math.sqrt(layer.inDim);
      const values = params.slice(layer.weightOffset, layer.biasOffset + layer.outDim);
      const max = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(max).toBeLessThanOrEqual(bound);
      // Uniform on ±bound: the largest of ≥ 130 samples is near the bound, the mean near 0.
      expect(max).toBeGreaterThan(0.9 * bound);
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      expect(Math.abs(mean)).toBeLessThan((4 * bound) / Math.sqrt(3 * values.length));
    });
  });

  it('orthogonal: WᵀW or WWᵀ = gain²·I (1e-6), zero biases, deterministic', () => {
    const wide = new MlpLayout([64, 64, 5, 9], ['tanh', 'tanh', 'identity']);
    const gains = [Math.SQRT2, 0.01, 1];
    const params = initOrthogonal(wide, 3, { gains });
    expect(initOrthogonal(wide, 3, { gains })).toEqual(params);
    wide.layers.forEach((layer, l) => {
      const { inDim, outDim, weightOffset, biasOffset } = layer;
      const w = (o: number, i: number) => params[weightOffset + o * inDim + i];
      // Gram matrix over the shorter side: columns when tall (out ≥ in), rows when wide.
      const tall = outDim >= inDim;
      const n = Math.min(inDim, outDim);
      const long = Math.max(inDim, outDim);
      for (let a = 0; a < n; a++) {
        for (let b = 0; b < n; b++) {
          let dot = 0;
          for (let k = 0; k < long; k++) dot += tall ? w(k, a) * w(k, b) : w(a, k) * w(b, k);
          expect(Math.abs(dot - (a === b ? gains[l] ** 2 : 0))).toBeLessThan(1e-6 * Math.max(1, gains[l] ** 2));
        }
      }
      expect(Array.from(params.slice(biasOffset, biasOffset + outDim)).every((b) => b === 0)).toBe(true);
    });
  });
});

/** Σ_r Σ_o lossWeights[r][o] · output[r][o] in float64. */
function weightedOutput(layout: MlpLayout, params: ArrayLike<number>, input: ArrayLike<number>, rows: number, lossWeights: Float64Array): number {
  const acts = mlpForwardReference(layout, params, input, rows);
  const out = acts[acts.length - 1];
  let s = 0;
  for (let k = 0; k < out.length; k++) s += lossWeights[k] * out[k];
  return s;
}

/** dLoss/d(output pre-activation) for the loss Σ lossWeights · output. */
function gradOutputOf(layout: MlpLayout, output: Float64Array, lossWeights: Float64Array): Float64Array {
  const last = layout.layers[layout.layers.length - 1].activation;
  return lossWeights.map((w, k) => (last === 'tanh' ? w * (1 - output[k] ** 2) : w));
}

describe('float64 reference backward vs central differences (h 1e-6, rtol 1e-6, atol 1e-8)', () => {
  for (const [sizes, activations] of [
    [[3, 5, 4], ['tanh', 'tanh']],
    [[4, 8, 6, 2], ['tanh', 'tanh', 'identity']],
  ] as [number[], Activation[]][]) {
    it(`${sizes.join('→')} ${activations.join(',')}: every parameter and input`, () => {
      const layout = new MlpLayout(sizes, activations);
      const rows = 5;
      const rand = seededRandom(sizes.length * 31);
      const params = randomArray(layout.paramCount, rand, -1, 1);
      const input = randomArray(rows * layout.inputDim, rand, -2, 2);
      const lossWeights = randomArray(rows * layout.outputDim, rand, -1, 1);
      const acts = mlpForwardReference(layout, params, input, rows);
      const gradOutput = gradOutputOf(layout, acts[acts.length - 1], lossWeights);
      const { grads, gradInput } = mlpBackwardReference(layout, params, input, acts, gradOutput, rows);
      const h = 1e-6;
      const central = (x: Float64Array, k: number, f: () => number) => {
        const saved = x[k];
        x[k] = saved + h;
        const up = f();
        x[k] = saved - h;
        const down = f();
        x[k] = saved;
        return (up - down) / (2 * h);
      };
      const loss = () => weightedOutput(layout, params, input, rows, lossWeights);
      expectClose(grads, params.map((_, k) => central(params, k, loss)), 1e-6, 1e-8, 'dLoss/dθ');
      expectClose(gradInput, input.map((_, k) => central(input, k, loss)), 1e-6, 1e-8, 'dLoss/dinput');
    });
  }
});

interface Case {
  sizes: number[];
  activations: Activation[];
  rows: number;
}

// Odd sizes on purpose: rows not a multiple of 4, dims not multiples of 4 (the
// scalar weight path), multiples of 4 (the vec4 path), and dims past the 64-wide
// register chunk (67, 132, 68) to exercise chunked rows.
const CASES: Case[] = [
  { sizes: [4, 64, 64, 2], activations: ['tanh', 'tanh', 'identity'], rows: 130 },
  { sizes: [3, 5, 1], activations: ['tanh', 'identity'], rows: 7 },
  { sizes: [5, 3, 7], activations: ['identity', 'tanh'], rows: 1 },
  { sizes: [67, 132, 68, 3], activations: ['tanh', 'tanh', 'identity'], rows: 9 },
  // Fewer rows than one block of 4, and a 128-wide layer the `rows` shape leaves to `single`.
  { sizes: [4, 64, 64, 2], activations: ['tanh', 'tanh', 'identity'], rows: 3 },
  { sizes: [8, 32, 128, 8, 1], activations: ['tanh', 'tanh', 'tanh', 'identity'], rows: 37 },
];

it('test cases cover the vec4 and the scalar weight paths', () => {
  const paths = CASES.flatMap((c) => new MlpLayout(c.sizes, c.activations).layers.map((layer) => MlpKernels.isAligned(layer)));
  expect(paths).toContain(true);
  expect(paths).toContain(false);
  // 132 inputs on the vec4 path: three register chunks.
  expect(MlpKernels.isAligned(new MlpLayout(CASES[3].sizes, CASES[3].activations).layers[1])).toBe(true);
});

// `rows` and `tiles` run chained here (chains: one dispatch per pass where the layout allows);
// their per-layer dispatches are checked against the chains bit for bit below.
async function setup(c: Case, seed: number, shape?: MlpKernelShape, reduction?: ParamReduction, chaining: DenseChaining = 'chain') {
  const gpu = await testGpu();
  const kernels = await MlpKernels.create(gpu, shape, reduction, chaining);
  const layout = new MlpLayout(c.sizes, c.activations);
  const rand = seededRandom(seed);
  const params = new Float32Array(initPyTorchDefault(layout, seed));
  // Larger biases than the default so tanh units reach their curved range.
  for (const layer of layout.layers) for (let o = 0; o < layer.outDim; o++) params[layer.biasOffset + o] += 2 * rand() - 1;
  const input = new Float32Array(randomArray(c.rows * layout.inputDim, rand, -2, 2));
  const mlp = Mlp.create(gpu, kernels, layout, 'test.mlp');
  mlp.setParams(params);
  const pass = mlp.prepare({ rows: c.rows, input: storageBuffer(gpu, 'test.input', input), label: 'test.pass', inputGradient: true });
  return { gpu, layout, rand, params, input, mlp, pass };
}

// Every kernel shape on every case, whatever the adapter's default shape.
const SHAPED_CASES = MLP_KERNEL_SHAPES.flatMap((shape) => CASES.map((c) => ({ shape, c })));
// The backward also in both parameter-gradient reductions, whatever the adapter's default:
// `serial` with every shape, `split` with `tiles` (its GPU companion).
const REDUCED_CASES = [
  ...SHAPED_CASES.map((x) => ({ ...x, reduction: 'serial' as const })),
  ...CASES.map((c) => ({ shape: 'tiles' as const, c, reduction: 'split' as const })),
];

describe('MLP forward vs float64 (rtol 1e-4, atol 1e-5)', () => {
  for (const { shape, c } of SHAPED_CASES) {
    it(`${shape}: ${c.sizes.join('→')} ${c.activations.join(',')}, ${c.rows} rows`, async () => {
      const { gpu, layout, params, input, pass } = await setup(c, 11, shape);
      submitPass(gpu, 'test.forward', (p) => pass.encodeForward(p));
      const expected = mlpForwardReference(layout, params, input, c.rows);
      for (let l = 0; l < layout.layers.length; l++) {
        expectClose(await pass.arrays.activations[l].read(), expected[l], 1e-4, 1e-5, `activations[${l}]`);
      }
    });
  }
});

describe('MLP backward vs float64 (rtol 1e-4, atol 1e-5 · rows)', () => {
  for (const { shape, c, reduction } of REDUCED_CASES) {
    it(`${shape}, ${reduction}: ${c.sizes.join('→')} ${c.activations.join(',')}, ${c.rows} rows: grads, hidden and input gradients`, async () => {
      const { gpu, layout, rand, params, input, mlp, pass } = await setup(c, 12, shape, reduction);
      const gradOutput = new Float32Array(randomArray(c.rows * layout.outputDim, rand, -1, 1));
      gpu.device.queue.writeBuffer(pass.gradOutput, 0, gradOutput);
      submitPass(gpu, 'test.backward', (p) => {
        pass.encodeForward(p);
        pass.encodeBackward(p);
      });
      // The reference backpropagates through the GPU's own f32 activations.
      const acts = await Promise.all(pass.arrays.activations.map((a) => a.read()));
      const expected = mlpBackwardReference(layout, params, input, acts.map((a) => Float64Array.from(a)), gradOutput, c.rows);
      const atol = 1e-5 * c.rows;
      expectClose(await mlp.readGrads(), expected.grads, 1e-4, atol, 'grads');
      for (let l = 0; l + 1 < layout.layers.length; l++) {
        expectClose(await pass.arrays.gradPreActivations[l].read(), expected.gradPreActivations[l], 1e-4, 1e-5, `gradPreActivations[${l}]`);
      }
      expectClose(await readFloat32(gpu, pass.gradInput!, 0, input.length), expected.gradInput, 1e-4, 1e-5, 'gradInput');

      // accumulate + scale: grads = g + (−0.5) g = 0.5 g.
      submitPass(gpu, 'test.backward.accumulate', (p) => pass.encodeBackward(p, { accumulate: true, scale: -0.5 }));
      expectClose(await mlp.readGrads(), expected.grads.map((g) => 0.5 * g), 1e-4, atol, 'accumulated grads');
    });
  }

  const repeatable = [...MLP_KERNEL_SHAPES.map((shape) => [shape, 'serial'] as const), ['tiles', 'split'] as const];
  it.each(repeatable)('%s, %s: is bit-reproducible run to run', async (shape, reduction) => {
    const { gpu, layout, rand, mlp, pass } = await setup({ sizes: [4, 64, 64, 2], activations: ['tanh', 'tanh', 'identity'], rows: 1000 }, 13, shape, reduction);
    gpu.device.queue.writeBuffer(pass.gradOutput, 0, new Float32Array(randomArray(1000 * layout.outputDim, rand, -1, 1)));
    const run = async () => {
      submitPass(gpu, 'test.repeat', (p) => {
        pass.encodeForward(p);
        pass.encodeBackward(p);
      });
      return new Uint32Array((await mlp.readGrads()).buffer);
    };
    const first = await run();
    expect(await run()).toEqual(first);
  });
});

describe('MLP tangent (forward mode) vs float64, every layer (rtol 1e-4, atol 1e-4)', () => {
  for (const { shape, c } of SHAPED_CASES) {
    it(`${shape}: ${c.sizes.join('→')} ${c.activations.join(',')}, ${c.rows} rows`, async () => {
      const { gpu, layout, rand, params, input, pass } = await setup(c, 17, shape);
      const vector = new Float32Array(parameterVectorBytes(layout) / 4);
      vector.set(randomArray(layout.paramCount, rand));
      const tangents = await MlpTangents.create(gpu, pass, 'test.tangents');
      submitPass(gpu, 'test.tangent', (p) => {
        pass.encodeForward(p);
        tangents.encode(p, storageBuffer(gpu, 'test.vector', vector));
      });
      for (let l = 0; l < layout.layers.length; l++) {
        // Layer l's tangent is the output tangent of the network cut after l (same parameter offsets).
        const prefix = new MlpLayout(c.sizes.slice(0, l + 2), c.activations.slice(0, l + 1));
        const expected = mlpTangentReference(prefix, params.subarray(0, prefix.paramCount), vector, input, c.rows);
        expectClose(await readFloat32(gpu, tangents.outputs[l], 0, expected.length), expected, 1e-4, 1e-4, `tangent[${l}]`);
      }
      tangents.destroy();
    });
  }
});

describe('rows are independent of the batch around them (bit for bit)', () => {
  // The rollout's per-step forward over N rows and the trainer's full-batch
  // forward over T·N rows must give a row the same bits.
  it.each(MLP_KERNEL_SHAPES)('%s: rows 0..36 of a 1 000-row forward equal a 37-row forward', async (shape) => {
    const c: Case = { sizes: [4, 64, 64, 2], activations: ['tanh', 'tanh', 'identity'], rows: 1000 };
    const { gpu, layout, input, mlp, pass } = await setup(c, 16, shape);
    const small = mlp.prepare({ rows: 37, input: storageBuffer(gpu, 'test.small', input.subarray(0, 37 * layout.inputDim)), label: 'test.small' });
    submitPass(gpu, 'test.batches', (p) => {
      pass.encodeForward(p);
      small.encodeForward(p);
    });
    const big = new Uint32Array((await readFloat32(gpu, pass.output, 0, 37 * layout.outputDim)).buffer);
    expect(new Uint32Array((await readFloat32(gpu, small.output)).buffer)).toEqual(big);
  });
});

describe('parameter-gradient reductions', () => {
  const c: Case = { sizes: [4, 64, 64, 2], activations: ['tanh', 'tanh', 'identity'], rows: 1000 };

  /** The grads of `rows` rows of `gradOutput` (rows past `live` zeroed) after a forward, as bits. */
  async function gradBits(reduction: ParamReduction, rows: number, live: number): Promise<Uint32Array> {
    const { gpu, layout, rand, mlp } = await setup(c, 18, 'tiles', reduction);
    const input = new Float32Array(randomArray(rows * layout.inputDim, seededRandom(19), -2, 2));
    const pass = mlp.prepare({ rows, input: storageBuffer(gpu, 'test.input', input), label: 'test.reduction' });
    const gradOutput = new Float32Array(rows * layout.outputDim);
    gradOutput.set(randomArray(live * layout.outputDim, rand, -1, 1));
    gpu.device.queue.writeBuffer(pass.gradOutput, 0, gradOutput);
    submitPass(gpu, 'test.reduction', (p) => {
      pass.encodeForward(p);
      pass.encodeBackward(p);
    });
    const bits = new Uint32Array((await mlp.readGrads()).buffer);
    pass.destroy();
    return bits;
  }

  it.each(PARAM_REDUCTIONS)('%s: rows with zero gradient appended to a batch leave every gradient bit unchanged', async (reduction) => {
    // 1000 rows end inside a row block, 1100 in another: the live rows' blocks and their order are the same.
    expect(await gradBits(reduction, 1100, 1000)).toEqual(await gradBits(reduction, 1000, 1000));
  });

  it('split adds the same row blocks in the same order as serial: equal bit for bit', async () => {
    expect(await gradBits('split', 1000, 1000)).toEqual(await gradBits('serial', 1000, 1000));
  });

  it('split records two dispatches per layer for the parameter gradient, two for every layer where the pass chains', async () => {
    // and the input gradients': per layer, three; chained, the `tiles` chain's, then layer 0's.
    expect((await setup(c, 20, 'tiles', 'split', 'layers')).pass.backwardDispatchCount).toBe(3 * 2 + 3);
    expect((await setup(c, 20, 'tiles', 'split', 'chain')).pass.backwardDispatchCount).toBe(2 + 2);
  });
});

describe('GPU gradient of Σ w·output vs float64 central differences (h 1e-4, rtol 1e-4, atol 1e-5)', () => {
  // The unaligned nets take the `single` kernels in every shape, so they run once.
  const cases = [
    ...MLP_KERNEL_SHAPES.map((shape) => ({ shape, c: CASES[0], reduction: 'serial' as ParamReduction })),
    { shape: 'tiles' as const, c: CASES[0], reduction: 'split' as ParamReduction },
    { shape: 'single' as const, c: CASES[1], reduction: 'serial' as ParamReduction },
    { shape: 'single' as const, c: { sizes: [3, 6, 4], activations: ['tanh', 'tanh'], rows: 6 } as Case, reduction: 'split' as ParamReduction },
  ];
  for (const { shape, c, reduction } of cases) {
    it(`${shape}, ${reduction}: ${c.sizes.join('→')} ${c.activations.join(',')}, ${c.rows} rows`, async () => {
      const { gpu, layout, rand, params, input, mlp, pass } = await setup(c, 14, shape, reduction);
      const lossWeights = randomArray(c.rows * layout.outputDim, rand, -1, 1);
      submitPass(gpu, 'test.forward', (p) => pass.encodeForward(p));
      const output = Float64Array.from(await readFloat32(gpu, pass.output, 0, c.rows * layout.outputDim));
      gpu.device.queue.writeBuffer(pass.gradOutput, 0, new Float32Array(gradOutputOf(layout, output, lossWeights)));
      submitPass(gpu, 'test.backward', (p) => pass.encodeBackward(p));
      const gpuGrads = await mlp.readGrads();
      const gpuGradInput = await readFloat32(gpu, pass.gradInput!, 0, input.length);
      // The GPU evaluates the loss at the f32 parameters; so does the float64 forward here.
      const theta = Float64Array.from(params);
      const x = Float64Array.from(input);
      const loss = () => weightedOutput(layout, theta, x, c.rows, lossWeights);
      const h = 1e-4;
      const central = (v: Float64Array, k: number) => {
        const saved = v[k];
        v[k] = saved + h;
        const up = loss();
        v[k] = saved - h;
        const down = loss();
        v[k] = saved;
        return (up - down) / (2 * h);
      };
      // Every parameter of the small nets; a seeded sample of 120 of the big one.
      const picks = layout.paramCount <= 300 ? [...theta.keys()] : Array.from({ length: 120 }, () => Math.floor(rand() * layout.paramCount));
      expectClose(picks.map((k) => gpuGrads[k]), picks.map((k) => central(theta, k)), 1e-4, 1e-5, 'dLoss/dθ');
      expectClose(gpuGradInput, x.map((_, k) => central(x, k)), 1e-4, 1e-5, 'dLoss/dinput');
    });
  }
});

describe('Mlp.prepare options', () => {
  it('evaluates other parameters (e.g. TRPO candidates) and writes gradients elsewhere; names bad sizes', async () => {
    const c: Case = { sizes: [5, 8, 3], activations: ['tanh', 'identity'], rows: 6 };
    const { gpu, layout, rand, params, input, mlp } = await setup(c, 15);
    const candidate = new Float32Array(randomArray(layout.paramCount, rand, -0.5, 0.5));
    const candidateGrads = storageBuffer(gpu, 'test.candidateGrads', layout.paramCount * 4);
    const pass = mlp.prepare({
      rows: c.rows,
      input: storageBuffer(gpu, 'test.input', input),
      label: 'test.candidate',
      params: storageBuffer(gpu, 'test.candidate', candidate),
      grads: candidateGrads,
    });
    const gradOutput = new Float32Array(randomArray(c.rows * layout.outputDim, rand, -1, 1));
    gpu.device.queue.writeBuffer(pass.gradOutput, 0, gradOutput);
    submitPass(gpu, 'test.candidate', (p) => {
      pass.encodeForward(p);
      pass.encodeBackward(p);
    });
    const acts = mlpForwardReference(layout, candidate, input, c.rows);
    expectClose(await readFloat32(gpu, pass.output, 0, c.rows * layout.outputDim), acts[1], 1e-4, 1e-5, 'candidate output');
    const expected = mlpBackwardReference(layout, candidate, input, acts, gradOutput, c.rows);
    expectClose(await readFloat32(gpu, candidateGrads, 0, layout.paramCount), expected.grads, 1e-4, 1e-4, 'candidate grads');
    // The network's own buffers are untouched.
    expect(await mlp.readParams()).toEqual(params);
    expect(Array.from(await mlp.readGrads()).every((g) => g === 0)).toBe(true);
    expect(pass.gradInput).toBeNull();
    // Chained (the default here): layer 0 (5 inputs: no `rows` kernel) alone, then the chain; the input-gradient chain and all parameter gradients.
    expect([pass.dispatchCount, pass.backwardDispatchCount]).toEqual([2, 2]);

    const small = storageBuffer(gpu, 'test.small', 16);
    expect(() => mlp.prepare({ rows: 6, input: small, label: 'test.bad' })).toThrow(/input buffer test.small holds 16 bytes, 6 rows × 5 need 120/);
    expect(() => mlp.prepare({ rows: 0, input: small, label: 'test.bad' })).toThrow(/rows must be a positive integer, got 0/);
    expect(() => mlp.setParams(new Float32Array(3))).toThrow(/expected 75 values, got 3/);
  });
});

describe.each([
  ['rows', 'own-rows', 'serial'],
  ['tiles', 'own-rows', 'serial'],
  ['tiles', 'workgroup', 'serial'],
  // What a GPU gets: the parameter gradients' row blocks, then their sums, each one dispatch for every layer.
  ['tiles', 'workgroup', 'split'],
  ['rows', 'own-rows', 'split'],
] as const)('chains vs per-layer dispatches (`%s`, tiles chain form %s, %s reduction): bit for bit', (shape, form, reduction) => {
  interface ChainCase extends Case {
    head?: 'gaussian';
    agents?: number;
    /** Rows of each agent's input block, past `rows` (a pass over the first rows, as the rollout's). */
    inputRows?: number;
    /** Forward and backward dispatches chained, and per layer (without the input gradient), serial reduction. */
    dispatches: [number, number, number, number];
  }
  const cases: ChainCase[] = [
    { sizes: [4, 64, 2], activations: ['tanh', 'identity'], rows: 130, dispatches: [1, 2, 2, 3] },
    { sizes: [4, 64, 64, 2], activations: ['tanh', 'tanh', 'identity'], rows: 130, dispatches: [1, 2, 3, 5] },
    { sizes: [8, 32, 64, 16, 1], activations: ['tanh', 'identity', 'tanh', 'identity'], rows: 37, dispatches: [1, 2, 4, 7] },
    // 3 observations: layer 0 runs alone (the `single` forward), the rest chained.
    { sizes: [3, 64, 64, 1], activations: ['tanh', 'tanh', 'identity'], rows: 9, dispatches: [2, 2, 3, 5] },
    { sizes: [3, 64, 64, 1], activations: ['tanh', 'tanh', 'identity'], rows: 70, head: 'gaussian', dispatches: [3, 3, 4, 6] },
    { sizes: [8, 16, 32, 2], activations: ['identity', 'tanh', 'identity'], rows: 66, agents: 3, inputRows: 75, dispatches: [1, 2, 3, 5] },
    { sizes: [4, 64, 64, 2], activations: ['tanh', 'tanh', 'identity'], rows: 41, agents: 3, head: 'gaussian', dispatches: [2, 3, 4, 6] },
  ];

  /**
   * forward, backward (overwrite, then accumulate with a scale) and tangents, every buffer as bits;
   * `bindingLimit` lowers the storage-binding limit the pass sees; `splits`: the pass then chains with its hidden ranges split.
   */
  async function run(c: ChainCase, chaining: DenseChaining, bindingLimit?: number, chainsWithinLimit = false, splits = false) {
    const device = await testGpu();
    const limits = new Proxy(device.limits, { get: (l, k) => (k === 'maxStorageBufferBindingSize' && bindingLimit ? bindingLimit : Reflect.get(l, k)) });
    const gpu: GpuContext = bindingLimit ? Object.create(device, { limits: { value: limits } }) : device;
    const kernels = await MlpKernels.create(gpu, shape, reduction, chaining, undefined, undefined, form);
    const layout = new MlpLayout(c.sizes, c.activations, c.head ?? 'none');
    const P = c.agents ?? 1;
    const rand = seededRandom(31);
    const mlp = Mlp.create(gpu, kernels, layout, 'test.chain', P === 1 ? {} : { agents: P });
    mlp.setParams(new Float32Array(randomArray(P * layout.paramCount, rand, -0.5, 0.5)));
    const inputRows = c.inputRows ?? c.rows;
    const input = storageBuffer(gpu, 'test.input', new Float32Array(randomArray(P * inputRows * layout.inputDim, rand, -2, 2)));
    const pass = mlp.prepare({ rows: c.rows, inputRows, input, label: 'test.chain', inputGradient: inputRows === c.rows });
    const chained = chaining === 'chain' && (!bindingLimit || chainsWithinLimit);
    expect(pass.chained).toBe(chained);
    expect(pass.splitsHidden).toBe(splits);
    const withInput = pass.gradInput ? 1 : 0;
    // split: the chain's parameter gradients take two dispatches (blocks, sums), per layer two each.
    const split = reduction === 'split' ? [0, 1, 0, layout.layers.length] : [0, 0, 0, 0];
    const dispatches = c.dispatches.map((n, k) => n + split[k]);
    expect([pass.dispatchCount, pass.backwardDispatchCount - withInput]).toEqual(chained ? dispatches.slice(0, 2) : dispatches.slice(2));
    gpu.device.queue.writeBuffer(pass.gradOutput, 0, new Float32Array(randomArray(P * c.rows * layout.distParamsPerRow, rand, -1, 1)));
    const vector = new Float32Array(P * parameterVectorBytes(layout) / 4);
    vector.set(randomArray(vector.length, rand, -1, 1));
    const tangents = await MlpTangents.create(gpu, pass, 'test.chainTangents');
    submitPass(gpu, 'test.chain', (p) => {
      pass.encodeForward(p);
      pass.encodeBackward(p);
      tangents.encode(p, storageBuffer(gpu, 'test.vector', vector));
    });
    const bits = (v: Float32Array) => new Uint32Array(v.buffer, v.byteOffset, v.length);
    const arrays = pass.arrays;
    const out = {
      activations: await Promise.all(arrays.activations.map(async (a) => bits(await a.read()))),
      gradPreActivations: await Promise.all(arrays.gradPreActivations.map(async (a) => bits(await a.read()))),
      output: bits(await arrays.output.read()),
      gradInput: arrays.gradInput ? bits(await arrays.gradInput.read()) : null,
      grads: bits(await mlp.readGrads()),
      tangents: await Promise.all(tangents.outputs.map(async (b) => bits(await readFloat32(gpu, b)))),
      accumulated: null as Uint32Array | null,
    };
    submitPass(gpu, 'test.chainAccumulate', (p) => pass.encodeBackward(p, { accumulate: true, scale: -0.375 }));
    out.accumulated = bits(await mlp.readGrads());
    tangents.destroy();
    pass.destroy();
    mlp.destroy();
    return out;
  }

  for (const c of cases) {
    const head = c.head ? ' + Gaussian head' : '';
    const agents = c.agents ? `, ${c.agents} agents` : '';
    it(`${c.sizes.join('→')} ${c.activations.join(',')}${head}, ${c.rows} rows${agents}: every activation, gradient, tangent`, async () => {
      const chained = await run(c, 'chain');
      expect(chained).toEqual(await run(c, 'layers'));
      // Not all zero: the comparison compares something.
      expect(chained.grads.some((g) => g !== 0)).toBe(true);
    });
  }

  // Every shape's chains take split passes (the `wide` chains bind 7 storage buffers).
  it('a chaining pass whose hidden ranges would exceed a storage binding binds each in two parts, low and high layers, same bits', async () => {
    const c = cases[1];
    // 2 hidden layers × 130 rows × 64 floats: activations 66 560 bytes, over a 64 KiB limit; each layer's 33 280 fit.
    const limited = await run(c, 'chain', 65536, true, true);
    expect(limited).toEqual(await run(c, 'chain'));
    expect(limited).toEqual(await run(c, 'layers'));
  });

  it('split passes: several layers in the high part, and agents with a Gaussian head, same bits', async () => {
    // 8→32→64→16→1, 37 rows: the hidden layers' rows 4 736, 9 472 and 2 368 bytes (up to 256-byte
    // alignment), 16 576 in all; under 14 000 the low part holds layer 0, the high one layers 1 and 2.
    const several = await run(cases[2], 'chain', 14_000, true, true);
    expect(several).toEqual(await run(cases[2], 'layers'));
    // 3 agents × 41 rows × 64 floats: 31 488 bytes a layer, 62 976 both, over 60 000 (which the
    // `split` reduction's chained partial sums, 3 agents × 4 610 parameters × 4 bytes, fit).
    const agents = await run(cases[6], 'chain', 60_000, true, true);
    expect(agents).toEqual(await run(cases[6], 'layers'));
    expect(agents.grads.some((g) => g !== 0)).toBe(true);
  });

  it('a pass whose high part would still exceed a binding keeps a buffer per layer, same bits', async () => {
    // 3 hidden layers of 33 280 bytes under 65 536: layer 0 alone fits the low part, layers 1 and 2 (66 560) not the high one.
    const c: ChainCase = { sizes: [4, 64, 64, 64, 2], activations: ['tanh', 'tanh', 'tanh', 'identity'], rows: 130, dispatches: [1, 2, 4, 7] };
    const fallback = await run(c, 'chain', 65536);
    expect(fallback).toEqual(await run(c, 'layers'));
  });

  if (reduction === 'split') {
    it("a chained pass whose every-layer partial sums would exceed a storage binding sums its parameter gradients per layer, same bits", async () => {
      // Hidden ranges of 130 rows × 128 floats (66 560 bytes) fit 100 000; the chain's partial sums,
      // 3 row blocks × 12 480 parameters (149 760 bytes), do not: forward and input gradients chain, the sums go per layer.
      const c: ChainCase = { sizes: [64, 64, 64, 64], activations: ['tanh', 'tanh', 'identity'], rows: 130, dispatches: [1, 6, 3, 5] };
      const fallback = await run(c, 'chain', 100_000, true);
      expect(fallback).toEqual(await run(c, 'layers'));
      expect(fallback.grads.some((g) => g !== 0)).toBe(true);
    });
  }

  if (reduction === 'serial') it(`layouts the \`${shape}\` chains cannot take after the first layer run per layer`, async () => {
    const gpu = await testGpu();
    const kernels = await MlpKernels.create(gpu, shape, 'serial', 'chain', undefined, undefined, form);
    // Wider than 64 (the `rows` registers, the workgroup form's tiles; the own-rows `tiles` form takes any width), unaligned, or no hidden layer.
    const wide = [[8, 32, 128, 8, 1], [4, 64, 68, 2]];
    for (const sizes of [...wide, [4, 30, 2], [4, 64]]) {
      const layout = new MlpLayout(sizes, [...sizes.slice(2).map(() => 'tanh' as const), 'identity']);
      const takesAnyWidth = shape === 'tiles' && form === 'own-rows' && wide.includes(sizes);
      expect(kernels.chains(layout), sizes.join('→')).toBe(takesAnyWidth);
    }
    expect(kernels.chains(new MlpLayout([3, 64, 64, 1], ['tanh', 'tanh', 'identity']))).toBe(true);
  });

  if (shape === 'tiles' && form === 'own-rows') {
    it('a layer 128 wide chains in the own-rows form, bit for bit with per layer', async () => {
      const c: ChainCase = { sizes: [8, 32, 128, 8, 1], activations: ['tanh', 'tanh', 'tanh', 'identity'], rows: 45, agents: 2, dispatches: [1, 2, 4, 7] };
      const chained = await run(c, 'chain');
      expect(chained).toEqual(await run(c, 'layers'));
      expect(chained.grads.some((g) => g !== 0)).toBe(true);
    });
  }
});

describe('forward-only passes: the `rows` chain holds hidden rows in registers, the same outputs bit for bit', () => {
  interface HeldCase {
    sizes: number[];
    activations: Activation[];
    rows: number;
    head?: 'gaussian';
    agents?: number;
    inputRows?: number;
    /** Buffers the held pass keeps per agent and row beside the output: layer 0's where it runs alone. */
    aloneFirst: boolean;
  }
  const cases: HeldCase[] = [
    { sizes: [4, 64, 64, 2], activations: ['tanh', 'tanh', 'identity'], rows: 130, aloneFirst: false },
    // 3 observations: layer 0 alone writes its rows, which the chain reads.
    { sizes: [3, 64, 64, 1], activations: ['tanh', 'tanh', 'identity'], rows: 9, aloneFirst: true },
    { sizes: [3, 64, 64, 1], activations: ['tanh', 'tanh', 'identity'], rows: 70, head: 'gaussian', aloneFirst: true },
    { sizes: [8, 16, 32, 2], activations: ['identity', 'tanh', 'identity'], rows: 66, agents: 3, inputRows: 75, aloneFirst: false },
    { sizes: [4, 32, 64, 16, 3], activations: ['tanh', 'identity', 'tanh', 'identity'], rows: 37, agents: 2, aloneFirst: false },
    // Passes of at most one workgroup's rows per agent take fewRowsPerInvocation rows an invocation
    // (the rollout's step): an odd count (the last invocation's second row repeats the first), the
    // bound, and one past it.
    { sizes: [4, 64, 64, 2], activations: ['tanh', 'tanh', 'identity'], rows: 15, agents: 3, aloneFirst: false },
    { sizes: [4, 64, 64, 2], activations: ['tanh', 'tanh', 'identity'], rows: DENSE_GEOMETRY.rowsPerInvocation * DENSE_GEOMETRY.rowsWorkgroup, aloneFirst: false },
    { sizes: [4, 64, 64, 2], activations: ['tanh', 'tanh', 'identity'], rows: DENSE_GEOMETRY.rowsPerInvocation * DENSE_GEOMETRY.rowsWorkgroup + 1, aloneFirst: false },
  ];

  for (const c of cases) {
    const what = `${c.sizes.join('→')}${c.head ? ' + Gaussian head' : ''}, ${c.rows} rows${c.agents ? `, ${c.agents} agents` : ''}`;
    it(`${what}: output equals the storing chain's and per-layer's; backward refused`, async () => {
      const gpu = await testGpu();
      const layout = new MlpLayout(c.sizes, c.activations, c.head ?? 'none');
      const P = c.agents ?? 1;
      const rand = seededRandom(53);
      const params = new Float32Array(randomArray(P * layout.paramCount, rand, -0.5, 0.5));
      const inputRows = c.inputRows ?? c.rows;
      const input = storageBuffer(gpu, 'test.heldInput', new Float32Array(randomArray(P * inputRows * layout.inputDim, rand, -2, 2)));
      const outputs: Uint32Array[] = [];
      for (const [chaining, forwardOnly] of [['chain', true], ['chain', false], ['layers', true]] as const) {
        const kernels = await MlpKernels.create(gpu, 'rows', 'serial', chaining);
        const mlp = Mlp.create(gpu, kernels, layout, 'test.held', P === 1 ? {} : { agents: P });
        mlp.setParams(params);
        const pass = mlp.prepare({ rows: c.rows, inputRows, input, label: 'test.held', forwardOnly });
        expect(pass.holdsHidden).toBe(chaining === 'chain' && forwardOnly);
        expect(pass.chained).toBe(chaining === 'chain');
        if (pass.holdsHidden) {
          // Only the last layer's rows, and layer 0's where it runs alone.
          expect(pass.arrays.activations.map((a) => a.shape)).toEqual([...(c.aloneFirst ? [[...(P > 1 ? [P] : []), c.rows, c.sizes[1]]] : []), [...(P > 1 ? [P] : []), c.rows, c.sizes[c.sizes.length - 1]]]);
          const few = c.rows <= DENSE_GEOMETRY.rowsPerInvocation * DENSE_GEOMETRY.rowsWorkgroup;
          const chain = recordDispatches((p) => pass.encodeForward(p)).find((d) => d.pipeline.label === 'mlp.forward_chain')!;
          expect(chain.bindGroups[0].group.label).toBe(`mlp.forward_chain.test.held.forwardChainHeld${few ? 'Few' : ''}`);
        }
        submitPass(gpu, 'test.held', (p) => pass.encodeForward(p));
        const out = await pass.arrays.output.read();
        outputs.push(new Uint32Array(out.buffer, out.byteOffset, out.length));
        if (forwardOnly) {
          expect(() => submitPass(gpu, 'test.heldBackward', (p) => pass.encodeBackward(p))).toThrow(/test\.held was prepared forwardOnly, so it has no backward pass or tangents/);
          await expect(MlpTangents.create(gpu, pass, 'test.heldTangents')).rejects.toThrow(/prepared forwardOnly/);
        }
        pass.destroy();
        mlp.destroy();
      }
      expect(outputs[0]).toEqual(outputs[1]);
      expect(outputs[0]).toEqual(outputs[2]);
      expect(outputs[0].some((v) => v !== 0)).toBe(true);
    });
  }

  it('refuses forwardOnly with an input gradient', async () => {
    const gpu = await testGpu();
    const layout = new MlpLayout([4, 64, 2], ['tanh', 'identity']);
    const mlp = Mlp.create(gpu, await MlpKernels.create(gpu, 'rows', 'serial', 'chain'), layout, 'test.heldRefused');
    const input = storageBuffer(gpu, 'test.heldRefusedInput', 8 * 4 * 4);
    expect(() => mlp.prepare({ rows: 8, input, label: 'test.heldRefused', forwardOnly: true, inputGradient: true })).toThrow(/test\.heldRefused: a forwardOnly pass has no backward, so no inputGradient/);
    mlp.destroy();
  });
});

describe("a chained network's Adam step in its parameter-gradient dispatch (encodeBackwardStep): bit for bit", () => {
  interface StepCase {
    sizes: number[];
    activations: Activation[];
    rows: number;
    agents?: number;
  }
  const cases: StepCase[] = [
    { sizes: [4, 64, 64, 2], activations: ['tanh', 'tanh', 'identity'], rows: 130 },
    // 3 observations (layer 0 outside the forward chain), 3 agents with their own rates and flags.
    { sizes: [3, 16, 32, 1], activations: ['tanh', 'identity', 'identity'], rows: 41, agents: 3 },
  ];

  /**
   * Three steps (fresh gradOutputs each; with agents, agent 1 inactive in the second) recorded
   * by encodeBackwardStep: parameters, gradients and Adam's state after each, as bits.
   */
  async function run(
    c: StepCase,
    fusion: AdamFusion,
    options: { head?: 'gaussian'; clip?: boolean; chaining?: DenseChaining; reduction?: ParamReduction; bindingLimit?: number; ownFlag?: boolean } = {},
  ) {
    const device = await testGpu();
    const { bindingLimit } = options;
    const limits = new Proxy(device.limits, { get: (l, k) => (k === 'maxStorageBufferBindingSize' && bindingLimit ? bindingLimit : Reflect.get(l, k)) });
    const gpu: GpuContext = bindingLimit ? Object.create(device, { limits: { value: limits } }) : device;
    const reduction = options.reduction ?? 'serial';
    const kernels = await MlpKernels.create(gpu, 'rows', reduction, options.chaining ?? 'chain', fusion);
    const layout = new MlpLayout(c.sizes, c.activations, options.head ?? 'none');
    const P = c.agents ?? 1;
    const rand = seededRandom(47);
    const mlp = Mlp.create(gpu, kernels, layout, 'test.step', P === 1 ? {} : { agents: P });
    mlp.setParams(new Float32Array(randomArray(P * layout.paramCount, rand, -0.5, 0.5)));
    const input = storageBuffer(gpu, 'test.stepInput', new Float32Array(randomArray(P * c.rows * layout.inputDim, rand, -2, 2)));
    const pass = mlp.prepare({ rows: c.rows, input, label: 'test.step' });
    expect(pass.splitsHidden).toBe(bindingLimit !== undefined && options.chaining !== 'layers');
    // Flags [P][2] at index 1 (or, ownFlag, the optimizer's own); rates from the records (P > 1) or the host.
    const flags = storageBuffer(gpu, 'test.stepFlags', new Float32Array(2 * P).fill(1));
    const agents = P > 1 ? agentsBuffer(gpu, 'test.stepAgents', [0.01, 0.003, 0.02].map((lr) => ({ lr, maxGradNorm: 0.5 }))) : undefined;
    const adam = await Adam.create(gpu, {
      count: optimizedCount(layout, P),
      ...(agents ? { agents, learningRateField: 'lr' as const, clipGradNorm: options.clip } : { lr: 0.01, maxGradNorm: options.clip ? 0.5 : undefined }),
      ...(options.ownFlag ? {} : { activeFlag: { buffer: flags, index: 1, stride: 2 } }),
      label: 'test.stepAdam',
    });
    const steps: Uint32Array[][] = [];
    const bits = (v: Float32Array) => new Uint32Array(v.buffer, v.byteOffset, v.length);
    for (let k = 0; k < 3; k++) {
      gpu.device.queue.writeBuffer(pass.gradOutput, 0, new Float32Array(randomArray(P * c.rows * layout.distParamsPerRow, rand, -1, 1)));
      if (P > 1 && !options.ownFlag) gpu.device.queue.writeBuffer(flags, 4 * (2 * 1 + 1), Float32Array.of(k === 1 ? 0 : 1));
      if (options.ownFlag) adam.setActive(k !== 1);
      submitPass(gpu, 'test.step', (p) => {
        pass.encodeForward(p);
        pass.encodeBackwardStep(p, adam, mlp.params, mlp.grads);
      });
      const state = await adam.readState();
      steps.push([await mlp.readParams(), await mlp.readGrads(), state.m, state.v, state.control].map(bits));
    }
    const counted = countDispatches((p) => pass.encodeBackwardStep(p, adam, mlp.params, mlp.grads));
    const dispatches = pass.backwardStepDispatchCount(adam, mlp.params, mlp.grads);
    expect(counted).toBe(dispatches);
    // The serial fused kernel exists where the device binds its 12 storage buffers and its split passes' 13
    // (lavapipe 16; SwiftShader in Node 12 and browsers 10 do not); split's, 9. The split passes' serial
    // step takes only an optimizer with its own flag.
    const storage = gpu.limits.maxStorageBuffersPerShaderStage;
    const fusible = kernels.chainKernels?.backwardParamsAdam != null;
    expect(fusible).toBe(fusion === 'fused' && (options.chaining ?? 'chain') === 'chain' && storage >= (reduction === 'serial' ? 13 : 9));
    const canFuse = fusible && options.head === undefined && !options.clip;
    const fuses = canFuse && (!pass.splitsHidden || reduction === 'split' || (options.ownFlag === true && storage >= 13));
    expect(dispatches).toBe(fuses ? 2 + (reduction === 'split' ? 1 : 0) + (pass.gradInput ? 1 : 0) : pass.backwardDispatchCount + adam.stepDispatchCount);
    const optimizerDispatches = adam.stepDispatchCount;
    adam.destroy();
    agents?.params.destroy();
    pass.destroy();
    mlp.destroy();
    return { steps, dispatches, fusible: fuses, optimizerDispatches };
  }

  for (const reduction of ['serial', 'split'] as const) for (const c of cases) {
    const agents = c.agents ? `, ${c.agents} agents (own rates, one inactive for a step)` : '';
    it(`${reduction}: ${c.sizes.join('→')}, ${c.rows} rows${agents}: parameters, gradients, moments and control blocks after each of 3 steps`, async () => {
      const fused = await run(c, 'fused', { reduction });
      const separate = await run(c, 'separate', { reduction });
      // The same bits whatever the reduction (split adds the same blocks in the same order).
      if (reduction === 'split') expect(fused.steps).toEqual((await run(c, 'separate')).steps);
      expect(fused.steps).toEqual(separate.steps);
      // The optimizer's dispatches fewer where the device has the fused kernel (else the same dispatches).
      expect(separate.dispatches - fused.dispatches).toBe(fused.fusible ? separate.optimizerDispatches : 0);
      // The parameters moved, and differently per step: the comparison compares something.
      expect(fused.steps[1][0]).not.toEqual(fused.steps[0][0]);
      expect(fused.steps[0][1].some((g) => g !== 0)).toBe(true);
    });
  }

  it('split passes (hidden ranges in two parts): fused where the step reads its own flag, or with the split reduction, same bits', async () => {
    // 4→64→64→2, 130 rows: each hidden layer's rows 33 280 bytes, both 66 560, over 65 536.
    const c = cases[0];
    for (const reduction of ['serial', 'split'] as const) {
      for (const ownFlag of [false, true]) {
        const fused = await run(c, 'fused', { reduction, ownFlag, bindingLimit: 65536 });
        const separate = await run(c, 'separate', { reduction, ownFlag });
        expect(fused.steps, `${reduction}, own flag ${ownFlag}`).toEqual(separate.steps);
        expect(fused.steps[2][0]).not.toEqual(fused.steps[0][0]);
      }
    }
  });

  it('stays two dispatches where it cannot fuse: a Gaussian head, gradient-norm clipping, per-layer passes', async () => {
    const c = cases[1];
    for (const options of [{ head: 'gaussian' as const }, { clip: true }, { chaining: 'layers' as const }]) {
      const fused = await run(c, 'fused', options);
      const separate = await run(c, 'separate', options);
      expect([fused.steps, fused.dispatches]).toEqual([separate.steps, separate.dispatches]);
    }
  });
});

describe.each([
  ['rows', 'own-rows', 'serial', 'fused'],
  ['rows', 'own-rows', 'split', 'fused'],
  // What a GPU gets: each workgroup one network's `tiles` chain; the parameter gradients' row blocks, then their sums.
  ['tiles', 'workgroup', 'split', 'fused'],
  ['tiles', 'own-rows', 'serial', 'fused'],
  // Steps that do not fuse (SwiftShader's 10–12 storage buffers): both networks' parameter gradients in one dispatch, then each Adam step.
  ['rows', 'own-rows', 'serial', 'separate'],
  ['tiles', 'own-rows', 'serial', 'separate'],
] as const)("two networks' chains in one dispatch (pairs: encodeForwardPair, encodeBackwardStepPair; `%s`, tiles chain form %s, %s reduction, %s steps): bit for bit", (shape, form, reduction, fusion) => {
  interface PairCase {
    /** The first network's sizes (its activations tanh, the last identity), then the second's. */
    a: number[];
    b: number[];
    rows: number;
    agents?: number;
  }
  const cases: PairCase[] = [
    // PPO's CartPole networks on a minibatch.
    { a: [4, 64, 64, 2], b: [4, 64, 64, 1], rows: 128 },
    // Different depths and widths; 3 observations (layer 0 alone before each chain); rows not a multiple of ROWS.
    { a: [3, 32, 16, 3], b: [3, 64, 64, 32, 1], rows: 37 },
    // 3 agents, each with its own rates.
    { a: [8, 16, 32, 2], b: [8, 32, 1], rows: 66, agents: 3 },
  ];
  const layoutOf = (sizes: number[], head: 'none' | 'gaussian' = 'none') => new MlpLayout(sizes, [...sizes.slice(2).map(() => 'tanh' as const), 'identity'], head);

  /** Three steps of both networks (forward pair, fresh gradOutputs, backward-step pair): every buffer after each, as bits, and the dispatches. */
  async function run(c: PairCase, pairing: NetworkPairing) {
    const gpu = await testGpu();
    const kernels = await MlpKernels.create(gpu, shape, reduction, 'chain', fusion, pairing, form);
    const P = c.agents ?? 1;
    const rand = seededRandom(53);
    const layouts = [layoutOf(c.a), layoutOf(c.b)];
    const input = storageBuffer(gpu, 'test.pairInput', new Float32Array(randomArray(P * c.rows * layouts[0].inputDim, rand, -2, 2)));
    const agents = P > 1 ? agentsBuffer(gpu, 'test.pairAgents', [0.01, 0.003, 0.02].map((lr) => ({ lr, valueLr: 2 * lr }))) : undefined;
    const nets = await Promise.all(
      layouts.map(async (layout, n) => {
        const mlp = Mlp.create(gpu, kernels, layout, `test.pair${n}`, P === 1 ? {} : { agents: P });
        mlp.setParams(new Float32Array(randomArray(P * layout.paramCount, rand, -0.5, 0.5)));
        const pass = mlp.prepare({ rows: c.rows, input, label: `test.pair${n}` });
        const rate = agents ? { agents, learningRateField: n === 0 ? ('lr' as const) : ('valueLr' as const) } : { lr: 0.01 };
        const adam = await Adam.create(gpu, { count: optimizedCount(layout, P), ...rate, label: `test.pairAdam${n}` });
        return { layout, mlp, pass, adam, step: { pass, adam, params: mlp.params, grads: mlp.grads } };
      }),
    );
    const [a, b] = nets;
    // The pair kernels exist where the device binds their 9 (`tiles`: 10) storage buffers and both
    // networks chain. The backward pair: with fused steps (`serial` where its split passes' 13 bind,
    // `split` 9) the input gradients in one dispatch, and `split`'s row-block sums in another; `serial`
    // steps that do not fuse, the input gradients in one and the parameter gradients in another (9).
    const storage = gpu.limits.maxStorageBuffersPerShaderStage;
    const chains = kernels.chains(layouts[0]) && kernels.chains(layouts[1]);
    const pairs = MlpPass.pairs(a.pass, b.pass);
    expect(pairs).toBe(pairing === 'paired' && chains && storage >= (shape === 'rows' ? 9 : 10));
    const fuses = fusion === 'fused' && storage >= (reduction === 'serial' ? 13 : 9);
    const savedBackward = !pairs ? 0 : fuses ? (reduction === 'split' ? 2 : 1) : reduction === 'serial' ? 2 : 0;
    const bits = (v: Float32Array) => Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
    const steps: number[][][] = [];
    for (let k = 0; k < 3; k++) {
      submitPass(gpu, 'test.pairForward', (p) => MlpPass.encodeForwardPair(p, a.pass, b.pass));
      for (const n of nets) gpu.device.queue.writeBuffer(n.pass.gradOutput, 0, new Float32Array(randomArray(P * c.rows * n.layout.distParamsPerRow, rand, -1, 1)));
      submitPass(gpu, 'test.pairBackward', (p) => MlpPass.encodeBackwardStepPair(p, a.step, b.step));
      const out: number[][] = [];
      for (const n of nets) {
        for (const activation of n.pass.arrays.activations) out.push(bits(await activation.read()));
        for (const gradient of n.pass.arrays.gradPreActivations) out.push(bits(await gradient.read()));
        const state = await n.adam.readState();
        out.push(bits(await n.mlp.readParams()), bits(await n.mlp.readGrads()), bits(state.m), bits(state.v), bits(state.control));
      }
      steps.push(out);
    }
    const counted = [countDispatches((p) => MlpPass.encodeForwardPair(p, a.pass, b.pass)), countDispatches((p) => MlpPass.encodeBackwardStepPair(p, a.step, b.step))];
    const planned = MlpPass.pairDispatchCount(a.step, b.step);
    expect(counted).toEqual([planned.forward, planned.backwardStep]);
    for (const n of nets) {
      n.adam.destroy();
      n.pass.destroy();
      n.mlp.destroy();
    }
    agents?.params.destroy();
    input.destroy();
    return { steps, dispatches: counted, saved: [pairs ? 1 : 0, savedBackward] };
  }

  for (const c of cases) {
    it(`${c.a.join('→')} with ${c.b.join('→')}, ${c.rows} rows${c.agents ? `, ${c.agents} agents` : ''}: activations, gradients, parameters and Adam states after each of 3 steps`, async () => {
      const paired = await run(c, 'paired');
      const alone = await run(c, 'alone');
      expect(paired.steps).toEqual(alone.steps);
      // One forward chain and one input-gradient chain fewer (and one row-block or parameter-gradient sum), where the device has those pairs.
      expect([alone.dispatches[0] - paired.dispatches[0], alone.dispatches[1] - paired.dispatches[1]]).toEqual(paired.saved);
      expect(paired.steps[1]).not.toEqual(paired.steps[0]);
    });
  }

  if (shape === 'rows' && reduction === 'serial') it('pairs only passes over the same input rows and agents, without a Gaussian head', async () => {
    const gpu = await testGpu();
    const kernels = await MlpKernels.create(gpu, 'rows', 'serial', 'chain', 'fused', 'paired');
    const input = storageBuffer(gpu, 'test.pairOnly', 4 * 64 * 4 * 2);
    const other = storageBuffer(gpu, 'test.pairOther', 4 * 64 * 4);
    const mlp = (head: 'none' | 'gaussian' = 'none') => Mlp.create(gpu, kernels, layoutOf([4, 64, 64, 2], head), 'test.pairOnly');
    const a = mlp().prepare({ rows: 64, input, label: 'a' });
    const b = mlp().prepare({ rows: 64, input, label: 'b' });
    expect(MlpPass.pairs(a, b)).toBe(gpu.limits.maxStorageBuffersPerShaderStage >= 9);
    expect(MlpPass.pairs(a, a)).toBe(false);
    expect(MlpPass.pairs(a, mlp().prepare({ rows: 64, input: other, label: 'other input' }))).toBe(false);
    expect(MlpPass.pairs(a, mlp().prepare({ rows: 60, input, label: 'other rows' }))).toBe(false);
    expect(MlpPass.pairs(a, mlp('gaussian').prepare({ rows: 64, input, label: 'head' }))).toBe(false);
    const alone = await MlpKernels.create(gpu, 'rows', 'serial', 'chain', 'fused', 'alone');
    const c = Mlp.create(gpu, alone, layoutOf([4, 64, 64, 2]), 'test.pairAlone').prepare({ rows: 64, input, label: 'c' });
    expect(MlpPass.pairs(c, Mlp.create(gpu, alone, layoutOf([4, 64, 64, 1]), 'test.pairAlone').prepare({ rows: 64, input, label: 'd' }))).toBe(false);
  });
});

describe('passes over blocks of one input (withInput, as PPO steps through an epoch): bit for bit with passes over copies', () => {
  // PPO's networks; a 3-observation network with its lone first layer; 3 agents.
  const cases = [
    { a: [4, 64, 64, 2], b: [4, 64, 64, 1], rows: 128, agents: 1 },
    { a: [3, 32, 16, 3], b: [3, 64, 32, 1], rows: 37, agents: 3 },
  ];
  const layoutOf = (sizes: number[]) => new MlpLayout(sizes, [...sizes.slice(2).map(() => 'tanh' as const), 'identity']);
  const settings: [MlpKernelShape, DenseChaining][] = [
    ['rows', 'chain'],
    ['tiles', 'layers'],
  ];
  const blocks = 3;

  /**
   * Three blocks, one step each (forward pair, fresh gradOutputs, backward-step pair):
   * `views`: passes over views of one [blocks][P][blockRows][inputDim] buffer, the first's
   * withInput for the others; `copies`: a pass per block over its own buffer of just its rows.
   */
  async function run(c: (typeof cases)[number], [shape, chaining]: [MlpKernelShape, DenseChaining], mode: 'views' | 'copies') {
    const gpu = await testGpu();
    const kernels = await MlpKernels.create(gpu, shape, 'serial', chaining);
    const P = c.agents;
    const layouts = [layoutOf(c.a), layoutOf(c.b)];
    const D = layouts[0].inputDim;
    const align = gpu.limits.minStorageBufferOffsetAlignment / 4;
    // Rows between blocks: past `rows`, to the storage offset alignment.
    let blockRows = c.rows;
    while ((blockRows * D) % align !== 0) blockRows++;
    const rand = seededRandom(61);
    const whole = new Float32Array(randomArray(blocks * P * blockRows * D, rand, -2, 2));
    const wholeArray = GpuArray.from(gpu, whole, { label: 'test.blocks' });
    const shapeOf = (rows: number) => (P === 1 ? [c.rows, D] : [P, rows, D]);
    const inputs = Array.from({ length: blocks }, (_, k) => {
      if (mode === 'views') return wholeArray.view(shapeOf(blockRows), k * P * blockRows * D, `test.block${k}`);
      const rows = new Float32Array(P * c.rows * D);
      for (let a = 0; a < P; a++) rows.set(whole.subarray((k * P + a) * blockRows * D, ((k * P + a) * blockRows + c.rows) * D), a * c.rows * D);
      return GpuArray.from(gpu, rows, { shape: shapeOf(c.rows), label: `test.copy${k}` });
    });
    const nets = await Promise.all(
      layouts.map(async (layout, n) => {
        const mlp = Mlp.create(gpu, kernels, layout, `test.block${n}`, P === 1 ? {} : { agents: P });
        mlp.setParams(new Float32Array(randomArray(P * layout.paramCount, rand, -0.5, 0.5)));
        const first = mlp.prepare({ rows: c.rows, input: inputs[0], inputRows: mode === 'views' ? blockRows : c.rows, label: `test.block${n}` });
        const passes = [first, ...inputs.slice(1).map((input) => (mode === 'views' ? first.withInput(input) : mlp.prepare({ rows: c.rows, input, label: `test.copy${n}` })))];
        const adam = await Adam.create(gpu, { count: optimizedCount(layout, P), lr: 0.01, label: `test.blockAdam${n}` });
        return { layout, mlp, passes, adam };
      }),
    );
    const bits = (v: Float32Array) => Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
    const out: number[][] = [];
    for (let k = 0; k < blocks; k++) {
      const [a, b] = nets.map((n) => ({ pass: n.passes[k], adam: n.adam, params: n.mlp.params, grads: n.mlp.grads }));
      submitPass(gpu, 'test.blockForward', (p) => MlpPass.encodeForwardPair(p, a.pass, b.pass));
      for (const n of nets) gpu.device.queue.writeBuffer(n.passes[k].gradOutput, 0, new Float32Array(randomArray(P * c.rows * n.layout.distParamsPerRow, rand, -1, 1)));
      submitPass(gpu, 'test.blockBackward', (p) => MlpPass.encodeBackwardStepPair(p, a, b));
      for (const n of nets) {
        for (const activation of n.passes[k].arrays.activations) out.push(bits(await activation.read()));
        for (const gradient of n.passes[k].arrays.gradPreActivations) out.push(bits(await gradient.read()));
        out.push(bits(await n.mlp.readParams()), bits(await n.mlp.readGrads()));
      }
    }
    // A block pass keeps no buffer of its own: its rows are the first pass's.
    if (mode === 'views') for (const n of nets) expect(n.passes.every((p) => p.output === n.passes[0].output && p.arrays.activations[0] === n.passes[0].arrays.activations[0])).toBe(true);
    for (const n of nets) {
      for (const p of [...n.passes].reverse()) p.destroy();
      n.adam.destroy();
      n.mlp.destroy();
    }
    // Views share the whole array's buffer.
    if (mode === 'copies') for (const input of inputs) input.destroy();
    wholeArray.destroy();
    return out;
  }

  it('withInput names a wrong shape, and a view off the storage offset alignment, before any GPU work', async () => {
    const gpu = await testGpu();
    const kernels = await MlpKernels.create(gpu);
    const mlp = Mlp.create(gpu, kernels, layoutOf([4, 16, 2]), 'test.withInput');
    const whole = GpuArray.zeros(gpu, 'f32', [4 * 64 * 4], 'test.withInputBlocks');
    const first = mlp.prepare({ rows: 64, input: whole.view([64, 4], 0), label: 'test.first' });
    expect(() => first.withInput(whole.view([32, 4], 64 * 4))).toThrow(/input must be f32 \[rows\]\[inputDim\] = \[64, 4\], got/);
    const align = gpu.limits.minStorageBufferOffsetAlignment;
    if (align > 4) expect(() => first.withInput(whole.view([64, 4], 1))).toThrow(new RegExp(`starts at byte 4; a bound view must start at a multiple of ${align} bytes`));
    const second = first.withInput(whole.view([64, 4], 64 * 4), 'test.second');
    expect(second.label).toBe('test.second');
    expect(second.output).toBe(first.output);
    second.destroy();
    first.destroy();
    mlp.destroy();
    whole.destroy();
  });

  for (const c of cases) {
    for (const s of settings) {
      it(`${s.join(', ')}: ${c.a.join('→')} with ${c.b.join('→')}, ${c.rows} rows, ${c.agents} agent(s): activations, gradients, parameters after each block`, async () => {
        const views = await run(c, s, 'views');
        expect(views).toEqual(await run(c, s, 'copies'));
      });
    }
  }
});
