// Policy head over distribution parameters [rows][numActions] (logits, or a
// Gaussian's means and log-stds): thin entry points over the distribution
// module (shaders/categorical.wgsl's dist_* functions, or gaussian.wgsl's),
// which is loaded before this file, after random.wgsl, common.wgsl and the
// AgentParams struct. `numActions` is the parameters per row.
//
// Buffers, agent-major for a population of P agents (workgroup id z): agent a's
// block is what a single run binds, described here, at row offset a · rows:
//   logits, logitsOld, logitsNew  [rows][numActions] f32
//   actions                       [rows][W] DistActionWord, W = dist_action_words(numActions)
//                                 (categorical: one i32; read by log_prob_entropy)
//   sampledActions                the same (written by sample)
//   logProb, entropy, kl          [rows] f32
// Dispatch: `rows` invocations per agent, one per row.
//
//   log_prob_entropy: logProb[r] = log π(actions[r] | r), entropy[r] = H(π(· | r))
//   kl_divergence:    kl[r] = KL(π_old(· | r) ‖ π_new(· | r))
//   sample:           an action drawn from π(· | r) with philox4x32((row, t, iteration, 0),
//                     (seed, STREAM_ACTION)), row within its agent and the agent's seed
//                     (agents[agent].seed), the same draw as the fused rollout kernel;
//                     also writes its logProb. `t` comes from a dynamic-offset uniform,
//                     one slot per step.
override WG: u32 = 64;

struct PolicyArgs {
  // per agent
  rows: u32,
  numActions: u32,
  iteration: u32,
}

struct SampleStep {
  t: u32,
}

@group(0) @binding(0) var<uniform> args: PolicyArgs;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> actions: array<DistActionWord>;
@group(0) @binding(3) var<storage, read_write> logProb: array<f32>;
@group(0) @binding(4) var<storage, read_write> entropy: array<f32>;
@group(0) @binding(5) var<storage, read> logitsOld: array<f32>;
@group(0) @binding(6) var<storage, read> logitsNew: array<f32>;
@group(0) @binding(7) var<storage, read_write> kl: array<f32>;
@group(0) @binding(8) var<uniform> step: SampleStep;
@group(0) @binding(9) var<storage, read_write> sampledActions: array<DistActionWord>;
@group(0) @binding(10) var<storage, read> agents: array<AgentParams>;

// Row r (agent-major: agent · rows + row) of `logits` as a distribution.
fn logits_dist(r: u32) -> Dist {
  let A = args.numActions;
  var row: DistParams;
  for (var k = 0u; k < A; k++) { row[k] = logits[r * A + k]; }
  return dist_from_params(row, A);
}

@compute @workgroup_size(WG)
fn log_prob_entropy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = linear_index(gid, nwg);
  if (row >= args.rows) { return; }
  let r = agent_index(gid) * args.rows + row;
  let A = args.numActions;
  let d = logits_dist(r);
  let W = dist_action_words(A);
  var words: DistActionWords;
  for (var k = 0u; k < W; k++) { words[k] = actions[r * W + k]; }
  let action = dist_action_from_words(words, A);
  logProb[r] = dist_log_prob(d, action);
  entropy[r] = dist_entropy(d);
}

@compute @workgroup_size(WG)
fn kl_divergence(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = linear_index(gid, nwg);
  if (row >= args.rows) { return; }
  let r = agent_index(gid) * args.rows + row;
  let A = args.numActions;
  var rowOld: DistParams;
  var rowNew: DistParams;
  for (var k = 0u; k < A; k++) {
    rowOld[k] = logitsOld[r * A + k];
    rowNew[k] = logitsNew[r * A + k];
  }
  kl[r] = dist_kl(dist_from_params(rowOld, A), dist_from_params(rowNew, A));
}

@compute @workgroup_size(WG)
fn sample(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let row = linear_index(gid, nwg);
  if (row >= args.rows) { return; }
  let r = agent * args.rows + row;
  let d = logits_dist(r);
  let chosen = dist_sample(d, vec4<u32>(row, step.t, args.iteration, 0u), vec2<u32>(agents[agent].seed, STREAM_ACTION));
  let W = dist_action_words(args.numActions);
  let words = dist_action_to_words(chosen);
  for (var k = 0u; k < W; k++) { sampledActions[r * W + k] = words[k]; }
  logProb[r] = dist_log_prob(d, chosen);
}
