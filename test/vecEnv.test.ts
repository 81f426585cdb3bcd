import { describe, expect, it } from 'vitest';
import vecEnvWgsl from '../shaders/vec_env.wgsl?raw';
import { VecEnv, CartPoleVec } from '../src/envs/vecEnv';
import { CARTPOLE } from '../src/envs/cartpole';
import { envSources, wgslRowType } from '../src/envs/env';
import { ENV_IDS, envDefinition } from '../src/envs/registry';
import { Rollout, ENV_SLOTS, rolloutSources } from '../src/kernels/rollout';
import { Mlp, MlpKernels } from '../src/kernels/mlp';
import { MlpLayout, initPyTorchDefault } from '../src/nn/mlp';
import { WgslSource } from '../src/gpu/kernel';
import { COMMON_WGSL } from '../src/gpu/wgsl';
import { AGENT_SEEDS_WGSL } from '../src/gpu/agents';
import { readFloat32, submitPass } from '../src/gpu/buffers';
import type { GpuContext } from '../src/gpu/device';
import { cartpoleResetState64 } from '../src/reference/cartpole';
import { testGpu, seededRandom, expectClose } from './helpers';

/** WebGPU's default maxStorageBuffersPerShaderStage: every kernel here stays within it. */
const DEFAULT_STORAGE_BUFFERS = 8;

/** Buffers created while `body` runs that are still alive after it. */
async function liveBuffersAfter(gpu: GpuContext, body: () => Promise<void>): Promise<string[]> {
  const device = gpu.device;
  const live = new Set<GPUBuffer>();
  const create = device.createBuffer;
  device.createBuffer = function (descriptor: GPUBufferDescriptor): GPUBuffer {
    const buffer = create.call(device, descriptor);
    const destroy = buffer.destroy;
    live.add(buffer);
    buffer.destroy = function () {
      live.delete(buffer);
      destroy.call(buffer);
    };
    return buffer;
  };
  try {
    await body();
  } finally {
    device.createBuffer = create;
  }
  return [...live].map((b) => b.label);
}

describe('env definitions (no GPU)', () => {
  it('the registry has the classic-control envs and rejects unknown ids with one line naming the known ones', () => {
    expect(ENV_IDS).toEqual(['CartPole-v1', 'Acrobot-v1', 'MountainCar-v0', 'MountainCarContinuous-v0', 'Pendulum-v1']);
    for (const id of ENV_IDS) expect(envDefinition(id).spec.id).toBe(id);
    expect(envDefinition('CartPole-v1')).toBe(CARTPOLE);
    expect(CARTPOLE.spec).toEqual({ id: 'CartPole-v1', obsDim: 4, stateDim: 4, action: { kind: 'discrete', n: 2 }, maxEpisodeSteps: 500 });
    expect(() => envDefinition('CartPole-v0')).toThrow(/^unknown env "CartPole-v0" \(known: CartPole-v1, Acrobot-v1, MountainCar-v0, MountainCarContinuous-v0, Pendulum-v1\)$/);
  });

  it.each(ENV_IDS)("%s: params fill the module's EnvParams exactly; vec_env and rollout kernels stay within 8 storage buffers", (id) => {
    const env = envDefinition(id);
    const vecEnv = new WgslSource('vec_env', [COMMON_WGSL, ...envSources(env), AGENT_SEEDS_WGSL, vecEnvWgsl]);
    // pack throws on a field missing from the values or not in the struct.
    expect(vecEnv.struct('EnvParams').pack(env.params).byteLength).toBeGreaterThan(0);
    const sources = [vecEnv, new WgslSource('rollout', rolloutSources(env))];
    const storageCounts: Record<string, number> = {};
    for (const source of sources) {
      for (const entry of source.entryPoints()) {
        storageCounts[`${source.name}.${entry}`] = source.storageBuffers(entry);
      }
    }
    expect(Object.keys(storageCounts).sort()).toEqual(['rollout.act_and_step', 'rollout.reset_envs', 'vec_env.reset_all', 'vec_env.set_state', 'vec_env.step']);
    for (const [entry, count] of Object.entries(storageCounts)) expect(count, entry).toBeLessThanOrEqual(DEFAULT_STORAGE_BUFFERS);
  });
});

describe('VecEnv on the GPU', () => {
  it("VecEnv.create({ id: 'CartPole-v1' }) is CartPoleVec: same spec, same observations and steps, bit for bit", async () => {
    const gpu = await testGpu();
    const numEnvs = 64;
    const byId = await VecEnv.create(gpu, { id: 'CartPole-v1', numEnvs, seed: 4 });
    const alias = await CartPoleVec.create(gpu, { numEnvs, seed: 4 });
    expect(byId.spec).toEqual(CARTPOLE.spec);
    expect(alias.spec).toEqual(byId.spec);
    expect(Array.from(await byId.observations())).toEqual(Array.from(await alias.observations()));
    const rand = seededRandom(3);
    let terminations = 0;
    for (let t = 0; t < 30; t++) {
      const actions = Int32Array.from({ length: numEnvs }, () => (rand() < 0.5 ? 0 : 1));
      const [a, b] = [await byId.step(actions), await alias.step(actions)];
      for (const key of ['obs', 'reward', 'terminated', 'truncated', 'finalObs'] as const) expect(Array.from(a[key]), `step ${t} ${key}`).toEqual(Array.from(b[key]));
      terminations += a.terminated.reduce((s, x) => s + x, 0);
    }
    expect(terminations).toBeGreaterThan(0);
    await expect(VecEnv.create(gpu, { id: 'Nope-v0', numEnvs, seed: 1 })).rejects.toThrow(/unknown env "Nope-v0"/);
    byId.destroy();
    alias.destroy();
  });

  it('setState takes Gymnasium state order and recomputes the observations; a custom time limit shows in spec', async () => {
    const gpu = await testGpu();
    const env = await VecEnv.create(gpu, { id: 'CartPole-v1', numEnvs: 2, seed: 1, maxEpisodeSteps: 7 });
    expect(env.spec.maxEpisodeSteps).toBe(7);
    expect(env.maxEpisodeSteps).toBe(7);
    const states = Float32Array.of(0.5, -1, 0.1, 2, -0.25, 0.5, -0.05, -1);
    env.setState(states);
    expect(Array.from(await env.observations())).toEqual(Array.from(states));
    expect(Array.from(await readFloat32(gpu, env.buffers.state))).toEqual(Array.from(states));
    env.destroy();
  });

  it('destroy releases every buffer VecEnv and Rollout created (step staging included)', async () => {
    const gpu = await testGpu();
    const layout = new MlpLayout([4, 16, 2], ['tanh', 'identity']);
    const policy = Mlp.create(gpu, await MlpKernels.create(gpu), layout, 'test.policy');
    policy.setParams(initPyTorchDefault(layout, 2));
    const envLeft = await liveBuffersAfter(gpu, async () => {
      const env = await CartPoleVec.create(gpu, { numEnvs: 8, seed: 1 });
      await env.step(new Int32Array(8));
      await env.step(new Int32Array(8).fill(1));
      env.destroy();
    });
    expect(envLeft).toEqual([]);
    const rolloutLeft = await liveBuffersAfter(gpu, async () => {
      const rollout = await Rollout.create(gpu, policy, { env: CARTPOLE, numEnvs: 8, numSteps: 5, seed: 1 }, 'test.rollout');
      rollout.reset();
      submitPass(gpu, 'test.rollout', (pass) => rollout.encode(pass));
      await gpu.sync();
      rollout.destroy();
    });
    // The per-step policy pass's own uniform is MlpPass.destroy's to release (its wrapper's test).
    expect(rolloutLeft.filter((label) => !label.startsWith('test.rollout.policy.'))).toEqual([]);
    policy.destroy();
  });
});

describe('rollout env slots', () => {
  it('reset puts every env at the episode-0 start VecEnv gives it: state rows after the ENV_SLOTS rows, bookkeeping zero, currentObs the observation (exact)', async () => {
    const gpu = await testGpu();
    const N = 6;
    const seed = 9;
    const layout = new MlpLayout([4, 8, 2], ['tanh', 'identity']);
    const policy = Mlp.create(gpu, await MlpKernels.create(gpu), layout, 'test.policy');
    const rollout = await Rollout.create(gpu, policy, { env: CARTPOLE, numEnvs: N, numSteps: 2, seed }, 'test.rollout');
    expect(rollout.envSlotRows).toBe(ENV_SLOTS.length + 4);
    rollout.reset();
    const vecEnv = await CartPoleVec.create(gpu, { numEnvs: N, seed });
    const starts = await vecEnv.observations();
    vecEnv.destroy();
    const slots = await readFloat32(gpu, rollout.storage.envSlots);
    const currentObs = await readFloat32(gpu, rollout.storage.currentObs);
    expect(slots.length).toBe(rollout.envSlotRows * N);
    expect(Array.from(slots.subarray(0, ENV_SLOTS.length * N)).every((v) => v === 0)).toBe(true);
    for (let env = 0; env < N; env++) {
      const state = Array.from({ length: 4 }, (_, k) => slots[(ENV_SLOTS.length + k) * N + env]);
      expect(state, `env ${env} state`).toEqual(Array.from(starts.subarray(4 * env, 4 * env + 4)));
      expectClose(state, cartpoleResetState64(seed, env, 0), 0, 1e-8, `env ${env} state vs float64 reset`);
      expect(Array.from(currentObs.subarray(4 * env, 4 * env + 4)), `env ${env} obs`).toEqual(state);
    }
    rollout.destroy();
    policy.destroy();
  });

  it("rejects a policy whose input or output does not fit the env's spec", async () => {
    const gpu = await testGpu();
    const policy = Mlp.create(gpu, await MlpKernels.create(gpu), new MlpLayout([4, 8, 3], ['tanh', 'identity']), 'test.policy');
    await expect(Rollout.create(gpu, policy, { env: CARTPOLE, numEnvs: 2, numSteps: 3, seed: 1 })).rejects.toThrow(
      /^rollout: CartPole-v1 needs a policy from 4 observations to 2 distribution parameters \(head none\), got 4 → 3 \(head none\)$/,
    );
    policy.destroy();
  });
});

describe('env row types', () => {
  it('store a row of any length densely ([N][dim] f32), so the host layout is the same whatever type the WGSL uses', () => {
    for (let dim = 1; dim <= 9; dim++) {
      const module = `alias Row = ${wgslRowType(dim)};
@group(0) @binding(0) var<storage, read_write> rows: array<Row>;
@compute @workgroup_size(1) fn main() { rows[0] = rows[1]; }`;
      const [binding] = new WgslSource(`rows${dim}`, module).bindings('main');
      expect(binding.size, `dim ${dim}`).toBe(4 * dim);
    }
  });
});
