/**
 * Populations in the collect phase (issue 12): VecEnv, the rollout's reset_envs and act_and_step, the policy
 * head's kernels and the normalisation kernels, each run once for P = 3 agents with different inputs, seeds
 * and discounts, against one-agent runs on fresh buffers holding agent a's inputs and seed. Agent a's block of
 * every output must equal the single run bit for bit (Uint32 views, 0 ulp), and the dispatches a wrapper
 * records must not depend on P.
 */
import { describe, expect, it } from 'vitest';
import { VecEnv } from '../src/envs/vecEnv';
import { envDefinition } from '../src/envs/registry';
import type { EnvDefinition } from '../src/envs/env';
import { Rollout, type RolloutPolicy } from '../src/kernels/rollout';
import { PolicyKernels } from '../src/kernels/policy';
import { CATEGORICAL, GAUSSIAN, type ActionDistribution } from '../src/kernels/distribution';
import { NormalizeKernels, MOMENT_FIELDS } from '../src/kernels/normalize';
import { agentsBuffer, type Agents } from '../src/gpu/agents';
import type { AgentParamValues } from '../src/core/agentParams';
import type { GpuContext } from '../src/gpu/device';
import { readUint32, storageBuffer, submitPass } from '../src/gpu/buffers';
import { testGpu, seededRandom } from './helpers';

const P = 3;
/** Different seeds (a large one among them) and discounts per agent. */
const AGENT_VALUES: AgentParamValues[] = [
  { seed: 11, gamma: 0.9 },
  { seed: 4_000_000_001, gamma: 0.99 },
  { seed: 7, gamma: 0.5 },
];

function population(gpu: GpuContext): Agents {
  return agentsBuffer(gpu, 'test.agents', AGENT_VALUES);
}

/** Records into a pass that counts dispatchWorkgroups calls. */
function countDispatches(gpu: GpuContext, label: string, record: (pass: GPUComputePassEncoder) => void): number {
  let count = 0;
  submitPass(gpu, label, (pass) => {
    const counting = new Proxy(pass, {
      get(target, key) {
        if (key === 'dispatchWorkgroups') {
          return (x: number, y?: number, z?: number) => {
            count++;
            target.dispatchWorkgroups(x, y, z);
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    record(counting);
  });
  return count;
}

/** Agent a's block of `whole` (P equal blocks). */
function block<T extends Uint32Array | Float32Array | Uint8Array>(whole: T, a: number, size: number): T {
  return whole.subarray(a * size, (a + 1) * size) as T;
}

/** Expects agent a's block of the population's output to be the single run's, bit for bit. */
function expectBits(population: Uint32Array, single: Uint32Array, a: number, what: string): void {
  const size = single.length;
  const mine = block(population, a, size);
  const first = mine.findIndex((bits, i) => bits !== single[i]);
  expect(first, `${what}, agent ${a}: first element whose bits differ (of ${size})`).toBe(-1);
}

function randomFloats(n: number, seed: number, lo = -1, hi = 1): Float32Array<ArrayBuffer> {
  const rand = seededRandom(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
}

const ENV_IDS = ['CartPole-v1', 'Acrobot-v1', 'Pendulum-v1'];

describe('VecEnv over a population', () => {
  it.each(ENV_IDS)('%s: each agent’s envs step as a single env with its seed, bit for bit; one dispatch per step whatever P', async (id) => {
    const gpu = await testGpu();
    const agents = population(gpu);
    const numEnvs = 5;
    const maxEpisodeSteps = 4;
    const env = await VecEnv.create(gpu, { id, numEnvs, agents, maxEpisodeSteps });
    const singles = await Promise.all(AGENT_VALUES.map((v) => VecEnv.create(gpu, { id, numEnvs, seed: v.seed!, maxEpisodeSteps })));
    expect(env.agentCount).toBe(P);
    expect(env.arrays.obs.shape).toEqual([P, numEnvs, env.spec.obsDim]);
    expect(singles[0].arrays.obs.shape).toEqual([numEnvs, env.spec.obsDim]);

    const bits = (f: Float32Array) => new Uint32Array(f.buffer, f.byteOffset, f.length);
    const compare = (whole: Float32Array, parts: Float32Array[], what: string) => parts.forEach((part, a) => expectBits(bits(whole), bits(part), a, what));
    compare(await env.observations(), await Promise.all(singles.map((s) => s.observations())), 'reset observations');
    // Agents' reset states differ (their seeds do).
    const start = await env.observations();
    const blockSize = numEnvs * env.spec.obsDim;
    expect(block(start, 0, blockSize)).not.toEqual(block(start, 1, blockSize));

    const rand = seededRandom(31);
    const action = env.spec.action;
    let episodes = 0;
    for (let step = 0; step < 10; step++) {
      const actions =
        action.kind === 'discrete'
          ? Int32Array.from({ length: P * numEnvs }, () => Math.floor(rand() * action.n))
          : Float32Array.from({ length: P * numEnvs * action.dim }, () => 6 * rand() - 3);
      const per = actions.length / P;
      const stepped = await env.step(actions);
      const alone = await Promise.all(singles.map((s, a) => s.step(actions.slice(a * per, (a + 1) * per) as Int32Array | Float32Array)));
      compare(stepped.obs, alone.map((r) => r.obs), `step ${step} obs`);
      compare(stepped.finalObs, alone.map((r) => r.finalObs), `step ${step} finalObs`);
      compare(stepped.reward, alone.map((r) => r.reward), `step ${step} reward`);
      alone.forEach((r, a) => {
        expect(Array.from(block(stepped.terminated, a, numEnvs)), `step ${step} terminated, agent ${a}`).toEqual(Array.from(r.terminated));
        expect(Array.from(block(stepped.truncated, a, numEnvs)), `step ${step} truncated, agent ${a}`).toEqual(Array.from(r.truncated));
      });
      episodes += stepped.truncated.reduce((n, f) => n + f, 0);
    }
    // Time limit 4 over 10 steps: every env restarted, so every agent drew further resets.
    expect(episodes).toBeGreaterThanOrEqual(2 * P * numEnvs);

    // setState: agent-major states, each agent's block as its single env's.
    const states = randomFloats(P * numEnvs * env.spec.stateDim, 5, -0.5, 0.5);
    const perStates = numEnvs * env.spec.stateDim;
    env.setState(states);
    singles.forEach((s, a) => s.setState(states.slice(a * perStates, (a + 1) * perStates)));
    compare(await env.observations(), await Promise.all(singles.map((s) => s.observations())), 'setState observations');
    expect(() => env.setState(states.slice(0, perStates))).toThrow(`states.length = ${perStates}, expected agents × numEnvs = 3 × 5 × ${env.spec.stateDim} = ${P * perStates}`);

    expect(countDispatches(gpu, 'test.count', (pass) => env.encodeStep(pass))).toBe(1);
    expect(countDispatches(gpu, 'test.count', (pass) => singles[0].encodeStep(pass))).toBe(1);
    env.destroy();
    singles.forEach((s) => s.destroy());
    agents.params.destroy();
  });

  it('refuses a seed beside agents, and numEnvs beyond what P blocks fit, before any GPU work', async () => {
    const gpu = await testGpu();
    const agents = population(gpu);
    await expect(VecEnv.create(gpu, { id: 'CartPole-v1', numEnvs: 4, agents, seed: 3 })).rejects.toThrow('VecEnv.create: seed = 3 is not used with agents');
    const max = Math.floor(VecEnv.maxEnvs(gpu, envDefinition('CartPole-v1').spec) / P);
    await expect(VecEnv.create(gpu, { id: 'CartPole-v1', numEnvs: max + 1, agents })).rejects.toThrow(`numEnvs = ${max + 1} is out of range (an integer in 1..${max})`);
    agents.params.destroy();
  });
});

/** A policy whose output is a fixed buffer of distribution parameters ([P][N][A]): the rollout's kernels alone. */
function fixedPolicy(env: EnvDefinition, output: GPUBuffer): RolloutPolicy {
  const { action, obsDim } = env.spec;
  return {
    layout: { inputDim: obsDim, distParamsPerRow: action.kind === 'discrete' ? action.n : 2 * action.dim, head: action.kind === 'discrete' ? 'none' : 'gaussian' },
    prepare: () => ({ output, encodeForward: () => {}, destroy: () => {} }),
  };
}

describe('Rollout over a population', () => {
  it.each(ENV_IDS)(
    '%s: reset_envs and act_and_step fill each agent’s block as a single rollout with its seed and parameters, bit for bit, over two iterations; T dispatches whatever P',
    async (id) => {
      const gpu = await testGpu();
      const env = envDefinition(id);
      const agents = population(gpu);
      const N = 5;
      const T = 16;
      const maxEpisodeSteps = 7;
      const A = env.spec.action.kind === 'discrete' ? env.spec.action.n : 2 * env.spec.action.dim;
      // Distribution parameters: logits, or means and log-stds in [−1, 1].
      const params = [randomFloats(P * N * A, 101), randomFloats(P * N * A, 102)];
      const logits = storageBuffer(gpu, 'test.logits', P * N * A * 4);
      const rollout = await Rollout.create(gpu, fixedPolicy(env, logits), { env, numEnvs: N, numSteps: T, agents, maxEpisodeSteps }, 'test.population');
      const singleLogits = AGENT_VALUES.map(() => storageBuffer(gpu, 'test.singleLogits', N * A * 4));
      const singles = await Promise.all(
        AGENT_VALUES.map((v, a) => Rollout.create(gpu, fixedPolicy(env, singleLogits[a]), { env, numEnvs: N, numSteps: T, seed: v.seed!, maxEpisodeSteps }, `test.single${a}`)),
      );
      expect(rollout.agentCount).toBe(P);
      rollout.reset();
      singles.forEach((s) => s.reset());
      const names = ['obs', 'behaviourLogits', 'actions', 'rewards', 'doneFlags', 'currentObs', 'envSlots'] as const;
      for (const iteration of [0, 1]) {
        gpu.device.queue.writeBuffer(logits, 0, params[iteration]);
        singleLogits.forEach((b, a) => gpu.device.queue.writeBuffer(b, 0, params[iteration].slice(a * N * A, (a + 1) * N * A)));
        rollout.setIteration(iteration);
        singles.forEach((s) => s.setIteration(iteration));
        expect(countDispatches(gpu, 'test.population', (pass) => rollout.encode(pass))).toBe(T);
        for (const s of singles) expect(countDispatches(gpu, 'test.single', (pass) => s.encode(pass))).toBe(T);
        for (const name of names) {
          const whole = await readUint32(gpu, rollout.storage[name]);
          for (let a = 0; a < P; a++) {
            const single = await readUint32(gpu, singles[a].storage[name]);
            expect(whole.length, `${name}: P blocks`).toBe(P * single.length);
            expectBits(whole, single, a, `iteration ${iteration} ${name}`);
          }
        }
      }
      // Not trivially equal: agents' actions differ, and the time limit restarted episodes.
      const actions = await readUint32(gpu, rollout.storage.actions);
      const perAgent = actions.length / P;
      expect(Array.from(block(actions, 0, perAgent))).not.toEqual(Array.from(block(actions, 1, perAgent)));
      const flags = await readUint32(gpu, rollout.storage.doneFlags);
      expect(flags.filter((f) => f & 2).length).toBeGreaterThanOrEqual(P * N * 2);

      rollout.destroy();
      singles.forEach((s) => s.destroy());
      [logits, ...singleLogits].forEach((b) => b.destroy());
      agents.params.destroy();
    },
  );

  it('refuses a policy whose output does not hold every agent’s rows, and a seed beside agents', async () => {
    const gpu = await testGpu();
    const env = envDefinition('CartPole-v1');
    const agents = population(gpu);
    const small = storageBuffer(gpu, 'test.small', 4 * 2 * 4);
    await expect(Rollout.create(gpu, fixedPolicy(env, small), { env, numEnvs: 4, numSteps: 2, agents })).rejects.toThrow(
      "rollout: the policy's output test.small holds 8 values, [P][N][A] = [3][4][2] needs 24 (a policy of agents.count networks)",
    );
    await expect(Rollout.create(gpu, fixedPolicy(env, small), { env, numEnvs: 4, numSteps: 2, agents, seed: 1 })).rejects.toThrow('rollout: seed = 1 is not used with agents');
    small.destroy();
    agents.params.destroy();
  });
});

describe('policy kernels over a population', () => {
  const cases: [string, ActionDistribution, number][] = [
    ['categorical, 3 actions', CATEGORICAL, 3],
    ['Gaussian, 2 components', GAUSSIAN, 4],
  ];
  it.each(cases)('%s: log_prob_entropy, kl_divergence and sample per agent as single runs, bit for bit; one dispatch whatever P', async (_, distribution, A) => {
    const gpu = await testGpu();
    const kernels = await PolicyKernels.create(gpu, distribution);
    const agents = population(gpu);
    const rows = 37;
    const W = distribution.actionWords(A);
    const logitsOld = randomFloats(P * rows * A, 7);
    const logitsNew = randomFloats(P * rows * A, 8);
    const rand = seededRandom(9);
    const actions =
      distribution === CATEGORICAL ? Int32Array.from({ length: P * rows * W }, () => Math.floor(rand() * A)) : Float32Array.from({ length: P * rows * W }, () => 4 * rand() - 2);
    const input = (data: Float32Array | Int32Array, a: number | null, width: number) =>
      storageBuffer(gpu, 'test.input', a === null ? data : data.slice(a * rows * width, (a + 1) * rows * width));
    const out = (count: number) => storageBuffer(gpu, 'test.out', count * 4);

    /** One run over P agents (a = null) or agent a alone: every output, as bits. */
    const run = async (a: number | null) => {
      const n = a === null ? P : 1;
      const label = a === null ? 'test.population' : `test.single${a}`;
      const shared = { rows, numActions: A, label, ...(a === null ? { agents } : {}) };
      const bound = { logits: input(logitsOld, a, A), logitsNew: input(logitsNew, a, A), actions: input(actions, a, W) };
      const result = { logProb: out(n * rows), entropy: out(n * rows), kl: out(n * rows), sampled: out(n * rows * W), sampledLogProb: out(n * rows) };
      const ops = [
        kernels.logProbEntropy({ ...shared, logits: bound.logits, actions: bound.actions, logProb: result.logProb, entropy: result.entropy }),
        kernels.kl({ ...shared, logitsOld: bound.logits, logitsNew: bound.logitsNew, kl: result.kl }),
      ];
      const sampler = kernels.sampler({ ...shared, logits: bound.logits, actions: result.sampled, logProb: result.sampledLogProb, steps: 3, ...(a === null ? {} : { seed: AGENT_VALUES[a].seed }) });
      sampler.setIteration(5);
      const counts = ops.map((op) => countDispatches(gpu, label, (pass) => op.encode(pass)));
      counts.push(countDispatches(gpu, label, (pass) => sampler.encode(pass, 2)));
      const bits = Object.fromEntries(await Promise.all(Object.entries(result).map(async ([k, b]) => [k, await readUint32(gpu, b, 0, b.size / 4)] as const)));
      ops.forEach((op) => op.destroy());
      sampler.destroy();
      [...Object.values(bound), ...Object.values(result)].forEach((b) => b.destroy());
      return { counts, bits, sizes: { logProb: rows, entropy: rows, kl: rows, sampled: rows * W, sampledLogProb: rows } as Record<string, number> };
    };
    const whole = await run(null);
    expect(whole.counts).toEqual([1, 1, 1]);
    for (let a = 0; a < P; a++) {
      const single = await run(a);
      expect(single.counts).toEqual(whole.counts);
      for (const [name, size] of Object.entries(single.sizes)) expectBits(whole.bits[name], single.bits[name].subarray(0, size), a, name);
    }
    // Agents' samples differ where their seeds do.
    expect(Array.from(block(whole.bits.sampled, 0, rows * W))).not.toEqual(Array.from(block(whole.bits.sampled, 2, rows * W)));
    agents.params.destroy();
  });

  it('refuses buffers that do not hold P blocks, naming the shape', async () => {
    const gpu = await testGpu();
    const kernels = await PolicyKernels.create(gpu);
    const agents = population(gpu);
    const one = storageBuffer(gpu, 'test.one', 4 * 2 * 4);
    const three = storageBuffer(gpu, 'test.three', P * 4 * 2 * 4);
    expect(() => kernels.kl({ rows: 4, numActions: 2, logitsOld: three, logitsNew: one, kl: three, label: 'test.kl', agents })).toThrow(
      'test.kl: logitsNew buffer test.one holds 8 values, [P][rows][2] = [3][4][2] need 24',
    );
    expect(() => kernels.sampler({ rows: 4, numActions: 2, logits: three, actions: three, logProb: three, label: 'test.s', agents, seed: 1 })).toThrow('test.s: seed = 1 is not used with agents');
    [one, three].forEach((b) => b.destroy());
    agents.params.destroy();
  });
});

describe('normalisation kernels over a population', () => {
  it('normalizeRows, updateMoments (agent blocks longer than T·N rows) and scaleRewards (each agent’s gamma) as single runs, bit for bit, over two iterations; dispatches independent of P', async () => {
    const gpu = await testGpu();
    const kernels = await NormalizeKernels.create(gpu);
    const agents = population(gpu);
    const N = 6;
    const T = 9;
    const D = 3;
    const inputRows = (T + 2) * N;
    const obs = [randomFloats(P * inputRows * D, 41, -3, 5), randomFloats(P * inputRows * D, 42, -3, 5)];
    const rewards = [randomFloats(P * T * N, 43, -2, 2), randomFloats(P * T * N, 44, -2, 2)];
    const rand = seededRandom(45);
    const flags = [0, 1].map(() => Uint32Array.from({ length: P * T * N }, () => (rand() < 0.15 ? 1 + Math.floor(rand() * 2) : 0)));
    // Different running moments and accumulated returns per agent to start from.
    const moments = Float32Array.from({ length: P * D * MOMENT_FIELDS }, (_, i) => [0.3 * (i % 5) - 0.5, 0.5 + 0.1 * (i % 7), 3 + i][i % MOMENT_FIELDS]);
    const returnMoments = Float32Array.from({ length: P * MOMENT_FIELDS }, (_, i) => [0.2 * i, 1 + 0.3 * i, 10 + i][i % MOMENT_FIELDS]);
    const accumulator = randomFloats(P * N, 46);

    const slice = <T extends Float32Array | Uint32Array>(data: T, a: number | null, size: number): T => (a === null ? data : (data.slice(a * size, (a + 1) * size) as T));
    const run = async (a: number | null) => {
      const n = a === null ? P : 1;
      const label = a === null ? 'test.population' : `test.single${a}`;
      const population = a === null ? { agents } : {};
      const b = {
        obs: storageBuffer(gpu, `${label}.obs`, n * inputRows * D * 4),
        normalized: storageBuffer(gpu, `${label}.normalized`, n * inputRows * D * 4),
        moments: storageBuffer(gpu, `${label}.moments`, slice(moments, a, D * MOMENT_FIELDS)),
        rewards: storageBuffer(gpu, `${label}.rewards`, n * T * N * 4),
        doneFlags: storageBuffer(gpu, `${label}.doneFlags`, n * T * N * 4),
        accumulator: storageBuffer(gpu, `${label}.accumulator`, slice(accumulator, a, N)),
        returnMoments: storageBuffer(gpu, `${label}.returnMoments`, slice(returnMoments, a, MOMENT_FIELDS)),
        scaled: storageBuffer(gpu, `${label}.scaled`, n * T * N * 4),
      };
      const ops = [
        kernels.normalizeRows({ rows: inputRows, dim: D, input: b.obs, output: b.normalized, moments: b.moments, label: `${label}.rows`, ...population }),
        kernels.updateMoments({ numEnvs: N, numSteps: T, dim: D, input: b.obs, inputRows, moments: b.moments, label: `${label}.moments`, ...population }),
        kernels.scaleRewards({
          numEnvs: N,
          numSteps: T,
          ...(a === null ? { agents } : { gamma: AGENT_VALUES[a].gamma }),
          rewards: b.rewards,
          doneFlags: b.doneFlags,
          accumulator: b.accumulator,
          moments: b.returnMoments,
          scaled: b.scaled,
          label: `${label}.rewards`,
        }),
      ];
      const results: Record<string, Uint32Array>[] = [];
      const counts: number[][] = [];
      for (const iteration of [0, 1]) {
        gpu.device.queue.writeBuffer(b.obs, 0, slice(obs[iteration], a, inputRows * D));
        gpu.device.queue.writeBuffer(b.rewards, 0, slice(rewards[iteration], a, T * N));
        gpu.device.queue.writeBuffer(b.doneFlags, 0, slice(flags[iteration], a, T * N));
        counts.push(ops.map((op) => countDispatches(gpu, label, (pass) => op.encode(pass))));
        // Exact lengths: a storage buffer holds at least 16 bytes.
        const sizes = { normalized: inputRows * D, moments: D * MOMENT_FIELDS, accumulator: N, returnMoments: MOMENT_FIELDS, scaled: T * N };
        const read = async ([name, size]: [string, number]) => [name, await readUint32(gpu, b[name as keyof typeof b], 0, n * size)] as const;
        results.push(Object.fromEntries(await Promise.all(Object.entries(sizes).map(read))));
      }
      ops.forEach((op) => op.destroy());
      Object.values(b).forEach((buffer) => buffer.destroy());
      return { results, counts };
    };
    const whole = await run(null);
    expect(whole.counts).toEqual([
      [1, 2, 4],
      [1, 2, 4],
    ]);
    for (let a = 0; a < P; a++) {
      const single = await run(a);
      expect(single.counts).toEqual(whole.counts);
      single.results.forEach((result, iteration) => {
        for (const [name, bits] of Object.entries(result)) expectBits(whole.results[iteration][name], bits, a, `iteration ${iteration} ${name}`);
      });
    }
    agents.params.destroy();
  });

  it('refuses a gamma beside agents and buffers without P blocks', async () => {
    const gpu = await testGpu();
    const kernels = await NormalizeKernels.create(gpu);
    const agents = population(gpu);
    const small = storageBuffer(gpu, 'test.small', 4 * 3 * 4);
    const big = storageBuffer(gpu, 'test.big', 1024);
    const scale = { numEnvs: 2, numSteps: 2, rewards: big, doneFlags: big, accumulator: big, moments: big, scaled: big, label: 'test.scale' };
    expect(() => kernels.scaleRewards({ ...scale, agents, gamma: 0.9 })).toThrow('test.scale: gamma = 0.9 is not used with agents');
    expect(() => kernels.normalizeRows({ rows: 4, dim: 3, input: big, output: big, moments: small, label: 'test.rows', agents })).toThrow(
      'test.rows: moments buffer test.small holds 12 values, [P][3][3] = 3 × 9 needs 27',
    );
    expect(() => kernels.updateMoments({ numEnvs: 2, numSteps: 3, dim: 1, input: big, inputRows: 5, moments: big, label: 'test.m' })).toThrow(
      'test.m: inputRows = 5 is out of range (an integer ≥ numSteps × numEnvs = 6)',
    );
    [small, big].forEach((b) => b.destroy());
    agents.params.destroy();
  });
});
