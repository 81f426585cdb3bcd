/**
 * Populations through the MLP family (shaders/mlp.wgsl, shaders/gaussian_head.wgsl): P = 3 agents with their
 * own weights, inputs, output gradients and tangent directions in one dispatch per layer and operation; agent
 * a's every output must equal, BIT FOR BIT, a one-agent network run on agent a's values alone. Covers every
 * entry point: forward, backward_input, backward_params (serial, and split's blocks and sum), tangent, in the
 * rows / tiles / single shapes, and the Gaussian head's forward and backward.
 */
import { describe, it, expect } from 'vitest';
import { MlpLayout, type Activation, type PolicyHeadKind } from '../src/nn/mlp';
import { Mlp, MlpKernels, MlpTangents, parameterStride, type DenseChaining, type MlpKernelShape, type ParamReduction } from '../src/kernels/mlp';
import { storageBuffer, readFloat32, submitPass } from '../src/gpu/buffers';
import { GpuArray } from '../src/gpu/array';
import type { GpuContext } from '../src/gpu/device';
import { testGpu, seededRandom, randomArray } from './helpers';
import { agentMajor } from '../src/core/population';

const P = 3;

interface Case {
  sizes: number[];
  activations: Activation[];
  rows: number;
  head?: PolicyHeadKind;
}

// 4→64→64→2 over 130 rows: the vec4 and register kernels, three row blocks in the
// parameter reduction, and 4610 parameters (padded to a 4612-float stride per agent).
// 67→132→68→3: unaligned first layer, chunked rows, every INPUT_VEC4 / GRAD_VEC4 variant.
// 3→5→1: scalar paths only. 3→8→8→3 with a Gaussian head: the log-stds in each agent's block.
const ALIGNED: Case = { sizes: [4, 64, 64, 2], activations: ['tanh', 'tanh', 'identity'], rows: 130 };
const WIDE: Case = { sizes: [67, 132, 68, 3], activations: ['tanh', 'tanh', 'identity'], rows: 9 };
const SMALL: Case = { sizes: [3, 5, 1], activations: ['tanh', 'identity'], rows: 7 };
const GAUSSIAN: Case = { sizes: [3, 8, 8, 3], activations: ['tanh', 'tanh', 'identity'], rows: 70, head: 'gaussian' };

/** One agent's values: parameters, input rows, output-row gradients, tangent direction. */
interface AgentValues {
  params: Float32Array;
  input: Float32Array;
  gradOutput: Float32Array;
  vector: Float32Array;
}

function agentValues(layout: MlpLayout, rows: number, seed: number): AgentValues {
  const rand = seededRandom(seed);
  const stride = parameterStride(layout);
  const vector = new Float32Array(stride);
  vector.set(randomArray(layout.paramCount, rand, -1, 1));
  return {
    params: new Float32Array(randomArray(layout.paramCount, rand, -0.8, 0.8)),
    input: new Float32Array(randomArray(rows * layout.inputDim, rand, -2, 2)),
    gradOutput: new Float32Array(randomArray(rows * layout.distParamsPerRow, rand, -1, 1)),
    vector,
  };
}

/** Everything a run produces, as bits: P blocks for the population, one for a single agent. */
interface Results {
  activations: Uint32Array[];
  gradPreActivations: Uint32Array[];
  output: Uint32Array;
  gradInput: Uint32Array;
  grads: Uint32Array;
  tangents: Uint32Array[];
  tangentOutput: Uint32Array;
  accumulatedGrads: Uint32Array;
}

const bits = (values: Float32Array) => new Uint32Array(values.buffer, values.byteOffset, values.length);

/**
 * forward, backward (overwrite), tangents along the vectors, then a backward that accumulates with a scale:
 * the same recording for a population of `values.length` agents or a single one.
 */
async function run(gpu: GpuContext, kernels: MlpKernels, layout: MlpLayout, rows: number, values: AgentValues[]): Promise<Results> {
  const agents = values.length;
  const mlp = Mlp.create(gpu, kernels, layout, `test.mlp${agents}`, agents === 1 ? {} : { agents });
  mlp.setParams(agentMajor(values.map((v) => v.params)));
  const input = storageBuffer(gpu, 'test.input', agentMajor(values.map((v) => v.input)));
  const pass = mlp.prepare({ rows, input, label: `test.pass${agents}`, inputGradient: true });
  gpu.device.queue.writeBuffer(pass.gradOutput, 0, agentMajor(values.map((v) => v.gradOutput)));
  const vector = storageBuffer(gpu, 'test.vector', agentMajor(values.map((v) => v.vector)));
  const tangents = await MlpTangents.create(gpu, pass, `test.tangents${agents}`);
  submitPass(gpu, 'test.run', (p) => {
    pass.encodeForward(p);
    pass.encodeBackward(p);
    tangents.encode(p, vector);
  });
  const read = async (buffer: GPUBuffer, floats: number) => bits(await readFloat32(gpu, buffer, 0, agents * floats));
  const perRow = (width: number) => rows * width;
  const results: Omit<Results, 'accumulatedGrads'> = {
    activations: await Promise.all(pass.arrays.activations.map(async (a) => bits(await a.read()))),
    gradPreActivations: await Promise.all(pass.arrays.gradPreActivations.map(async (a) => bits(await a.read()))),
    output: await read(pass.output, perRow(layout.distParamsPerRow)),
    gradInput: await read(pass.gradInput!, perRow(layout.inputDim)),
    grads: bits(await mlp.readGrads()),
    tangents: await Promise.all(tangents.outputs.map((b, l) => read(b, perRow(layout.layers[l].outDim)))),
    tangentOutput: await read(tangents.output, perRow(layout.distParamsPerRow)),
  };
  submitPass(gpu, 'test.accumulate', (p) => pass.encodeBackward(p, { accumulate: true, scale: -0.37 }));
  const accumulatedGrads = bits(await mlp.readGrads());
  // The parameters read back as written: the padding between agents does not leak into them.
  expect(bits(await mlp.readParams())).toEqual(bits(agentMajor(values.map((v) => v.params))));
  tangents.destroy();
  pass.destroy();
  mlp.destroy();
  input.destroy();
  vector.destroy();
  return { ...results, accumulatedGrads };
}

/** Agent a's block of `population` (P equal blocks) equals `single`, bit for bit. */
function expectBlock(population: Uint32Array, single: Uint32Array, a: number, what: string): void {
  const n = population.length / P;
  expect(n, `${what}: block size`).toBe(single.length);
  const block = population.subarray(a * n, (a + 1) * n);
  const differ = block.findIndex((x, k) => x !== single[k]);
  expect(differ, `${what}: agent ${a} differs from its single run first at element ${differ}`).toBe(-1);
}

async function expectAgentsMatchSingles(c: Case, shape: MlpKernelShape, reduction: ParamReduction, chaining: DenseChaining): Promise<void> {
  const gpu = await testGpu();
  const kernels = await MlpKernels.create(gpu, shape, reduction, chaining);
  const layout = new MlpLayout(c.sizes, c.activations, c.head ?? 'none');
  const values = Array.from({ length: P }, (_, a) => agentValues(layout, c.rows, 100 + 17 * a));
  const population = await run(gpu, kernels, layout, c.rows, values);
  for (let a = 0; a < P; a++) {
    const single = await run(gpu, kernels, layout, c.rows, [values[a]]);
    for (const name of ['activations', 'gradPreActivations', 'tangents'] as const) {
      single[name].forEach((s, l) => expectBlock(population[name][l], s, a, `${name}[${l}]`));
    }
    for (const name of ['output', 'gradInput', 'grads', 'tangentOutput', 'accumulatedGrads'] as const) {
      expectBlock(population[name], single[name], a, name);
    }
  }
  // Different agents really differ (a population that repeated agent 0 would fail here).
  const n = population.grads.length / P;
  expect(population.grads.subarray(0, n)).not.toEqual(population.grads.subarray(n, 2 * n));
}

// `rows` and `tiles` chained and per layer (`single` does not chain).
const RUNS: { c: Case; shape: MlpKernelShape; reduction: ParamReduction; chaining: DenseChaining }[] = [
  ...(['rows', 'tiles', 'single'] as const).flatMap((shape) => [ALIGNED, WIDE, SMALL].map((c) => ({ c, shape, reduction: 'serial' as const, chaining: 'chain' as const }))),
  { c: ALIGNED, shape: 'rows', reduction: 'serial', chaining: 'layers' },
  ...[ALIGNED, WIDE, SMALL].map((c) => ({ c, shape: 'tiles' as const, reduction: 'split' as const, chaining: 'layers' as const })),
  // A GPU's parameter gradients: every layer's row blocks, then their sums, each one dispatch.
  ...[ALIGNED, WIDE, SMALL].map((c) => ({ c, shape: 'tiles' as const, reduction: 'split' as const, chaining: 'chain' as const })),
  { c: GAUSSIAN, shape: 'tiles', reduction: 'serial', chaining: 'layers' },
  { c: GAUSSIAN, shape: 'rows', reduction: 'split', chaining: 'chain' },
  { c: GAUSSIAN, shape: 'rows', reduction: 'serial', chaining: 'chain' },
  { c: GAUSSIAN, shape: 'tiles', reduction: 'serial', chaining: 'chain' },
];

describe(`MLP population of ${P}: each agent's forward, backward, parameter gradients and tangents equal its single run bit for bit`, () => {
  for (const { c, shape, reduction, chaining } of RUNS) {
    const chained = shape === 'single' ? '' : `, ${chaining}`;
    it(`${shape}, ${reduction}${chained}: ${c.sizes.join('→')}${c.head === 'gaussian' ? ' + Gaussian head' : ''}, ${c.rows} rows per agent`, async () => {
      await expectAgentsMatchSingles(c, shape, reduction, chaining);
    });
  }
});

/** The (x, y, z) workgroup counts of every dispatch `encode` records. */
function recordDispatches(encode: (pass: GPUComputePassEncoder) => void): number[][] {
  const dispatches: number[][] = [];
  const recorder = {
    setPipeline() {},
    setBindGroup() {},
    dispatchWorkgroups(x: number, y = 1, z = 1) {
      dispatches.push([x, y, z]);
    },
  };
  encode(recorder as unknown as GPUComputePassEncoder);
  return dispatches;
}

describe('dispatches do not depend on the number of agents', () => {
  it.each([
    ['tiles', 'split'],
    ['rows', 'serial'],
  ] as const)('%s, %s: forward, backward and tangents record the same dispatches for 1 and 3 agents, each over all agents (z)', async (shape, reduction) => {
    const gpu = await testGpu();
    const kernels = await MlpKernels.create(gpu, shape, reduction);
    const layout = new MlpLayout(GAUSSIAN.sizes, GAUSSIAN.activations, 'gaussian');
    const recorded = await Promise.all(
      [1, P].map(async (agents) => {
        const mlp = Mlp.create(gpu, kernels, layout, 'test.count', { agents });
        const pass = mlp.prepare({ rows: 70, input: storageBuffer(gpu, 'test.input', agents * 70 * layout.inputDim * 4), label: 'test.count', inputGradient: true });
        const tangents = await MlpTangents.create(gpu, pass, 'test.countTangents');
        const vector = storageBuffer(gpu, 'test.vector', agents * parameterStride(layout) * 4);
        const forward = recordDispatches((p) => pass.encodeForward(p));
        const backward = recordDispatches((p) => pass.encodeBackward(p));
        const tangent = recordDispatches((p) => tangents.encode(p, vector));
        expect([forward.length, backward.length]).toEqual([pass.dispatchCount, pass.backwardDispatchCount]);
        return { forward, backward, tangent };
      }),
    );
    const [one, many] = recorded;
    for (const name of ['forward', 'backward', 'tangent'] as const) {
      expect(many[name].length, name).toBe(one[name].length);
      // The same workgroups in x and y, with the agents along z.
      expect(many[name].map(([x, y]) => [x, y])).toEqual(one[name].map(([x, y]) => [x, y]));
      expect(one[name].every(([, , z]) => z === 1)).toBe(true);
      expect(many[name].every(([, , z]) => z === P)).toBe(true);
    }
  });
});

describe('population shapes and sizes are checked up front, one line naming the argument', () => {
  it('agents, setParams, input and parameter arrays', async () => {
    const gpu = await testGpu();
    const kernels = await MlpKernels.create(gpu);
    const layout = new MlpLayout(SMALL.sizes, SMALL.activations);
    expect(() => Mlp.create(gpu, kernels, layout, 'test.bad', { agents: 0 })).toThrow(/^test.bad: Mlp.create: agents must be an integer in \[1, 4096\], got 0$/);
    expect(() => Mlp.create(gpu, kernels, layout, 'test.bad', { agents: 2.5 })).toThrow(/agents must be an integer in \[1, 4096\], got 2.5/);
    const mlp = Mlp.create(gpu, kernels, layout, 'test.pop', { agents: P });
    expect(mlp.arrays.params.shape).toEqual([P, parameterStride(layout)]);
    expect(() => mlp.setParams(new Float32Array(layout.paramCount))).toThrow(
      new RegExp(`^test.pop.setParams: expected 3 agents × ${layout.paramCount} = ${P * layout.paramCount} \\(\\[P\\]\\[paramCount\\]\\) values, got ${layout.paramCount}$`),
    );
    const oneAgentInput = GpuArray.zeros(gpu, 'f32', [7, 3], 'test.input');
    expect(() => mlp.prepare({ rows: 7, input: oneAgentInput, label: 'test.pass' })).toThrow(/^test.pass: input must be f32 \[P\]\[rows\]\[inputDim\] = \[3, 7, 3\], got f32 \[7, 3\] "test.input"$/);
    const input = GpuArray.zeros(gpu, 'f32', [P, 7, 3], 'test.input');
    const pass = mlp.prepare({ rows: 7, input, label: 'test.pass' });
    expect(pass.arrays.output.shape).toEqual([P, 7, 1]);
    const shortGrads = storageBuffer(gpu, 'test.grads', layout.paramCount * 4);
    expect(() => mlp.prepare({ rows: 7, input, grads: shortGrads, label: 'test.pass' })).toThrow(/test.pass: grads buffer test.grads holds 104 bytes, 3 agents × 28 floats \(\[P\]\[paramStride\]\) need 328$/);
    pass.destroy();
    mlp.destroy();
  });
});
