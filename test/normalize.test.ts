// Observation normalisation and reward scaling (shaders/normalize.wgsl) against
// their float64 twins (src/reference/normalize.ts) on seeded inputs, and as the
// trainer uses them: metrics in raw rewards, checkpoints, evaluation, presets.
import { describe, expect, it } from 'vitest';
import { NormalizeKernels, initialMoments, NORM_CLIP, NORM_EPSILON, MOMENTS_INITIAL_COUNT, MOMENT_FIELDS } from '../src/kernels/normalize';
import { initialRunningMoments, normalizeReference, scaleRewardsReference, updateMomentsReference, type RunningMoments } from '../src/reference/normalize';
import { storageBuffer, readFloat32, submitPass } from '../src/gpu/buffers';
import { makeTrainer } from '../src/train/trainer';
import { evaluatePolicy } from '../src/train/evaluate';
import { parseCheckpoint, serializeCheckpoint, CheckpointError } from '../src/train/checkpoint';
import { parseTrainArgs, presetConfig, resolveConfig } from '../src/core/config';
import { testGpu, seededRandom, expectClose } from './helpers';

/** The moments buffer as float64 moments (every component's count must agree). */
function momentsOf(buffer: Float32Array, dim: number): { m: RunningMoments; counts: number[] } {
  const m = initialRunningMoments(dim, 0);
  const counts: number[] = [];
  for (let k = 0; k < dim; k++) {
    m.mean[k] = buffer[k * MOMENT_FIELDS];
    m.var[k] = buffer[k * MOMENT_FIELDS + 1];
    counts.push(buffer[k * MOMENT_FIELDS + 2]);
  }
  m.count = counts[0];
  return { m, counts };
}

function expectMoments(got: Float32Array, want: RunningMoments, dim: number, what: string) {
  const { m, counts } = momentsOf(got, dim);
  // f32 Welford per env and Chan merges: relative 1e-5 of the values' scale.
  expectClose(m.mean, want.mean, 1e-4, 2e-5, `${what} mean`);
  expectClose(m.var, want.var, 1e-4, 1e-5, `${what} var`);
  for (const c of counts) expect(c / want.count, `${what} count`).toBeCloseTo(1, 6);
}

describe('observation moments and normalisation vs float64 (moments rtol 1e-4, normalised values atol 1e-4 + rtol 1e-4)', () => {
  for (const [numEnvs, numSteps, dim] of [
    [37, 23, 6],
    [5, 200, 2],
    [130, 3, 4],
  ] as const) {
    it(`N=${numEnvs} T=${numSteps} dim=${dim}: three iterations of normalise-then-merge`, async () => {
      const gpu = await testGpu();
      const rand = seededRandom(numEnvs * 7 + numSteps * 3 + dim);
      const kernels = await NormalizeKernels.create(gpu);
      const rows = numEnvs * numSteps;
      // Components of different offsets and scales, and rare outliers that the ±10 clip catches.
      const offsets = Array.from({ length: dim }, (_, k) => (k - 1) * 3.5);
      const scales = Array.from({ length: dim }, (_, k) => 0.05 * 10 ** (k % 3));
      const samplesFor = () =>
        Float32Array.from({ length: rows * dim }, (_, i) => {
          const k = i % dim;
          const outlier = rand() < 0.01 ? 40 : 1;
          return offsets[k] + scales[k] * outlier * (rand() * 2 - 1) * 1.7;
        });
      const moments = storageBuffer(gpu, 'test.moments', initialMoments(dim));
      const input = storageBuffer(gpu, 'test.samples', rows * dim * 4);
      const output = storageBuffer(gpu, 'test.normalized', rows * dim * 4);
      const normalize = kernels.normalizeRows({ rows, dim, input, output, moments, label: 'test.normalize' });
      const update = kernels.updateMoments({ numEnvs, numSteps, dim, input, moments, label: 'test.moments' });
      let want = initialRunningMoments(dim, MOMENTS_INITIAL_COUNT);
      let clipped = 0;
      for (let iteration = 0; iteration < 3; iteration++) {
        const samples = samplesFor();
        gpu.device.queue.writeBuffer(input, 0, samples);
        submitPass(gpu, 'test', (pass) => {
          normalize.encode(pass);
          update.encode(pass);
        });
        const normalized = normalizeReference(want, samples, dim, NORM_CLIP, NORM_EPSILON);
        clipped += normalized.filter((x) => Math.abs(x) === NORM_CLIP).length;
        expectClose(await readFloat32(gpu, output), normalized, 1e-4, 1e-4, `iteration ${iteration} normalised`);
        want = updateMomentsReference(want, samples, rows, dim);
        expectMoments(await readFloat32(gpu, moments), want, dim, `iteration ${iteration}`);
      }
      // The first iteration normalises with (0, 1): values beyond ±10 are clipped there.
      expect(clipped).toBeGreaterThan(0);
      normalize.destroy();
      update.destroy();
      for (const b of [moments, input, output]) b.destroy();
    });
  }
});

describe('reward scaling vs float64 over episodes with ends (scaled rewards rtol 1e-4, atol 1e-6)', () => {
  it('carries each env’s discounted return across iterations, resets it after terminated and truncated steps', async () => {
    const gpu = await testGpu();
    const rand = seededRandom(99);
    const kernels = await NormalizeKernels.create(gpu);
    const [numEnvs, numSteps, gamma] = [19, 41, 0.97];
    const count = numEnvs * numSteps;
    const rewards = storageBuffer(gpu, 'test.rewards', count * 4);
    const doneFlags = storageBuffer(gpu, 'test.doneFlags', count * 4);
    const accumulator = storageBuffer(gpu, 'test.accumulator', numEnvs * 4);
    const moments = storageBuffer(gpu, 'test.returnMoments', initialMoments(1));
    const scaled = storageBuffer(gpu, 'test.scaled', count * 4);
    const op = kernels.scaleRewards({ numEnvs, numSteps, gamma, rewards, doneFlags, accumulator, moments, scaled, label: 'test.reward' });
    const acc = new Float64Array(numEnvs);
    let want = initialRunningMoments(1, MOMENTS_INITIAL_COUNT);
    let ends = 0;
    for (let iteration = 0; iteration < 3; iteration++) {
      // Rewards of −1 with occasional bonuses (MountainCar / Acrobot-like), ~5% episode ends of either kind.
      const r = Float32Array.from({ length: count }, () => (rand() < 0.1 ? 5 + rand() * 20 : -1));
      const flags = Uint32Array.from({ length: count }, () => {
        const u = rand();
        return u < 0.03 ? 1 : u < 0.05 ? 2 : u < 0.055 ? 3 : 0;
      });
      ends += flags.filter((f) => f !== 0).length;
      gpu.device.queue.writeBuffer(rewards, 0, r);
      gpu.device.queue.writeBuffer(doneFlags, 0, flags);
      submitPass(gpu, 'test', (pass) => op.encode(pass));
      const ref = scaleRewardsReference({ rewards: r, doneFlags: flags, numEnvs, numSteps, gamma, accumulator: acc, moments: want, clip: NORM_CLIP, epsilon: NORM_EPSILON });
      want = ref.moments;
      expectClose(await readFloat32(gpu, scaled), ref.scaled, 1e-4, 1e-6, `iteration ${iteration} scaled rewards`);
      expectClose(await readFloat32(gpu, accumulator), acc, 1e-5, 1e-4, `iteration ${iteration} running discounted returns`);
      expectMoments(await readFloat32(gpu, moments), want, 1, `iteration ${iteration} return moments`);
    }
    expect(ends).toBeGreaterThan(50);
    op.destroy();
    for (const b of [rewards, doneFlags, accumulator, moments, scaled]) b.destroy();
  });
});

const SMALL = { numEnvs: 16, stepsPerIter: 512, minibatch: 128, epochs: 2, hidden: 16, seed: 5 } as const;

describe('normalisation in the trainer', () => {
  it('keeps metrics in raw rewards: the first iteration’s episodes are those of the run without scaling', async () => {
    const gpu = await testGpu();
    const plain = await makeTrainer(gpu, resolveConfig(SMALL));
    const scaled = await makeTrainer(gpu, resolveConfig({ ...SMALL, normReward: true }));
    const [a, b] = [await plain.step(), await scaled.step()];
    expect(b.mean_return).toBe(a.mean_return);
    expect(b.episodes).toBe(a.episodes);
    // GAE saw other rewards: the value targets differ.
    expect(b.value_loss).not.toBe(a.value_loss);
    plain.destroy();
    scaled.destroy();
  });

  it('checkpoints the moments and discounted returns, restores them, and refuses a checkpoint without them', async () => {
    const gpu = await testGpu();
    const config = resolveConfig({ ...SMALL, env: 'Acrobot-v1', preset: 'seed', normObs: true, normReward: true });
    const trainer = await makeTrainer(gpu, config);
    const history = [await trainer.step(), await trainer.step()];
    const saved = await trainer.checkpoint(history);
    const obs = momentsOf(saved.arrays['normalize.obs'], 6);
    // Two iterations of 16 × 32 observations merged into the initial count.
    expect(obs.counts.every((c) => c === Math.fround(MOMENTS_INITIAL_COUNT + 2 * 512))).toBe(true);
    expect(saved.arrays['normalize.return']).toHaveLength(MOMENT_FIELDS);
    expect(saved.arrays['normalize.discountedReturn']).toHaveLength(16);
    const text = serializeCheckpoint(saved);
    const parsed = parseCheckpoint(text);
    const restored = await makeTrainer(gpu, resolveConfig(parsed.config));
    await restored.restore(parsed);
    const again = await restored.checkpoint(history);
    for (const name of ['normalize.obs', 'normalize.return', 'normalize.discountedReturn']) {
      expect(Buffer.from(again.arrays[name].buffer).equals(Buffer.from(saved.arrays[name].buffer)), name).toBe(true);
    }
    const json = JSON.parse(text);
    delete json.arrays['normalize.obs'];
    expect(() => parseCheckpoint(JSON.stringify(json), 'run.json')).toThrow(CheckpointError);
    expect(() => parseCheckpoint(JSON.stringify(json), 'run.json')).toThrow(/^run\.json: arrays\.normalize\.obs: missing/);

    // Evaluation uses the frozen moments: twice the same figures, and the moments unchanged.
    const first = await evaluatePolicy(gpu, parsed, { episodes: 4, seed: 3, greedy: true });
    const second = await evaluatePolicy(gpu, parsed, { episodes: 4, seed: 3, greedy: true });
    expect([...second.returns]).toEqual([...first.returns]);
    for (const r of first.returns) expect(r).toBeGreaterThanOrEqual(-500);
    trainer.destroy();
    restored.destroy();
  });
});

describe('config', () => {
  it('--norm-obs and --norm-reward are booleans, off by default and in the seed and fast presets', () => {
    expect(parseTrainArgs(['--norm-obs', '--norm-reward=false']).overrides).toEqual({ normObs: true, normReward: false });
    for (const preset of ['seed', 'fast'] as const) expect([presetConfig(preset).normObs, presetConfig(preset).normReward]).toEqual([false, false]);
    expect(() => resolveConfig({ normObs: 1 as unknown as boolean })).toThrow(/^--norm-obs: 1 is not allowed/);
  });

  it('--env picks the env’s preset when no --preset is given; CartPole keeps seed', () => {
    expect(resolveConfig({ env: 'Acrobot-v1' }).preset).toBe('acrobot');
    // Acrobot's measured setting (bench/RESULTS.md): the zoo's rollout and λ, minibatches of 256 over 10 epochs at lr 1e-3.
    expect(resolveConfig({ env: 'Acrobot-v1' })).toMatchObject({ numEnvs: 16, stepsPerIter: 4096, lambda: 0.94, epochs: 10, minibatch: 256, lr: 1e-3, normObs: true, normReward: true });
    expect(resolveConfig({ env: 'MountainCar-v0' }).normObs).toBe(true);
    expect(resolveConfig({ env: 'Acrobot-v1', preset: 'seed' }).normObs).toBe(false);
    const { derived: _d, ...cartpole } = resolveConfig({ env: 'CartPole-v1' });
    expect(cartpole).toEqual(presetConfig('seed'));
    expect(resolveConfig({ preset: 'acrobot' }).env).toBe('Acrobot-v1');
  });
});
