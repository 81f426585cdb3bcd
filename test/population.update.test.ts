/**
 * Populations in the advantage and update phases (issue 12): GAE, reductions,
 * the finiteness check, Adam and PPO's kernels run P = 3 agents with different
 * random inputs and hyperparameters in one dispatch each; agent a's output
 * block must equal BIT FOR BIT a one-agent dispatch on fresh buffers holding
 * agent a's inputs and values, and the dispatches recorded must not depend on P.
 */
import { describe, it, expect } from 'vitest';
import { storageBuffer, uniformBuffer, readUint32, submitPass } from '../src/gpu/buffers';
import { agentSeedsUniform, agentsBuffer, type Agents } from '../src/gpu/agents';
import type { AgentParamValues } from '../src/core/agentParams';
import type { GpuContext } from '../src/gpu/device';
import { UniformSlots } from '../src/gpu/slots';
import { METRICS_BLOCK_FLOATS, metricSlot } from '../src/core/metrics';
import { Gae } from '../src/kernels/gae';
import { Reduction, ReduceKernels, type ReduceOp } from '../src/kernels/reduce';
import { FiniteCheck } from '../src/kernels/finite';
import { Adam } from '../src/kernels/optim';
import { ppoFamily, PpoUpdate, recordStride, STATS } from '../src/algos/ppo';
import { resolveConfig } from '../src/core/config';
import { Mlp, MlpKernels } from '../src/kernels/mlp';
import { MlpLayout } from '../src/nn/mlp';
import { testGpu, seededRandom } from './helpers';

const P = 3;

/** Random f32 values in [lo, hi). */
function randomF32(n: number, rand: () => number, lo = -1, hi = 1): Float32Array<ArrayBuffer> {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
}

/** Runs `record` on a pass that counts dispatchWorkgroups calls; returns the count. */
function countDispatches(gpu: GpuContext, record: (pass: GPUComputePassEncoder) => void): number {
  let dispatches = 0;
  submitPass(gpu, 'count', (pass) => {
    const counting = {
      label: pass.label,
      setPipeline: (pipeline: GPUComputePipeline) => pass.setPipeline(pipeline),
      setBindGroup: (index: number, group: GPUBindGroup, offsets?: number[]) => pass.setBindGroup(index, group, offsets),
      dispatchWorkgroups: (x: number, y?: number, z?: number) => {
        dispatches++;
        pass.dispatchWorkgroups(x, y, z);
      },
    };
    record(counting as unknown as GPUComputePassEncoder);
  });
  return dispatches;
}

/** Agent a's block [a · stride, (a + 1) · stride) of an agent-major array. */
const block = <T extends Float32Array | Uint32Array>(array: T, a: number, stride: number): T => array.slice(a * stride, (a + 1) * stride) as T;

/** The f32 bits of `a`, for exact comparison (NaN payloads and signed zeros included). */
const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

async function readBits(gpu: GpuContext, buffer: GPUBuffer, count: number): Promise<Uint32Array> {
  return readUint32(gpu, buffer, 0, count);
}

describe('GAE over a population', () => {
  it('3 agents (own γ, λ, rollouts; values and final values sharing one buffer as the trainer binds them) equal 3 single scans bit for bit; 1 dispatch', async () => {
    const gpu = await testGpu();
    const [T, N, maxEpisodeSteps] = [9, 5, 4];
    const K = Math.ceil(T / maxEpisodeSteps);
    const valueRows = (T + 1) * N + K * N + 3;
    const rand = seededRandom(12);
    const hyper: AgentParamValues[] = [
      { gamma: 0.99, lambda: 0.95 },
      { gamma: 0.9, lambda: 0.5 },
      { gamma: 0.999, lambda: 1 },
    ];
    const rewards = randomF32(P * T * N, rand);
    const flags = Uint32Array.from({ length: P * T * N }, () => {
      const r = rand();
      return r < 0.1 ? 1 : r < 0.2 ? 2 : r < 0.25 ? 3 : 0;
    });
    const values = randomF32(P * valueRows, rand, -3, 3);
    const agents = agentsBuffer(gpu, 'test.agents', hyper);
    const shape = { numEnvs: N, numSteps: T, truncationAsTerminal: false, maxEpisodeSteps, finalValuesOffset: (T + 1) * N };
    const valuesBuffer = storageBuffer(gpu, 'test.values', values);
    const population = await Gae.create(
      gpu,
      { rewards: storageBuffer(gpu, 'test.rewards', rewards), doneFlags: storageBuffer(gpu, 'test.flags', flags), values: valuesBuffer, finalValues: valuesBuffer },
      { ...shape, agents, valuesStride: valueRows, finalValuesStride: valueRows },
    );
    expect(population.arrays.advantages.shape).toEqual([P, T, N]);
    expect(countDispatches(gpu, (pass) => population.encode(pass))).toBe(1);
    const advantages = new Float32Array(await population.arrays.advantages.read());
    const returns = new Float32Array(await population.arrays.returns.read());
    for (let a = 0; a < P; a++) {
      const v = storageBuffer(gpu, 'test.single.values', block(values, a, valueRows));
      const single = await Gae.create(
        gpu,
        { rewards: storageBuffer(gpu, 'test.single.rewards', block(rewards, a, T * N)), doneFlags: storageBuffer(gpu, 'test.single.flags', block(flags, a, T * N)), values: v, finalValues: v },
        { ...shape, gamma: hyper[a].gamma!, lambda: hyper[a].lambda! },
      );
      expect(countDispatches(gpu, (pass) => single.encode(pass))).toBe(1);
      expect(bits(block(advantages, a, T * N)), `agent ${a} advantages`).toEqual(bits(new Float32Array(await single.arrays.advantages.read())));
      expect(bits(block(returns, a, T * N)), `agent ${a} returns`).toEqual(bits(new Float32Array(await single.arrays.returns.read())));
      single.destroy();
    }
    population.destroy();
  });

  it('names a population array of the wrong shape and gamma given with agents', async () => {
    const gpu = await testGpu();
    const agents = agentsBuffer(gpu, 'test.agents', [{}, {}, {}]);
    const rewards = storageBuffer(gpu, 'test.rewards', 4 * 2 * 3);
    await expect(Gae.create(gpu, { rewards, doneFlags: rewards, values: storageBuffer(gpu, 'test.values', 4 * 3 * 3) }, { numEnvs: 3, numSteps: 2, truncationAsTerminal: true, agents })).rejects.toThrow(
      /gae: rewards buffer test\.rewards holds 24 bytes, needs 72 \(3 agents × 6 floats\)/,
    );
    const options = { numEnvs: 3, numSteps: 2, truncationAsTerminal: true, agents, gamma: 0.9 } as unknown as Parameters<typeof Gae.create>[2];
    await expect(Gae.create(gpu, { rewards, doneFlags: rewards, values: rewards }, options)).rejects.toThrow(/gamma comes from agents/);
  });
});

describe('reductions over a population', () => {
  const ops: ReduceOp[] = ['sum', 'sumSquares', 'dot', 'mean', 'meanStd'];
  for (const op of ops) {
    it(`${op}: 3 agents' blocks (offset, strides) equal 3 single reductions bit for bit; 2 dispatches`, async () => {
      const gpu = await testGpu();
      const kernels = await ReduceKernels.create(gpu);
      const [count, offset, inputStride, outputIndex] = [3001, 7, 3020, 5];
      const rand = seededRandom(op.length * 7 + 1);
      // Different scales per agent, so their sums differ.
      const input = Float32Array.from({ length: P * inputStride }, (_, i) => (1 + Math.floor(i / inputStride)) * (2 * rand() - 0.5));
      const inputB = randomF32(P * inputStride, rand);
      const output = storageBuffer(gpu, 'test.output', P * METRICS_BLOCK_FLOATS * 4);
      const agents: Agents = { count: P, params: agentsBuffer(gpu, 'test.agents', [{}, {}, {}]).params };
      const population = Reduction.create(gpu, kernels, {
        input: storageBuffer(gpu, 'test.input', input),
        inputB: storageBuffer(gpu, 'test.inputB', inputB),
        offset,
        offsetB: offset,
        count,
        op,
        output,
        outputIndex,
        agents,
        inputStride,
        inputBStride: inputStride,
        outputStride: METRICS_BLOCK_FLOATS,
      });
      expect(countDispatches(gpu, (pass) => population.encode(pass))).toBe(2);
      const got = await readBits(gpu, output, P * METRICS_BLOCK_FLOATS);
      for (let a = 0; a < P; a++) {
        const singleOut = storageBuffer(gpu, 'test.single.output', METRICS_BLOCK_FLOATS * 4);
        const single = Reduction.create(gpu, kernels, {
          input: storageBuffer(gpu, 'test.single.input', block(input, a, inputStride)),
          inputB: storageBuffer(gpu, 'test.single.inputB', block(inputB, a, inputStride)),
          offset,
          offsetB: offset,
          count,
          op,
          output: singleOut,
          outputIndex,
        });
        expect(countDispatches(gpu, (pass) => single.encode(pass))).toBe(2);
        const expected = await readBits(gpu, singleOut, METRICS_BLOCK_FLOATS);
        expect(block(got, a, METRICS_BLOCK_FLOATS), `agent ${a}`).toEqual(expected);
        expect(expected[outputIndex]).not.toBe(0);
        single.destroy();
      }
      population.destroy();
    });
  }

  it('requires outputStride with agents and names a short input', async () => {
    const gpu = await testGpu();
    const kernels = await ReduceKernels.create(gpu);
    const agents = agentsBuffer(gpu, 'test.agents', [{}, {}, {}]);
    const input = storageBuffer(gpu, 'test.input', 100 * 4);
    const output = storageBuffer(gpu, 'test.output', 64 * 4);
    expect(() => Reduction.create(gpu, kernels, { input, count: 40, op: 'sum', output, outputIndex: 0, agents })).toThrow(/outputStride .* is required with agents/);
    expect(() => Reduction.create(gpu, kernels, { input, count: 40, op: 'sum', output, outputIndex: 0, agents, outputStride: 4 })).toThrow(/input buffer test\.input holds 100 floats, needs \[3\]\[40\] 120/);
  });
});

describe('the finiteness check over a population', () => {
  it("3 agents: each non-finite tensor sets the bit in its own agent's metrics block only, as 3 single checks do; dispatches 2 per tensor", async () => {
    const gpu = await testGpu();
    const [count, offset, stride] = [1500, 3, 1510];
    const rand = seededRandom(5);
    const first = randomF32(P * stride, rand);
    const second = randomF32(P * count, rand);
    first[1 * stride + offset + 1499] = NaN;
    second[2 * count + 17] = -Infinity;
    second[1 * count] = Infinity;
    const flags = new Float32Array(P * METRICS_BLOCK_FLOATS);
    const flagIndex = metricSlot('non_finite');
    flags[2 * METRICS_BLOCK_FLOATS + flagIndex] = 4; // a bit already set stays set
    const flagBuffer = storageBuffer(gpu, 'test.flags', flags);
    const tensors = [
      { name: 'first', buffer: storageBuffer(gpu, 'test.first', first), count, offset, stride },
      { name: 'second', buffer: storageBuffer(gpu, 'test.second', second), count },
    ];
    const population = await FiniteCheck.create(gpu, { tensors, flags: flagBuffer, flagIndex, agents: agentsBuffer(gpu, 'test.agents', [{}, {}, {}]), flagStride: METRICS_BLOCK_FLOATS });
    expect(countDispatches(gpu, (pass) => population.encode(pass))).toBe(4);
    const got = await readBits(gpu, flagBuffer, P * METRICS_BLOCK_FLOATS);
    const named: string[][] = [];
    for (let a = 0; a < P; a++) {
      const singleFlags = storageBuffer(gpu, 'test.single.flags', block(flags, a, METRICS_BLOCK_FLOATS));
      const single = await FiniteCheck.create(gpu, {
        tensors: [
          { name: 'first', buffer: storageBuffer(gpu, 'test.single.first', block(first, a, stride)), count, offset },
          { name: 'second', buffer: storageBuffer(gpu, 'test.single.second', block(second, a, count)), count },
        ],
        flags: singleFlags,
        flagIndex,
      });
      expect(countDispatches(gpu, (pass) => single.encode(pass))).toBe(4);
      expect(block(got, a, METRICS_BLOCK_FLOATS), `agent ${a}`).toEqual(await readBits(gpu, singleFlags, METRICS_BLOCK_FLOATS));
      named.push(population.tensorsIn(new Float32Array(block(got, a, METRICS_BLOCK_FLOATS).buffer)[flagIndex]));
      single.destroy();
    }
    expect(named).toEqual([[], ['first', 'second'], ['second']]);
    population.destroy();
  });
});

describe('Adam over a population', () => {
  for (const fused of [true, false]) {
    it(`${fused ? 'fused' : 'prepare + update'}: 3 agents (own rates, clipping norms, flags, grads) over 3 steps equal 3 single optimizers bit for bit; dispatches independent of P`, async () => {
      const gpu = await testGpu();
      const count = 1100;
      const rand = seededRandom(fused ? 21 : 22);
      const rates = [1e-3, 3e-3, 1e-2];
      const later = [5e-4, 2e-2, 1e-3];
      const norms = [0.5, 4, 1e-3];
      const params = randomF32(P * count, rand);
      const grads = [0, 1, 2].map((step) => randomF32(P * count, rand, -0.1 * (step + 1), 0.1 * (step + 1)));
      // Agent 1 is inactive in step 1 (its flag in its own metrics block).
      const flagsPerStep = [0, 1, 2].map((step) => Float32Array.from({ length: P * METRICS_BLOCK_FLOATS }, (_, i) => (i === METRICS_BLOCK_FLOATS + 3 && step === 1 ? 0 : 1)));
      const agents = agentsBuffer(gpu, 'test.agents', norms.map((maxGradNorm) => ({ maxGradNorm })));
      const paramBuffer = storageBuffer(gpu, 'test.params', params);
      const gradBuffer = storageBuffer(gpu, 'test.grads', P * count * 4);
      const flagBuffer = storageBuffer(gpu, 'test.flags', P * METRICS_BLOCK_FLOATS * 4);
      const population = await Adam.create(gpu, { count, lr: rates, agents, clipGradNorm: true, fused, activeFlag: { buffer: flagBuffer, index: 3, stride: METRICS_BLOCK_FLOATS } });
      const dispatches: number[] = [];
      for (let step = 0; step < 3; step++) {
        if (step === 2) population.setLearningRate(later);
        gpu.device.queue.writeBuffer(gradBuffer, 0, grads[step]);
        gpu.device.queue.writeBuffer(flagBuffer, 0, flagsPerStep[step]);
        dispatches.push(countDispatches(gpu, (pass) => population.encodeStep(pass, paramBuffer, gradBuffer)));
      }
      const state = await population.readState();
      const got = await readBits(gpu, paramBuffer, P * count);
      const controlFloats = population.controlView.size / 4;
      expect(state.control.length).toBe(P * controlFloats);
      for (let a = 0; a < P; a++) {
        const singleParams = storageBuffer(gpu, 'test.single.params', block(params, a, count));
        const singleGrads = storageBuffer(gpu, 'test.single.grads', count * 4);
        const singleFlags = storageBuffer(gpu, 'test.single.flags', METRICS_BLOCK_FLOATS * 4);
        const single = await Adam.create(gpu, { count, lr: rates[a], maxGradNorm: norms[a], fused, activeFlag: { buffer: singleFlags, index: 3 } });
        for (let step = 0; step < 3; step++) {
          if (step === 2) single.setLearningRate(later[a]);
          gpu.device.queue.writeBuffer(singleGrads, 0, block(grads[step], a, count));
          gpu.device.queue.writeBuffer(singleFlags, 0, block(flagsPerStep[step], a, METRICS_BLOCK_FLOATS));
          expect(countDispatches(gpu, (pass) => single.encodeStep(pass, singleParams, singleGrads))).toBe(dispatches[step]);
        }
        const expected = await single.readState();
        expect(block(got, a, count), `agent ${a} params`).toEqual(await readBits(gpu, singleParams, count));
        for (const part of ['m', 'v'] as const) expect(bits(block(state[part], a, count)), `agent ${a} ${part}`).toEqual(bits(expected[part]));
        expect(bits(block(state.control, a, controlFloats)), `agent ${a} control`).toEqual(bits(expected.control));
        single.destroy();
      }
      // Clipping bit: agent 2's tiny norm scales its gradients down; agent 1 skipped step 1.
      const field = (a: number, name: string) => state.control[a * controlFloats + population.controlView.offsetOf(name) / 4];
      expect(field(2, 'gradScale')).toBeLessThan(1);
      expect([field(0, 'step'), field(1, 'step'), field(2, 'step')]).toEqual([3, 2, 3]);
      population.destroy();
    });
  }

  it('names per-agent rates of the wrong length, a missing flag stride and short params', async () => {
    const gpu = await testGpu();
    const agents = agentsBuffer(gpu, 'test.agents', [{}, {}, {}]);
    const flags = storageBuffer(gpu, 'test.flags', 3 * METRICS_BLOCK_FLOATS * 4);
    await expect(Adam.create(gpu, { count: 4, lr: [1, 2], agents })).rejects.toThrow(/adam: lr must be one number or 3 \(one per agent\), got 2/);
    await expect(Adam.create(gpu, { count: 4, lr: 1, agents, activeFlag: { buffer: flags, index: 3 } })).rejects.toThrow(/activeFlag\.stride .* is required with agents/);
    await expect(Adam.create(gpu, { count: 4, lr: 1, agents, maxGradNorm: 1 })).rejects.toThrow(/maxGradNorm comes from agents/);
    const adam = await Adam.create(gpu, { count: 4, lr: 1, agents });
    expect(() => adam.setLearningRate([1, -1, 1])).toThrow(/setLearningRate: lr\[1\] must be ≥ 0, got -1/);
    expect(() => submitPass(gpu, 'short', (pass) => adam.encodeStep(pass, storageBuffer(gpu, 'test.params', 4 * 4), storageBuffer(gpu, 'test.grads', 12 * 4)))).toThrow(
      /params buffer test\.params holds 4 floats, needs \[3\]\[4\] = 12/,
    );
    adam.destroy();
  });
});

/** PPO's per-agent hyperparameters for the kernel tests: agent a differs in every field. */
const PPO_AGENTS: AgentParamValues[] = [
  { seed: 7, clip: 0.2, valueClip: 0, entCoef: 0, targetKl: 0.01, klTarget: 0.01 },
  { seed: 1234, clip: 0.05, valueClip: 0.2, entCoef: 0.05, targetKl: 0.02, klTarget: 0.03 },
  { seed: 99, clip: 0.3, valueClip: 0.05, entCoef: 0.01, targetKl: 0, klTarget: 0.005 },
];

describe("PPO's kernels over a population", () => {
  const numActions = 3;
  const obsDim = 4;
  const stride = recordStride(numActions, 1);
  const batchSize = 96;
  const B = 32;
  const obsRows = batchSize + 5;
  const M = batchSize / B;
  // Padded past B, as the storage offset alignment may pad the gathered observations' blocks.
  const blockRows = B + 4;
  const args = (o: { normalize: number; klPenalty: boolean }, agents: number) => ({
    batchSize,
    minibatchSize: B,
    obsDim,
    numActions,
    iteration: 4,
    halfBits: 4,
    normalizeAdvantages: o.normalize,
    useKlPenalty: o.klPenalty ? 1 : 0,
    obsRows,
    minibatches: M,
    blockRows,
    agents,
  });

  /** Runs `entry` once for `agents` (P or 1 records) on `buffers`; returns the dispatches recorded and the outputs' bits. */
  async function run(gpu: GpuContext, entry: string, agentValues: AgentParamValues[], resources: Record<string, GPUBuffer | GPUBufferBinding>, outputs: string[], o = { normalize: 1, klPenalty: false }) {
    const family = await ppoFamily(gpu);
    const dynamic = ['gather_epoch', 'minibatch_losses', 'minibatch_advantage_stats', 'early_stop'].includes(entry);
    const kernel = await family.kernel(entry, dynamic ? { dynamicOffsets: ['slot'] } : {});
    const agents = agentsBuffer(gpu, 'test.agents', agentValues);
    const slots = UniformSlots.create(gpu, family.struct('MinibatchArgs'), [{ epoch: 0, minibatch: 0 }, { epoch: 1, minibatch: 2 }], 'test.slots');
    const all: Record<string, GPUBuffer | GPUBufferBinding> = {
      ...resources,
      ppo: uniformBuffer(gpu, 'test.ppo', family.struct('PpoArgs').pack(args(o, agentValues.length))),
      slot: slots.binding,
      agents: agents.params,
      agentSeeds: agentSeedsUniform(gpu, 'test.seeds', 'test', { agents }),
    };
    const group = kernel.bindUsed(all, entry);
    const dispatches = countDispatches(gpu, (pass) => kernel.dispatch(pass, group, entry === 'gather_epoch' ? M * B : entry === 'minibatch_losses' ? B : 1, dynamic ? [slots.offset(1)] : undefined, agentValues.length));
    const read: Record<string, Uint32Array> = {};
    for (const name of outputs) {
      const r = resources[name];
      const buffer = 'usage' in r ? r : r.buffer;
      read[name] = await readUint32(gpu, buffer);
    }
    return { dispatches, read };
  }

  /** Agent-major host arrays, each block of `floats` values, and how to make the population's and agent a's buffers. */
  function arrays(specs: Record<string, { floats: number; data: (rand: () => number, n: number) => Float32Array | Uint32Array | Int32Array }>, seed: number) {
    const rand = seededRandom(seed);
    const host = Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, s.data(rand, P * s.floats)]));
    const make = (gpu: GpuContext, agent?: number) =>
      Object.fromEntries(
        Object.entries(specs).map(([name, s]) => {
          const data = host[name];
          return [name, storageBuffer(gpu, `test.${name}`, agent === undefined ? data : (data.slice(agent * s.floats, (agent + 1) * s.floats) as typeof data))];
        }),
      );
    return { make, floats: Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, s.floats])) };
  }

  /**
   * Population vs singles: every output's agent-a block equals agent a's single run, and both record 1 dispatch.
   * An output named in `minibatchMajor` is [M][P][...] instead: agent a's block of each minibatch m is compared.
   */
  async function expectAgentsMatch(entry: string, specs: Parameters<typeof arrays>[0], outputs: string[], seed: number, o?: { normalize: number; klPenalty: boolean }, minibatchMajor: string[] = []) {
    const gpu = await testGpu();
    const { make, floats } = arrays(specs, seed);
    const population = await run(gpu, entry, PPO_AGENTS, make(gpu), outputs, o);
    expect(population.dispatches).toBe(1);
    for (let a = 0; a < P; a++) {
      const single = await run(gpu, entry, [PPO_AGENTS[a]], make(gpu, a), outputs, o);
      expect(single.dispatches).toBe(1);
      for (const name of outputs) {
        if (!minibatchMajor.includes(name)) {
          expect(block(population.read[name], a, floats[name]), `${entry}: agent ${a} ${name}`).toEqual(single.read[name].subarray(0, floats[name]));
          continue;
        }
        const perMinibatch = floats[name] / M;
        for (let m = 0; m < M; m++) {
          expect(block(population.read[name], m * P + a, perMinibatch), `${entry}: agent ${a} minibatch ${m} ${name}`).toEqual(block(single.read[name], m, perMinibatch));
        }
      }
    }
    return population.read;
  }

  const f32 = (lo = -1, hi = 1) => (rand: () => number, n: number) => randomF32(n, rand, lo, hi);
  const zeros = () => (_: () => number, n: number) => new Float32Array(n);
  /** A metrics block per agent with advantage statistics, KL coefficient, epoch KL and flags set. */
  const metricsBlocks = (rand: () => number, n: number) => {
    const m = randomF32(n, rand, 0.1, 1);
    for (let a = 0; a < n / METRICS_BLOCK_FLOATS; a++) {
      const at = (name: Parameters<typeof metricSlot>[0]) => a * METRICS_BLOCK_FLOATS + metricSlot(name);
      m[at('update_active')] = 1;
      m[at('stopped_epoch')] = -1;
      // Agent 0 far over its target (stops, moves the coefficient up), 1 under (stays, down), 2 has targetKl 0 (never stops).
      m[at('epoch_kl')] = [0.5, 0.001, 0.5][a];
      m[at('approx_kl')] = [0.5, 0.001, 0.005][a];
    }
    return m;
  };

  it('gather_epoch: each agent its own permutation (seed), rollout and observation rows; observations minibatch-major', async () => {
    const read = await expectAgentsMatch(
      'gather_epoch',
      {
        obs: { floats: obsRows * obsDim, data: f32() },
        actions: { floats: batchSize, data: (rand, n) => Int32Array.from({ length: n }, () => Math.floor(rand() * numActions)) },
        logProbs: { floats: batchSize, data: f32(-3, 0) },
        advantages: { floats: batchSize, data: f32() },
        returns: { floats: batchSize, data: f32() },
        logits: { floats: batchSize * numActions, data: f32() },
        mbObs: { floats: M * blockRows * obsDim, data: zeros() },
        mbRecords: { floats: M * B * stride, data: zeros() },
      },
      ['mbObs', 'mbRecords'],
      31,
      undefined,
      ['mbObs'],
    );
    // Different seeds draw different samples.
    expect(block(read.mbRecords, 0, M * B * stride)).not.toEqual(block(read.mbRecords, 1, M * B * stride));
  });

  for (const o of [
    { normalize: 1, klPenalty: false },
    { normalize: 2, klPenalty: true },
  ]) {
    it(`minibatch_losses (${o.klPenalty ? 'KL penalty' : 'clip'}, advantage normalisation ${o.normalize}): each agent its clip, valueClip, entCoef, metrics block`, async () => {
      const records = (rand: () => number, n: number) => {
        const r = randomF32(n, rand);
        // Actions are indices in the last word of each record.
        for (let k = stride - 1; k < n; k += stride) r[k] = Math.floor(rand() * numActions);
        return r;
      };
      await expectAgentsMatch(
        'minibatch_losses',
        {
          mbRecordsIn: { floats: M * B * stride, data: records },
          metrics: { floats: METRICS_BLOCK_FLOATS, data: metricsBlocks },
          policyLogits: { floats: B * numActions, data: f32() },
          valuePredictions: { floats: B, data: f32() },
          policyGradOutput: { floats: B * numActions, data: zeros() },
          valueGradOutput: { floats: B, data: zeros() },
          rowStats: { floats: STATS.length * batchSize, data: zeros() },
        },
        ['policyGradOutput', 'valueGradOutput', 'rowStats'],
        o.normalize * 10 + 3,
        o,
      );
    });
  }

  for (const entry of ['minibatch_advantage_stats', 'early_stop', 'adapt_kl_coef', 'begin_update']) {
    it(`${entry}: each agent's own metrics block${entry === 'early_stop' ? ' and targetKl' : entry === 'adapt_kl_coef' ? ' and klTarget' : ''}`, async () => {
      const read = await expectAgentsMatch(
        entry,
        {
          mbRecordsIn: { floats: M * B * stride, data: f32() },
          metrics: { floats: METRICS_BLOCK_FLOATS, data: metricsBlocks },
        },
        ['metrics'],
        entry.length,
      );
      const metrics = new Float32Array(read.metrics.buffer);
      const slot = (a: number, name: Parameters<typeof metricSlot>[0]) => metrics[a * METRICS_BLOCK_FLOATS + metricSlot(name)];
      if (entry === 'early_stop') expect([0, 1, 2].map((a) => slot(a, 'update_active'))).toEqual([0, 1, 1]);
      if (entry === 'begin_update') expect([0, 1, 2].map((a) => slot(a, 'stopped_epoch'))).toEqual([-1, -1, -1]);
    });
  }

  it('PpoUpdate given its one agent through `agents` (the population path) updates both networks bit for bit as from the config alone', async () => {
    const gpu = await testGpu();
    const config = resolveConfig({ algo: 'ppo', numEnvs: 4, stepsPerIter: 64, minibatch: 32, epochs: 2, hidden: 8, maxGradNorm: 0.5, targetKl: 0.01, valueClip: 0.2, entCoef: 0.01, seed: 5 });
    const { obsDim: inputs, numActions: outputs, batchSize: rows } = config.derived;
    const rand = seededRandom(77);
    const kernels = await MlpKernels.create(gpu);
    const host = {
      obs: randomF32(rows * inputs, rand),
      actions: Int32Array.from({ length: rows }, () => Math.floor(rand() * outputs)),
      logProbs: randomF32(rows, rand, -1.2, -0.4),
      advantages: randomF32(rows, rand),
      returns: randomF32(rows, rand),
      logits: randomF32(rows * outputs, rand),
    };
    const metrics = new Float32Array(METRICS_BLOCK_FLOATS);
    metrics[metricSlot('kl_coef')] = config.klCoef;
    metrics[metricSlot('advantage_std')] = 0.6;
    const initial = [randomF32(new MlpLayout([inputs, 8, 8, outputs], ['tanh', 'tanh', 'identity']).paramCount, rand, -0.5, 0.5), randomF32(new MlpLayout([inputs, 8, 8, 1], ['tanh', 'tanh', 'identity']).paramCount, rand, -0.5, 0.5)];
    const updated = async (population: boolean) => {
      const [policy, value] = [outputs, 1].map((n, k) => {
        const net = Mlp.create(gpu, kernels, new MlpLayout([inputs, 8, 8, n], ['tanh', 'tanh', 'identity']), `test.net${k}`);
        net.setParams(initial[k]);
        return net;
      });
      const batch = { ...Object.fromEntries(Object.entries(host).map(([name, data]) => [name, storageBuffer(gpu, `test.${name}`, data)])), metrics: storageBuffer(gpu, 'test.metrics', metrics) } as Parameters<typeof PpoUpdate.create>[4];
      const { seed, clip, valueClip, entCoef, targetKl, klTarget, maxGradNorm, lr, valueLr } = config;
      const options = population ? { agents: agentsBuffer(gpu, 'test.agents', [{ seed, clip, valueClip, entCoef, targetKl, klTarget, maxGradNorm, lr, valueLr }]), obsRows: rows } : undefined;
      const update = await PpoUpdate.create(gpu, config, policy, value, batch, options);
      update.prepareIteration(3, 0.75);
      const dispatches = countDispatches(gpu, (pass) => update.encode(pass));
      const result = { dispatches, policy: bits(await policy.readParams()), value: bits(await value.readParams()), metrics: await readBits(gpu, batch.metrics, METRICS_BLOCK_FLOATS) };
      update.destroy();
      return result;
    };
    const [single, population] = [await updated(false), await updated(true)];
    expect(population).toEqual(single);
    expect(single.policy).not.toEqual(bits(initial[0]));
  });

  it('PpoUpdate with agents checks the networks hold every agent and the rows of obs, before any GPU work', async () => {
    const gpu = await testGpu();
    const config = resolveConfig({ algo: 'ppo', numEnvs: 4, stepsPerIter: 32, minibatch: 16, hidden: 8 });
    const { obsDim: inputs, numActions: outputs, batchSize: rows } = config.derived;
    const kernels = await MlpKernels.create(gpu);
    const network = (n: number) => Mlp.create(gpu, kernels, new MlpLayout([inputs, 8, n], ['tanh', 'identity']), 'test.net');
    const [policy, value] = [network(outputs), network(1)];
    const buffer = (floats: number) => storageBuffer(gpu, 'test.batch', P * floats * 4);
    const batch = {
      obs: buffer(rows * inputs),
      actions: buffer(rows),
      logProbs: buffer(rows),
      advantages: buffer(rows),
      returns: buffer(rows),
      logits: buffer(rows * outputs),
      metrics: buffer(METRICS_BLOCK_FLOATS),
    };
    const agents = agentsBuffer(gpu, 'test.agents', PPO_AGENTS);
    await expect(PpoUpdate.create(gpu, config, policy, value, batch, { agents, obsRows: rows - 1 })).rejects.toThrow(/ppo: obsRows must be an integer ≥ batchSize/);
    await expect(PpoUpdate.create(gpu, config, policy, value, batch, { agents, obsRows: rows })).rejects.toThrow(
      /ppo: policy\.params buffer .* needs \[3\]\[paramStride\]/,
    );
  });
});
