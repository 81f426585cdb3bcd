import { describe, it, expect } from 'vitest';
import gymnasium from './fixtures/cartpole_gymnasium.json';
import sinCosFixture from './fixtures/sincos.wgsl?raw';
import { CartPoleVec } from '../src/envs/vecEnv';
import { CARTPOLE } from '../src/envs/cartpole';
import { envSources } from '../src/envs/env';
import {
  CARTPOLE_V1,
  CartPoleRef,
  cartpoleResetState64,
  cartpoleStep64,
  cartpoleTerminated64,
} from '../src/reference/cartpole';
import { philox4x32, uniform01, STREAM_RESET } from '../src/core/random';
import { ShaderFamily } from '../src/gpu/kernel';
import { readFloat32, readUint32, storageBuffer, submitPass, uniformBuffer } from '../src/gpu/buffers';
import { testGpu, seededRandom, expectClose } from './helpers';

const X_THRESHOLD = CARTPOLE_V1.xThreshold;
const THETA_THRESHOLD = CARTPOLE_V1.thetaThreshold;

/** The neighbouring float32 of larger (direction +1) or smaller (-1) magnitude. */
function nextFloat32(v: number, direction: 1 | -1): number {
  const bits = new Float32Array([v]);
  // The low 31 bits of a float32 are its magnitude, for either sign.
  new Int32Array(bits.buffer)[0] += direction;
  return bits[0];
}

/** The reset state exactly as the GPU rounds it: fround(fround(0.1) * (u - 0.5)), one rounding. */
function resetState32(seed: number, env: number, episode: number): number[] {
  const bits = philox4x32([env, episode, 0, 0], [seed, STREAM_RESET]);
  return Array.from(bits, (w) => Math.fround(Math.fround(0.1) * (uniform01(w) - 0.5)));
}

/**
 * True when a termination decision may legitimately differ between the GPU
 * (float32 state against float32-rounded thresholds) and the float64 reference:
 * the reference's x or theta lies within the two results' distance, plus the
 * threshold's own float32 rounding, of that threshold.
 */
function withinRoundingOfThreshold(reference: ArrayLike<number>, gpu: ArrayLike<number>): boolean {
  return (
    [
      [0, X_THRESHOLD],
      [2, THETA_THRESHOLD],
    ] as const
  ).some(([c, threshold]) => {
    const margin = Math.abs(gpu[c] - reference[c]) + Math.abs(Math.fround(threshold) - threshold);
    return Math.abs(Math.abs(reference[c]) - threshold) <= margin;
  });
}

const row = (a: ArrayLike<number>, env: number) => Array.from({ length: 4 }, (_, j) => a[4 * env + j]);

describe('float64 reference', () => {
  it('reproduces Gymnasium CartPole-v1 trajectories (rtol 1e-12, atol 1e-12)', () => {
    // Fixture written by test/fixtures/cartpole_gymnasium.py from Gymnasium itself.
    expect(gymnasium.trajectories.length).toBeGreaterThan(10);
    for (const [i, t] of gymnasium.trajectories.entries()) {
      let state: number[] = t.start;
      t.actions.forEach((action, step) => {
        const { next, terminated } = cartpoleStep64(state, action);
        expectClose(next, t.states[step], 1e-12, 1e-12, `trajectory ${i} step ${step}`);
        expect(terminated, `trajectory ${i} step ${step} terminated`).toBe(t.terminated[step]);
        state = next;
      });
      expect(t.rewards.every((r) => r === 1)).toBe(true);
    }
  });

  it('terminates strictly past ±2.4 and ±12°', () => {
    const at = (x: number, theta: number) => cartpoleStep64([x, 0, theta, 0], 1).terminated;
    expect(at(X_THRESHOLD, 0)).toBe(false);
    expect(at(-X_THRESHOLD, 0)).toBe(false);
    expect(at(X_THRESHOLD + 1e-12, 0)).toBe(true);
    expect(at(-X_THRESHOLD - 1e-12, 0)).toBe(true);
    expect(at(0, THETA_THRESHOLD)).toBe(false);
    expect(at(0, -THETA_THRESHOLD)).toBe(false);
    expect(at(0, THETA_THRESHOLD + 1e-12)).toBe(true);
    expect(at(0, -THETA_THRESHOLD - 1e-12)).toBe(true);
    expect(cartpoleTerminated64([0, 100, 0, 100])).toBe(false);
  });

  it('truncates after maxEpisodeSteps and resets with the next episode index', () => {
    const ref = new CartPoleRef(1, 5, { ...CARTPOLE_V1, maxEpisodeSteps: 3 });
    for (let step = 1; step <= 3; step++) {
      const r = ref.step([step % 2]);
      expect(r.truncated[0]).toBe(step === 3 ? 1 : 0);
    }
    expect(Array.from(ref.state)).toEqual(cartpoleResetState64(5, 0, 1));
    expect(ref.elapsedSteps[0]).toBe(0);
    expect(ref.episodeCount[0]).toBe(1);
  });
});

describe('CartPoleVec on the GPU', () => {
  it('computes sin and cos within 1.2e-7 absolute (WGSL built-ins may be 2^-11 off)', async () => {
    const gpu = await testGpu();
    const family = await ShaderFamily.load(gpu, 'sinCosTest', [...envSources(CARTPOLE), sinCosFixture]);
    const kernel = await family.kernel('sin_cos');
    const rand = seededRandom(17);
    // Angles of every scale a state can hold: tiny, pole-sized, whole turns, far out.
    const angles = Float32Array.from({ length: 20_000 }, (_, i) => (2 * rand() - 1) * [1e-6, 0.25, 4, 100, 1e4][i % 5]);
    const count = angles.length;
    const sinCos = storageBuffer(gpu, 'sinCosTest.sin_cos.sinCos', 8 * count);
    const bindGroup = kernel.bind({
      params: uniformBuffer(gpu, 'sinCosTest.sin_cos.params', family.struct('SinCosParams').pack({ count })),
      angles: storageBuffer(gpu, 'sinCosTest.sin_cos.angles', angles),
      sinCos,
    });
    submitPass(gpu, 'sinCosTest', (pass) => kernel.dispatch(pass, bindGroup, count));
    const got = await readFloat32(gpu, sinCos);
    const expected = Array.from(angles).flatMap((a) => [Math.sin(a), Math.cos(a)]);
    expectClose(got, expected, 0, 1.2e-7, 'sin, cos');
    // Near zero the sine keeps its relative precision (no absolute floor hides it).
    for (let i = 0; i < count; i += 5) expectClose([got[2 * i]], [Math.sin(angles[i])], 1e-7, 0, `sin(${angles[i]})`);
  });

  it('starts every env at its episode-0 reset state (exact)', async () => {
    const gpu = await testGpu();
    const env = await CartPoleVec.create(gpu, { numEnvs: 100, seed: 12345 });
    const obs = await env.observations();
    for (let i = 0; i < 100; i++) {
      expect(row(obs, i)).toEqual(resetState32(12345, i, 0));
      expectClose(row(obs, i), cartpoleResetState64(12345, i, 0), 0, 1e-8, `env ${i} vs float64 reset`);
      for (const v of row(obs, i)) expect(Math.abs(v)).toBeLessThanOrEqual(0.05);
    }
    const other = await CartPoleVec.create(gpu, { numEnvs: 100, seed: 12346 });
    expect(Array.from(await other.observations())).not.toEqual(Array.from(obs));
    env.destroy();
    other.destroy();
  });

  it('single steps match the float64 reference (rtol 1e-5, atol 1e-5), near thresholds too', async () => {
    const gpu = await testGpu();
    const numEnvs = 1024;
    const seed = 3;
    const env = await CartPoleVec.create(gpu, { numEnvs, seed });
    const rand = seededRandom(11);
    const between = (lo: number, hi: number) => lo + (hi - lo) * rand();
    const sign = () => (rand() < 0.5 ? -1 : 1);
    const states = new Float32Array(4 * numEnvs);
    const actions = new Int32Array(numEnvs);
    for (let i = 0; i < numEnvs; i++) {
      const xDot = between(-3, 3);
      const thetaDot = between(-3, 3);
      let s: number[];
      switch (i % 4) {
        case 0: // ordinary states
          s = [between(-2.4, 2.4), xDot, between(-0.2, 0.2), thetaDot];
          break;
        case 1: // x lands within 1e-3 of ±2.4
          s = [sign() * X_THRESHOLD - 0.02 * xDot + between(-1e-3, 1e-3), xDot, between(-0.2, 0.2), thetaDot];
          break;
        case 2: // theta lands within 1e-3 of ±12°
          s = [between(-2.4, 2.4), xDot, sign() * THETA_THRESHOLD - 0.02 * thetaDot + between(-1e-3, 1e-3), thetaDot];
          break;
        default: // far outside the usual range: the physics must still agree
          s = [between(-3, 3), between(-10, 10), between(-Math.PI, Math.PI), between(-10, 10)];
      }
      states.set(s, 4 * i);
      actions[i] = rand() < 0.5 ? 0 : 1;
    }
    env.setState(states);
    const result = await env.step(actions);
    let ambiguous = 0;
    for (let i = 0; i < numEnvs; i++) {
      const { next, terminated } = cartpoleStep64(row(states, i), actions[i]);
      const gpuNext = row(result.finalObs, i);
      expectClose(gpuNext, next, 1e-5, 1e-5, `env ${i} finalObs`);
      if (result.terminated[i] !== Number(terminated)) {
        expect(withinRoundingOfThreshold(next, gpuNext), `env ${i} terminated differs away from a threshold`).toBe(true);
        ambiguous++;
      }
      const ended = result.terminated[i] === 1;
      expect(row(result.obs, i)).toEqual(ended ? resetState32(seed, i, 1) : gpuNext);
    }
    expect(ambiguous, 'envs within float32 rounding of a threshold').toBeLessThanOrEqual(4);
    expect(Array.from(result.reward).every((r) => r === 1)).toBe(true);
    expect(Array.from(result.truncated).every((t) => t === 0)).toBe(true);
    // The near-threshold states must really have exercised both outcomes.
    const ended = result.terminated.reduce((a, b) => a + b, 0);
    expect(ended).toBeGreaterThan(numEnvs / 8);
    expect(ended).toBeLessThan(numEnvs - numEnvs / 8);
    env.destroy();
  });

  it('40-step trajectories with auto-resets match the float64 reference (rtol 1e-4, atol 1e-4)', async () => {
    const gpu = await testGpu();
    const numEnvs = 256;
    const seed = 99;
    const steps = 40;
    const env = await CartPoleVec.create(gpu, { numEnvs, seed });
    const ref = new CartPoleRef(numEnvs, seed);
    const rand = seededRandom(5);
    const states = new Float32Array(4 * numEnvs).map((_, k) => (k % 4 === 0 ? 2 : k % 4 === 2 ? 0.15 : 1.5) * (2 * rand() - 1));
    env.setState(states);
    ref.setState(states);
    // Envs whose termination fell within float32 rounding of a threshold follow different episodes from then on.
    const diverged = new Set<number>();
    let terminations = 0;
    for (let t = 0; t < steps; t++) {
      const actions = Int32Array.from({ length: numEnvs }, () => (rand() < 0.5 ? 0 : 1));
      const got = await env.step(actions);
      const want = ref.step(actions);
      for (let i = 0; i < numEnvs; i++) {
        if (diverged.has(i)) continue;
        const gpuFinal = row(got.finalObs, i);
        expectClose(gpuFinal, row(want.finalObs, i), 1e-4, 1e-4, `step ${t} env ${i} finalObs`);
        if (got.terminated[i] !== want.terminated[i]) {
          expect(withinRoundingOfThreshold(row(want.finalObs, i), gpuFinal), `step ${t} env ${i} terminated differs`).toBe(true);
          diverged.add(i);
          continue;
        }
        terminations += got.terminated[i];
        expectClose(row(got.obs, i), row(want.obs, i), 1e-4, 1e-4, `step ${t} env ${i} obs`);
      }
      expect(Array.from(got.truncated)).toEqual(Array.from(want.truncated));
    }
    expect(diverged.size).toBeLessThanOrEqual(2);
    expect(terminations).toBeGreaterThan(numEnvs / 2);
    // Episode counters agree wherever the runs did not diverge.
    const episodes = await readUint32(gpu, env.buffers.episodeCount, 0, numEnvs);
    for (let i = 0; i < numEnvs; i++) if (!diverged.has(i)) expect(episodes[i]).toBe(ref.episodeCount[i]);
    env.destroy();
  });

  it('terminates only strictly past the float32 thresholds', async () => {
    const gpu = await testGpu();
    const x32 = Math.fround(X_THRESHOLD);
    const theta32 = Math.fround(THETA_THRESHOLD);
    // Zero velocities keep x and theta unchanged by the Euler step, so each lands exactly where it is set.
    const cases: Array<[x: number, theta: number, terminated: 0 | 1]> = [
      [x32, 0, 0],
      [-x32, 0, 0],
      [nextFloat32(x32, 1), 0, 1],
      [nextFloat32(-x32, 1), 0, 1],
      [nextFloat32(x32, -1), 0, 0],
      [nextFloat32(-x32, -1), 0, 0],
      [0, theta32, 0],
      [0, -theta32, 0],
      [0, nextFloat32(theta32, 1), 1],
      [0, nextFloat32(-theta32, 1), 1],
      [0, nextFloat32(theta32, -1), 0],
      [0, nextFloat32(-theta32, -1), 0],
    ];
    const env = await CartPoleVec.create(gpu, { numEnvs: cases.length, seed: 1 });
    env.setState(Float32Array.from(cases.flatMap(([x, theta]) => [x, 0, theta, 0])));
    const result = await env.step(Int32Array.from(cases, (_, i) => i % 2));
    cases.forEach(([x, theta, terminated], i) => {
      expect(result.finalObs[4 * i], `case ${i} x`).toBe(x);
      expect(result.finalObs[4 * i + 2], `case ${i} theta`).toBe(theta);
      expect(result.terminated[i], `case ${i}: x ${x}, theta ${theta}`).toBe(terminated);
      expect(result.reward[i]).toBe(1);
    });
    env.destroy();
  });

  it('truncates exactly at step 500 under a balancing policy, then counts from 0 again', async () => {
    const gpu = await testGpu();
    const numEnvs = 4;
    const seed = 21;
    const env = await CartPoleVec.create(gpu, { numEnvs, seed });
    // A linear state-feedback policy that keeps every start here up for well over 500 steps.
    const policy = (obs: Float32Array) =>
      Int32Array.from({ length: numEnvs }, (_, i) => (0.5 * obs[4 * i] + obs[4 * i + 1] + 10 * obs[4 * i + 2] + 2 * obs[4 * i + 3] > 0 ? 1 : 0));
    let obs = await env.observations();
    let lastFinal: Float32Array = new Float32Array(0);
    for (let step = 1; step <= 500; step++) {
      const r = await env.step(policy(obs));
      expect(Array.from(r.terminated), `step ${step} terminated`).toEqual([0, 0, 0, 0]);
      expect(Array.from(r.truncated), `step ${step} truncated`).toEqual(step === 500 ? [1, 1, 1, 1] : [0, 0, 0, 0]);
      obs = r.obs;
      lastFinal = r.finalObs;
    }
    for (let i = 0; i < numEnvs; i++) {
      expect(row(obs, i)).toEqual(resetState32(seed, i, 1));
      expect(row(lastFinal, i)).not.toEqual(row(obs, i));
    }
    expect(Array.from(await readUint32(gpu, env.buffers.elapsedSteps, 0, numEnvs))).toEqual([0, 0, 0, 0]);
    expect(Array.from(await readUint32(gpu, env.buffers.episodeCount, 0, numEnvs))).toEqual([1, 1, 1, 1]);
    const after = await env.step(policy(obs));
    expect(Array.from(after.truncated)).toEqual([0, 0, 0, 0]);
    expect(Array.from(await readUint32(gpu, env.buffers.elapsedSteps, 0, numEnvs))).toEqual([1, 1, 1, 1]);
    env.destroy();
  });

  it('sets terminated and truncated together when both happen on the last step', async () => {
    const gpu = await testGpu();
    const maxEpisodeSteps = 5;
    // Pushed right from x = 2.28 at 1 m/s, the cart crosses 2.4 on step 5 (checked on the reference below).
    const start = Float32Array.of(2.28, 1, 0, 0, 0, 0, 0, 0);
    const env = await CartPoleVec.create(gpu, { numEnvs: 2, seed: 8, maxEpisodeSteps });
    const ref = new CartPoleRef(2, 8, { ...CARTPOLE_V1, maxEpisodeSteps });
    env.setState(start);
    ref.setState(start);
    for (let step = 1; step <= maxEpisodeSteps; step++) {
      const got = await env.step(Int32Array.of(1, step % 2));
      const want = ref.step([1, step % 2]);
      const last = step === maxEpisodeSteps;
      expect(Array.from(want.terminated), `reference step ${step}`).toEqual([last ? 1 : 0, 0]);
      expect(Array.from(got.terminated), `step ${step} terminated`).toEqual([last ? 1 : 0, 0]);
      expect(Array.from(got.truncated), `step ${step} truncated`).toEqual(last ? [1, 1] : [0, 0]);
      expect(Array.from(got.reward)).toEqual([1, 1]);
      expectClose(got.finalObs, want.finalObs, 1e-5, 1e-5, `step ${step} finalObs`);
    }
    expect(Array.from(await readUint32(gpu, env.buffers.episodeCount, 0, 2))).toEqual([1, 1]);
    env.destroy();
  });

  it('auto-resets ended envs in the same step: obs is the next episode start, finalObs the end', async () => {
    const gpu = await testGpu();
    const numEnvs = 16;
    const seed = 77;
    const env = await CartPoleVec.create(gpu, { numEnvs, seed });
    // Even envs run off the right edge in one step (x 2.39 + 0.02 × 5 = 2.49); odd envs stay in.
    const falling = Float32Array.from({ length: 4 * numEnvs }, (_, k) =>
      Math.floor(k / 4) % 2 === 0 ? [2.39, 5, 0, 0][k % 4] : [0, 0, 0.01, 0][k % 4],
    );
    for (let episode = 1; episode <= 2; episode++) {
      env.setState(falling);
      const actions = Int32Array.from({ length: numEnvs }, (_, i) => i % 2);
      const result = await env.step(actions);
      for (let i = 0; i < numEnvs; i++) {
        const { next, terminated } = cartpoleStep64(row(falling, i), actions[i]);
        expect(terminated).toBe(i % 2 === 0);
        expect(result.terminated[i], `env ${i}`).toBe(i % 2 === 0 ? 1 : 0);
        expect(result.reward[i]).toBe(1);
        expectClose(row(result.finalObs, i), next, 1e-5, 1e-5, `env ${i} finalObs`);
        const expectedObs = i % 2 === 0 ? resetState32(seed, i, episode) : row(result.finalObs, i);
        expect(row(result.obs, i), `env ${i} obs`).toEqual(expectedObs);
        if (i % 2 === 0) expectClose(row(result.obs, i), cartpoleResetState64(seed, i, episode), 0, 1e-8, `env ${i} reset`);
      }
      const episodes = await readUint32(gpu, env.buffers.episodeCount, 0, numEnvs);
      expect(Array.from(episodes)).toEqual(Array.from({ length: numEnvs }, (_, i) => (i % 2 === 0 ? episode : 0)));
      expect(Array.from(await env.observations())).toEqual(Array.from(result.obs));
    }
    env.destroy();
  });

  it('rejects bad options and inputs with a one-line message naming field, value and range', async () => {
    const gpu = await testGpu();
    const max = CartPoleVec.maxEnvs(gpu);
    const oneLine = /^[^\n]+$/;
    const rejects = async (p: Promise<unknown>, message: RegExp) => {
      const error = await p.then(
        () => null,
        (e: Error) => e,
      );
      expect(error?.message).toMatch(message);
      expect(error?.message).toMatch(oneLine);
    };
    await rejects(CartPoleVec.create(gpu, { numEnvs: 0, seed: 1 }), new RegExp(`numEnvs = 0 is out of range \\(an integer in 1\\.\\.${max}\\)`));
    await rejects(CartPoleVec.create(gpu, { numEnvs: 2.5, seed: 1 }), /numEnvs = 2.5 is out of range/);
    await rejects(CartPoleVec.create(gpu, { numEnvs: max + 1, seed: 1 }), new RegExp(`numEnvs = ${max + 1} is out of range`));
    await rejects(CartPoleVec.create(gpu, { numEnvs: 4, seed: -1 }), /seed = -1 is out of range \(an integer in 0\.\.4294967295\)/);
    await rejects(CartPoleVec.create(gpu, { numEnvs: 4, seed: 2 ** 32 }), /seed = 4294967296 is out of range/);
    await rejects(CartPoleVec.create(gpu, { numEnvs: 4, seed: 1, maxEpisodeSteps: 0 }), /maxEpisodeSteps = 0 is out of range/);

    const env = await CartPoleVec.create(gpu, { numEnvs: 4, seed: 1 });
    await rejects(env.step(Int32Array.of(0, 1, 0)), /actions\.length = 3, expected numEnvs = 4/);
    await rejects(env.step(Int32Array.of(0, 1, 2, 0)), /actions\[2\] = 2 is out of range \(an integer in 0\.\.1\)/);
    await rejects(env.step(Int32Array.of(-1, 1, 1, 0)), /actions\[0\] = -1 is out of range/);
    expect(() => env.setState(new Float32Array(15))).toThrow(/states\.length = 15, expected numEnvs × 4 = 16/);
    expect(() => env.setState(new Float32Array(16).fill(Number.NaN))).toThrow(/states\[0\] = NaN is not a finite number/);
    // Nothing reached the GPU: the envs are still at their first reset.
    const obs = await env.observations();
    for (let i = 0; i < 4; i++) expect(row(obs, i)).toEqual(resetState32(1, i, 0));
    await gpu.sync();
    env.destroy();
  });
});
