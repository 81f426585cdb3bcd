/**
 * Acrobot-v1 in float64, as Gymnasium computes it (classic_control/acrobot.py
 * with the "book" dynamics, plus the TimeLimit wrapper's truncation), with the
 * same Philox-drawn resets as shaders/acrobot.wgsl.
 */
import { resetUniform4 } from '../core/random';
import { envSpec } from '../core/envSpecs';
import type { EnvModel64 } from './vecEnvRef';

/** Acrobot's constants (SI units: m, kg, s; angles in rad). */
export interface AcrobotPhysics {
  linkLength1: number;
  linkMass1: number;
  linkMass2: number;
  /** Distance of each link's centre of mass from its joint. */
  linkCom1: number;
  linkCom2: number;
  /** Moment of inertia of either link. */
  linkMoi: number;
  gravity: number;
  /** Seconds per step (one RK4 step). */
  dt: number;
  /** Velocity bounds (rad/s) of theta1 and theta2. */
  maxVel1: number;
  maxVel2: number;
  /** Torque of action 2; action 0 applies its negative, action 1 none. */
  torque: number;
}

/** Gymnasium's Acrobot-v1 constants: the single source of these numbers for the GPU and the CPU. */
export const ACROBOT_V1: Readonly<AcrobotPhysics> = Object.freeze({
  linkLength1: 1.0,
  linkMass1: 1.0,
  linkMass2: 1.0,
  linkCom1: 0.5,
  linkCom2: 0.5,
  linkMoi: 1.0,
  gravity: 9.8,
  dt: 0.2,
  maxVel1: 4 * Math.PI,
  maxVel2: 9 * Math.PI,
  torque: 1.0,
});

type Vec4 = [number, number, number, number];

/** d/dt of (theta1, theta2, dtheta1, dtheta2) under torque `a` (Gymnasium's _dsdt, book branch). */
export function acrobotDerivative64(s: Readonly<Vec4>, a: number, p: AcrobotPhysics = ACROBOT_V1): Vec4 {
  const [theta1, theta2, dtheta1, dtheta2] = s;
  const { linkMass1: m1, linkMass2: m2, linkLength1: l1, linkCom1: lc1, linkCom2: lc2, linkMoi: inertia, gravity: g } = p;
  const d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * Math.cos(theta2)) + 2 * inertia;
  const d2 = m2 * (lc2 ** 2 + l1 * lc2 * Math.cos(theta2)) + inertia;
  // Gymnasium writes these sines as cos(x - pi/2).
  const phi2 = m2 * lc2 * g * Math.sin(theta1 + theta2);
  const phi1 =
    -m2 * l1 * lc2 * dtheta2 ** 2 * Math.sin(theta2) - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * Math.sin(theta2) + (m1 * lc1 + m2 * l1) * g * Math.sin(theta1) + phi2;
  const ddtheta2 = (a + (d2 / d1) * phi1 - m2 * l1 * lc2 * dtheta1 ** 2 * Math.sin(theta2) - phi2) / (m2 * lc2 ** 2 + inertia - d2 ** 2 / d1);
  const ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  return [dtheta1, dtheta2, ddtheta1, ddtheta2];
}

/** x moved by whole turns of 2 pi into [-pi, pi] (Gymnasium's wrap: a value exactly at +-pi stays). */
export function wrapAngle64(x: number): number {
  const turn = 2 * Math.PI;
  while (x > Math.PI) x -= turn;
  while (x < -Math.PI) x += turn;
  return x;
}

const clip = (x: number, bound: number) => Math.min(Math.max(x, -bound), bound);

/** The tip above the bar: -cos theta1 - cos(theta1 + theta2) > 1, strictly. */
export function acrobotTerminated64(s: ArrayLike<number>): boolean {
  return -Math.cos(s[0]) - Math.cos(s[1] + s[0]) > 1.0;
}

/** One step: torque (action - 1) · torque held for dt, one RK4 step, angles wrapped, velocities clipped. */
export function acrobotStep64(state: ArrayLike<number>, action: number, p: AcrobotPhysics = ACROBOT_V1): { next: Vec4; terminated: boolean; reward: number } {
  const y: Vec4 = [state[0], state[1], state[2], state[3]];
  const a = (action - 1) * p.torque;
  const along = (k: Vec4, h: number): Vec4 => [y[0] + h * k[0], y[1] + h * k[1], y[2] + h * k[2], y[3] + h * k[3]];
  const k1 = acrobotDerivative64(y, a, p);
  const k2 = acrobotDerivative64(along(k1, p.dt / 2), a, p);
  const k3 = acrobotDerivative64(along(k2, p.dt / 2), a, p);
  const k4 = acrobotDerivative64(along(k3, p.dt), a, p);
  const integrated = y.map((v, i) => v + (p.dt / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]));
  const next: Vec4 = [wrapAngle64(integrated[0]), wrapAngle64(integrated[1]), clip(integrated[2], p.maxVel1), clip(integrated[3], p.maxVel2)];
  const terminated = acrobotTerminated64(next);
  return { next, terminated, reward: terminated ? 0 : -1 };
}

export function acrobotObs64(s: ArrayLike<number>): number[] {
  return [Math.cos(s[0]), Math.sin(s[0]), Math.cos(s[1]), Math.sin(s[1]), s[2], s[3]];
}

/**
 * The start state of episode `episode` of env `env`: each value uniform in
 * [-0.1, 0.1), 0.2 (u - 0.5) from philox4x32((env, episode, 0, 0), (seed, STREAM_RESET)).
 */
export function acrobotResetState64(seed: number, env: number, episode: number): Vec4 {
  return resetUniform4(seed, env, episode, 0.2);
}

/** Acrobot-v1 as a float64 `EnvModel64` (state θ1, θ2, θ̇1, θ̇2; obs cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2), for `VecEnvRef`. */
export const ACROBOT_MODEL: EnvModel64 = Object.freeze({
  stateDim: 4,
  obsDim: 6,
  maxEpisodeSteps: envSpec('Acrobot-v1').maxEpisodeSteps,
  reset: acrobotResetState64,
  step: (state: ArrayLike<number>, action: number) => acrobotStep64(state, action),
  obs: acrobotObs64,
});
