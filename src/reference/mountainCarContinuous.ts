/**
 * MountainCarContinuous-v0 in float64, as Gymnasium computes it
 * (classic_control/continuous_mountain_car.py: the state stored as float32
 * after each step), with the same Philox-drawn resets as
 * shaders/mountain_car_continuous.wgsl.
 */
import { philox4x32, uniform01, STREAM_RESET } from '../core/random';

/** MountainCarContinuous' constants: action range, track, rewards, reset range and time limit. */
export interface MountainCarContinuousPhysics {
  minAction: number;
  maxAction: number;
  minPosition: number;
  maxPosition: number;
  maxSpeed: number;
  goalPosition: number;
  goalVelocity: number;
  /** Force per unit of action. */
  power: number;
  /** The hill's pull: gravity·cos(3·position) per step. */
  gravity: number;
  goalReward: number;
  /** Reward −actionCost·a² per step. */
  actionCost: number;
  /** Reset position uniform in [resetLow, resetHigh). */
  resetLow: number;
  resetHigh: number;
  maxEpisodeSteps: number;
}

/** Gymnasium's MountainCarContinuous-v0 constants: the single source of these numbers for the GPU and the CPU. */
export const MOUNTAIN_CAR_CONTINUOUS_V0: Readonly<MountainCarContinuousPhysics> = Object.freeze({
  minAction: -1,
  maxAction: 1,
  minPosition: -1.2,
  maxPosition: 0.6,
  maxSpeed: 0.07,
  goalPosition: 0.45,
  goalVelocity: 0,
  power: 0.0015,
  gravity: 0.0025,
  goalReward: 100,
  actionCost: 0.1,
  resetLow: -0.6,
  resetHigh: -0.4,
  maxEpisodeSteps: 999,
});

/** One env's state: position and velocity. */
export type MountainCarContinuousState = [position: number, velocity: number];

const clip = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

/**
 * One step under `action` (its first component, clipped to the action bounds
 * for the force, squared as given for the cost). Terminated and the reward
 * come from the float64 values, the next state is stored as float32, as
 * Gymnasium does.
 */
export function mountainCarContinuousStep64(
  state: ArrayLike<number>,
  action: ArrayLike<number>,
  p: MountainCarContinuousPhysics = MOUNTAIN_CAR_CONTINUOUS_V0,
): { next: MountainCarContinuousState; terminated: boolean; reward: number } {
  const force = clip(action[0], p.minAction, p.maxAction);
  let velocity = clip(state[1] + force * p.power - p.gravity * Math.cos(3 * state[0]), -p.maxSpeed, p.maxSpeed);
  const position = clip(state[0] + velocity, p.minPosition, p.maxPosition);
  if (position === p.minPosition && velocity < 0) velocity = 0;
  const terminated = position >= p.goalPosition && velocity >= p.goalVelocity;
  const reward = (terminated ? p.goalReward : 0) - p.actionCost * action[0] * action[0];
  return { next: [Math.fround(position), Math.fround(velocity)], terminated, reward };
}

/**
 * The start state of episode `episode` of env `env`: position
 * resetLow + (resetHigh − resetLow)·u, u = uniform01 of the first word of
 * philox4x32((env, episode, 0, 0), (seed, STREAM_RESET)); velocity 0.
 */
export function mountainCarContinuousResetState64(
  seed: number,
  env: number,
  episode: number,
  p: MountainCarContinuousPhysics = MOUNTAIN_CAR_CONTINUOUS_V0,
): MountainCarContinuousState {
  const u = uniform01(philox4x32([env, episode, 0, 0], [seed, STREAM_RESET])[0]);
  return [p.resetLow + (p.resetHigh - p.resetLow) * u, 0];
}
