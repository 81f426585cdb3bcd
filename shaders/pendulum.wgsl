// pendulum.wgsl — Pendulum-v1 (Gymnasium) as an env module for auto_reset.wgsl:
// pure functions, no bindings, no entry points. The state, in Gymnasium's
// order, is (θ, θ̇) with θ = 0 upright and never wrapped; the observation is
// (cos θ, sin θ, θ̇). The action is one torque u, clipped to ±maxTorque here.
//
// A step (semi-implicit Euler, from the old state):
//   θ̇' = clip(θ̇ + (3g / 2l · sin θ + 3 / (m l²) · u)·dt, ±maxSpeed)
//   θ'  = θ + θ̇'·dt
// Reward: −(norm(θ)² + 0.1 θ̇² + 0.001 u²) of the old state and the clipped u,
// norm(θ) = ((θ + π) mod 2π) − π with a floored mod, in [−π, π). Never
// terminates; only the time limit ends an episode.
// Reset: θ = resetAngle·(2u₀ − 1), θ̇ = resetSpeed·(2u₁ − 1) with u₀, u₁ =
// uniform01 of the first two words of the key's first draw (2u − 1 is exact,
// so each is one rounding).
// EnvParams is filled from the Pendulum-v1 definition (src/envs/pendulum.ts).

struct EnvParams {
  maxSpeed: f32,
  maxTorque: f32,
  dt: f32,
  gravity: f32,
  mass: f32,
  length: f32,
  angleCost: f32,
  speedCost: f32,
  torqueCost: f32,
  resetAngle: f32,
  resetSpeed: f32,
}

const PENDULUM_PI: f32 = 3.14159265358979324;
const PENDULUM_TWO_PI: f32 = 6.28318530717958648;

fn pendulum_torque(action: EnvAction, p: EnvParams) -> f32 {
  return clamp(action[0], -p.maxTorque, p.maxTorque);
}

// ((θ + π) mod 2π) − π, the mod floored as Python's.
fn pendulum_normalised_angle(angle: f32) -> f32 {
  let shifted = angle + PENDULUM_PI;
  return shifted - PENDULUM_TWO_PI * floor(shifted / PENDULUM_TWO_PI) - PENDULUM_PI;
}

fn env_step(s: EnvState, action: EnvAction, p: EnvParams) -> EnvState {
  let u = pendulum_torque(action, p);
  let sinTheta = accurate_sin_cos(s[0]).x;
  let acceleration = 3.0 * p.gravity / (2.0 * p.length) * sinTheta + 3.0 / (p.mass * p.length * p.length) * u;
  let speed = clamp(s[1] + acceleration * p.dt, -p.maxSpeed, p.maxSpeed);
  return EnvState(s[0] + speed * p.dt, speed);
}

fn env_terminated(s: EnvState, p: EnvParams) -> bool {
  return false;
}

fn env_reward(s: EnvState, action: EnvAction, reached: EnvState, terminated: bool, p: EnvParams) -> f32 {
  let angle = pendulum_normalised_angle(s[0]);
  let u = pendulum_torque(action, p);
  return -(p.angleCost * angle * angle + p.speedCost * s[1] * s[1] + p.torqueCost * u * u);
}

fn env_reset(key: ResetKey, p: EnvParams) -> EnvState {
  let bits = reset_bits(key, 0u);
  return EnvState(p.resetAngle * (2.0 * uniform01(bits.x) - 1.0), p.resetSpeed * (2.0 * uniform01(bits.y) - 1.0));
}

fn env_obs(s: EnvState, p: EnvParams) -> EnvObs {
  let sinCos = accurate_sin_cos(s[0]);
  return EnvObs(sinCos.y, sinCos.x, s[1]);
}
