import { describe, it, expect } from 'vitest';
import gymnasium from './fixtures/continuous_gymnasium.json';
import { VecEnv } from '../src/envs/vecEnv';
import { ENV_IDS, envDefinition } from '../src/envs/registry';
import { MOUNTAIN_CAR_CONTINUOUS } from '../src/envs/mountainCarContinuous';
import { PENDULUM } from '../src/envs/pendulum';
import { Rollout } from '../src/kernels/rollout';
import { Mlp, MlpKernels } from '../src/kernels/mlp';
import { MlpLayout } from '../src/nn/mlp';
import { readFloat32, readUint32 } from '../src/gpu/buffers';
import {
  MOUNTAIN_CAR_CONTINUOUS_V0,
  mountainCarContinuousResetState64,
  mountainCarContinuousStep64,
} from '../src/reference/mountainCarContinuous';
import { PENDULUM_V1, normaliseAngle64, pendulumObs64, pendulumResetState64, pendulumStep64 } from '../src/reference/pendulum';
import { testGpu, seededRandom, expectClose } from './helpers';

/** One env in float64: what the tests replay beside the GPU. */
interface Model64 {
  stateDim: number;
  obsDim: number;
  reset(seed: number, env: number, episode: number): number[];
  step(state: ArrayLike<number>, action: ArrayLike<number>): { next: number[]; terminated: boolean; reward: number };
  obs(state: ArrayLike<number>): number[];
}

const MOUNTAIN_CAR_CONTINUOUS_64: Model64 = {
  stateDim: 2,
  obsDim: 2,
  reset: (seed, env, episode) => mountainCarContinuousResetState64(seed, env, episode),
  step: mountainCarContinuousStep64,
  obs: (s) => [s[0], s[1]],
};

const PENDULUM_64: Model64 = {
  stateDim: 2,
  obsDim: 3,
  reset: (seed, env, episode) => pendulumResetState64(seed, env, episode),
  step: pendulumStep64,
  obs: pendulumObs64,
};

/** N envs of a float64 model with the time limit and same-step auto-reset of auto_reset.wgsl. */
class Reference64 {
  readonly state: number[][];
  readonly elapsed: number[];
  readonly episode: number[];

  constructor(
    readonly model: Model64,
    readonly numEnvs: number,
    readonly seed: number,
    readonly maxEpisodeSteps: number,
  ) {
    this.state = Array.from({ length: numEnvs }, (_, env) => model.reset(seed, env, 0));
    this.elapsed = new Array<number>(numEnvs).fill(0);
    this.episode = new Array<number>(numEnvs).fill(0);
  }

  setState(states: ArrayLike<number>): void {
    const S = this.model.stateDim;
    for (let env = 0; env < this.numEnvs; env++) this.state[env] = Array.from({ length: S }, (_, k) => states[S * env + k]);
    this.elapsed.fill(0);
  }

  /** One step of env `env` under `action`: its reward, flags, final and next observations. */
  step(env: number, action: ArrayLike<number>) {
    const { next, terminated, reward } = this.model.step(this.state[env], action);
    const truncated = ++this.elapsed[env] >= this.maxEpisodeSteps;
    if (terminated || truncated) {
      this.episode[env]++;
      this.elapsed[env] = 0;
      this.state[env] = this.model.reset(this.seed, env, this.episode[env]);
    } else {
      this.state[env] = next;
    }
    return { reward, terminated, truncated, finalObs: this.model.obs(next), obs: this.model.obs(this.state[env]) };
  }
}

const row = (a: ArrayLike<number>, env: number, width: number) => Array.from({ length: width }, (_, k) => a[width * env + k]);
const f32 = Math.fround;

describe('float64 references vs Gymnasium trajectories (test/fixtures/continuous_gymnasium.py)', () => {
  it('MountainCarContinuous-v0: each step from the recorded state (float32 state: atol 3e-7; rewards rtol 1e-12)', () => {
    expect(gymnasium.mountainCarContinuous.length).toBeGreaterThan(10);
    let goals = 0;
    let wallStops = 0;
    for (const [i, t] of gymnasium.mountainCarContinuous.entries()) {
      let state = t.start;
      t.actions.forEach((action, step) => {
        const { next, terminated, reward } = mountainCarContinuousStep64(state, [action]);
        // Gymnasium under NumPy 2 rounds to float32 along the way; the reference only at the end of the step.
        expectClose(next, t.states[step], 0, 3e-7, `trajectory ${i} step ${step}`);
        expect(terminated, `trajectory ${i} step ${step} terminated`).toBe(t.terminated[step]);
        expectClose([reward], [t.rewards[step]], 1e-12, 1e-12, `trajectory ${i} step ${step} reward`);
        goals += Number(terminated);
        wallStops += Number(next[0] === f32(MOUNTAIN_CAR_CONTINUOUS_V0.minPosition) && next[1] === 0);
        state = t.states[step];
      });
    }
    expect(goals, 'trajectories that reach the goal').toBeGreaterThan(0);
    expect(wallStops, 'steps stopped by the left wall').toBeGreaterThan(0);
    expect(gymnasium.mountainCarContinuous.some((t) => t.actions.some((a) => Math.abs(a) > 1)), 'out-of-range actions').toBe(true);
  });

  it('Pendulum-v1: whole trajectories (state rtol 1e-12, atol 1e-11; float32 observations rtol 1e-7; rewards atol 1e-9)', () => {
    expect(gymnasium.pendulum.length).toBeGreaterThan(10);
    let clipped = 0;
    for (const [i, t] of gymnasium.pendulum.entries()) {
      let state = t.start;
      t.actions.forEach((action, step) => {
        const { next, terminated, reward } = pendulumStep64(state, [action]);
        expectClose(next, t.states[step], 1e-12, 1e-11, `trajectory ${i} step ${step}`);
        expectClose(pendulumObs64(next), t.observations[step], 1e-7, 1e-12, `trajectory ${i} step ${step} obs (float32)`);
        // NumPy 2 rounds 0.001·u² to float32 (≤ 0.004: 2.4e-10).
        expectClose([reward], [t.rewards[step]], 1e-12, 1e-9, `trajectory ${i} step ${step} reward`);
        expect(terminated).toBe(false);
        clipped += Number(Math.abs(next[1]) === PENDULUM_V1.maxSpeed);
        state = next;
      });
    }
    expect(clipped, 'steps at the speed clip').toBeGreaterThan(0);
    expect(gymnasium.pendulum.some((t) => Math.abs(t.start[0]) > 3 * Math.PI), 'angles several turns out').toBe(true);
  });

  it('normalises angles into [−π, π) with a floored mod', () => {
    expect(normaliseAngle64(0)).toBe(0);
    expect(normaliseAngle64(Math.PI)).toBeCloseTo(-Math.PI, 12);
    expect(normaliseAngle64(-Math.PI)).toBeCloseTo(-Math.PI, 12);
    expect(normaliseAngle64(3 * Math.PI + 0.5)).toBeCloseTo(-Math.PI + 0.5, 12);
    expect(normaliseAngle64(-7.5)).toBeCloseTo(-7.5 + 2 * Math.PI, 12);
  });
});

describe('continuous env definitions (no GPU)', () => {
  it('registers MountainCarContinuous-v0 and Pendulum-v1 with box actions', () => {
    expect(ENV_IDS).toEqual(expect.arrayContaining(['MountainCarContinuous-v0', 'Pendulum-v1']));
    expect(envDefinition('MountainCarContinuous-v0')).toBe(MOUNTAIN_CAR_CONTINUOUS);
    expect(envDefinition('Pendulum-v1')).toBe(PENDULUM);
    expect(MOUNTAIN_CAR_CONTINUOUS.spec).toEqual({
      id: 'MountainCarContinuous-v0',
      obsDim: 2,
      stateDim: 2,
      action: { kind: 'box', dim: 1, low: [-1], high: [1] },
      maxEpisodeSteps: 999,
    });
    expect(PENDULUM.spec).toEqual({ id: 'Pendulum-v1', obsDim: 3, stateDim: 2, action: { kind: 'box', dim: 1, low: [-2], high: [2] }, maxEpisodeSteps: 200 });
  });
});

describe('continuous envs on the GPU vs float64', () => {
  it('start every env at its episode-0 reset state (MountainCarContinuous position atol 1e-7; Pendulum obs atol 3e-7)', async () => {
    const gpu = await testGpu();
    const numEnvs = 500;
    const seed = 2024;
    const car = await VecEnv.create(gpu, { id: 'MountainCarContinuous-v0', numEnvs, seed });
    const pendulum = await VecEnv.create(gpu, { id: 'Pendulum-v1', numEnvs, seed });
    const carObs = await car.observations();
    const pendulumObs = await pendulum.observations();
    for (let env = 0; env < numEnvs; env++) {
      const carStart = mountainCarContinuousResetState64(seed, env, 0);
      expectClose(row(carObs, env, 2), carStart, 0, 1e-7, `car env ${env}`);
      expect(carObs[2 * env]).toBeGreaterThanOrEqual(f32(-0.6));
      expect(carObs[2 * env]).toBeLessThanOrEqual(f32(-0.4));
      expect(carObs[2 * env + 1]).toBe(0);
      const pendulumStart = pendulumResetState64(seed, env, 0);
      expectClose(row(pendulumObs, env, 3), pendulumObs64(pendulumStart), 0, 3e-7, `pendulum env ${env}`);
      expect(Math.abs(pendulumObs[3 * env + 2])).toBeLessThanOrEqual(1);
    }
    car.destroy();
    pendulum.destroy();
  });

  it('MountainCarContinuous-v0 single steps: ordinary, left wall, speed clip, goal and out-of-range actions (atol 3e-7; rewards rtol 1e-6)', async () => {
    const gpu = await testGpu();
    const numEnvs = 1024;
    const seed = 5;
    const p = MOUNTAIN_CAR_CONTINUOUS_V0;
    const env = await VecEnv.create(gpu, { id: 'MountainCarContinuous-v0', numEnvs, seed });
    const rand = seededRandom(21);
    const between = (lo: number, hi: number) => lo + (hi - lo) * rand();
    const states = new Float32Array(2 * numEnvs);
    const actions = new Float32Array(numEnvs);
    for (let i = 0; i < numEnvs; i++) {
      let s: number[];
      switch (i % 5) {
        case 0: // ordinary states
          s = [between(-1.2, 0.45), between(-0.07, 0.07)];
          break;
        case 1: // against the left wall, moving left
          s = [between(-1.2, -1.17), between(-0.07, -0.03)];
          break;
        case 2: // at the speed limit
          s = [between(-0.9, 0.2), (rand() < 0.5 ? -1 : 1) * between(0.068, 0.07)];
          break;
        case 3: // landing within 2e-3 of the goal
          s = [p.goalPosition - between(0.01, 0.05) + between(-2e-3, 2e-3), 0];
          s[1] = p.goalPosition - s[0] + between(-2e-3, 2e-3);
          break;
        default: // ordinary states under actions far outside [−1, 1]
          s = [between(-1.2, 0.45), between(-0.07, 0.07)];
      }
      states.set(s, 2 * i);
      actions[i] = i % 5 === 4 ? between(-20, 20) : between(-1.5, 1.5);
    }
    env.setState(states);
    const result = await env.step(actions);
    let ambiguous = 0;
    let goals = 0;
    for (let i = 0; i < numEnvs; i++) {
      const { next, terminated, reward } = mountainCarContinuousStep64(row(states, i, 2), [actions[i]]);
      const gpuNext = row(result.finalObs, i, 2);
      expectClose(gpuNext, next, 0, 3e-7, `env ${i} finalObs`);
      if (next[0] === f32(p.minPosition) && next[1] === 0) expect(gpuNext, `env ${i} stopped by the wall`).toEqual([f32(p.minPosition), 0]);
      if (result.terminated[i] !== Number(terminated)) {
        expect(Math.abs(next[0] - p.goalPosition), `env ${i} terminated differs away from the goal`).toBeLessThan(3e-7);
        ambiguous++;
        continue;
      }
      goals += result.terminated[i];
      expectClose([result.reward[i]], [reward], 1e-6, 1e-6, `env ${i} reward`);
      if (result.terminated[i]) expectClose(row(result.obs, i, 2), mountainCarContinuousResetState64(seed, i, 1), 0, 1e-7, `env ${i} reset`);
      else expect(row(result.obs, i, 2), `env ${i} obs`).toEqual(gpuNext);
    }
    expect(ambiguous, 'envs within float32 rounding of the goal').toBeLessThanOrEqual(3);
    expect(goals, 'goal steps exercised').toBeGreaterThan(numEnvs / 20);
    const speedClipped = Array.from({ length: numEnvs }, (_, i) => Math.abs(result.finalObs[2 * i + 1])).filter((v) => v === f32(p.maxSpeed)).length;
    expect(speedClipped, 'steps at the speed clip').toBeGreaterThan(numEnvs / 40);
    const wallStops = Array.from({ length: numEnvs }, (_, i) => row(result.finalObs, i, 2)).filter(([x, v]) => x === f32(p.minPosition) && v === 0).length;
    expect(wallStops, 'steps stopped by the left wall').toBeGreaterThan(numEnvs / 40);
    expect(Array.from(result.truncated).every((t) => t === 0)).toBe(true);
    env.destroy();
  });

  it('Pendulum-v1 single steps: angles many turns out, speed clip, out-of-range torques (state rtol 2e-7, atol 2e-7; obs atol 4e-6; rewards atol 3e-5, rtol 1e-6)', async () => {
    const gpu = await testGpu();
    const numEnvs = 1024;
    const p = PENDULUM_V1;
    const env = await VecEnv.create(gpu, { id: 'Pendulum-v1', numEnvs, seed: 6 });
    const rand = seededRandom(22);
    const between = (lo: number, hi: number) => lo + (hi - lo) * rand();
    const states = new Float32Array(2 * numEnvs);
    const actions = new Float32Array(numEnvs);
    for (let i = 0; i < numEnvs; i++) {
      let s: number[];
      switch (i % 4) {
        case 0: // the reset range
          s = [between(-Math.PI, Math.PI), between(-1, 1)];
          break;
        case 1: // angles up to ~3 turns out, on either side of an odd multiple of π (the normalisation's cut)
          s = [(2 * Math.floor(between(-3, 3)) + 1) * Math.PI + between(-1e-3, 1e-3), between(-8, 8)];
          break;
        case 2: // driven into the speed clip: θ̇ near ±8 with torque and gravity pushing on
          s = [between(0.5, 2.5) * (i % 8 < 4 ? 1 : -1), (i % 8 < 4 ? 1 : -1) * between(7.5, 8)];
          break;
        default: // anywhere within ±20 rad
          s = [between(-20, 20), between(-8, 8)];
      }
      states.set(s, 2 * i);
      actions[i] = i % 4 === 2 ? (i % 8 < 4 ? 1 : -1) * between(1, 10) : between(-6, 6);
    }
    env.setState(states);
    const result = await env.step(actions);
    let speedClips = 0;
    for (let i = 0; i < numEnvs; i++) {
      const { next, reward } = pendulumStep64(row(states, i, 2), [actions[i]]);
      const gpuObs = row(result.finalObs, i, 3);
      expectClose([gpuObs[2]], [next[1]], 2e-7, 2e-7, `env ${i} θ̇`);
      expectClose(gpuObs, pendulumObs64(next), 0, 4e-6, `env ${i} finalObs`);
      expectClose(row(result.obs, i, 3), gpuObs, 0, 0, `env ${i} obs (no reset)`);
      if (Math.abs(next[1]) === p.maxSpeed) {
        expect(Math.abs(gpuObs[2]), `env ${i} at the speed clip`).toBe(p.maxSpeed);
        speedClips++;
      }
      expectClose([result.reward[i]], [reward], 1e-6, 3e-5, `env ${i} reward`);
    }
    expect(speedClips, 'steps at the speed clip').toBeGreaterThan(numEnvs / 16);
    const state = await readFloat32(gpu, env.buffers.state, 0, 2 * numEnvs);
    for (let i = 0; i < numEnvs; i++) {
      expectClose([state[2 * i]], [pendulumStep64(row(states, i, 2), [actions[i]]).next[0]], 2e-7, 2e-7, `env ${i} θ (never wrapped)`);
    }
    expect(Array.from(result.terminated).every((t) => t === 0)).toBe(true);
    env.destroy();
  });

  it('trajectories with auto-resets match the float64 reference (a 15-step time limit; MountainCarContinuous pumping to the goal): atol 1e-5', async () => {
    const gpu = await testGpu();
    const numEnvs = 64;
    const seed = 13;
    for (const [id, model] of [
      ['MountainCarContinuous-v0', MOUNTAIN_CAR_CONTINUOUS_64],
      ['Pendulum-v1', PENDULUM_64],
    ] as const) {
      const maxEpisodeSteps = id === 'Pendulum-v1' ? 15 : 999;
      const env = await VecEnv.create(gpu, { id, numEnvs, seed, maxEpisodeSteps });
      const ref = new Reference64(model, numEnvs, seed, maxEpisodeSteps);
      const rand = seededRandom(8);
      let obs = await env.observations();
      let ended = 0;
      const diverged = new Set<number>();
      for (let t = 0; t < 160; t++) {
        // The car: full force along its velocity (pumping energy), some out of range; the pendulum: random torques.
        const actions = Float32Array.from({ length: numEnvs }, (_, i) =>
          id === 'Pendulum-v1' ? 6 * (2 * rand() - 1) : (obs[2 * i + 1] >= 0 ? 1 : -1) * (i % 2 ? 1 : 2.5),
        );
        const got = await env.step(actions);
        for (let i = 0; i < numEnvs; i++) {
          if (diverged.has(i)) continue;
          const want = ref.step(i, [actions[i]]);
          expectClose(row(got.finalObs, i, model.obsDim), want.finalObs, 0, 1e-5, `${id} step ${t} env ${i} finalObs`);
          if (got.terminated[i] !== Number(want.terminated)) {
            expect(Math.abs(want.finalObs[0] - MOUNTAIN_CAR_CONTINUOUS_V0.goalPosition), `${id} step ${t} env ${i} terminated differs`).toBeLessThan(1e-5);
            diverged.add(i);
            continue;
          }
          expect(got.truncated[i], `${id} step ${t} env ${i} truncated`).toBe(Number(want.truncated));
          expectClose([got.reward[i]], [want.reward], 1e-6, 1e-5, `${id} step ${t} env ${i} reward`);
          expectClose(row(got.obs, i, model.obsDim), want.obs, 0, 1e-5, `${id} step ${t} env ${i} obs`);
          ended += Number(want.terminated || want.truncated);
        }
        obs = got.obs;
      }
      expect(diverged.size).toBeLessThanOrEqual(1);
      expect(ended, `${id}: episodes ended and reset`).toBeGreaterThan(id === 'Pendulum-v1' ? 5 * numEnvs : numEnvs / 2);
      const episodes = await readUint32(gpu, env.buffers.episodeCount, 0, numEnvs);
      for (let i = 0; i < numEnvs; i++) if (!diverged.has(i)) expect(episodes[i], `${id} env ${i} episodes`).toBe(ref.episode[i]);
      env.destroy();
    }
  });

  it("truncates at Gymnasium's time limits: Pendulum-v1 after 200 steps, MountainCarContinuous-v0 after 999 without force", async () => {
    const gpu = await testGpu();
    const numEnvs = 4;
    const seed = 3;
    for (const [id, limit] of [
      ['Pendulum-v1', 200],
      ['MountainCarContinuous-v0', 999],
    ] as const) {
      const env = await VecEnv.create(gpu, { id, numEnvs, seed });
      expect(env.spec.maxEpisodeSteps).toBe(limit);
      const idle = new Float32Array(numEnvs);
      for (let step = 1; step <= limit; step++) {
        const r = await env.step(idle);
        expect(Array.from(r.terminated), `${id} step ${step} terminated`).toEqual([0, 0, 0, 0]);
        expect(Array.from(r.truncated), `${id} step ${step} truncated`).toEqual(step === limit ? [1, 1, 1, 1] : [0, 0, 0, 0]);
        if (step === limit) {
          const starts = Array.from({ length: numEnvs }, (_, i) => (id === 'Pendulum-v1' ? pendulumObs64(pendulumResetState64(seed, i, 1)) : mountainCarContinuousResetState64(seed, i, 1)));
          expectClose(r.obs, starts.flat(), 0, 3e-7, `${id} episode-1 starts`);
        }
      }
      expect(Array.from(await readUint32(gpu, env.buffers.episodeCount, 0, numEnvs))).toEqual([1, 1, 1, 1]);
      env.destroy();
    }
  });

  it('rejects bad box actions with one line naming the field, value and range; the rollout refuses a policy without a Gaussian head', async () => {
    const gpu = await testGpu();
    const env = await VecEnv.create(gpu, { id: 'Pendulum-v1', numEnvs: 3, seed: 1 });
    await expect(env.step(Float32Array.of(0, 1))).rejects.toThrow(/^VecEnv\.step: actions\.length = 2, expected numEnvs × 1 = 3$/);
    await expect(env.step(Float32Array.of(0, Number.NaN, 1))).rejects.toThrow(/^VecEnv\.step: actions\[1\] = NaN is not a finite number$/);
    await expect(env.step(Float32Array.of(0, Number.POSITIVE_INFINITY, 1))).rejects.toThrow(/actions\[1\] = Infinity is not a finite number/);
    const policy = Mlp.create(gpu, await MlpKernels.create(gpu), new MlpLayout([3, 8, 1], ['tanh', 'identity']), 'test.policy');
    await expect(Rollout.create(gpu, policy, { env: PENDULUM, numEnvs: 2, numSteps: 3, seed: 1 })).rejects.toThrow(
      /^rollout: Pendulum-v1 needs a policy from 3 observations to 2 distribution parameters \(head gaussian\), got 3 → 1 \(head none\)$/,
    );
    policy.destroy();
    env.destroy();
  });
});
