// acrobot.wgsl — Acrobot-v1 (Gymnasium, "book" dynamics) as an env module for
// auto_reset.wgsl: pure functions, no bindings, no entry points. The state, in
// Gymnasium's order, is (theta1, theta2, dtheta1, dtheta2): theta1 of the first
// link from hanging straight down, theta2 of the second relative to the first.
// The observation is (cos theta1, sin theta1, cos theta2, sin theta2, dtheta1, dtheta2).
//
// One step holds the torque (action - 1) * torque fixed for dt and integrates
// with one classical RK4 step (k1..k4 at 0, dt/2, dt/2, dt), then wraps both
// angles into [-pi, pi] and clips the velocities to +-maxVel1, +-maxVel2. The
// derivative, with lc the centre-of-mass distances, I the moments of inertia:
//   d1      = m1 lc1^2 + m2 (l1^2 + lc2^2 + 2 l1 lc2 cos theta2) + I1 + I2
//   d2      = m2 (lc2^2 + l1 lc2 cos theta2) + I2
//   phi2    = m2 lc2 g sin(theta1 + theta2)
//   phi1    = -m2 l1 lc2 sin theta2 (dtheta2^2 + 2 dtheta2 dtheta1) + (m1 lc1 + m2 l1) g sin theta1 + phi2
//   ddtheta2 = (a + d2/d1 phi1 - m2 l1 lc2 dtheta1^2 sin theta2 - phi2) / (m2 lc2^2 + I2 - d2^2/d1)
//   ddtheta1 = -(d2 ddtheta2 + phi1) / d1
// (Gymnasium writes sin x as cos(x - pi/2); the same value.)
// Terminated: -cos theta1 - cos(theta1 + theta2) > 1 (the tip above the bar),
// strictly. Reward -1 per step, 0 on the terminating one. Reset: each state
// value 0.2 (u - 0.5), uniform in [-0.1, 0.1), one rounding.
// EnvParams is filled from the Acrobot-v1 definition (src/envs/acrobot.ts).

struct EnvParams {
  linkLength1: f32,
  linkMass1: f32,
  linkMass2: f32,
  linkCom1: f32,
  linkCom2: f32,
  linkMoi: f32,
  gravity: f32,
  dt: f32,
  maxVel1: f32,
  maxVel2: f32,
  // Torque of action 2 (action 0 gives its negative, action 1 none).
  torque: f32,
}

const ACROBOT_PI: f32 = 3.14159265358979;

// d/dt of (theta1, theta2, dtheta1, dtheta2) under torque a.
fn acrobot_derivative(s: vec4<f32>, a: f32, p: EnvParams) -> vec4<f32> {
  let m1 = p.linkMass1;
  let m2 = p.linkMass2;
  let l1 = p.linkLength1;
  let lc1 = p.linkCom1;
  let lc2 = p.linkCom2;
  let sinCos2 = accurate_sin_cos(s.y);
  let sin1 = accurate_sin_cos(s.x).x;
  let sin12 = accurate_sin_cos(s.x + s.y).x;
  let d1 = m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2.0 * l1 * lc2 * sinCos2.y) + 2.0 * p.linkMoi;
  let d2 = m2 * (lc2 * lc2 + l1 * lc2 * sinCos2.y) + p.linkMoi;
  let phi2 = m2 * lc2 * p.gravity * sin12;
  let phi1 = -m2 * l1 * lc2 * s.w * s.w * sinCos2.x - 2.0 * m2 * l1 * lc2 * s.w * s.z * sinCos2.x + (m1 * lc1 + m2 * l1) * p.gravity * sin1 + phi2;
  let dd2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * s.z * s.z * sinCos2.x - phi2) / (m2 * lc2 * lc2 + p.linkMoi - d2 * d2 / d1);
  let dd1 = -(d2 * dd2 + phi1) / d1;
  return vec4<f32>(s.z, s.w, dd1, dd2);
}

// x moved by whole turns into [-pi, pi], as Gymnasium's repeated +-2 pi does.
fn acrobot_wrap(x: f32) -> f32 {
  let turn = 2.0 * ACROBOT_PI;
  let down = select(0.0, ceil((x - ACROBOT_PI) / turn), x > ACROBOT_PI);
  let up = select(0.0, ceil((-ACROBOT_PI - x) / turn), x < -ACROBOT_PI);
  return x - (down - up) * turn;
}

fn env_step(state: EnvState, action: EnvAction, p: EnvParams) -> EnvState {
  let y = vec4<f32>(state[0], state[1], state[2], state[3]);
  let a = f32(action - 1) * p.torque;
  let half = p.dt / 2.0;
  let k1 = acrobot_derivative(y, a, p);
  let k2 = acrobot_derivative(y + half * k1, a, p);
  let k3 = acrobot_derivative(y + half * k2, a, p);
  let k4 = acrobot_derivative(y + p.dt * k3, a, p);
  let next = y + p.dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
  return EnvState(
    acrobot_wrap(next.x),
    acrobot_wrap(next.y),
    clamp(next.z, -p.maxVel1, p.maxVel1),
    clamp(next.w, -p.maxVel2, p.maxVel2),
  );
}

fn env_terminated(s: EnvState, p: EnvParams) -> bool {
  return -accurate_sin_cos(s[0]).y - accurate_sin_cos(s[0] + s[1]).y > 1.0;
}

fn env_reward(state: EnvState, action: EnvAction, reached: EnvState, terminated: bool, p: EnvParams) -> f32 {
  // Not select(-1.0, 0.0, ...): a driver may fold that into a negation and return -0.
  return f32(terminated) - 1.0;
}

fn env_reset(key: ResetKey, p: EnvParams) -> EnvState {
  let s = reset_uniform4(key, 0.2);
  return EnvState(s.x, s.y, s.z, s.w);
}

fn env_obs(s: EnvState, p: EnvParams) -> EnvObs {
  let one = accurate_sin_cos(s[0]);
  let two = accurate_sin_cos(s[1]);
  return EnvObs(one.y, one.x, two.y, two.x, s[2], s[3]);
}
