// mountain_car_continuous.wgsl — MountainCarContinuous-v0 (Gymnasium) as an env
// module for auto_reset.wgsl: pure functions, no bindings, no entry points.
// The state, in Gymnasium's order, is (position, velocity); the observation is
// the state. The action is one force, clipped to [minAction, maxAction] here.
//
// A step, from the old state:
//   velocity' = clip(velocity + force·power − gravity·cos(3·position), ±maxSpeed)
//   position' = clip(position + velocity', [minPosition, maxPosition])
//   velocity' = 0 when position' sits on the left wall and velocity' < 0
// Terminated: position' ≥ goalPosition and velocity' ≥ goalVelocity. Reward:
// goalReward on the terminating step, minus actionCost·a² of the action as
// given (Gymnasium squares action[0] before its clip).
// Reset: position resetLow + (resetHigh − resetLow)·u, u = uniform01 of the
// first word of the key's first draw; velocity 0.
// EnvParams is filled from the MountainCarContinuous-v0 definition
// (src/envs/mountainCarContinuous.ts).

struct EnvParams {
  minAction: f32,
  maxAction: f32,
  minPosition: f32,
  maxPosition: f32,
  maxSpeed: f32,
  goalPosition: f32,
  goalVelocity: f32,
  power: f32,
  gravity: f32,
  goalReward: f32,
  actionCost: f32,
  resetLow: f32,
  resetHigh: f32,
}

fn env_step(s: EnvState, action: EnvAction, p: EnvParams) -> EnvState {
  let force = clamp(action[0], p.minAction, p.maxAction);
  let slope = accurate_sin_cos(3.0 * s[0]).y;
  let velocity = clamp(s[1] + force * p.power - p.gravity * slope, -p.maxSpeed, p.maxSpeed);
  let position = clamp(s[0] + velocity, p.minPosition, p.maxPosition);
  let onLeftWall = position == p.minPosition && velocity < 0.0;
  return EnvState(position, select(velocity, 0.0, onLeftWall));
}

fn env_terminated(s: EnvState, p: EnvParams) -> bool {
  return s[0] >= p.goalPosition && s[1] >= p.goalVelocity;
}

fn env_reward(s: EnvState, action: EnvAction, reached: EnvState, terminated: bool, p: EnvParams) -> f32 {
  return select(0.0, p.goalReward, terminated) - p.actionCost * action[0] * action[0];
}

fn env_reset(key: ResetKey, p: EnvParams) -> EnvState {
  let u = uniform01(reset_bits(key, 0u).x);
  return EnvState(p.resetLow + (p.resetHigh - p.resetLow) * u, 0.0);
}

fn env_obs(s: EnvState, p: EnvParams) -> EnvObs {
  return s;
}
