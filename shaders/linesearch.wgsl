// TRPO's step from the CG direction, and its backtracking line search, with
// every scalar on the GPU. Loaded after the distribution module (dist_*,
// src/kernels/distribution.ts), the generated METRIC_* slot constants and
// METRICS_BLOCK_FLOATS (src/core/metrics.ts) and the AgentParams struct
// (src/core/agentParams.ts). The seed's formulas, with x the CG solution of F x = −g:
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
// Populations: workgroup id z is the agent. Every buffer is agent-major, agent
// a's block being a single run's: parameter vectors in blocks of whole vec4s
// (paramStride = paramCount rounded up to 4), row buffers in blocks of rows
// (times their width), StepState one per agent, the CG state in blocks of
// cgStateStride, metrics in blocks of METRICS_BLOCK_FLOATS. maxKl and
// acceptRatio are the agent's (AgentParams), so each agent scales, accepts and
// backtracks on its own.
//
// Buffers (per agent):
//   theta [paramCount] the policy parameters; x [paramCount] the CG solution
//   candidate [paramCount] the parameters being scored
//   logits [rows][numActions] the candidate's output; logitsOld likewise for π_old
//   actions [rows][W] DistActionWord (W = dist_action_words(numActions)), logProbsOld [rows], advantages [rows] (raw; normalised
//     here with metrics[METRIC_ADVANTAGE_MEAN/STD] when normalizeAdvantages = 1)
//   rowTerms [2][rows]: surrogate terms −ratio·Â, then KL(π_old ‖ π_cand) per row
//   candidateStats [2][backtracks + 1]: mean surrogate per slot, then mean KL per slot
//   state: StepState; cgState [cgStateStride] f32 (the CG residual at cgResidualIndex)
//   metrics: the iteration's metrics block
//   agents [agents] AgentParams
// Dispatch: materialise, apply_step: paramCount invocations; candidate_terms:
// rows; step_scale, select_step: one.
override WG: u32 = 64;

struct LineSearchArgs {
  paramCount: u32,
  rows: u32,
  numActions: u32,
  normalizeAdvantages: u32,
  backtracks: u32,
  klCheck: u32,
  cgResidualIndex: u32,
  // floats of one agent's CG state (ConjugateGradient.stateStride)
  cgStateStride: u32,
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
@group(0) @binding(2) var<storage, read_write> state: array<StepState>;
@group(0) @binding(3) var<storage, read> stateIn: array<StepState>;
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
@group(0) @binding(18) var<storage, read> agents: array<AgentParams>;

// Floats per agent of a parameter vector: whole vec4s, as the MLP's aligned kernels read them.
fn param_stride() -> u32 {
  return (args.paramCount + 3u) / 4u * 4u;
}


// By the bits, so a compiler that assumes finite floats cannot fold it away.
fn is_finite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(1)
fn step_scale(@builtin(global_invocation_id) gid: vec3<u32>) {
  let agent = agent_index(gid);
  let shs = 0.5 * state[agent].stepCurvature;
  let lm = sqrt(shs / agents[agent].maxKl);
  let rate = state[agent].negGradDotStep / lm;
  state[agent].lm = lm;
  state[agent].expectedImproveRate = rate;
  state[agent].valid = select(0.0, 1.0, shs > 0.0 && is_finite(lm) && is_finite(rate));
}

// θ + fraction · x / lm, written once so the scored candidate and the applied step round alike.
fn stepped(t: f32, i: u32, fraction: f32, lm: f32) -> f32 {
  return t + fraction * (x[i] / lm);
}

@compute @workgroup_size(WG)
fn materialise(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let n = linear_index(gid, nwg);
  if (n >= args.paramCount) { return; }
  let i = agent * param_stride() + n;
  let s = stateIn[agent];
  // Slot 0, and every slot of an invalid step, is θ itself.
  let take = candidateArgs.slot > 0u && s.valid > 0.0;
  candidate[i] = select(theta[i], stepped(theta[i], i, candidateArgs.fraction, s.lm), take);
}

@compute @workgroup_size(WG)
fn candidate_terms(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let local = linear_index(gid, nwg);
  if (local >= args.rows) { return; }
  // r: the row in the population's buffers (agent-major [agents][rows]).
  let r = agent * args.rows + local;
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
    let m = agent * METRICS_BLOCK_FLOATS;
    advantage = (advantage - metricsIn[m + METRIC_ADVANTAGE_MEAN]) / (metricsIn[m + METRIC_ADVANTAGE_STD] + 1e-8);
  }
  let W = dist_action_words(A);
  var words: DistActionWords;
  for (var k = 0u; k < W; k++) { words[k] = actions[r * W + k]; }
  let logP = dist_update_log_prob(update, dist_action_from_words(words, A));
  let terms = agent * 2u * args.rows + local;
  rowTerms[terms] = -exp(logP - logProbsOld[r]) * advantage;
  rowTerms[terms + args.rows] = dist_update_kl(update);
}

@compute @workgroup_size(1)
fn select_step(@builtin(global_invocation_id) gid: vec3<u32>) {
  let agent = agent_index(gid);
  let K = args.backtracks;
  // This agent's [2][K + 1] block of candidate statistics.
  let stats = agent * 2u * (K + 1u);
  let fval = candidateStats[stats];
  let maxKl = agents[agent].maxKl;
  let acceptRatio = agents[agent].acceptRatio;
  var chosen = 0u;
  var fraction = 1.0;
  var accepted = false;
  if (state[agent].valid > 0.0) {
    for (var k = 0u; k < K; k++) {
      let value = candidateStats[stats + k + 1u];
      let kl = candidateStats[stats + K + 1u + k + 1u];
      let actual = fval - value;
      let ratio = actual / (state[agent].expectedImproveRate * fraction + 1e-8);
      let klOk = args.klCheck == 0u || kl <= 1.5 * maxKl;
      if (ratio > acceptRatio && actual > 0.0 && klOk) {
        chosen = k + 1u;
        accepted = true;
        break;
      }
      fraction *= 0.5;
    }
  }
  state[agent].stepFraction = select(0.0, fraction, accepted);
  state[agent].accepted = select(0.0, 1.0, accepted);
  let m = agent * METRICS_BLOCK_FLOATS;
  metrics[m + METRIC_STEP_FRAC] = state[agent].stepFraction;
  metrics[m + METRIC_LINE_SEARCH_FAILED] = select(1.0, 0.0, accepted);
  metrics[m + METRIC_CG_RESIDUAL] = cgState[agent * args.cgStateStride + args.cgResidualIndex];
  // With no step the policy stays at θ: its surrogate, and no divergence.
  metrics[m + METRIC_POLICY_LOSS] = candidateStats[stats + chosen];
  metrics[m + METRIC_APPROX_KL] = select(0.0, candidateStats[stats + K + 1u + chosen], accepted);
}

@compute @workgroup_size(WG)
fn apply_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let n = linear_index(gid, nwg);
  if (n >= args.paramCount) { return; }
  let i = agent * param_stride() + n;
  let s = stateIn[agent];
  if (s.accepted > 0.0) {
    thetaOut[i] = stepped(thetaOut[i], i, s.stepFraction, s.lm);
  }
}
