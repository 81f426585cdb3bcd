// cartpole.wgsl — CartPole-v1 (Gymnasium) as an env module for auto_reset.wgsl:
// pure functions, no bindings, no entry points. The state, in Gymnasium's
// order, is (x, xDot, theta, thetaDot); the observation is the state.
//
// Euler step, every update from the old state:
//   temp     = (force + m_p l thetaDot^2 sin(theta)) / (m_c + m_p)
//   thetaAcc = (g sin(theta) - cos(theta) temp) / (l (4/3 - m_p cos^2(theta) / (m_c + m_p)))
//   xAcc     = temp - m_p l thetaAcc cos(theta) / (m_c + m_p)
//   s'       = s + tau (xDot, xAcc, thetaDot, thetaAcc)
// with l the half pole length and force = +forceMag for action 1, -forceMag otherwise.
// Reward 1 on every step, the terminating one included. Terminated: x or theta
// outside [-threshold, threshold] (strict: a state exactly at a threshold goes on).
// Reset: each component 0.1 (u - 0.5), u = uniform01 of the key's first draw
// of reset bits; equal to -0.05 + 0.1 u, but one rounding instead of two, so no
// adapter's fused multiply-add can change the bits.
// EnvParams is filled from the CartPole-v1 definition (src/envs/cartpole.ts).

struct EnvParams {
  gravity: f32,
  massCart: f32,
  massPole: f32,
  halfLength: f32,
  forceMag: f32,
  tau: f32,
  xThreshold: f32,
  thetaThreshold: f32,
}

fn env_step(state: EnvState, action: EnvAction, p: EnvParams) -> EnvState {
  let s = vec4<f32>(state[0], state[1], state[2], state[3]);
  let totalMass = p.massCart + p.massPole;
  let poleMassLength = p.massPole * p.halfLength;
  let force = select(-p.forceMag, p.forceMag, action == 1);
  let sinCos = accurate_sin_cos(s.z);
  let sinTheta = sinCos.x;
  let cosTheta = sinCos.y;
  let temp = (force + poleMassLength * s.w * s.w * sinTheta) / totalMass;
  let thetaAcc = (p.gravity * sinTheta - cosTheta * temp) /
    (p.halfLength * (4.0 / 3.0 - p.massPole * cosTheta * cosTheta / totalMass));
  let xAcc = temp - poleMassLength * thetaAcc * cosTheta / totalMass;
  let next = s + p.tau * vec4<f32>(s.y, xAcc, s.w, thetaAcc);
  return EnvState(next.x, next.y, next.z, next.w);
}

fn env_terminated(s: EnvState, p: EnvParams) -> bool {
  return s[0] < -p.xThreshold || s[0] > p.xThreshold || s[2] < -p.thetaThreshold || s[2] > p.thetaThreshold;
}

fn env_reward(state: EnvState, action: EnvAction, reached: EnvState, terminated: bool, p: EnvParams) -> f32 {
  return 1.0;
}

fn env_reset(key: ResetKey, p: EnvParams) -> EnvState {
  let s = reset_uniform4(key, 0.1);
  return EnvState(s.x, s.y, s.z, s.w);
}

fn env_obs(s: EnvState, p: EnvParams) -> EnvObs {
  return s;
}
