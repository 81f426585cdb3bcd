// TRPO's step from the CG direction, and its backtracking line search, with
// every scalar on the GPU. Loaded after the distribution module (dist_*,
// src/kernels/distribution.ts) and the generated METRIC_* slot constants
// (src/core/metrics.ts). The seed's formulas, with x the CG solution of F x = −g:
//
//   shs = ½ xᵀF x,  lm = sqrt(shs / maxKl),  fullstep = x / lm
//   expected_improve_rate = (−g·x) / lm
//   fval = surrogate(θ);  for k = 0 .. backtracks − 1, frac = 0.5^k:
//     actual = fval − surrogate(θ + frac · fullstep)
//     ratio  = actual / (expected_improve_rate · frac + 1e-8)
//     accept the first k with ratio > acceptRatio and actual > 0
//     (klCheck: and mean KL(π_old ‖ π_new) ≤ 1.5 maxKl)
//   surrogate(θ) = −mean_i exp(log π_θ(a_i|s_i) − logProbOld_i) · Â_i
//
// Candidates: slot 0 is θ itself (fval), slot k + 1 the fraction 0.5^k. Each is
// materialised into one candidate parameter buffer, run forward by the caller
// (the MLP kernels), scored per row, and reduced to its means, all in one pass.
//
// Buffers:
//   theta [paramCount] the policy parameters; x [paramCount] the CG solution
//   candidate [paramCount] the parameters being scored
//   logits [rows][numActions] the candidate's output; logitsOld likewise for π_old
//   actions [rows][W] DistActionWord (W = dist_action_words(numActions)), logProbsOld [rows], advantages [rows] (raw; normalised
//     here with metrics[METRIC_ADVANTAGE_MEAN/STD] when normalizeAdvantages = 1)
//   rowTerms [2][rows]: surrogate terms −ratio·Â, then KL(π_old ‖ π_cand) per row
//   candidateStats [2][backtracks + 1]: mean surrogate per slot, then mean KL per slot
//   state: StepState; cgState [..] f32 (the CG residual at cgResidualIndex)
//   metrics: the iteration's metrics block
// Dispatch: materialise, apply_step: paramCount invocations; candidate_terms:
// rows; step_scale, select_step: one.
override WG: u32 = 64;

struct LineSearchArgs {
  paramCount: u32,
  rows: u32,
  numActions: u32,
  normalizeAdvantages: u32,
  maxKl: f32,
  acceptRatio: f32,
  backtracks: u32,
  klCheck: u32,
  cgResidualIndex: u32,
}

// One slot per candidate, chosen by dynamic offset.
struct CandidateArgs {
  // 0: θ itself; k + 1: θ + 0.5^k fullstep
  slot: u32,
  fraction: f32,
}

struct StepState {
  // xᵀ F x and −g·x, written by reductions
  stepCurvature: f32,
  negGradDotStep: f32,
  lm: f32,
  expectedImproveRate: f32,
  // 1 when shs > 0 and the step is finite
  valid: f32,
  // the accepted fraction (0 when the search failed) and whether one was accepted
  stepFraction: f32,
  accepted: f32,
}

@group(0) @binding(0) var<uniform> args: LineSearchArgs;
@group(0) @binding(1) var<uniform> candidateArgs: CandidateArgs;
@group(0) @binding(2) var<storage, read_write> state: StepState;
@group(0) @binding(3) var<storage, read> stateIn: StepState;
@group(0) @binding(4) var<storage, read> theta: array<f32>;
@group(0) @binding(5) var<storage, read_write> thetaOut: array<f32>;
@group(0) @binding(6) var<storage, read> x: array<f32>;
@group(0) @binding(7) var<storage, read_write> candidate: array<f32>;
@group(0) @binding(8) var<storage, read> logits: array<f32>;
@group(0) @binding(9) var<storage, read> logitsOld: array<f32>;
@group(0) @binding(10) var<storage, read> actions: array<DistActionWord>;
@group(0) @binding(11) var<storage, read> logProbsOld: array<f32>;
@group(0) @binding(12) var<storage, read> advantages: array<f32>;
@group(0) @binding(13) var<storage, read_write> rowTerms: array<f32>;
@group(0) @binding(14) var<storage, read> candidateStats: array<f32>;
@group(0) @binding(15) var<storage, read> cgState: array<f32>;
@group(0) @binding(16) var<storage, read_write> metrics: array<f32>;
@group(0) @binding(17) var<storage, read> metricsIn: array<f32>;


// By the bits, so a compiler that assumes finite floats cannot fold it away.
fn is_finite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(1)
fn step_scale() {
  let shs = 0.5 * state.stepCurvature;
  let lm = sqrt(shs / args.maxKl);
  let rate = state.negGradDotStep / lm;
  state.lm = lm;
  state.expectedImproveRate = rate;
  state.valid = select(0.0, 1.0, shs > 0.0 && is_finite(lm) && is_finite(rate));
}

// θ + fraction · x / lm, written once so the scored candidate and the applied step round alike.
fn stepped(t: f32, i: u32, fraction: f32) -> f32 {
  return t + fraction * (x[i] / stateIn.lm);
}

@compute @workgroup_size(WG)
fn materialise(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= args.paramCount) { return; }
  // Slot 0, and every slot of an invalid step, is θ itself.
  let take = candidateArgs.slot > 0u && stateIn.valid > 0.0;
  candidate[i] = select(theta[i], stepped(theta[i], i, candidateArgs.fraction), take);
}

@compute @workgroup_size(WG)
fn candidate_terms(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = linear_index(gid, nwg);
  if (r >= args.rows) { return; }
  let A = args.numActions;
  let base = r * A;
  var row: DistParams;
  var rowOld: DistParams;
  for (var k = 0u; k < A; k++) {
    row[k] = logits[base + k];
    rowOld[k] = logitsOld[base + k];
  }
  let update = dist_update(dist_from_params(rowOld, A), dist_from_params(row, A));
  var advantage = advantages[r];
  if (args.normalizeAdvantages != 0u) {
    advantage = (advantage - metricsIn[METRIC_ADVANTAGE_MEAN]) / (metricsIn[METRIC_ADVANTAGE_STD] + 1e-8);
  }
  let W = dist_action_words(A);
  var words: DistActionWords;
  for (var k = 0u; k < W; k++) { words[k] = actions[r * W + k]; }
  let logP = dist_update_log_prob(update, dist_action_from_words(words, A));
  rowTerms[r] = -exp(logP - logProbsOld[r]) * advantage;
  rowTerms[args.rows + r] = dist_update_kl(update);
}

@compute @workgroup_size(1)
fn select_step() {
  let K = args.backtracks;
  let fval = candidateStats[0];
  var chosen = 0u;
  var fraction = 1.0;
  var accepted = false;
  if (state.valid > 0.0) {
    for (var k = 0u; k < K; k++) {
      let value = candidateStats[k + 1u];
      let kl = candidateStats[K + 1u + k + 1u];
      let actual = fval - value;
      let ratio = actual / (state.expectedImproveRate * fraction + 1e-8);
      let klOk = args.klCheck == 0u || kl <= 1.5 * args.maxKl;
      if (ratio > args.acceptRatio && actual > 0.0 && klOk) {
        chosen = k + 1u;
        accepted = true;
        break;
      }
      fraction *= 0.5;
    }
  }
  state.stepFraction = select(0.0, fraction, accepted);
  state.accepted = select(0.0, 1.0, accepted);
  metrics[METRIC_STEP_FRAC] = state.stepFraction;
  metrics[METRIC_LINE_SEARCH_FAILED] = select(1.0, 0.0, accepted);
  metrics[METRIC_CG_RESIDUAL] = cgState[args.cgResidualIndex];
  // With no step the policy stays at θ: its surrogate, and no divergence.
  metrics[METRIC_POLICY_LOSS] = candidateStats[chosen];
  metrics[METRIC_APPROX_KL] = select(0.0, candidateStats[K + 1u + chosen], accepted);
}

@compute @workgroup_size(WG)
fn apply_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= args.paramCount) { return; }
  if (stateIn.accepted > 0.0) {
    thetaOut[i] = stepped(thetaOut[i], i, stateIn.stepFraction);
  }
}
