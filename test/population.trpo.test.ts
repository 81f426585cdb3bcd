/**
 * Populations in the TRPO / policy-gradient kernel families (issue 12): for
 * every entry point, P = 3 agents with different seeded inputs and different
 * AgentParams run in one dispatch, and agent a's block equals BIT FOR BIT a
 * one-agent dispatch on fresh buffers holding agent a's inputs and values.
 * The wrappers' dispatch counts do not depend on P.
 *
 * The MLP over agents lives in another family (mlp.ts), so the line search's
 * candidate forward is a linear policy over agents (test/fixtures/
 * agent_linear_policy.wgsl) and the CG operator a dense matrix over agents with
 * each agent's damping (test/fixtures/agent_matvec.wgsl).
 */
import { describe, it, expect } from 'vitest';
import matvecWgsl from './fixtures/agent_matvec.wgsl?raw';
import linearPolicyWgsl from './fixtures/agent_linear_policy.wgsl?raw';
import { ShaderFamily } from '../src/gpu/kernel';
import type { GpuContext } from '../src/gpu/device';
import { storageBuffer, uniformBuffer, readFloat32, submitPass } from '../src/gpu/buffers';
import { agentsBuffer, type Agents } from '../src/gpu/agents';
import { agentParamsWgsl, type AgentParamValues } from '../src/core/agentParams';
import { METRICS_BLOCK_FLOATS, metricSlot } from '../src/core/metrics';
import { MlpLayout } from '../src/nn/mlp';
import type { Mlp, MlpPass } from '../src/kernels/mlp';
import { ConjugateGradient, cgVectorStride, type ApplyOperator } from '../src/kernels/cg';
import { fvpKernels } from '../src/kernels/fvp';
import { LineSearch } from '../src/kernels/linesearch';
import { PolicyGradientLoss, pgKernels, type FullBatch } from '../src/kernels/pg';
import { Reduction, ReduceKernels } from '../src/kernels/reduce';
import { conjugateGradientReference } from '../src/reference/trpo';
import { testGpu, seededRandom, randomArray } from './helpers';
import { matVec } from './maths';

const P = 3;

/** Bits of f32 values, so equality is bit for bit (−0 ≠ 0, NaN payloads compared). */
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** agent a's block of `all` (blocks of `size`) must equal `single` bit for bit. */
function expectAgentBlock(all: Float32Array, a: number, size: number, single: Float32Array, what: string): void {
  expect(bits(all.slice(a * size, a * size + size)), `${what}, agent ${a}`).toEqual(bits(single.slice(0, size)));
}

/** The pass `record` sees, counting its dispatches. */
async function countDispatches(gpu: GpuContext, record: (pass: GPUComputePassEncoder) => void): Promise<number> {
  let count = 0;
  submitPass(gpu, 'test.count', (pass) => {
    const counting = new Proxy(pass, {
      get(target, key) {
        if (key === 'dispatchWorkgroups') {
          return (x: number, y?: number, z?: number) => {
            count++;
            target.dispatchWorkgroups(x, y, z);
          };
        }
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    record(counting);
  });
  await gpu.device.queue.onSubmittedWorkDone();
  return count;
}

/** Agent a's values concatenated agent-major. */
const concat = (blocks: ArrayLike<number>[]) => Float32Array.from(blocks.flatMap((b) => Array.from(b)));

/** A = MᵀM/n + shift·I: symmetric positive definite. */
function spdMatrix(n: number, seed: number, shift: number): Float32Array {
  const M = randomArray(n * n, seededRandom(seed));
  const A = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = i === j ? shift : 0;
      for (let k = 0; k < n; k++) s += (M[k * n + i] * M[k * n + j]) / n;
      A[i * n + j] = s;
    }
  }
  return A;
}

describe('per-agent reductions as CG and the line search bind them (reduce.wgsl)', () => {
  it('dot (different offsets of the operands), sum and mean of 3 agents equal one-agent reductions bit for bit; two dispatches whatever P', async () => {
    const gpu = await testGpu();
    const reduce = await ReduceKernels.create(gpu);
    const count = 3001;
    const stride = 3008;
    const rand = seededRandom(41);
    const blocks = Array.from({ length: P }, () => Float32Array.from(randomArray(stride, rand, -3, 3)));
    const blocksB = Array.from({ length: P }, () => Float32Array.from(randomArray(stride, rand, -3, 3)));
    const ranges = { offset: 5, offsetB: 2, count, outputIndex: 1 };
    for (const op of ['dot', 'sum', 'mean'] as const) {
      const input = storageBuffer(gpu, 'test.input', concat(blocks));
      const inputB = storageBuffer(gpu, 'test.inputB', concat(blocksB));
      const output = storageBuffer(gpu, 'test.output', new Float32Array(P * 4));
      const agents: Agents = { count: P, params: agentsBuffer(gpu, 'test.agents', [{}, {}, {}]).params };
      const strides = { inputStride: stride, inputBStride: stride, outputStride: 4 };
      const population = Reduction.create(gpu, reduce, { agents, input, inputB, ...strides, ...ranges, op, output });
      expect(await countDispatches(gpu, (pass) => population.encode(pass))).toBe(2);
      const all = await readFloat32(gpu, output);
      for (let a = 0; a < P; a++) {
        const one = storageBuffer(gpu, 'test.one', blocks[a]);
        const oneB = storageBuffer(gpu, 'test.oneB', blocksB[a]);
        // One agent bound with the strides (as a single run's CG binds it) and with the defaults.
        const out = storageBuffer(gpu, 'test.oneOut', new Float32Array(4));
        const single = Reduction.create(gpu, reduce, { input: one, inputB: oneB, ...strides, ...ranges, op, output: out });
        expect(await countDispatches(gpu, (pass) => single.encode(pass))).toBe(2);
        const outDefault = storageBuffer(gpu, 'test.defaultOut', new Float32Array(4));
        const byDefault = Reduction.create(gpu, reduce, { input: one, inputB: oneB, ...ranges, op, output: outDefault });
        submitPass(gpu, 'test.default', (pass) => byDefault.encode(pass));
        const s = await readFloat32(gpu, out);
        expect(bits(s), `${op}: one agent with strides vs default strides`).toEqual(bits(await readFloat32(gpu, outDefault)));
        expect(s[1], `${op}: agent ${a} reduced something`).not.toBe(0);
        expectAgentBlock(all, a, 4, s, op);
      }
    }
  });
});

describe('ConjugateGradient over agents', () => {
  const n = 13;
  const stride = cgVectorStride(n);
  const dampings = [0.1, 0.02, 0.5];
  const matrices = [spdMatrix(n, 5, 0.5), spdMatrix(n, 6, 0.05), spdMatrix(n, 7, 1.5)];
  const rhsBlocks = Array.from({ length: P }, (_, a) => {
    const b = new Float32Array(stride);
    b.set(Float32Array.from(randomArray(n, seededRandom(20 + a))));
    return b;
  });
  const iterations = 10;

  async function matvecOperator(gpu: GpuContext, matrix: Float32Array, agents: Agents): Promise<ApplyOperator> {
    const family = await ShaderFamily.load(gpu, 'test.agentMatvec', [agentParamsWgsl(), matvecWgsl]);
    const kernel = await family.kernel('matvec');
    const args = uniformBuffer(gpu, 'test.matvec.args', family.struct('MatVecArgs').pack({ n, stride }));
    const matrixBuffer = storageBuffer(gpu, 'test.matrix', matrix);
    const groups = new Map<string, GPUBindGroup>();
    return (pass, vector, result) => {
      const key = `${vector.label}->${result.label}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = kernel.bind({ args, matrix: matrixBuffer, vector, result, agents: agents.params })));
      kernel.dispatch(pass, group, n, undefined, agents.count);
    };
  }

  async function solve(gpu: GpuContext, matrix: Float32Array, rhs: Float32Array, values: AgentParamValues[], residualTol: number) {
    const agents = agentsBuffer(gpu, 'test.agents', values);
    const cg = await ConjugateGradient.create(gpu, {
      count: n,
      rhs: storageBuffer(gpu, 'test.rhs', rhs),
      applyOperator: await matvecOperator(gpu, matrix, agents),
      iterations,
      residualTol,
      agents: values.length > 1 ? agents : undefined,
      label: 'test.cg',
    });
    const dispatches = await countDispatches(gpu, (pass) => cg.encode(pass));
    const result = { x: await readFloat32(gpu, cg.solution), state: await readFloat32(gpu, cg.state), dispatches, cg };
    cg.destroy();
    return result;
  }

  it('3 SPD systems with their own damping: each agent converges on its own residual, bit for bit its single solve', async () => {
    const gpu = await testGpu();
    // A tolerance that stops the agents after different numbers of iterations (float64 CG says which).
    const residualTol = 1e-7;
    const expectedIterations = matrices.map((A, a) => {
      const damped = Float64Array.from(A);
      for (let i = 0; i < n; i++) damped[i * n + i] += Math.fround(dampings[a]);
      return conjugateGradientReference((v) => matVec(damped, v), Float64Array.from(rhsBlocks[a].slice(0, n)), iterations, residualTol).iterations;
    });
    expect(new Set(expectedIterations).size).toBeGreaterThan(1);

    const values = dampings.map((damping) => ({ damping }));
    const population = await solve(gpu, concat(matrices), concat(rhsBlocks), values, residualTol);
    const stateStride = population.cg.stateStride;
    const iterationsOf = (state: Float32Array, a: number) => state[a * stateStride + population.cg.stateIndex('iterations')];
    for (let a = 0; a < P; a++) {
      const single = await solve(gpu, matrices[a], rhsBlocks[a], [values[a]], residualTol);
      expectAgentBlock(population.x, a, stride, single.x, 'solution');
      expectAgentBlock(population.state, a, stateStride, single.state, 'CgState');
      expect(single.dispatches).toBe(population.dispatches);
      // Within one iteration of float64 CG's count (f32 residuals sit near the tolerance).
      expect(Math.abs(iterationsOf(population.state, a) - expectedIterations[a])).toBeLessThanOrEqual(1);
    }
    const perAgent = Array.from({ length: P }, (_, a) => iterationsOf(population.state, a));
    expect(new Set(perAgent).size, `iterations per agent ${perAgent}`).toBeGreaterThan(1);
  });
});

describe('Fisher-vector product kernels over agents (fvp.wgsl)', () => {
  it('fisher_weights and add_damping (damping per agent) equal one-agent dispatches bit for bit', async () => {
    const gpu = await testGpu();
    const kernels = await fvpKernels(gpu);
    const rows = 70;
    const A = 3;
    const count = 4610;
    const stride = cgVectorStride(count);
    const rand = seededRandom(77);
    const logits = Array.from({ length: P }, () => Float32Array.from(randomArray(rows * A, rand, -2, 2)));
    const tangents = Array.from({ length: P }, () => Float32Array.from(randomArray(rows * A, rand)));
    const vectors = Array.from({ length: P }, () => Float32Array.from(randomArray(stride, rand)));
    const products = Array.from({ length: P }, () => Float32Array.from(randomArray(stride, rand)));
    const values = [{ damping: 0.1 }, { damping: 1e-3 }, { damping: 0.37 }];

    const run = async (agentValues: AgentParamValues[], blocks: number[]) => {
      const agents = agentsBuffer(gpu, 'test.agents', agentValues);
      const fisher = uniformBuffer(gpu, 'test.fisherArgs', kernels.fisherArgs.pack({ rows, numActions: A }));
      const dampingArgs = uniformBuffer(gpu, 'test.dampingArgs', kernels.dampingArgs.pack({ count }));
      const weights = storageBuffer(gpu, 'test.weights', blocks.length * rows * A * 4);
      const result = storageBuffer(gpu, 'test.result', blocks.length * stride * 4);
      const fisherGroup = kernels.fisherWeights.bind({
        fisher,
        logits: storageBuffer(gpu, 'test.logits', concat(blocks.map((a) => logits[a]))),
        logitTangents: storageBuffer(gpu, 'test.tangents', concat(blocks.map((a) => tangents[a]))),
        weights,
      });
      const dampingGroup = kernels.addDamping.bind({
        dampingArgs,
        jtw: storageBuffer(gpu, 'test.jtw', concat(blocks.map((a) => products[a]))),
        vector: storageBuffer(gpu, 'test.vector', concat(blocks.map((a) => vectors[a]))),
        result,
        agents: agents.params,
      });
      submitPass(gpu, 'test.fvp', (pass) => {
        kernels.fisherWeights.dispatch(pass, fisherGroup, rows, undefined, agents.count);
        kernels.addDamping.dispatch(pass, dampingGroup, count, undefined, agents.count);
      });
      return { weights: await readFloat32(gpu, weights), result: await readFloat32(gpu, result) };
    };
    const population = await run(values, [0, 1, 2]);
    for (let a = 0; a < P; a++) {
      const single = await run([values[a]], [a]);
      expectAgentBlock(population.weights, a, rows * A, single.weights, 'Fisher weights');
      expectAgentBlock(population.result, a, stride, single.result, 'F v + damping v');
      // The damping is the agent's: result − jtw = damping · v (to f32 rounding).
      const i = 11;
      expect(population.result[a * stride + i]).toBeCloseTo(products[a][i] + Math.fround(values[a].damping) * vectors[a][i], 5);
    }
  });
});

/** One agent's line-search problem on a linear policy 3 → 3 over 40 rows, π_old = π_θ. */
interface AgentCase {
  params: Float32Array;
  obs: Float32Array;
  actions: Int32Array;
  rawAdvantages: Float32Array;
  logProbsOld: Float32Array;
  logitsOld: Float32Array;
  /** advantage_mean, advantage_std in a metrics block. */
  metrics: Float32Array;
  /** −g of the surrogate at θ. */
  negGradient: Float32Array;
}

const inputDim = 3;
const numActions = 3;
const policyLayout = new MlpLayout([inputDim, numActions], ['identity']);
const paramCount = policyLayout.paramCount;
const paramStride = cgVectorStride(paramCount);

function makeAgentCase(seed: number, rows: number): AgentCase {
  const rand = seededRandom(seed);
  const params = new Float32Array(paramStride);
  params.set(Float32Array.from(randomArray(paramCount, rand, -0.8, 0.8)));
  const obs = Float32Array.from(randomArray(rows * inputDim, rand, -2, 2));
  const actions = Int32Array.from({ length: rows }, () => Math.floor(rand() * numActions));
  const rawAdvantages = Float32Array.from(randomArray(rows, rand, -1, 1.6));
  const mean = rawAdvantages.reduce((s, x) => s + x, 0) / rows;
  const std = Math.sqrt(rawAdvantages.reduce((s, x) => s + (x - mean) ** 2, 0) / rows);
  const advantages = Array.from(rawAdvantages, (x) => (x - mean) / (std + 1e-8));
  const logitsOld = new Float32Array(rows * numActions);
  const logProbsOld = new Float32Array(rows);
  const g = new Float64Array(paramStride);
  for (let r = 0; r < rows; r++) {
    const z = Array.from({ length: numActions }, (_, k) => {
      let s = params[numActions * inputDim + k];
      for (let j = 0; j < inputDim; j++) s += params[k * inputDim + j] * obs[r * inputDim + j];
      return s;
    });
    const top = Math.max(...z);
    const e = z.map((v) => Math.exp(v - top));
    const total = e.reduce((s, v) => s + v, 0);
    z.forEach((v, k) => (logitsOld[r * numActions + k] = v));
    logProbsOld[r] = Math.log(e[actions[r]] / total);
    for (let k = 0; k < numActions; k++) {
      // d(−mean ratio·Â)/d z_k at θ_old: −Â (1[k = a] − p_k) / R.
      const dz = (-advantages[r] * ((k === actions[r] ? 1 : 0) - e[k] / total)) / rows;
      g[numActions * inputDim + k] += dz;
      for (let j = 0; j < inputDim; j++) g[k * inputDim + j] += dz * obs[r * inputDim + j];
    }
  }
  const metrics = new Float32Array(METRICS_BLOCK_FLOATS);
  metrics[metricSlot('advantage_mean')] = mean;
  metrics[metricSlot('advantage_std')] = std;
  return { params, obs, actions, rawAdvantages, logProbsOld, logitsOld, metrics, negGradient: Float32Array.from(g, (x) => -x) };
}

/** A linear policy over `agents` agents behind the parts of the Mlp interface the line search uses. */
async function linearPolicy(gpu: GpuContext, agents: number, params: Float32Array): Promise<Mlp> {
  const family = await ShaderFamily.load(gpu, 'test.agentLinearPolicy', linearPolicyWgsl);
  const kernel = await family.kernel('forward');
  const paramsBuffer = storageBuffer(gpu, 'test.policyParams', params);
  const policy = {
    layout: policyLayout,
    params: paramsBuffer,
    prepare({ rows, input, params: candidate }: { rows: number; input: GPUBuffer; params: GPUBuffer }) {
      const args = uniformBuffer(gpu, 'test.linear.args', family.struct('LinearArgs').pack({ rows, inputDim, outputDim: numActions, paramStride }));
      const output = storageBuffer(gpu, 'test.linear.output', agents * rows * numActions * 4);
      const group = kernel.bind({ args, params: candidate, input, output });
      return {
        output,
        encodeForward: (pass: GPUComputePassEncoder) => kernel.dispatch(pass, group, rows * numActions, undefined, agents),
        destroy: () => [args, output].forEach((b) => b.destroy()),
      } as unknown as MlpPass;
    },
  };
  return policy as unknown as Mlp;
}

describe('LineSearch over agents', () => {
  const rows = 40;
  const backtracks = 10;
  const cases = [11, 12, 13].map((seed) => makeAgentCase(seed, rows));
  // Agent 0: steepest descent in a small trust region, the full step is accepted. Agent 1: steepest
  // descent plus a large random part in a wide one: the long steps overshoot (second order), the
  // short ones improve as predicted (first order), so the search backtracks. Agent 2: uphill, every
  // fraction fails.
  const values: AgentParamValues[] = [
    { maxKl: 1e-3, acceptRatio: 0.1 },
    { maxKl: 200, acceptRatio: 0.2 },
    { maxKl: 0.01, acceptRatio: 0.05 },
  ];
  const detour = Float32Array.from(randomArray(paramStride, seededRandom(14), -1, 1));
  const directions = cases.map((c, a) => {
    if (a === 2) return c.negGradient.map((x) => -x);
    if (a === 1) return c.negGradient.map((x, i) => (i < paramCount ? x + 0.5 * detour[i] : 0));
    return c.negGradient;
  });
  const cgResiduals = [1e-3, 2e-4, 5e-6];
  const cgStride = 5;

  async function search(blocks: number[]) {
    const gpu = await testGpu();
    const many = blocks.length > 1;
    const pick = (get: (a: number) => ArrayLike<number>) => concat(blocks.map(get));
    const policy = await linearPolicy(gpu, blocks.length, pick((a) => cases[a].params));
    const metrics = storageBuffer(gpu, 'test.metrics', pick((a) => cases[a].metrics));
    const cgState = storageBuffer(gpu, 'test.cgState', pick((a) => [0, 0, 0, cgResiduals[a], 0]));
    const agentValues = blocks.map((a) => values[a]);
    const lineSearch = await LineSearch.create(gpu, {
      policy,
      rows,
      batch: {
        obs: storageBuffer(gpu, 'test.obs', pick((a) => cases[a].obs)),
        actions: storageBuffer(gpu, 'test.actions', Int32Array.from(blocks.flatMap((a) => Array.from(cases[a].actions)))),
        logProbsOld: storageBuffer(gpu, 'test.logProbsOld', pick((a) => cases[a].logProbsOld)),
        advantages: storageBuffer(gpu, 'test.advantages', pick((a) => cases[a].rawAdvantages)),
        logitsOld: storageBuffer(gpu, 'test.logitsOld', pick((a) => cases[a].logitsOld)),
        metrics,
      },
      stepDirection: storageBuffer(gpu, 'test.x', pick((a) => directions[a])),
      // F = I: xᵀF x = |x|², so the step length is sqrt(2 maxKl).
      stepDirectionProduct: storageBuffer(gpu, 'test.Fx', pick((a) => directions[a])),
      negGradient: storageBuffer(gpu, 'test.negGradient', pick((a) => cases[a].negGradient)),
      cgResidual: { buffer: cgState, index: 3, stride: cgStride },
      backtracks,
      klCheck: false,
      normalizeAdvantages: true,
      ...(many ? { agents: agentsBuffer(gpu, 'test.agents', agentValues) } : { maxKl: agentValues[0].maxKl, acceptRatio: agentValues[0].acceptRatio }),
      label: 'test.linesearch',
    });
    const dispatches = await countDispatches(gpu, (pass) => lineSearch.encode(pass));
    return {
      dispatches,
      params: await readFloat32(gpu, policy.params),
      metrics: await readFloat32(gpu, metrics),
      candidateStats: await readFloat32(gpu, lineSearch.candidateStats),
      state: await readFloat32(gpu, lineSearch.state),
      stateStride: lineSearch.stateStride,
    };
  }

  it('one agent accepts the full step, one backtracks, one fails: each bit for bit its single search, same dispatches', async () => {
    const population = await search([0, 1, 2]);
    const slots = backtracks + 1;
    for (let a = 0; a < P; a++) {
      const single = await search([a]);
      expect(single.dispatches).toBe(population.dispatches);
      expectAgentBlock(population.params, a, paramStride, single.params, 'θ after the step');
      expectAgentBlock(population.metrics, a, METRICS_BLOCK_FLOATS, single.metrics, 'metrics block');
      expectAgentBlock(population.candidateStats, a, 2 * slots, single.candidateStats, 'candidate statistics');
      expectAgentBlock(population.state, a, population.stateStride, single.state, 'StepState');
    }
    const stepFrac = (a: number) => population.metrics[a * METRICS_BLOCK_FLOATS + metricSlot('step_frac')];
    const failed = (a: number) => population.metrics[a * METRICS_BLOCK_FLOATS + metricSlot('line_search_failed')];
    expect(stepFrac(0)).toBe(1);
    expect(stepFrac(1)).toBeGreaterThan(0);
    expect(stepFrac(1)).toBeLessThan(1);
    expect([stepFrac(2), failed(2)]).toEqual([0, 1]);
    expect(bits(population.params.slice(2 * paramStride, 3 * paramStride))).toEqual(bits(cases[2].params));
    cgResiduals.forEach((r, a) => expect(population.metrics[a * METRICS_BLOCK_FLOATS + metricSlot('cg_residual')]).toBe(Math.fround(r)));
  });
});

describe('policy-gradient kernels over agents (pg.wgsl)', () => {
  const rows = 130;
  const cases = [31, 32, 33].map((seed) => makeAgentCase(seed, rows));
  const values = Array.from({ length: P }, (_, a) => Float32Array.from(randomArray(rows, seededRandom(50 + a), -2, 2)));
  const returns = Array.from({ length: P }, (_, a) => Float32Array.from(randomArray(rows, seededRandom(60 + a), -2, 2)));

  async function policyGradient(blocks: number[], ratioWeighted: boolean) {
    const gpu = await testGpu();
    const pick = (get: (a: number) => ArrayLike<number>) => concat(blocks.map(get));
    const output = storageBuffer(gpu, 'test.logits', pick((a) => cases[a].logitsOld.map((z, i) => z + 0.01 * Math.sin(i + a))));
    const gradOutput = storageBuffer(gpu, 'test.gradOutput', blocks.length * rows * numActions * 4);
    const pass = { layout: policyLayout, rows, output, gradOutput } as unknown as MlpPass;
    const unused = storageBuffer(gpu, 'test.unused', 16);
    const batch: FullBatch = {
      obs: unused,
      returns: unused,
      logits: unused,
      actions: storageBuffer(gpu, 'test.actions', Int32Array.from(blocks.flatMap((a) => Array.from(cases[a].actions)))),
      logProbs: storageBuffer(gpu, 'test.logProbs', pick((a) => cases[a].logProbsOld)),
      advantages: storageBuffer(gpu, 'test.advantages', pick((a) => cases[a].rawAdvantages)),
      metrics: storageBuffer(gpu, 'test.metrics', pick((a) => cases[a].metrics)),
    };
    const agents = blocks.length > 1 ? agentsBuffer(gpu, 'test.agents', blocks.map(() => ({}))) : undefined;
    const loss = await PolicyGradientLoss.create(gpu, { pass, batch, numActions, normalizeAdvantages: true, ratioWeighted, agents, label: 'test.pg' });
    const dispatches = await countDispatches(gpu, (p) => loss.encode(p));
    return { dispatches, gradOutput: await readFloat32(gpu, gradOutput), rowLoss: await readFloat32(gpu, loss.rowLoss) };
  }

  for (const ratioWeighted of [true, false]) {
    it(`policy_gradient (${ratioWeighted ? 'TRPO surrogate' : 'REINFORCE'}), advantages normalised per agent: bit for bit the single dispatch`, async () => {
      const population = await policyGradient([0, 1, 2], ratioWeighted);
      for (let a = 0; a < P; a++) {
        const single = await policyGradient([a], ratioWeighted);
        expect(single.dispatches).toBe(population.dispatches);
        expectAgentBlock(population.gradOutput, a, rows * numActions, single.gradOutput, 'dLoss/dlogits');
        expectAgentBlock(population.rowLoss, a, rows, single.rowLoss, 'row losses');
      }
      // The agents' statistics differ, so normalising with another agent's block would show.
      expect(cases[0].metrics[metricSlot('advantage_mean')]).not.toBe(cases[1].metrics[metricSlot('advantage_mean')]);
    });
  }

  it('value_gradient: bit for bit the single dispatch', async () => {
    const gpu = await testGpu();
    const kernels = await pgKernels(gpu);
    const run = async (blocks: number[]) => {
      const args = uniformBuffer(gpu, 'test.args', kernels.args.pack({ rows, numActions: 1, normalizeAdvantages: 0, ratioWeighted: 0 }));
      const gradOutput = storageBuffer(gpu, 'test.gradOutput', blocks.length * rows * 4);
      const rowLoss = storageBuffer(gpu, 'test.rowLoss', blocks.length * rows * 4);
      const group = kernels.valueGradient.bind({
        args,
        values: storageBuffer(gpu, 'test.values', concat(blocks.map((a) => values[a]))),
        returns: storageBuffer(gpu, 'test.returns', concat(blocks.map((a) => returns[a]))),
        gradOutput,
        rowLoss,
      });
      submitPass(gpu, 'test.value', (pass) => kernels.valueGradient.dispatch(pass, group, rows, undefined, blocks.length));
      return { gradOutput: await readFloat32(gpu, gradOutput), rowLoss: await readFloat32(gpu, rowLoss) };
    };
    const population = await run([0, 1, 2]);
    for (let a = 0; a < P; a++) {
      const single = await run([a]);
      expectAgentBlock(population.gradOutput, a, rows, single.gradOutput, 'dLoss/dv');
      expectAgentBlock(population.rowLoss, a, rows, single.rowLoss, 'row losses');
    }
  });
});
