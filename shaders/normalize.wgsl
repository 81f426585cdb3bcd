// Observation normalisation and return-based reward scaling (VecNormalize's
// semantics), every statistic kept and updated on the GPU.
//
// Populations: every buffer is agent-major, agent a's block being what a single run
// binds (described here), and a dispatch covers every agent (workgroup id z); the
// discount γ is each agent's own (agents[agent].gamma, AgentParams loaded before this
// file with common.wgsl). Block sizes come from the args, per agent.
//
// Running moments, `moments`: [D][3] f32, per component (mean, var, count).
// The count is kept per component so that one invocation per component merges
// without reading another invocation's result. Initially (0, 1, epsilon count).
//
// Entry points (index i = t * N + env for time-major [T][N] data; rows of D f32):
//   normalize_rows     rows·D invocations: out = clamp((x − mean) / sqrt(var + eps), ±clip)
//   partial_moments    N invocations: the mean and M2 = Σ(x − mean)² of env n's T rows,
//                      per component, by Welford's update → partials [N][D][2]; an agent's
//                      block of samples is inputRows rows (its first T·N are read)
//   merge_moments      D invocations: the batch moments from the N partials (T rows
//                      each) by Chan's parallel merge, then merged into `moments`:
//                        δ = mean_b − mean_a,  n = n_a + n_b
//                        mean = mean_a + δ·n_b/n,  M2 = M2_a + M2_b + δ²·n_a·n_b/n
//                      (the running var is M2/n: population variance, as numpy's var)
//   discounted_returns N invocations: R = γ·R + r_t per env over T steps, R kept in
//                      `accumulator` [N] across iterations and reset to 0 after a
//                      step that ended the episode (terminated or truncated)
//   scale_rewards      T·N invocations: r / sqrt(var_R + eps) clamped to ±clip
override WG: u32 = 64;

struct NormalizeArgs {
  // per agent
  rows: u32,
  dim: u32,
  clip: f32,
  epsilon: f32,
}

struct MomentsArgs {
  numEnvs: u32,
  numSteps: u32,
  dim: u32,
  // rows of one agent's block of samples (≥ numSteps · numEnvs: a rollout's obs also
  // holds its bootstrap and final observations)
  inputRows: u32,
}

struct ReturnArgs {
  numEnvs: u32,
  numSteps: u32,
  clip: f32,
  epsilon: f32,
}

@group(0) @binding(0) var<uniform> normalizeArgs: NormalizeArgs;
@group(0) @binding(1) var<uniform> momentsArgs: MomentsArgs;
@group(0) @binding(2) var<uniform> returnArgs: ReturnArgs;
@group(0) @binding(3) var<storage, read_write> moments: array<f32>;
@group(0) @binding(4) var<storage, read> samples: array<f32>;
@group(0) @binding(5) var<storage, read_write> normalized: array<f32>;
@group(0) @binding(6) var<storage, read_write> partials: array<f32>;
@group(0) @binding(7) var<storage, read> doneFlags: array<u32>;
@group(0) @binding(8) var<storage, read_write> accumulator: array<f32>;
@group(0) @binding(9) var<storage, read_write> discounted: array<f32>;
@group(0) @binding(10) var<storage, read_write> scaled: array<f32>;
@group(0) @binding(11) var<storage, read> agents: array<AgentParams>;

@compute @workgroup_size(WG)
fn normalize_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let j = linear_index(gid, nwg);
  let D = normalizeArgs.dim;
  if (j >= normalizeArgs.rows * D) { return; }
  let i = agent * normalizeArgs.rows * D + j;
  let m = (agent * D + j % D) * 3u;
  let scale = sqrt(moments[m + 1u] + normalizeArgs.epsilon);
  normalized[i] = clamp((samples[i] - moments[m]) / scale, -normalizeArgs.clip, normalizeArgs.clip);
}

@compute @workgroup_size(WG)
fn partial_moments(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let env = linear_index(gid, nwg);
  let N = momentsArgs.numEnvs;
  let D = momentsArgs.dim;
  if (env >= N) { return; }
  let firstSample = agent * momentsArgs.inputRows * D;
  let firstPartial = (agent * N + env) * D;
  for (var k = 0u; k < D; k++) {
    var mean = 0.0;
    var m2 = 0.0;
    for (var t = 0u; t < momentsArgs.numSteps; t++) {
      let x = samples[firstSample + (t * N + env) * D + k];
      let delta = x - mean;
      mean += delta / f32(t + 1u);
      m2 += delta * (x - mean);
    }
    partials[(firstPartial + k) * 2u] = mean;
    partials[(firstPartial + k) * 2u + 1u] = m2;
  }
}

@compute @workgroup_size(WG)
fn merge_moments(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let k = linear_index(gid, nwg);
  let D = momentsArgs.dim;
  if (k >= D) { return; }
  let first = agent * momentsArgs.numEnvs * D;
  let m = (agent * D + k) * 3u;
  let T = f32(momentsArgs.numSteps);
  var n = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var env = 0u; env < momentsArgs.numEnvs; env++) {
    let total = n + T;
    let p = (first + env * D + k) * 2u;
    let delta = partials[p] - mean;
    mean += delta * T / total;
    m2 += partials[p + 1u] + delta * delta * n * T / total;
    n = total;
  }
  let runningMean = moments[m];
  let runningCount = moments[m + 2u];
  let total = runningCount + n;
  let delta = mean - runningMean;
  let runningM2 = moments[m + 1u] * runningCount + m2 + delta * delta * runningCount * n / total;
  moments[m] = runningMean + delta * n / total;
  moments[m + 1u] = runningM2 / total;
  moments[m + 2u] = total;
}

@compute @workgroup_size(WG)
fn discounted_returns(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let env = linear_index(gid, nwg);
  let N = returnArgs.numEnvs;
  if (env >= N) { return; }
  let gamma = agents[agent].gamma;
  let first = agent * returnArgs.numSteps * N;
  var R = accumulator[agent * N + env];
  for (var t = 0u; t < returnArgs.numSteps; t++) {
    let i = first + t * N + env;
    R = gamma * R + samples[i];
    discounted[i] = R;
    if (doneFlags[i] != 0u) { R = 0.0; }
  }
  accumulator[agent * N + env] = R;
}

@compute @workgroup_size(WG)
fn scale_rewards(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let j = linear_index(gid, nwg);
  let count = returnArgs.numEnvs * returnArgs.numSteps;
  if (j >= count) { return; }
  let i = agent * count + j;
  scaled[i] = clamp(samples[i] / sqrt(moments[agent * 3u + 1u] + returnArgs.epsilon), -returnArgs.clip, returnArgs.clip);
}
