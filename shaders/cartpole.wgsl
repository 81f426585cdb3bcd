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

// (sin(theta), cos(theta)) to about 1 ulp for |theta| < 1e4. WGSL lets the
// built-ins be off by 2^-11 absolute, and SwiftShader's are (~2e-4), which is
// far more than the float32 state itself carries: reduce by pi/2 in three
// exact-product parts (Cody-Waite), then Taylor series on [-pi/4, pi/4]
// (truncation below 2e-9).
fn cartpole_sin_cos(theta: f32) -> vec2<f32> {
  let k = round(theta * 0.636619772367581343);
  let r = ((theta - k * 1.5703125) - k * 4.837512969970703125e-4) - k * 7.54978995489188216e-8;
  let r2 = r * r;
  let s = r + r * r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 * (1.0 / 362880.0))));
  let c = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40320.0 + r2 * (-1.0 / 3628800.0)))));
  // theta = k pi/2 + r: quadrant q = k mod 4 gives (s, c), (c, -s), (-s, -c), (-c, s),
  // chosen with selects rather than a switch so SIMD lanes never diverge.
  let q = i32(k) & 3;
  let swapped = select(vec2<f32>(s, c), vec2<f32>(c, s), (q & 1) == 1);
  let signs = vec2<f32>(select(1.0, -1.0, (q & 2) == 2), select(1.0, -1.0, ((q + 1) & 2) == 2));
  return swapped * signs;
}

fn env_step(state: EnvState, action: EnvAction, p: EnvParams) -> EnvState {
  let s = vec4<f32>(state[0], state[1], state[2], state[3]);
  let totalMass = p.massCart + p.massPole;
  let poleMassLength = p.massPole * p.halfLength;
  let force = select(-p.forceMag, p.forceMag, action == 1);
  let sinCos = cartpole_sin_cos(s.z);
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
  let bits = reset_bits(key, 0u);
  let u = vec4<f32>(uniform01(bits.x), uniform01(bits.y), uniform01(bits.z), uniform01(bits.w));
  let s = 0.1 * (u - 0.5);
  return EnvState(s.x, s.y, s.z, s.w);
}

fn env_obs(s: EnvState, p: EnvParams) -> EnvObs {
  return s;
}
