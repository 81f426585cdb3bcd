// Categorical policy head over logits [rows][numActions]; loaded after random.wgsl.
//
// Buffers:
//   logits, logitsOld, logitsNew  [rows][numActions] f32
//   actions                       [rows] i32 (read by log_prob_entropy)
//   sampledActions                [rows] i32 (written by sample)
//   logProb, entropy, kl          [rows] f32
// Dispatch: `rows` invocations, one per row.
//
// With m = max_a l_a, s = Σ_a exp(l_a − m) and lse = m + log s (stable log-softmax):
//   log_prob_entropy: logProb[r] = l_action − lse
//                     entropy[r] = −Σ_a p_a log p_a = log s − Σ_a p_a (l_a − m)
//   kl_divergence:    kl[r] = Σ_a p_old,a (log p_old,a − log p_new,a), clamped at 0 against rounding
//   sample:           inverse CDF: the first action a with u·s < Σ_{b ≤ a} exp(l_b − m),
//                     u = uniform01(philox4x32((row, t, iteration, 0), (seed, STREAM_ACTION)).x),
//                     the same draw as the fused rollout kernel; also writes its logProb.
//                     `t` comes from a dynamic-offset uniform, one slot per step.
override WG: u32 = 64;

struct PolicyArgs {
  rows: u32,
  numActions: u32,
  seed: u32,
  iteration: u32,
}

struct SampleStep {
  t: u32,
}

@group(0) @binding(0) var<uniform> args: PolicyArgs;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> actions: array<i32>;
@group(0) @binding(3) var<storage, read_write> logProb: array<f32>;
@group(0) @binding(4) var<storage, read_write> entropy: array<f32>;
@group(0) @binding(5) var<storage, read> logitsOld: array<f32>;
@group(0) @binding(6) var<storage, read> logitsNew: array<f32>;
@group(0) @binding(7) var<storage, read_write> kl: array<f32>;
@group(0) @binding(8) var<uniform> step: SampleStep;
@group(0) @binding(9) var<storage, read_write> sampledActions: array<i32>;

fn maxLogit(base: u32) -> f32 {
  var m = logits[base];
  for (var a = 1u; a < args.numActions; a++) { m = max(m, logits[base + a]); }
  return m;
}

@compute @workgroup_size(WG)
fn log_prob_entropy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= args.rows) { return; }
  let A = args.numActions;
  let base = r * A;
  let m = maxLogit(base);
  var s = 0.0;
  var weighted = 0.0;
  for (var a = 0u; a < A; a++) {
    let shifted = logits[base + a] - m;
    let e = exp(shifted);
    s += e;
    weighted += e * shifted;
  }
  let logS = log(s);
  // An out-of-range action reads the last action's logit rather than another row's.
  let action = min(u32(max(actions[r], 0)), A - 1u);
  logProb[r] = logits[base + action] - m - logS;
  entropy[r] = logS - weighted / s;
}

@compute @workgroup_size(WG)
fn kl_divergence(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= args.rows) { return; }
  let A = args.numActions;
  let base = r * A;
  var mOld = logitsOld[base];
  var mNew = logitsNew[base];
  for (var a = 1u; a < A; a++) {
    mOld = max(mOld, logitsOld[base + a]);
    mNew = max(mNew, logitsNew[base + a]);
  }
  var sOld = 0.0;
  var sNew = 0.0;
  // Σ_a exp(l_old,a − mOld) · (l_old,a − l_new,a), normalised below.
  var weighted = 0.0;
  for (var a = 0u; a < A; a++) {
    let e = exp(logitsOld[base + a] - mOld);
    sOld += e;
    sNew += exp(logitsNew[base + a] - mNew);
    weighted += e * (logitsOld[base + a] - logitsNew[base + a]);
  }
  // log p_old − log p_new = (l_old − l_new) − (lseOld − lseNew)
  let lseDifference = (mOld - mNew) + (log(sOld) - log(sNew));
  kl[r] = max(weighted / sOld - lseDifference, 0.0);
}

@compute @workgroup_size(WG)
fn sample(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= args.rows) { return; }
  let A = args.numActions;
  let base = r * A;
  let m = maxLogit(base);
  var s = 0.0;
  for (var a = 0u; a < A; a++) { s += exp(logits[base + a] - m); }
  let bits = philox4x32(vec4<u32>(r, step.t, args.iteration, 0u), vec2<u32>(args.seed, STREAM_ACTION));
  let threshold = uniform01(bits.x) * s;
  var cumulative = 0.0;
  // Rounding can leave threshold ≥ the final sum: fall back to the last action with nonzero probability.
  var chosen = 0u;
  for (var a = 0u; a < A; a++) {
    let e = exp(logits[base + a] - m);
    if (e > 0.0) { chosen = a; }
    cumulative += e;
    if (threshold < cumulative) { break; }
  }
  sampledActions[r] = i32(chosen);
  logProb[r] = logits[base + chosen] - m - log(s);
}
