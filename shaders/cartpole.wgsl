// cartpole.wgsl — CartPole-v1 (Gymnasium) as pure functions: no bindings, no
// entry points, so any kernel can fuse the env into its own loop by loading
// [random.wgsl, cartpole.wgsl, its own file]. cartpole_vec.wgsl adds the
// standalone vectorized env on top.
//
//   cartpole_next_state(s, action, p), cartpole_terminated(s, p),
//   cartpole_reset_state(seed, env, episode);  s = (x, xDot, theta, thetaDot).
// Euler step, every update from the old state:
//   temp     = (force + m_p l thetaDot^2 sin(theta)) / (m_c + m_p)
//   thetaAcc = (g sin(theta) - cos(theta) temp) / (l (4/3 - m_p cos^2(theta) / (m_c + m_p)))
//   xAcc     = temp - m_p l thetaAcc cos(theta) / (m_c + m_p)
//   s'       = s + tau (xDot, xAcc, thetaDot, thetaAcc)
// with l the half pole length and force = +forceMag for action 1, -forceMag otherwise.
// Terminated: x or theta outside [-threshold, threshold] (strict: a state exactly
// at a threshold goes on). Reset of episode `episode` (0 for the first) of env
// `env`: each component 0.1 (u - 0.5), u = uniform01 of philox4x32((env, episode,
// 0, 0), (seed, STREAM_RESET)); equal to -0.05 + 0.1 u, but one rounding instead
// of two, so no adapter's fused multiply-add can change the bits.
// CartPoleParams is filled from CARTPOLE_V1 (src/reference/cartpole.ts).

struct CartPoleParams {
  gravity: f32,
  massCart: f32,
  massPole: f32,
  halfLength: f32,
  forceMag: f32,
  tau: f32,
  xThreshold: f32,
  thetaThreshold: f32,
  maxEpisodeSteps: u32,
  numEnvs: u32,
  seed: u32,
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

fn cartpole_next_state(s: vec4<f32>, action: i32, p: CartPoleParams) -> vec4<f32> {
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
  return s + p.tau * vec4<f32>(s.y, xAcc, s.w, thetaAcc);
}

fn cartpole_terminated(s: vec4<f32>, p: CartPoleParams) -> bool {
  return s.x < -p.xThreshold || s.x > p.xThreshold || s.z < -p.thetaThreshold || s.z > p.thetaThreshold;
}

fn cartpole_reset_state(seed: u32, env: u32, episode: u32) -> vec4<f32> {
  let bits = philox4x32(vec4<u32>(env, episode, 0u, 0u), vec2<u32>(seed, STREAM_RESET));
  let u = vec4<f32>(uniform01(bits.x), uniform01(bits.y), uniform01(bits.z), uniform01(bits.w));
  return 0.1 * (u - 0.5);
}
