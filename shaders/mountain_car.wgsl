// mountain_car.wgsl — MountainCar-v0 (Gymnasium) as an env module for
// auto_reset.wgsl: pure functions, no bindings, no entry points. The state, in
// Gymnasium's order, is (position, velocity); the observation is the state.
//
// One step, velocity first:
//   velocity' = clip(velocity + ((action - 1) force - cos(3 position) gravity), +-maxSpeed)
//   position' = clip(position + velocity', minPosition, maxPosition)
// and the left wall is inelastic: at position' == minPosition a velocity' < 0
// becomes 0 (the right end needs no wall: the goal lies before it).
// Terminated: position' >= goalPosition and velocity' >= goalVelocity. Reward -1
// on every step, the terminating one included. Reset: position uniform in
// [-0.6, -0.4), -0.5 + 0.2 (u - 0.5); velocity 0.
// EnvParams is filled from the MountainCar-v0 definition (src/envs/mountainCar.ts).

struct EnvParams {
  minPosition: f32,
  maxPosition: f32,
  maxSpeed: f32,
  goalPosition: f32,
  goalVelocity: f32,
  force: f32,
  gravity: f32,
}

fn env_step(state: EnvState, action: EnvAction, p: EnvParams) -> EnvState {
  // Summed before it is added, as Gymnasium's `velocity += ...` does.
  let acceleration = f32(action - 1) * p.force - accurate_sin_cos(3.0 * state[0]).y * p.gravity;
  let velocity = clamp(state[1] + acceleration, -p.maxSpeed, p.maxSpeed);
  let position = clamp(state[0] + velocity, p.minPosition, p.maxPosition);
  let stopped = position == p.minPosition && velocity < 0.0;
  return EnvState(position, select(velocity, 0.0, stopped));
}

fn env_terminated(s: EnvState, p: EnvParams) -> bool {
  return s[0] >= p.goalPosition && s[1] >= p.goalVelocity;
}

fn env_reward(state: EnvState, action: EnvAction, reached: EnvState, terminated: bool, p: EnvParams) -> f32 {
  return -1.0;
}

fn env_reset(key: ResetKey, p: EnvParams) -> EnvState {
  let u = uniform01(reset_bits(key, 0u).x);
  return EnvState(-0.5 + 0.2 * (u - 0.5), 0.0);
}

fn env_obs(s: EnvState, p: EnvParams) -> EnvObs {
  return s;
}
