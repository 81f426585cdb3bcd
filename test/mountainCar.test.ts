import { describe, it, expect } from 'vitest';
import { VecEnv } from '../src/envs/vecEnv';
import { MOUNTAIN_CAR } from '../src/envs/mountainCar';
import { solvedReturn } from '../src/core/envSpecs';
import { MOUNTAIN_CAR_V0, MOUNTAIN_CAR_MODEL, mountainCarResetState64, mountainCarStep64 } from '../src/reference/mountainCar';
import { VecEnvRef } from '../src/reference/vecEnvRef';
import { readFloat32, readUint32 } from '../src/gpu/buffers';
import { testGpu, seededRandom, expectClose } from './helpers';

// Gymnasium itself cannot be installed here (no PyPI access), so there is no
// Gymnasium-trajectory fixture as for CartPole (test/fixtures/cartpole_gymnasium.py):
// the reference is checked against Gymnasium's stated rules, the GPU against the reference.

const P = MOUNTAIN_CAR_V0;
const rows = (a: ArrayLike<number>, i: number) => [a[2 * i], a[2 * i + 1]];

/** Where float32 and float64 may decide the goal differently: the reached position or velocity within `gap` of its threshold. */
const nearGoal = (s: ArrayLike<number>, gap: number) => Math.abs(s[0] - P.goalPosition) <= gap || Math.abs(s[1] - P.goalVelocity) <= gap;

describe('MountainCar-v0 float64 reference', () => {
  it("has Gymnasium's spec and solved threshold", () => {
    expect(MOUNTAIN_CAR.spec).toEqual({ id: 'MountainCar-v0', obsDim: 2, stateDim: 2, action: { kind: 'discrete', n: 3 }, maxEpisodeSteps: 200 });
    expect(solvedReturn('MountainCar-v0')).toBe(-110);
  });

  it('velocity first, then position; both clipped; the left wall stops a car moving left', () => {
    // Pushing right from the valley floor (cos(3 x) = 0 at x = -pi/6): the push alone.
    const floor = mountainCarStep64([-Math.PI / 6, 0.01], 2);
    expect(floor.next[1]).toBeCloseTo(0.011, 15);
    expect(floor.next[0]).toBeCloseTo(-Math.PI / 6 + 0.011, 15);
    expect(mountainCarStep64([-0.5, 0.0699], 2).next[1]).toBe(P.maxSpeed);
    expect(mountainCarStep64([-0.5, -0.0699], 0).next[1]).toBe(-P.maxSpeed);
    // Into the wall: position clipped to -1.2, velocity zeroed.
    expect(mountainCarStep64([-1.19, -0.05], 0).next).toEqual([P.minPosition, 0]);
    // At the wall with a push right strong enough: it leaves.
    const leaving = mountainCarStep64([P.minPosition, 0.02], 2).next;
    expect(leaving[0]).toBeGreaterThan(P.minPosition);
    expect(leaving[1]).toBeGreaterThan(0);
  });

  it('the goal needs position ≥ 0.5 and velocity ≥ 0; reward -1 on every step, the last too', () => {
    expect(mountainCarStep64([0.45, 0.06], 2)).toMatchObject({ terminated: true, reward: -1 });
    expect(mountainCarStep64([0.55, -0.001], 0)).toMatchObject({ terminated: false, reward: -1 });
    expect(mountainCarStep64([0.3, 0.01], 1)).toMatchObject({ terminated: false, reward: -1 });
    // The right end is clipped at 0.6 (beyond the goal).
    expect(mountainCarStep64([0.59, 0.07], 2).next[0]).toBe(P.maxPosition);
  });

  it('resets position uniform in [-0.6, -0.4) with velocity 0', () => {
    const starts = Array.from({ length: 1000 }, (_, env) => mountainCarResetState64(9, env, 0));
    const positions = starts.map((s) => s[0]);
    expect(starts.every((s) => s[1] === 0)).toBe(true);
    expect(Math.min(...positions)).toBeGreaterThanOrEqual(-0.6);
    expect(Math.max(...positions)).toBeLessThan(-0.4);
    expect(Math.max(...positions) - Math.min(...positions)).toBeGreaterThan(0.19);
  });
});

describe('MountainCar-v0 on the GPU', () => {
  it('starts every env at its episode-0 reset state (atol 6e-8: one float32 rounding of the position)', async () => {
    const gpu = await testGpu();
    const numEnvs = 500;
    const env = await VecEnv.create(gpu, { id: 'MountainCar-v0', numEnvs, seed: 9 });
    const obs = await env.observations();
    for (let i = 0; i < numEnvs; i++) {
      const [position, velocity] = rows(obs, i);
      expect(velocity).toBe(0);
      expect(position).toBeGreaterThanOrEqual(-0.6);
      expect(position).toBeLessThanOrEqual(-0.4);
      expectClose([position], [mountainCarResetState64(9, i, 0)[0]], 0, 6e-8, `env ${i} position`);
    }
    env.destroy();
  });

  it('single steps match the float64 reference (atol 2e-7): wall, goal and speed limits included', async () => {
    const gpu = await testGpu();
    const numEnvs = 2048;
    const seed = 2;
    const env = await VecEnv.create(gpu, { id: 'MountainCar-v0', numEnvs, seed });
    const rand = seededRandom(13);
    const between = (lo: number, hi: number) => lo + (hi - lo) * rand();
    const states = new Float32Array(2 * numEnvs);
    const actions = Int32Array.from({ length: numEnvs }, () => Math.floor(3 * rand()));
    for (let i = 0; i < numEnvs; i++) {
      const s = [
        [between(P.minPosition, P.maxPosition), between(-P.maxSpeed, P.maxSpeed)], // anywhere
        [between(P.minPosition, -1.1), between(-P.maxSpeed, 0)], // heading into the wall
        [between(0.4, P.maxPosition), between(-0.01, P.maxSpeed)], // about to reach the goal, or not
        [between(-0.8, 0), (rand() < 0.5 ? -1 : 1) * between(0.068, P.maxSpeed)], // at the speed limit
      ][i % 4];
      states.set(s, 2 * i);
    }
    env.setState(states);
    const result = await env.step(actions);
    let ambiguous = 0;
    let walled = 0;
    let goals = 0;
    let limited = 0;
    for (let i = 0; i < numEnvs; i++) {
      const { next, terminated } = mountainCarStep64(rows(states, i), actions[i]);
      const reached = rows(result.finalObs, i);
      // Positions up to 1.2 carry 1.2e-7 per float32 rounding; the step rounds a few times.
      expectClose(reached, next, 0, 2e-7, `env ${i} finalObs`);
      if (next[0] === P.minPosition) {
        expect(reached, `env ${i} at the wall`).toEqual([Math.fround(P.minPosition), next[1]]);
        walled += next[1] === 0 ? 1 : 0;
      }
      if (Math.abs(next[1]) === P.maxSpeed) {
        expect(Math.abs(reached[1]), `env ${i} at the speed limit`).toBe(Math.fround(P.maxSpeed));
        limited++;
      }
      if (result.terminated[i] !== Number(terminated)) {
        expect(nearGoal(next, 2e-7), `env ${i} terminated differs away from the goal`).toBe(true);
        ambiguous++;
      }
      goals += result.terminated[i];
      expect(result.reward[i]).toBe(-1);
      if (result.terminated[i]) expectClose(rows(result.obs, i), mountainCarResetState64(seed, i, 1), 0, 6e-8, `env ${i} next episode's start`);
      else expect(rows(result.obs, i)).toEqual(reached);
    }
    expect(ambiguous).toBeLessThanOrEqual(2);
    expect(walled, 'cars stopped by the wall').toBeGreaterThan(numEnvs / 16);
    expect(limited, 'speeds clipped').toBeGreaterThan(numEnvs / 32);
    expect(goals, 'goals reached').toBeGreaterThan(numEnvs / 16);
    expect(Array.from(result.truncated).every((t) => t === 0)).toBe(true);
    env.destroy();
  });

  it('episodes with same-step auto-reset and truncation at 200 steps follow the float64 reference step by step', async () => {
    const gpu = await testGpu();
    const numEnvs = 64;
    const seed = 31;
    const env = await VecEnv.create(gpu, { id: 'MountainCar-v0', numEnvs, seed });
    const ref = new VecEnvRef(MOUNTAIN_CAR_MODEL, numEnvs, seed);
    const rand = seededRandom(6);
    let obs = await env.observations();
    let terminations = 0;
    let truncations = 0;
    const lengths = new Uint32Array(numEnvs);
    for (let t = 0; t < 420; t++) {
      // Replayed from the GPU's float32 state and counters each step, so neither rounding
      // nor a goal decided differently within rounding carries over.
      ref.state.set(await readFloat32(gpu, env.buffers.state));
      ref.elapsedSteps.set(await readUint32(gpu, env.buffers.elapsedSteps));
      ref.episodeCount.set(await readUint32(gpu, env.buffers.episodeCount));
      // Even envs push with their velocity (they swing up to the goal), odd ones act at random.
      const actions = Int32Array.from({ length: numEnvs }, (_, i) => (i % 2 === 0 ? (obs[2 * i + 1] >= 0 ? 2 : 0) : Math.floor(3 * rand())));
      const got = await env.step(actions);
      const want = ref.step(actions);
      for (let i = 0; i < numEnvs; i++) {
        lengths[i]++;
        expect(got.truncated[i], `step ${t} env ${i}: truncated exactly at 200 steps`).toBe(lengths[i] === 200 ? 1 : 0);
        if (got.terminated[i] || got.truncated[i]) lengths[i] = 0;
        if (got.terminated[i] !== want.terminated[i]) {
          expect(nearGoal(rows(want.finalObs, i), 2e-7), `step ${t} env ${i} terminated differs away from the goal`).toBe(true);
          continue;
        }
        expect(got.truncated[i]).toBe(want.truncated[i]);
        expect(got.reward[i]).toBe(-1);
        expectClose(rows(got.finalObs, i), rows(want.finalObs, i), 0, 2e-7, `step ${t} env ${i} finalObs`);
        expectClose(rows(got.obs, i), rows(want.obs, i), 0, 2e-7, `step ${t} env ${i} obs`);
      }
      terminations += got.terminated.reduce((a, b) => a + b, 0);
      truncations += got.truncated.reduce((a, b) => a + b, 0);
      obs = got.obs;
    }
    expect(terminations, 'episodes that reached the goal').toBeGreaterThan(numEnvs / 2);
    expect(truncations, 'episodes cut at 200 steps').toBeGreaterThan(numEnvs / 4);
    env.destroy();
  });
});
