/**
 * The fused rollout (shaders/rollout_steps.wgsl: all T steps in one dispatch, the
 * policy's row forward inside the step, shaders/mlp_row.wgsl) against the
 * step-by-step rollout (a policy forward and an act-and-step dispatch per step):
 * every buffer a rollout writes, bit for bit (0 ulp), over two iterations. Cases:
 * each MLP kernel shape; a discrete and a continuous env (Gaussian head);
 * inputs that are not whole vec4s and a layer over 64 inputs (the per-row
 * `forward` arithmetic, in chunks); normalised observations; a population.
 * The step-by-step rollout is itself pinned to one batched policy forward
 * (test/rollout.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { FUSED_STEPS, Rollout, type RolloutOptions } from '../src/kernels/rollout';
import { MLP_KERNEL_SHAPES, Mlp, MlpKernels, type MlpKernelShape } from '../src/kernels/mlp';
import { MlpLayout, type Activation } from '../src/nn/mlp';
import { NormalizeKernels, normalizedPolicyInput } from '../src/kernels/normalize';
import { envDefinition } from '../src/envs/registry';
import { agentsBuffer } from '../src/gpu/agents';
import { readUint32, storageBuffer, submitPass } from '../src/gpu/buffers';
import { countDispatches } from '../src/train/trainer';
import { requestGpu, type GpuContext } from '../src/gpu/device';
import { resolveConfig } from '../src/core/config';
import { dispatchesPerIteration, plannedBuffers } from '../src/train/limits';
import { makeTrainer, trainerLimits } from '../src/train/trainer';
import { testGpu, seededRandom } from './helpers';

const N = 10;
const T = 30;

interface Case {
  env: string;
  sizes: number[];
  /** Steps per rollout (default T). */
  steps?: number;
  /** Agents' seeds (a population), else one run's seed 5. */
  seeds?: number[];
  normalize?: boolean;
}

/** Random parameters in [−scale, scale) (log-stds included), so actions vary and both rollouts must agree on every row. */
function randomParams(count: number, seed: number, scale: number): Float32Array {
  const rand = seededRandom(seed);
  return Float32Array.from({ length: count }, () => scale * (2 * rand() - 1));
}

/** The buffers of two iterations of a rollout, as bits, and how many dispatches one iteration records. */
async function collect(gpu: GpuContext, c: Case, shape: MlpKernelShape, fused: boolean) {
  const env = envDefinition(c.env);
  const activations: Activation[] = [...c.sizes.slice(2).map((): Activation => 'tanh'), 'identity'];
  const layout = new MlpLayout(c.sizes, activations, env.spec.action.kind === 'box' ? 'gaussian' : 'none');
  const agents = c.seeds ? agentsBuffer(gpu, 'test.agents', c.seeds.map((seed) => ({ seed }))) : undefined;
  const P = c.seeds?.length ?? 1;
  const policy = Mlp.create(gpu, await MlpKernels.create(gpu, shape), layout, 'test.policy', agents ? { agents } : {});
  policy.setParams(randomParams(P * layout.paramCount, 17, 0.4));
  const dim = env.spec.obsDim;
  let moments: GPUBuffer | null = null;
  const options: RolloutOptions = { env, numEnvs: N, numSteps: c.steps ?? T, maxEpisodeSteps: 9, fused, ...(agents ? { agents } : { seed: 5 }) };
  if (c.normalize) {
    // Running moments away from (0, 1): means, variances and counts per component.
    const rand = seededRandom(23);
    const values = Float32Array.from({ length: P * dim * 3 }, (_, i) => (i % 3 === 0 ? rand() - 0.5 : i % 3 === 1 ? 0.2 + rand() : 100));
    moments = storageBuffer(gpu, 'test.moments', values.byteLength);
    gpu.device.queue.writeBuffer(moments, 0, values);
    options.policyInput = normalizedPolicyInput(await NormalizeKernels.create(gpu), moments);
  }
  const rollout = await Rollout.create(gpu, policy, options, `test.${fused ? 'fused' : 'steps'}`);
  expect(rollout.fused).toBe(fused);
  const dispatches = countDispatches((pass) => rollout.encode(pass));
  rollout.reset();
  const written: Record<string, Uint32Array>[] = [];
  for (const iteration of [0, 1]) {
    rollout.setIteration(iteration);
    submitPass(gpu, `test.rollout${iteration}`, (pass) => rollout.encode(pass));
    const s = rollout.storage;
    const read: Record<string, Uint32Array> = {};
    for (const name of ['obs', 'behaviourLogits', 'actions', 'rewards', 'doneFlags', 'currentObs', 'envSlots'] as const) read[name] = await readUint32(gpu, s[name]);
    written.push(read);
  }
  rollout.destroy();
  policy.destroy();
  moments?.destroy();
  agents?.params.destroy();
  return { written, dispatches };
}

async function expectSameBits(c: Case, shape: MlpKernelShape) {
  const gpu = await testGpu();
  const steps = await collect(gpu, c, shape, false);
  const fused = await collect(gpu, c, shape, true);
  const numSteps = c.steps ?? T;
  expect(fused.dispatches).toBe(Math.ceil(numSteps / FUSED_STEPS));
  expect(steps.dispatches).toBeGreaterThanOrEqual(2 * numSteps);
  for (const k of [0, 1]) {
    for (const [name, bits] of Object.entries(steps.written[k])) {
      const other = fused.written[k][name];
      expect(other.length, `${name} length`).toBe(bits.length);
      const differing = bits.findIndex((b, i) => b !== other[i]);
      expect(differing, `iteration ${k}: first element of ${name} whose bits differ`).toBe(-1);
    }
  }
  // Not trivially equal: the policy's outputs vary row by row, and episodes ended.
  const logits = steps.written[1].behaviourLogits;
  expect(new Set(logits).size).toBeGreaterThan(numSteps * N);
  expect(steps.written[1].doneFlags.some((f) => f !== 0)).toBe(true);
}

describe('the fused rollout writes what the step-by-step rollout writes (0 ulp)', () => {
  it.each(MLP_KERNEL_SHAPES)('CartPole-v1, 4 → 64 → 64 → 2, %s MLP kernels', async (shape) => {
    await expectSameBits({ env: 'CartPole-v1', sizes: [4, 64, 64, 2] }, shape);
  });

  it.each(MLP_KERNEL_SHAPES)('Pendulum-v1 (a Gaussian head; 3 inputs), normalised observations, %s MLP kernels', async (shape) => {
    await expectSameBits({ env: 'Pendulum-v1', sizes: [3, 64, 64, 1], normalize: true }, shape);
  });

  it.each(MLP_KERNEL_SHAPES)('Acrobot-v1, 6 → 96 → 72 → 3 (96 inputs: the per-row forward in chunks), %s MLP kernels', async (shape) => {
    await expectSameBits({ env: 'Acrobot-v1', sizes: [6, 96, 72, 3] }, shape);
  });

  it("a population of 3 agents, each with its own parameters and seed, the adapter's MLP kernels", async () => {
    await expectSameBits({ env: 'CartPole-v1', sizes: [4, 32, 32, 2], seeds: [11, 4_000_000_001, 7] }, (await MlpKernels.create(await testGpu())).shape);
  });

  it(`CartPole-v1 over 2 × FUSED_STEPS + 37 steps (three fused dispatches, the bookkeeping carried between them)`, async () => {
    await expectSameBits({ env: 'CartPole-v1', sizes: [4, 16, 2], steps: 2 * FUSED_STEPS + 37 }, (await MlpKernels.create(await testGpu())).shape);
  });

  it('MountainCarContinuous-v0 in a population of 2, normalised observations', async () => {
    await expectSameBits({ env: 'MountainCarContinuous-v0', sizes: [2, 16, 1], seeds: [3, 9], normalize: true }, (await MlpKernels.create(await testGpu())).shape);
  });
});

describe('fused: true where it cannot run', () => {
  it('names why: a policy input other than the observations or their normalisation', async () => {
    const gpu = await testGpu();
    const env = envDefinition('CartPole-v1');
    const layout = new MlpLayout([4, 8, 2], ['tanh', 'identity']);
    const policy = Mlp.create(gpu, await MlpKernels.create(gpu), layout, 'test.policy');
    const own = storageBuffer(gpu, 'test.ownInput', N * 4 * 4);
    const policyInput = () => ({ input: own, encode: () => {}, destroy: () => {} });
    await expect(Rollout.create(gpu, policy, { env, numEnvs: N, numSteps: T, seed: 1, policyInput, fused: true })).rejects.toThrow(
      'rollout: fused is not possible here: its policy input is neither the observations nor their normalisation',
    );
    const steps = await Rollout.create(gpu, policy, { env, numEnvs: N, numSteps: T, seed: 1, policyInput });
    expect(steps.fused).toBe(false);
    steps.destroy();
    own.destroy();
    policy.destroy();
  });
});

describe("a device that binds WebGPU's default 8 storage buffers", () => {
  it('steps the rollout dispatch by dispatch (the fused kernel binds 9), and the limits plan says so', async () => {
    const gpu = await requestGpu({ quiet: true, maxStorageBuffersPerShaderStage: 8 });
    try {
      const env = envDefinition('CartPole-v1');
      const layout = new MlpLayout([4, 8, 2], ['tanh', 'identity']);
      const policy = Mlp.create(gpu, await MlpKernels.create(gpu), layout, 'test.policy');
      await expect(Rollout.create(gpu, policy, { env, numEnvs: N, numSteps: T, seed: 1, fused: true })).rejects.toThrow(
        'rollout: fused is not possible here: its kernel binds 9 storage buffers, the device 8',
      );
      const steps = await Rollout.create(gpu, policy, { env, numEnvs: N, numSteps: T, seed: 1 });
      expect(steps.fused).toBe(false);
      steps.destroy();
      policy.destroy();
      // A trainer: its rollout's per-step dispatches, and the per-step pass the plan holds only here.
      const config = resolveConfig({ preset: 'seed', stepsPerIter: 16 * 20, minibatch: 80, epochs: 1, normObs: true });
      const limits = trainerLimits(gpu, 1);
      const trainer = await makeTrainer(gpu, config);
      const forwardOnly = dispatchesPerIteration(config, { rolloutForm: 'fused', maxStorageBuffersPerShaderStage: 16 });
      expect(dispatchesPerIteration(config, limits) - forwardOnly).toBe(20 * (3 + 1 + 1) - Math.ceil(20 / FUSED_STEPS));
      const labels = (l: { maxStorageBuffersPerShaderStage: number; rolloutForm?: 'fused' | 'steps' }) => plannedBuffers(config, { ...limits, ...l }).map((b) => b.label);
      expect(labels({ maxStorageBuffersPerShaderStage: 8 })).toEqual(expect.arrayContaining(['rollout.stepArgs', 'rollout.policy.activations2', 'rollout.normalizedObs']));
      expect(labels({ maxStorageBuffersPerShaderStage: 9, rolloutForm: 'fused' }).filter((l) => /^rollout\.(policy\.|normalizedObs)/.test(l))).toEqual([]);
      // The trainer records the per-step count (its Adam steps are one dispatch each here, two in the estimate).
      expect(trainer.dispatchesPerIteration).toBeGreaterThan(20 * 5);
      trainer.destroy();
    } finally {
      gpu.destroy();
    }
  });
});
