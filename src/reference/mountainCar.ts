/**
 * MountainCar-v0 in float64, as Gymnasium computes it
 * (classic_control/mountain_car.py, plus the TimeLimit wrapper's truncation),
 * with the same Philox-drawn resets as shaders/mountain_car.wgsl.
 */
import { philox4x32, uniform01, STREAM_RESET } from '../core/random';
import { envSpec } from '../core/envSpecs';
import type { EnvModel64 } from './vecEnvRef';

/** MountainCar's constants (position and speed in the env's units, per step). */
export interface MountainCarPhysics {
  minPosition: number;
  maxPosition: number;
  maxSpeed: number;
  goalPosition: number;
  goalVelocity: number;
  force: number;
  gravity: number;
}

/** Gymnasium's MountainCar-v0 constants: the single source of these numbers for the GPU and the CPU. */
export const MOUNTAIN_CAR_V0: Readonly<MountainCarPhysics> = Object.freeze({
  minPosition: -1.2,
  maxPosition: 0.6,
  maxSpeed: 0.07,
  goalPosition: 0.5,
  goalVelocity: 0,
  force: 0.001,
  gravity: 0.0025,
});

type State = [position: number, velocity: number];

export function mountainCarTerminated64(s: ArrayLike<number>, p: MountainCarPhysics = MOUNTAIN_CAR_V0): boolean {
  return s[0] >= p.goalPosition && s[1] >= p.goalVelocity;
}

/** One step: velocity first (clipped), then position (clipped); the left wall stops a car moving left. */
export function mountainCarStep64(
  state: ArrayLike<number>,
  action: number,
  p: MountainCarPhysics = MOUNTAIN_CAR_V0,
): { next: State; terminated: boolean; reward: number } {
  const velocity = Math.min(Math.max(state[1] + ((action - 1) * p.force - Math.cos(3 * state[0]) * p.gravity), -p.maxSpeed), p.maxSpeed);
  const position = Math.min(Math.max(state[0] + velocity, p.minPosition), p.maxPosition);
  const next: State = [position, position === p.minPosition && velocity < 0 ? 0 : velocity];
  return { next, terminated: mountainCarTerminated64(next, p), reward: -1 };
}

/**
 * The start state of episode `episode` of env `env`: position uniform in
 * [-0.6, -0.4), -0.5 + 0.2 (u - 0.5) from philox4x32((env, episode, 0, 0),
 * (seed, STREAM_RESET)); velocity 0.
 */
export function mountainCarResetState64(seed: number, env: number, episode: number): State {
  const bits = philox4x32([env, episode, 0, 0], [seed, STREAM_RESET]);
  return [-0.5 + 0.2 * (uniform01(bits[0]) - 0.5), 0];
}

/** MountainCar-v0 as a float64 `EnvModel64` (state and obs: position, velocity), for `VecEnvRef`. */
export const MOUNTAIN_CAR_MODEL: EnvModel64 = Object.freeze({
  stateDim: 2,
  obsDim: 2,
  maxEpisodeSteps: envSpec('MountainCar-v0').maxEpisodeSteps,
  reset: mountainCarResetState64,
  step: (state: ArrayLike<number>, action: number) => mountainCarStep64(state, action),
  obs: (s: ArrayLike<number>) => [s[0], s[1]],
});
