import { describe, it, expect } from 'vitest';
import { VecEnv } from '../src/envs/vecEnv';
import { ACROBOT } from '../src/envs/acrobot';
import { solvedReturn } from '../src/core/envSpecs';
import {
  ACROBOT_V1,
  ACROBOT_MODEL,
  acrobotDerivative64,
  acrobotObs64,
  acrobotResetState64,
  acrobotStep64,
  wrapAngle64,
} from '../src/reference/acrobot';
import { VecEnvRef } from '../src/reference/vecEnvRef';
import { philox4x32, uniform01, STREAM_RESET } from '../src/core/random';
import { readFloat32, readUint32 } from '../src/gpu/buffers';
import { testGpu, seededRandom, expectClose } from './helpers';

// Gymnasium itself cannot be installed here (no PyPI access), so there is no
// Gymnasium-trajectory fixture as for CartPole (test/fixtures/cartpole_gymnasium.py):
// the reference is checked against physics (energy) and Gymnasium's stated rules instead.

const P = ACROBOT_V1;
const TURN = 2 * Math.PI;
type Vec4 = [number, number, number, number];

/** Total mechanical energy of the two links (kinetic from the mass matrix [[d1, d2], [d2, m2 lc2² + I]], potential from the joints' heights). */
function energy(s: Vec4): number {
  const [t1, t2, w1, w2] = s;
  const { linkMass1: m1, linkMass2: m2, linkLength1: l1, linkCom1: lc1, linkCom2: lc2, linkMoi: inertia, gravity: g } = P;
  const d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * Math.cos(t2)) + 2 * inertia;
  const d2 = m2 * (lc2 ** 2 + l1 * lc2 * Math.cos(t2)) + inertia;
  const d3 = m2 * lc2 ** 2 + inertia;
  const kinetic = 0.5 * (d1 * w1 * w1 + 2 * d2 * w1 * w2 + d3 * w2 * w2);
  const potential = -(m1 * lc1 + m2 * l1) * g * Math.cos(t1) - m2 * lc2 * g * Math.cos(t1 + t2);
  return kinetic + potential;
}

/** Fine RK4 of the derivative alone over `seconds` (no wrap, no clip), and the work the torque did (∫ a dθ2/dt). */
function integrate(start: Vec4, torque: number, seconds: number, h = 1e-3): { end: Vec4; work: number } {
  let y = start;
  let work = 0;
  const f = (s: Vec4): [...Vec4, number] => [...acrobotDerivative64(s, torque), torque * s[3]];
  for (let t = 0; t < Math.round(seconds / h); t++) {
    const at = (k: number[], c: number): Vec4 => [y[0] + c * k[0], y[1] + c * k[1], y[2] + c * k[2], y[3] + c * k[3]];
    const k1 = f(y);
    const k2 = f(at(k1, h / 2));
    const k3 = f(at(k2, h / 2));
    const k4 = f(at(k3, h));
    work += (h / 6) * (k1[4] + 2 * k2[4] + 2 * k3[4] + k4[4]);
    y = at([0, 1, 2, 3].map((i) => k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]), h / 6);
  }
  return { end: y, work };
}

/** The reset value exactly as the GPU rounds it: fround(fround(0.2) * (u - 0.5)), one rounding. */
function resetState32(seed: number, env: number, episode: number): number[] {
  const bits = philox4x32([env, episode, 0, 0], [seed, STREAM_RESET]);
  return Array.from(bits, (w) => Math.fround(Math.fround(0.2) * (uniform01(w) - 0.5)));
}

const rows = (a: ArrayLike<number>, width: number, i: number) => Array.from({ length: width }, (_, j) => a[width * i + j]);
/**
 * GPU (float32) against float64 after one RK4 step. cos and sin: atol 5e-5;
 * velocities: rtol 1e-3 + atol 1e-3. Measured worst over 8 192 random states
 * of the whole observation space: 7.7e-6 on cos/sin and the angles, 1.1e-3
 * absolute (3.8e-4 of |velocity| + 1) on the velocities: at up to 9 pi rad/s
 * each RK4 stage moves the angles ~1 rad and the derivative's sensitivity to
 * them (terms in dtheta^2, up to ~800 /s^2) amplifies their float32 rounding.
 */
function expectObsClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expectClose(Array.from(got).slice(0, 4), Array.from(want).slice(0, 4), 0, 5e-5, `${what} cos/sin`);
  expectClose(Array.from(got).slice(4), Array.from(want).slice(4), 1e-3, 1e-3, `${what} velocities`);
}

/** Distance of two angles on the circle. */
const angleGap = (a: number, b: number) => Math.abs(wrapAngle64(a - b));
/** The tip's height above the pivot in link lengths, minus the bar at 1: Gymnasium terminates where this is > 0. */
const tipMargin = (s: ArrayLike<number>) => -Math.cos(s[0]) - Math.cos(s[0] + s[1]) - 1;
/** The same from an observation (cos theta1, sin theta1, cos theta2, sin theta2, ...). */
const tipMarginOfObs = (o: ArrayLike<number>) => -o[0] - (o[0] * o[2] - o[1] * o[3]) - 1;

describe('Acrobot-v1 float64 reference', () => {
  it("has Gymnasium's spec and solved threshold", () => {
    expect(ACROBOT.spec).toEqual({ id: 'Acrobot-v1', obsDim: 6, stateDim: 4, action: { kind: 'discrete', n: 3 }, maxEpisodeSteps: 500 });
    expect(solvedReturn('Acrobot-v1')).toBe(-100);
  });

  it('book dynamics conserve energy without torque, and gain exactly the torque’s work with it (rel 1e-9)', () => {
    const rand = seededRandom(21);
    for (let trial = 0; trial < 6; trial++) {
      const start: Vec4 = [(2 * rand() - 1) * Math.PI, (2 * rand() - 1) * Math.PI, (2 * rand() - 1) * 3, (2 * rand() - 1) * 6];
      const torque = [-1, 0, 1][trial % 3];
      const { end, work } = integrate(start, torque, 1.0);
      const scale = Math.abs(energy(start)) + 10;
      expect(Math.abs(energy(end) - energy(start) - work) / scale, `trial ${trial}, torque ${torque}`).toBeLessThan(1e-9);
      if (torque !== 0) expect(Math.abs(work), 'the torque did work').toBeGreaterThan(1e-3);
    }
  });

  it('one step is one RK4 step of dt: close to a fine integration (abs 1e-2) and far from none', () => {
    const start: Vec4 = [0.3, -0.4, 1.0, -2.0];
    const fine = integrate(start, 1, P.dt).end;
    const { next } = acrobotStep64(start, 2);
    expectClose(next, fine, 0, 1e-2, 'RK4 step vs fine integration');
    expect(Math.abs(next[2] - start[2])).toBeGreaterThan(0.1);
  });

  it('wraps angles into [-pi, pi] by whole turns (pi itself stays) and clips velocities to ±4pi, ±9pi', () => {
    expect(wrapAngle64(Math.PI)).toBe(Math.PI);
    expect(wrapAngle64(-Math.PI)).toBe(-Math.PI);
    expect(wrapAngle64(Math.PI + 0.5)).toBeCloseTo(-Math.PI + 0.5, 14);
    expect(wrapAngle64(-5 * Math.PI - 0.25)).toBeCloseTo(Math.PI - 0.25, 13);
    // Against the same RK4 step written out here without wrap or clip: angles
    // come out wrapped by whole turns, velocities past a bound exactly at it.
    const rand = seededRandom(2);
    let wraps = 0;
    let clips = 0;
    for (let trial = 0; trial < 200; trial++) {
      const start: Vec4 = [(2 * rand() - 1) * Math.PI, (2 * rand() - 1) * Math.PI, (2 * rand() - 1) * P.maxVel1, (2 * rand() - 1) * P.maxVel2];
      const action = trial % 3;
      const f = (s: Vec4) => acrobotDerivative64(s, action - 1);
      const along = (k: Vec4, h: number): Vec4 => [start[0] + h * k[0], start[1] + h * k[1], start[2] + h * k[2], start[3] + h * k[3]];
      const k1 = f(start);
      const k2 = f(along(k1, P.dt / 2));
      const k3 = f(along(k2, P.dt / 2));
      const k4 = f(along(k3, P.dt));
      const raw = start.map((v, i) => v + (P.dt / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]));
      const { next } = acrobotStep64(start, action);
      for (const c of [0, 1]) {
        expect(Math.abs(next[c])).toBeLessThanOrEqual(Math.PI);
        const turns = (raw[c] - next[c]) / TURN;
        expect(Math.abs(turns - Math.round(turns)), `trial ${trial} angle ${c + 1}: whole turns`).toBeLessThan(1e-12);
        if (Math.round(turns) !== 0) wraps++;
      }
      for (const [c, bound] of [[2, P.maxVel1], [3, P.maxVel2]] as const) {
        expect(next[c]).toBe(Math.min(Math.max(raw[c], -bound), bound));
        if (Math.abs(raw[c]) > bound) clips++;
      }
    }
    expect(wraps).toBeGreaterThan(20);
    expect(clips).toBeGreaterThan(20);
  });

  it('reward -1 per step and 0 on the terminating one; resets uniform in [-0.1, 0.1)', () => {
    const up = acrobotStep64([Math.PI, 0, 0, 0], 1);
    expect(up).toMatchObject({ terminated: true, reward: 0 });
    const down = acrobotStep64([0, 0, 0, 0], 1);
    expect(down).toMatchObject({ terminated: false, reward: -1 });
    expect(down.next).toEqual([0, 0, 0, 0]);
    const values = Array.from({ length: 500 }, (_, env) => acrobotResetState64(3, env, 0)).flat();
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-0.1);
    expect(Math.max(...values)).toBeLessThan(0.1);
    expect(Math.max(...values) - Math.min(...values)).toBeGreaterThan(0.19);
  });
});

describe('Acrobot-v1 on the GPU', () => {
  it('starts every env at its episode-0 reset state (exact) with the observation of it (atol 1.2e-7)', async () => {
    const gpu = await testGpu();
    const numEnvs = 300;
    const env = await VecEnv.create(gpu, { id: 'Acrobot-v1', numEnvs, seed: 12345 });
    const states = await readFloat32(gpu, env.buffers.state);
    const obs = await env.observations();
    for (let i = 0; i < numEnvs; i++) {
      expect(rows(states, 4, i)).toEqual(resetState32(12345, i, 0));
      for (const v of rows(states, 4, i)) expect(Math.abs(v)).toBeLessThanOrEqual(0.1);
      expectClose(rows(obs, 6, i), acrobotObs64(rows(states, 4, i)), 0, 1.2e-7, `env ${i} obs`);
    }
    env.destroy();
  });

  it('single steps match the float64 reference: velocity bounds, angle wrap and termination included', async () => {
    const gpu = await testGpu();
    const numEnvs = 2048;
    const seed = 5;
    const env = await VecEnv.create(gpu, { id: 'Acrobot-v1', numEnvs, seed });
    const rand = seededRandom(8);
    const between = (lo: number, hi: number) => lo + (hi - lo) * rand();
    const sign = () => (rand() < 0.5 ? -1 : 1);
    const states = new Float32Array(4 * numEnvs);
    const actions = Int32Array.from({ length: numEnvs }, () => Math.floor(3 * rand()));
    for (let i = 0; i < numEnvs; i++) {
      let s: number[];
      switch (i % 4) {
        case 0: // anywhere in the observation space
          s = [between(-Math.PI, Math.PI), between(-Math.PI, Math.PI), between(-P.maxVel1, P.maxVel1), between(-P.maxVel2, P.maxVel2)];
          break;
        case 1: // at the velocity bounds
          s = [between(-Math.PI, Math.PI), between(-Math.PI, Math.PI), sign() * P.maxVel1 * between(0.95, 1), sign() * P.maxVel2 * between(0.95, 1)];
          break;
        case 2: {
          // just inside ±pi, turning outwards: the step crosses it and wraps
          const s1 = sign();
          const s2 = sign();
          s = [s1 * (Math.PI - between(0, 0.2)), s2 * (Math.PI - between(0, 0.2)), s1 * between(2, 6), s2 * between(2, 6)];
          break;
        }
        default: // the tip near the bar: termination either way
          s = [sign() * between(2.2, Math.PI), between(-0.8, 0.8), between(-1, 1), between(-2, 2)];
      }
      states.set(s, 4 * i);
    }
    env.setState(states);
    const result = await env.step(actions);
    const after = await readFloat32(gpu, env.buffers.state);
    let ambiguous = 0;
    let clipped = 0;
    let wrapped = 0;
    let ended = 0;
    for (let i = 0; i < numEnvs; i++) {
      const start = rows(states, 4, i);
      const { next, terminated, reward } = acrobotStep64(start, actions[i]);
      const finalObs = rows(result.finalObs, 6, i);
      expectObsClose(finalObs, acrobotObs64(next), `env ${i} finalObs`);
      for (const [c, bound] of [[2, P.maxVel1], [3, P.maxVel2]] as const) {
        if (Math.abs(next[c]) === bound) {
          expect(Math.abs(finalObs[4 + c - 2]), `env ${i} velocity ${c - 1} at its bound`).toBe(Math.fround(bound));
          clipped++;
        }
      }
      if (Math.abs(start[0]) > 2.9 && Math.sign(next[0]) !== Math.sign(start[0])) wrapped++;
      if (result.terminated[i] !== Number(terminated)) {
        // The tip lands within float32 rounding of the bar.
        expect(Math.abs(tipMargin(next)), `env ${i} terminated differs away from the bar`).toBeLessThan(1e-4);
        ambiguous++;
      }
      expect(result.reward[i], `env ${i} reward`).toBe(result.terminated[i] ? 0 : -1);
      if (result.terminated[i] === Number(terminated)) expect(result.reward[i]).toBe(reward);
      if (result.terminated[i]) {
        ended++;
        expect(rows(after, 4, i), `env ${i} reset`).toEqual(resetState32(seed, i, 1));
      } else {
        const reached = rows(after, 4, i);
        for (const c of [0, 1]) {
          expect(Math.abs(reached[c])).toBeLessThanOrEqual(Math.fround(Math.PI));
          expect(angleGap(reached[c], next[c]), `env ${i} angle ${c + 1}`).toBeLessThan(5e-5);
        }
      }
    }
    expect(ambiguous, 'envs within float32 rounding of the bar').toBeLessThanOrEqual(4);
    expect(clipped, 'velocities clipped').toBeGreaterThan(numEnvs / 8);
    expect(wrapped, 'angles wrapped').toBeGreaterThan(numEnvs / 16);
    expect(ended).toBeGreaterThan(numEnvs / 16);
    expect(Array.from(result.truncated).every((t) => t === 0)).toBe(true);
    env.destroy();
  });

  it('episodes with same-step auto-reset and truncation at 500 steps follow the float64 reference step by step', async () => {
    const gpu = await testGpu();
    const numEnvs = 64;
    const seed = 77;
    const env = await VecEnv.create(gpu, { id: 'Acrobot-v1', numEnvs, seed });
    const ref = new VecEnvRef(ACROBOT_MODEL, numEnvs, seed);
    const rand = seededRandom(4);
    let obs = await env.observations();
    let terminations = 0;
    let truncations = 0;
    const lengths = new Uint32Array(numEnvs);
    for (let t = 0; t < 520; t++) {
      // Replayed from the GPU's float32 state and counters each step, so neither
      // rounding nor a termination decided differently at the bar carries over.
      ref.state.set(await readFloat32(gpu, env.buffers.state));
      ref.elapsedSteps.set(await readUint32(gpu, env.buffers.elapsedSteps));
      ref.episodeCount.set(await readUint32(gpu, env.buffers.episodeCount));
      // Even envs push the joint the way it turns (the torque's power τ·dθ2/dt > 0 pumps energy in,
      // so they reach the bar), odd ones act at random.
      const actions = Int32Array.from({ length: numEnvs }, (_, i) => (i % 2 === 0 ? (obs[6 * i + 5] > 0 ? 2 : 0) : Math.floor(3 * rand())));
      const got = await env.step(actions);
      const want = ref.step(actions);
      for (let i = 0; i < numEnvs; i++) {
        lengths[i]++;
        expect(got.truncated[i], `step ${t} env ${i}: truncated exactly at 500 steps`).toBe(lengths[i] === 500 ? 1 : 0);
        if (got.terminated[i] || got.truncated[i]) lengths[i] = 0;
        if (got.terminated[i] !== want.terminated[i]) {
          expect(Math.abs(tipMarginOfObs(rows(want.finalObs, 6, i))), `step ${t} env ${i} terminated differs away from the bar`).toBeLessThan(1e-4);
          continue;
        }
        expect(got.truncated[i], `step ${t} env ${i} truncated`).toBe(want.truncated[i]);
        expect(got.reward[i]).toBe(want.reward[i]);
        expectObsClose(rows(got.finalObs, 6, i), rows(want.finalObs, 6, i), `step ${t} env ${i} finalObs`);
        // After an ending, the next episode's start: float32 of the float64 reset.
        expectObsClose(rows(got.obs, 6, i), rows(want.obs, 6, i), `step ${t} env ${i} obs`);
      }
      terminations += got.terminated.reduce((a, b) => a + b, 0);
      truncations += got.truncated.reduce((a, b) => a + b, 0);
      obs = got.obs;
    }
    expect(terminations, 'episodes that reached the bar').toBeGreaterThan(numEnvs / 2);
    expect(truncations, 'episodes cut at 500 steps').toBeGreaterThan(0);
    env.destroy();
  });
});
