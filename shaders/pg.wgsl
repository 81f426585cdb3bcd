// Full-batch losses of TRPO and REINFORCE, as gradients at the network outputs
// (the MLP backward takes them from there). Loaded after the distribution
// module (dist_*, src/kernels/distribution.ts), the generated METRIC_* slot
// constants and METRICS_BLOCK_FLOATS (src/core/metrics.ts).
//
// Populations: workgroup id z is the agent; every buffer below is agent-major,
// agent a's block being a single run's ([agents][rows]...), and agent a
// normalises its advantages with its own metrics block's statistics (at
// a · METRICS_BLOCK_FLOATS). No hyperparameter is read, so no AgentParams.
//
// Buffers (rows = the whole batch, time-major rollout samples):
//   logits [rows][numActions] the policy's distribution parameters (numActions per row);
//   actions [rows][W] DistActionWord, W = dist_action_words(numActions)
//   logProbsOld [rows] log π_old(a|s); advantages [rows] raw (normalised here
//     with metrics[METRIC_ADVANTAGE_MEAN/STD] when normalizeAdvantages = 1:
//     Â = (A − mean) / (std + 1e-8), the seed's compute_gae)
//   values [rows] the value network's output; returns [rows]
//   gradOutput [rows][outDim] dLoss/d(output pre-activation), the MLP backward's input
//   rowLoss [rows] each row's loss term (their mean is the reported loss)
// Dispatch: rows invocations × agents.
//
// policy_gradient, with logp = log π(a | row):
//   ratioWeighted = 1 (TRPO surrogate):  L_i = −exp(logp − logProbOld)·Â,  dL_i/dlogp = L_i
//   ratioWeighted = 0 (REINFORCE):       L_i = −logp·Â,                    dL_i/dlogp = −Â
//   dL/dparams = (1/R) dL_i/dlogp · ∂logp/∂params
// value_gradient: L_i = (v − R)²,  dL/dv = (2/R)(v − R)
override WG: u32 = 64;

struct PgArgs {
  rows: u32,
  numActions: u32,
  normalizeAdvantages: u32,
  ratioWeighted: u32,
}

@group(0) @binding(0) var<uniform> args: PgArgs;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> actions: array<DistActionWord>;
@group(0) @binding(3) var<storage, read> logProbsOld: array<f32>;
@group(0) @binding(4) var<storage, read> advantages: array<f32>;
@group(0) @binding(5) var<storage, read> metricsIn: array<f32>;
@group(0) @binding(6) var<storage, read_write> gradOutput: array<f32>;
@group(0) @binding(7) var<storage, read_write> rowLoss: array<f32>;
@group(0) @binding(8) var<storage, read> values: array<f32>;
@group(0) @binding(9) var<storage, read> returns: array<f32>;


@compute @workgroup_size(WG)
fn policy_gradient(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let local = linear_index(gid, nwg);
  if (local >= args.rows) { return; }
  // r: the row in the population's buffers.
  let r = agent * args.rows + local;
  let A = args.numActions;
  let base = r * A;
  var row: DistParams;
  for (var k = 0u; k < A; k++) { row[k] = logits[base + k]; }
  let d = dist_from_params(row, A);
  let W = dist_action_words(A);
  var words: DistActionWords;
  for (var k = 0u; k < W; k++) { words[k] = actions[r * W + k]; }
  let action = dist_action_from_words(words, A);
  let logP = dist_log_prob(d, action);
  var advantage = advantages[r];
  if (args.normalizeAdvantages != 0u) {
    let m = agent * METRICS_BLOCK_FLOATS;
    advantage = (advantage - metricsIn[m + METRIC_ADVANTAGE_MEAN]) / (metricsIn[m + METRIC_ADVANTAGE_STD] + 1e-8);
  }
  var loss: f32;
  var dLogP: f32;
  if (args.ratioWeighted != 0u) {
    loss = -exp(logP - logProbsOld[r]) * advantage;
    dLogP = loss;
  } else {
    loss = -logP * advantage;
    dLogP = -advantage;
  }
  let scale = dLogP / f32(args.rows);
  let gradLogP = dist_grad_log_prob(d, action);
  for (var k = 0u; k < A; k++) { gradOutput[base + k] = scale * gradLogP[k]; }
  rowLoss[r] = loss;
}

@compute @workgroup_size(WG)
fn value_gradient(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let local = linear_index(gid, nwg);
  if (local >= args.rows) { return; }
  let r = agent_index(gid) * args.rows + local;
  let error = values[r] - returns[r];
  gradOutput[r] = 2.0 * error / f32(args.rows);
  rowLoss[r] = error * error;
}
