// walk_to_target.wgsl — a user's env, written to the env module contract in
// shaders/auto_reset.wgsl's header (registered with VecEnv.define; see the
// README, "Your own environment"). Not part of the built-in suite.
//
// A walker on the segment [-bound, bound] and a target on it, both placed
// uniformly at reset. Actions: 0 steps left, 1 stays, 2 steps right, by
// stepSize (clipped to the segment). The state and the observation are
// (position, target). Reward: the distance to the target the step covered,
// plus goalBonus on reaching it (within `reach`, which ends the episode).

struct EnvParams {
  bound: f32,
  stepSize: f32,
  reach: f32,
  goalBonus: f32,
}

fn env_step(s: EnvState, action: EnvAction, p: EnvParams) -> EnvState {
  let position = clamp(s[0] + f32(action - 1) * p.stepSize, -p.bound, p.bound);
  return EnvState(position, s[1]);
}

fn env_terminated(s: EnvState, p: EnvParams) -> bool {
  return abs(s[0] - s[1]) < p.reach;
}

fn env_reward(s: EnvState, action: EnvAction, reached: EnvState, terminated: bool, p: EnvParams) -> f32 {
  let progress = abs(s[0] - s[1]) - abs(reached[0] - reached[1]);
  return progress + select(0.0, p.goalBonus, terminated);
}

fn env_reset(key: ResetKey, p: EnvParams) -> EnvState {
  let bits = reset_bits(key, 0u);
  return EnvState(2.0 * p.bound * (uniform01(bits.x) - 0.5), 2.0 * p.bound * (uniform01(bits.y) - 0.5));
}

fn env_obs(s: EnvState, p: EnvParams) -> EnvObs {
  return s;
}
