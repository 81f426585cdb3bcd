/**
 * Pendulum-v1 in float64, as Gymnasium computes it (classic_control/pendulum.py),
 * with the same Philox-drawn resets as shaders/pendulum.wgsl.
 */
import { philox4x32, uniform01, STREAM_RESET } from '../core/random';

/** Pendulum's constants (SI units; torque in N·m, angles in rad). */
export interface PendulumPhysics {
  maxSpeed: number;
  maxTorque: number;
  /** Seconds per step. */
  dt: number;
  gravity: number;
  mass: number;
  length: number;
  /** Cost weights of norm(θ)², θ̇² and u². */
  angleCost: number;
  speedCost: number;
  torqueCost: number;
  /** Reset θ uniform in [−resetAngle, resetAngle), θ̇ in [−resetSpeed, resetSpeed). */
  resetAngle: number;
  resetSpeed: number;
  maxEpisodeSteps: number;
}

/** Gymnasium's Pendulum-v1 constants (g = 10): the single source of these numbers for the GPU and the CPU. */
export const PENDULUM_V1: Readonly<PendulumPhysics> = Object.freeze({
  maxSpeed: 8,
  maxTorque: 2,
  dt: 0.05,
  gravity: 10,
  mass: 1,
  length: 1,
  angleCost: 1,
  speedCost: 0.1,
  torqueCost: 0.001,
  resetAngle: Math.PI,
  resetSpeed: 1,
  maxEpisodeSteps: 200,
});

/** One env's state: angle θ (rad, 0 upright) and angular velocity θ̇ (rad/s). */
export type PendulumState = [theta: number, thetaDot: number];

const clip = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

/** ((θ + π) mod 2π) − π with a floored mod, as Gymnasium's angle_normalize: in [−π, π). */
export function normaliseAngle64(theta: number): number {
  const shifted = theta + Math.PI;
  return shifted - 2 * Math.PI * Math.floor(shifted / (2 * Math.PI)) - Math.PI;
}

/** One step under `action` (its first component, clipped to ±maxTorque); the reward is of the old state. Never terminates. */
export function pendulumStep64(
  state: ArrayLike<number>,
  action: ArrayLike<number>,
  p: PendulumPhysics = PENDULUM_V1,
): { next: PendulumState; terminated: boolean; reward: number } {
  const [theta, thetaDot] = [state[0], state[1]];
  const u = clip(action[0], -p.maxTorque, p.maxTorque);
  const angle = normaliseAngle64(theta);
  const reward = -(p.angleCost * angle * angle + p.speedCost * thetaDot * thetaDot + p.torqueCost * u * u);
  const acceleration = ((3 * p.gravity) / (2 * p.length)) * Math.sin(theta) + (3 / (p.mass * p.length * p.length)) * u;
  const speed = clip(thetaDot + acceleration * p.dt, -p.maxSpeed, p.maxSpeed);
  return { next: [theta + speed * p.dt, speed], terminated: false, reward };
}

/** (cos θ, sin θ, θ̇). */
export function pendulumObs64(state: ArrayLike<number>): [number, number, number] {
  return [Math.cos(state[0]), Math.sin(state[0]), state[1]];
}

/**
 * The start state of episode `episode` of env `env`: θ = resetAngle·(2u₀ − 1),
 * θ̇ = resetSpeed·(2u₁ − 1), u₀, u₁ = uniform01 of the first two words of
 * philox4x32((env, episode, 0, 0), (seed, STREAM_RESET)).
 */
export function pendulumResetState64(seed: number, env: number, episode: number, p: PendulumPhysics = PENDULUM_V1): PendulumState {
  const bits = philox4x32([env, episode, 0, 0], [seed, STREAM_RESET]);
  return [p.resetAngle * (2 * uniform01(bits[0]) - 1), p.resetSpeed * (2 * uniform01(bits[1]) - 1)];
}
