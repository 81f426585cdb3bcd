// Limits before GPU work: the plan of a trainer's size-dependent buffers (and
// its dispatches per iteration) computed from the configuration alone, the one
// line a refusal prints, and, on the GPU, the plan against the buffers a
// trainer really creates, and the split of a huge iteration over several submits.
import { describe, expect, it } from 'vitest';
import { ALGOS } from '../src/core/algorithms';
import { ConfigError, resolveConfig, type TrainConfig } from '../src/core/config';
import { DISPATCHES_PER_SUBMIT, MAX_DISPATCHES_PER_ITERATION, checkLimits, dispatchesPerIteration, plannedBuffers, type DeviceLimits } from '../src/train/limits';
import { makePopulationTrainer, makeTrainer, populationLimits, trainerLimits } from '../src/train/trainer';
import { MlpKernels, defaultDenseChaining, defaultMlpKernelShape, defaultParamReduction, type AdamFusion, type NetworkPairing } from '../src/kernels/mlp';
import { FIELDS } from '../src/core/config';
import { testGpu } from './helpers';
import { requestGpu, type AdapterDescription, type GpuContext } from '../src/gpu/device';
import { trackLiveBuffers } from './liveBuffers';
import { bundleForNode, runNode } from './node-child';
import { Rollout, rolloutFuses } from '../src/kernels/rollout';
import { envDefinition } from '../src/envs/registry';
import { networkLayouts } from '../src/train/networks';
import { adamStepForm } from '../src/kernels/optim';

/** WebGPU's default limits: every adapter allows at least these. */
const DEFAULT_LIMITS: DeviceLimits = { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28, minUniformBufferOffsetAlignment: 256 };

const FLAG_TO_KEY = new Map(Object.entries(FIELDS).map(([key, spec]) => [spec.flag, key as keyof TrainConfig]));

/** Parses a refusal: the flag, its value now and the value it suggests. */
function refusal(line: string): { key: keyof TrainConfig; value: number; best: number | null; direction: string | null } {
  const m = /^--([a-z-]+): (\d+) needs (.*?)(?:; (at most|at least) (\d+) fits with the other settings|, and no value of it alone fits with the other settings)$/.exec(line);
  expect(m, line).not.toBeNull();
  return { key: FLAG_TO_KEY.get(m![1])!, value: Number(m![2]), best: m![5] ? Number(m![5]) : null, direction: m![4] ?? null };
}

/** The refusal for `overrides` names a flag whose suggested value fits, and the next value past it does not. */
function expectUsefulRefusal(
  overrides: Partial<TrainConfig>,
  limits: DeviceLimits,
  expectedFlag: string,
  what: RegExp,
  given = Object.keys(overrides) as (keyof TrainConfig)[],
) {
  const config = resolveConfig(overrides);
  const line = checkLimits(config, limits, given);
  expect(line).not.toBeNull();
  expect(line!.split('\n')).toHaveLength(1);
  expect(line).toMatch(new RegExp(`^--${expectedFlag}: `));
  expect(line).toMatch(what);
  const { key, best, direction } = refusal(line!);
  expect(best).not.toBeNull();
  expect(checkLimits(resolveConfig({ ...overrides, [key]: best }), limits)).toBeNull();
  const past = direction === 'at most' ? best! + 1 : best! - 1;
  let pastFits: boolean;
  try {
    pastFits = checkLimits(resolveConfig({ ...overrides, [key]: past }), limits) === null;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    pastFits = false;
  }
  expect(pastFits, `${key} = ${past} should not fit`).toBe(false);
  return line!;
}

/** Runs `body` with the `rows` shape, serial reduction and chains set on `gpu` (what chains), then restores the adapter's defaults. */
async function withRowsChains(gpu: GpuContext, body: () => Promise<void>): Promise<void> {
  MlpKernels.useShape(gpu, 'rows');
  MlpKernels.useParamReduction(gpu, 'serial');
  MlpKernels.useChaining(gpu, 'chain');
  try {
    await body();
  } finally {
    MlpKernels.useShape(gpu, defaultMlpKernelShape(gpu.adapter));
    MlpKernels.useParamReduction(gpu, defaultParamReduction(gpu.adapter));
    MlpKernels.useChaining(gpu, defaultDenseChaining(gpu.adapter));
  }
}

describe('limits from the configuration alone', () => {
  it('passes the presets and the Studio defaults for every algorithm on the smallest adapter WebGPU allows', () => {
    for (const algo of ALGOS) {
      for (const overrides of [{ preset: 'seed' }, { preset: 'fast' }, { preset: 'fast', numEnvs: 4096, stepsPerIter: 4096 * 16 }] as const) {
        expect(checkLimits(resolveConfig({ ...overrides, algo }), DEFAULT_LIMITS), `${algo} ${JSON.stringify(overrides)}`).toBeNull();
      }
    }
  });

  it('refuses the binding-size case of the issue with the largest value that fits', () => {
    // 2^20 envs × 1 step: the rollout's hidden activations alone are 256 MiB; no env count fits at 2^20 samples, a narrower net does.
    const line = expectUsefulRefusal({ numEnvs: 2 ** 20, stepsPerIter: 2 ** 20, minibatch: 65536 }, DEFAULT_LIMITS, 'hidden', /rollout\.policy\.activations0 of 256 MiB, over this adapter's 128 MiB storage-binding limit/);
    expect(line).toMatch(/at most 10 fits/);
    // At hidden 16 it is the value pass over (T+1+K)·N rows: fewer envs (more steps each) fit, fewer steps do not change T.
    const envs = expectUsefulRefusal({ numEnvs: 2 ** 20, stepsPerIter: 2 ** 20, minibatch: 4096, hidden: 16 }, DEFAULT_LIMITS, 'envs', /batch\.values\.activations0 of 192 MiB/);
    expect(envs).toMatch(/at most 524288 fits/);
  });

  it('refuses the buffer-size case of the issue (one env, 2^24 steps) naming --steps-per-iter', () => {
    expectUsefulRefusal({ numEnvs: 1, stepsPerIter: 2 ** 24 }, DEFAULT_LIMITS, 'steps-per-iter', /rollout\.obs of 256\.5 MiB, over this adapter's 128 MiB storage-binding limit/);
    // Under the buffer limits, the rollout's 4 dispatches per step are what stops it.
    const big: DeviceLimits = { maxStorageBufferBindingSize: 2 ** 40, maxBufferSize: 2 ** 40, minUniformBufferOffsetAlignment: 256 };
    expectUsefulRefusal({ numEnvs: 1, stepsPerIter: 2 ** 24 }, big, 'steps-per-iter', /dispatches per iteration, over the cap/);
  });

  it("counts the value pass's (T+1+K)·N rows, which the whole-batch passes do not reach", () => {
    // 4 096 envs × 16 steps at hidden 64: B·64·4 = 16 MiB; the value pass's (16+1+1)·4096 rows need 18 MiB.
    const limits: DeviceLimits = { maxStorageBufferBindingSize: 17 * 2 ** 20, maxBufferSize: 2 ** 28, minUniformBufferOffsetAlignment: 256 };
    const config = resolveConfig({ preset: 'fast', numEnvs: 4096, stepsPerIter: 4096 * 16 });
    const over = plannedBuffers(config, limits).filter((b) => b.bytes > limits.maxStorageBufferBindingSize);
    expect(over.map((b) => b.label)).toEqual(['batch.values.activations0', 'batch.values.gradPreActivation0', 'batch.values.activations1', 'batch.values.gradPreActivation1']);
    expect(over[0].bytes).toBe(18 * 4096 * 64 * 4);
    expect(checkLimits(config, limits)).toMatch(/^--steps-per-iter: 65536 needs buffer batch\.values\.activations0 of 18 MiB/);
    // The value pass covers every observation row either way (each agent's block of obsRows rows), so
    // counting truncations as terminal does not shrink it.
    expect(checkLimits(resolveConfig({ preset: 'fast', numEnvs: 4096, stepsPerIter: 4096 * 16, truncationAsTerminal: true }), limits)).toMatch(/batch\.values\.activations0 of 18 MiB/);
  });

  it('refuses PPO updates past the dispatch cap, naming the epochs', () => {
    const overrides = { numEnvs: 4, stepsPerIter: 64, minibatch: 1, epochs: 1000 };
    const estimate = dispatchesPerIteration(resolveConfig(overrides));
    expect(estimate).toBeGreaterThan(MAX_DISPATCHES_PER_ITERATION);
    const line = expectUsefulRefusal(overrides, DEFAULT_LIMITS, 'epochs', /dispatches per iteration, over the cap/);
    expect(line).toContain(estimate.toLocaleString('en-US'));
    // Minibatches are named from above: larger ones mean fewer.
    const line2 = expectUsefulRefusal(overrides, DEFAULT_LIMITS, 'minibatch', /over the cap/, ['minibatch']);
    expect(line2).toMatch(/at least \d+ fits/);
  });
});

describe('limits against the trainer on the GPU', () => {
  // Sizes chosen so that every planned storage buffer is larger than every buffer outside the plan; every option that adds work on.
  const MID = {
    numEnvs: 4096,
    stepsPerIter: 4096 * 3,
    minibatch: 6144,
    epochs: 2,
    hidden: 16,
    cgIters: 2,
    backtracks: 2,
    valueSteps: 2,
    seed: 3,
    targetKl: 0.01,
    advantageNorm: 'minibatch',
    maxGradNorm: 0.5,
    lineSearchKlCheck: true,
    normObs: true,
    normReward: true,
  } as const;
  const THRESHOLD = 12 * 1024;

  for (const algo of ALGOS) {
    it(`${algo}: the plan is exactly the trainer's buffers above ${THRESHOLD / 1024} KiB, and bounds its dispatches`, async () => {
      const gpu = await testGpu();
      const config = resolveConfig({ ...MID, algo, truncationAsTerminal: algo === 'trpo' });
      // The device's limits, and its rollout form (a GPUSupportedLimits' fields are getters: named one by one).
      const { minUniformBufferOffsetAlignment, minStorageBufferOffsetAlignment, maxStorageBuffersPerShaderStage } = gpu.limits;
      const deviceLimits = { minUniformBufferOffsetAlignment, minStorageBufferOffsetAlignment, maxStorageBuffersPerShaderStage, rolloutForm: Rollout.formOf(gpu) };
      const plan = plannedBuffers(config, deviceLimits);
      expect(Math.min(...plan.filter((b) => b.usage === 'storage').map((b) => b.bytes))).toBeGreaterThan(THRESHOLD);
      const tracker = trackLiveBuffers();
      // The plan and the estimate are per layer, which bounds a chained pass's buffer and dispatches.
      MlpKernels.useChaining(gpu, 'layers');
      const trainer = await makeTrainer(gpu, config).finally(() => {
        tracker.stop();
        MlpKernels.useChaining(gpu, defaultDenseChaining(gpu.adapter));
      });
      const created = [...tracker.live().buffers].map((b) => ({ label: b.label, bytes: b.size }));
      const byLabel = (list: { label: string; bytes: number }[]) => list.map(({ label, bytes }) => `${label} ${bytes}`).sort();
      // Every planned buffer (uniform slot tables too) is created with its planned size ...
      const createdNames = new Set(byLabel(created));
      for (const name of byLabel(plan)) expect(createdNames.has(name), name).toBe(true);
      // ... and every large buffer created is planned.
      expect(byLabel(created.filter((b) => b.bytes > THRESHOLD))).toEqual(byLabel(plan.filter((b) => b.bytes > THRESHOLD)));
      // The estimate counts Adam as two dispatches per step, as its unfused form records it; the device's default step is one.
      const adamSteps = algo === 'trpo' ? config.valueSteps : algo === 'reinforce' ? 1 + config.valueSteps : 2 * config.epochs * config.derived.minibatches;
      expect(dispatchesPerIteration(config, deviceLimits) - trainer.dispatchesPerIteration).toBe(adamStepForm(gpu).fused ? adamSteps : 0);
      trainer.destroy();
    });
  }

  for (const algo of ALGOS) {
    it(`${algo}, a GPU's MLP settings per layer (tiles, split): the plan holds every pass's partial sums, as created`, async () => {
      const gpu = await testGpu();
      const config = resolveConfig({ ...MID, algo, truncationAsTerminal: algo === 'trpo' });
      MlpKernels.useAdapterDefaults(gpu, { ...gpu.adapter, isFallback: false, backend: 'system' });
      // Per layer, as the plan is (a chained pass's buffers are bounded by it).
      MlpKernels.useChaining(gpu, 'layers');
      const tracker = trackLiveBuffers();
      let plan: ReturnType<typeof plannedBuffers> = [];
      let created: string[] = [];
      try {
        const limits = trainerLimits(gpu, 1);
        expect(limits.splitsParamSums).toBe(true);
        plan = plannedBuffers(config, limits);
        const trainer = await makeTrainer(gpu, config);
        created = [...tracker.live().buffers].map((b) => `${b.label} ${b.size}`);
        trainer.destroy();
      } finally {
        tracker.stop();
        MlpKernels.useAdapterDefaults(gpu, gpu.adapter);
      }
      // The MLP passes, by their layer-0 rows (planned for every pass, held or not).
      const passes = new Set(plan.map((b) => /^(.*)\.(activations|gradPreActivation)\d+$/.exec(b.label)?.[1]).filter((l) => l !== undefined));
      const isPassPartials = (label: string) => label.endsWith('.partials') && passes.has(label.slice(0, -'.partials'.length));
      const partials = plan.filter((b) => isPassPartials(b.label));
      // Every pass with a backward, none of the forward-only ones (the evaluations and the rollout's step).
      expect(partials.length).toBeGreaterThanOrEqual(2);
      expect(partials.some((b) => /^batch\.|candidatePolicy|^rollout\./.test(b.label))).toBe(false);
      for (const b of partials) expect(created, b.label).toContain(`${b.label} ${b.bytes}`);
      expect(created.filter((c) => isPassPartials(c.split(' ')[0])).sort()).toEqual(partials.map((b) => `${b.label} ${b.bytes}`).sort());
    });
  }

  it('ppo: chained passes save L − 1 dispatches per forward and 2L − 3 per backward, fused Adam steps 1 more, paired networks 1 per pass, the losses 1 more in the paired input-gradient chains', async () => {
    const gpu = await testGpu();
    const config = resolveConfig({ preset: 'seed', stepsPerIter: 16 * 40, minibatch: 160, epochs: 3 });
    // The `rows` shape and `serial` reduction (what chains), whatever the adapter's defaults.
    const count = async (chaining: 'chain' | 'layers', fusion: AdamFusion = 'separate', pairing: NetworkPairing = 'alone') => {
      MlpKernels.useShape(gpu, 'rows');
      MlpKernels.useParamReduction(gpu, 'serial');
      MlpKernels.useChaining(gpu, chaining);
      MlpKernels.useAdamFusion(gpu, fusion);
      MlpKernels.useNetworkPairing(gpu, pairing);
      const trainer = await makeTrainer(gpu, config).finally(() => {
        MlpKernels.useShape(gpu, defaultMlpKernelShape(gpu.adapter));
        MlpKernels.useParamReduction(gpu, defaultParamReduction(gpu.adapter));
        MlpKernels.useChaining(gpu, defaultDenseChaining(gpu.adapter));
        MlpKernels.useAdamFusion(gpu, 'fused');
        MlpKernels.useNetworkPairing(gpu, 'paired');
      });
      const n = trainer.dispatchesPerIteration;
      trainer.destroy();
      return n;
    };
    const L = 3;
    const { stepsPerEnv: T, minibatches: M } = config.derived;
    // A forward per rollout step (none where the rollout runs fused: each env's row is computed in
    // its step), the advantage's value forward, the report's policy forward; per minibatch two
    // forwards and two backwards.
    const fused = Rollout.formOf(gpu) === 'fused' && rolloutFuses(envDefinition(config.env), networkLayouts(config).policy.layers, gpu.limits.maxStorageBuffersPerShaderStage);
    const saved = ((fused ? 0 : T) + 2) * (L - 1) + config.epochs * M * 2 * (L - 1 + 2 * L - 3);
    expect(config.epochs * M * 2 * (L - 1 + 2 * L - 3)).toBe(config.epochs * M * 10);
    const chained = await count('chain');
    expect((await count('layers')) - chained).toBe(saved);
    // The seed preset does not clip gradients, so each network's Adam step joins its gradient dispatch
    // (where the device binds the fused kernel's 12 storage buffers and its split passes' 13: lavapipe 16,
    // not SwiftShader's 12 in Node nor browsers' 10), saving Adam's step dispatches (1 a step in its default form).
    const storage = gpu.limits.maxStorageBuffersPerShaderStage;
    const adamSteps = adamStepForm(gpu).fused ? 1 : 2;
    expect(chained - (await count('chain', 'fused'))).toBe(storage >= 13 ? config.epochs * M * 2 * adamSteps : 0);
    // Per minibatch, the policy and value networks' forward chains share a dispatch (9 storage
    // buffers), and so do their input-gradient chains: with both steps fused (13), which the losses
    // then open (14: PPO's losses_backward_input_chain_pair); with steps that do not fuse (9–12),
    // and their parameter gradients too (backward_params_chain_pair).
    const pairsSaved = storage < 9 ? 0 : storage >= 13 ? 2 + (storage >= 14 ? 1 : 0) : 3;
    expect((await count('chain', 'fused')) - (await count('chain', 'fused', 'paired'))).toBe(config.epochs * M * pairsSaved);
    // Per layer there is no chain to join.
    expect(await count('layers', 'fused', 'paired')).toBe(await count('layers'));
  });

  it('ppo: 4 dispatches per minibatch where the networks chain, pair and fuse their Adam steps and the losses open the paired chains: the gather is one per epoch', async () => {
    const gpu = await testGpu();
    const count = async (minibatch: number) => {
      const config = resolveConfig({ preset: 'seed', stepsPerIter: 16 * 40, minibatch, epochs: 3 });
      const trainer = await makeTrainer(gpu, config);
      const n = trainer.dispatchesPerIteration;
      trainer.destroy();
      expect(n).toBeLessThanOrEqual(dispatchesPerIteration(config));
      return { n, M: config.derived.minibatches };
    };
    await withRowsChains(gpu, async () => {
      const [four, eight] = [await count(160), await count(80)];
      expect([four.M, eight.M]).toEqual([4, 8]);
      // Forward pair, the losses with the input-gradient pair (14 storage buffers), two gradient + Adam
      // dispatches (13); with 13 the losses are their own dispatch.
      const storage = gpu.limits.maxStorageBuffersPerShaderStage;
      const perMinibatch = storage >= 14 ? 4 : storage >= 13 ? 5 : null;
      if (perMinibatch !== null) expect(eight.n - four.n).toBe(3 * 4 * perMinibatch);
    });
  });

  it("a GPU's MLP settings (tiles chained per workgroup, split sums chained): the same bits as tiles per layer, serial, in far fewer dispatches", async () => {
    await gpuSettingsMatchPerLayer(await testGpu());
  });

  it("a GPU's MLP settings where the device binds 10 storage buffers, as browsers grant: still 6 dispatches per PPO minibatch, the same bits", async () => {
    const gpu = await requestGpu({ quiet: true, maxStorageBuffersPerShaderStage: 10 });
    try {
      expect(gpu.limits.maxStorageBuffersPerShaderStage).toBe(10);
      await gpuSettingsMatchPerLayer(gpu);
    } finally {
      gpu.destroy();
    }
  });

  it('requestGpu refuses a storage-buffer limit outside 8 .. the adapter\'s, naming it', async () => {
    await expect(requestGpu({ quiet: true, maxStorageBuffersPerShaderStage: 7 })).rejects.toThrow("requestGpu: maxStorageBuffersPerShaderStage 7 is not allowed (an integer from 8 to the adapter's maximum)");
    await expect(requestGpu({ quiet: true, maxStorageBuffersPerShaderStage: 10.5 })).rejects.toThrow('maxStorageBuffersPerShaderStage 10.5 is not allowed');
    await expect(requestGpu({ quiet: true, maxStorageBuffersPerShaderStage: 4096 })).rejects.toThrow(/maxStorageBuffersPerShaderStage 4096 is not allowed \(an integer from 8 to the adapter's \d+\)/);
  });

  it("SwiftShader's MLP settings (tiles chained in own rows, serial, the networks paired) where the device binds 10 or 12 storage buffers, as Chromium's and Node's SwiftShader do: the same bits as per layer, 6 dispatches per PPO minibatch", async () => {
    for (const storage of [10, 12]) {
      const gpu = await requestGpu({ quiet: true, maxStorageBuffersPerShaderStage: storage });
      try {
        await settingsMatchPerLayer(gpu, { ...gpu.adapter, isFallback: true, backend: 'swiftshader' }, 6);
      } finally {
        gpu.destroy();
      }
    }
  });

  async function gpuSettingsMatchPerLayer(gpu: GpuContext): Promise<void> {
    // Per PPO minibatch: the forward chains (a pair: one dispatch where the device binds its 9 storage
    // buffers), the losses, the input-gradient chains (a pair, 10), both networks' row blocks (a pair, 9),
    // and per network the sums with Adam's step (its 9 storage buffers).
    await settingsMatchPerLayer(gpu, { ...gpu.adapter, isFallback: false, backend: 'system' }, gpu.limits.maxStorageBuffersPerShaderStage >= 10 ? 6 : 9);
  }

  /** Two iterations of PPO and TRPO with `adapter`'s MLP settings end with the bits of `tiles`, serial, per layer, in fewer dispatches: `perMinibatch` a PPO minibatch. */
  async function settingsMatchPerLayer(gpu: GpuContext, adapter: AdapterDescription, perMinibatch: number): Promise<void> {
    const train = async (adapter: AdapterDescription, config: ReturnType<typeof resolveConfig>, perLayer = false) => {
      MlpKernels.useAdapterDefaults(gpu, adapter);
      if (perLayer) MlpKernels.useChaining(gpu, 'layers');
      try {
        const trainer = await makeTrainer(gpu, config);
        for (let k = 0; k < 2; k++) await trainer.step();
        const { arrays } = await trainer.checkpoint([]);
        const dispatches = trainer.dispatchesPerIteration;
        trainer.destroy();
        return { arrays: Object.entries(arrays).map(([name, a]) => [name, new Uint32Array(a.buffer, a.byteOffset, a.length)] as const), dispatches };
      } finally {
        MlpKernels.useAdapterDefaults(gpu, gpu.adapter);
      }
    };
    // The arithmetic every setting must repeat: tiles, serial, per layer (SwiftShader's settings unchained).
    const perLayer: AdapterDescription = { ...gpu.adapter, isFallback: true, backend: 'swiftshader' };
    const ppoAt = (minibatch: number) => resolveConfig({ preset: 'seed', stepsPerIter: 16 * 40, minibatch, epochs: 2 });
    const ppo = ppoAt(80);
    const trpo = resolveConfig({ preset: 'seed', algo: 'trpo', stepsPerIter: 16 * 40 });
    for (const config of [ppo, trpo]) {
      const [run, reference] = [await train(adapter, config), await train(perLayer, config, true)];
      expect(run.arrays, config.algo).toEqual(reference.arrays);
      expect(run.arrays.some(([name, a]) => name === 'policy' && a.some((x) => x !== 0))).toBe(true);
      expect(run.dispatches).toBeLessThan(reference.dispatches);
    }
    const dispatches = async (minibatch: number) => (await train(adapter, ppoAt(minibatch))).dispatches;
    expect(((await dispatches(80)) - (await dispatches(160))) / (2 * 4)).toBe(perMinibatch);
  }

  it('evaluation passes that hold their hidden rows (the `rows` chain): planned as created, and a population of 64 records what one agent does', async () => {
    const gpu = await testGpu();
    await withRowsChains(gpu, async () => {
      const limits = trainerLimits(gpu, 1);
      expect(limits.holdsEvaluationRows).toBe(true);
      // Their buffers by name: the layers' rows kept and a Gaussian head's.
      const evaluation = /^(batch\.(updatedPolicy|values)|trpo\.lineSearch\.candidatePolicy)\.(activations\d+|gradPreActivation\d+|head\.row\w+)$/;
      const byLabel = (list: { label: string; bytes: number }[]) => list.map(({ label, bytes }) => `${label} ${bytes}`).sort();
      // CartPole (layer 0 chained) and Pendulum (3 observations: layer 0 alone, a Gaussian head).
      for (const overrides of [{ algo: 'trpo' }, { algo: 'ppo', env: 'Pendulum-v1', numEnvs: 8, stepsPerIter: 512 }] as const) {
        const config = resolveConfig({ preset: 'seed', ...overrides });
        const plan = plannedBuffers(config, limits).filter((b) => evaluation.test(b.label));
        // Held: only the last layer's rows (and layer 0's where it runs alone), not the hidden layers'.
        expect(plan.some((b) => b.label === 'batch.values.activations1')).toBe(false);
        expect(plannedBuffers(config, { ...limits, holdsEvaluationRows: false }).some((b) => b.label === 'batch.values.activations1')).toBe(true);
        const tracker = trackLiveBuffers();
        const trainer = await makeTrainer(gpu, config).finally(() => tracker.stop());
        const created = [...tracker.live().buffers].map((b) => ({ label: b.label, bytes: b.size })).filter((b) => evaluation.test(b.label));
        expect(byLabel(created), config.env).toEqual(byLabel(plan));
        trainer.destroy();
      }
      // So the whole-batch passes still chain with 64 agents' rows: the same dispatches as one agent.
      const seeds = (P: number) => Array.from({ length: P }, (_, k) => resolveConfig({ preset: 'seed', seed: 1 + k }));
      const one = await makePopulationTrainer(gpu, seeds(1));
      const many = await makePopulationTrainer(gpu, seeds(64));
      expect(many.dispatchesPerIteration).toBe(one.dispatchesPerIteration);
      one.destroy();
      many.destroy();
    });
  });

  it('trpo and reinforce: 52 agents record what one does (the chains bind the hidden activations and gradients apart, and each in two parts past a binding)', async () => {
    const device = await testGpu();
    // lavapipe's 128 MiB storage binding, whatever the adapter (SwiftShader binds 1 GiB).
    const binding = 128 * 2 ** 20;
    const limits = new Proxy(device.limits, { get: (l, k) => (k === 'maxStorageBufferBindingSize' ? binding : Reflect.get(l, k)) });
    const gpu: GpuContext = Object.create(device, { limits: { value: limits } });
    await withRowsChains(gpu, async () => {
      // At the seed shapes an agent's whole-batch hidden rows are 10 000 × 64 floats a layer, two layers,
      // for the activations and as many for the gradients: 26 agents' activations fit a 128 MiB binding,
      // 52 agents' one layer's (so 27 and 52 split each range between the layers).
      const layerBytes = 10_000 * 64 * 4;
      expect(52 * layerBytes).toBeLessThanOrEqual(binding);
      expect(27 * 2 * layerBytes).toBeGreaterThan(binding);
      for (const algo of ['trpo', 'reinforce'] as const) {
        const seeds = (P: number) => Array.from({ length: P }, (_, k) => resolveConfig({ preset: 'seed', algo, seed: 1 + k }));
        const one = await makePopulationTrainer(gpu, seeds(1));
        for (const P of [27, 52]) {
          const many = await makePopulationTrainer(gpu, seeds(P));
          expect(many.dispatchesPerIteration, `${algo}, ${P} agents`).toBe(one.dispatchesPerIteration);
          many.destroy();
        }
        one.destroy();
      }
    });
  });

  it("populationLimits and trainerLimits keep every field of the device's GPUSupportedLimits (getters a spread would drop)", async () => {
    const gpu = await testGpu();
    const { maxBufferSize, maxStorageBufferBindingSize, minUniformBufferOffsetAlignment } = gpu.limits;
    for (const limits of [populationLimits(gpu.limits, 4), trainerLimits(gpu, 4)]) {
      expect(limits.minUniformBufferOffsetAlignment).toBe(minUniformBufferOffsetAlignment);
      expect(limits.maxBufferSize).toBe(Math.floor(maxBufferSize / 4));
      expect(limits.maxStorageBufferBindingSize).toBe(Math.floor(maxStorageBufferBindingSize / 4));
    }
  });

  it('makeTrainer refuses a configuration over the limits before creating any buffer', async () => {
    const gpu = await testGpu();
    const tracker = trackLiveBuffers();
    try {
      const huge = resolveConfig({ numEnvs: 1, stepsPerIter: 2 ** 24 });
      await expect(makeTrainer(gpu, huge)).rejects.toThrow(ConfigError);
      await expect(makeTrainer(gpu, huge)).rejects.toThrow(/^--steps-per-iter: 16777216 needs /);
      expect(tracker.live().count).toBe(0);
    } finally {
      tracker.stop();
    }
  });

  it('an iteration split over many submits computes exactly what one submit does', async () => {
    const gpu = await testGpu();
    expect(DISPATCHES_PER_SUBMIT).toBeLessThan(MAX_DISPATCHES_PER_ITERATION);
    for (const algo of ['ppo', 'trpo'] as const) {
      const config = resolveConfig({ ...MID, numEnvs: 32, stepsPerIter: 1024, minibatch: 256, algo });
      const run = async (dispatchesPerSubmit?: number) => {
        const trainer = await makeTrainer(gpu, config, { dispatchesPerSubmit });
        const metrics = [await trainer.step(), await trainer.step()].map((m) => ({ ...m, sps: 0, wall_s: 0 }));
        const checkpoint = await trainer.checkpoint([]);
        trainer.destroy();
        return { metrics, checkpoint };
      };
      const whole = await run();
      // Parts of 7 dispatches: every kind of boundary, mid-layer and mid-optimizer included.
      const split = await run(7);
      expect(split.metrics).toEqual(whole.metrics);
      for (const [name, a] of Object.entries(whole.checkpoint.arrays)) {
        expect(Buffer.from(split.checkpoint.arrays[name].buffer).equals(Buffer.from(a.buffer)), `${algo} ${name}`).toBe(true);
      }
    }
  });
});

describe('train CLI limits', () => {
  const CRASH = ['--iters', '1', '--envs', '4', '--steps-per-iter', '64', '--minibatch', '1', '--epochs', '1000'];

  it('refuses the dispatch volume that crashed lavapipe before starting an adapter: exit 2, one line', async () => {
    const script = await bundleForNode('src/cli/train.ts');
    const r = await runNode(script, CRASH, { env: { VK_ICD_FILENAMES: '/nonexistent.json', WEBGPU_RL_ADAPTER: 'lavapipe' } });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^train: --epochs: 1000 needs [\d,]+ dispatches per iteration, over the cap of [\d,]+; at most \d+ fits with the other settings\n$/);
  });

  it("refuses buffers past this adapter's limits in seconds, exit 2, one line", async () => {
    const script = await bundleForNode('src/cli/train.ts');
    for (const args of [
      ['--envs', '1', '--steps-per-iter', '16777216'],
      // Past every adapter tested (lavapipe binds 128 MiB, SwiftShader in Node 1 GiB).
      ['--envs', '1048576', '--steps-per-iter', '16777216', '--minibatch', '65536'],
    ]) {
      const started = performance.now();
      const r = await runNode(script, ['--iters', '1', '--quiet', ...args], { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(2);
      // One line of ours, the last; the adapter's own notices (Dawn's warnings, the CPU-fallback note) may precede it.
      const lines = r.stderr.trim().split('\n');
      expect(lines.filter((l) => l.startsWith('train:'))).toHaveLength(1);
      expect(lines[lines.length - 1]).toMatch(/^train: --[a-z-]+: \d+ needs (buffer [\w.]+ of [\d,.]+ MiB, over this adapter's|[\d,]+ dispatches per iteration)/);
      expect(performance.now() - started).toBeLessThan(20_000);
    }
  });

  it('runs an iteration of more dispatches than one submit takes (PPO, 100 epochs of one-sample minibatches)', async () => {
    const script = await bundleForNode('src/cli/train.ts');
    const args = ['--iters', '1', '--envs', '4', '--steps-per-iter', '64', '--minibatch', '1', '--epochs', '100', '--json'];
    expect(dispatchesPerIteration(resolveConfig({ numEnvs: 4, stepsPerIter: 64, minibatch: 1, epochs: 100 }))).toBeGreaterThan(DISPATCHES_PER_SUBMIT);
    const r = await runNode(script, args, { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[lines.length - 1]).toMatchObject({ done: true, iterations: 1 });
    expect(lines[0].approx_kl).toBeGreaterThan(0);
  });
});
