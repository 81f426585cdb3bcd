// Fisher-vector product of a softmax policy MLP over a batch, without double
// backprop and without forming the matrix:
//
//   F v = (1/R) Σ_i J_iᵀ (diag p_i − p_i p_iᵀ) J_i v + damping · v
//
// J_i = d logits_i / dθ. At θ = θ_old this is the Hessian of the mean
// KL(π_old ‖ π_θ), which is what the seed's double backprop computes.
// Three steps:
//   tangents: u = J_i v, forward mode through the network at the activations
//     of its forward pass (mlp.wgsl's tangent kernels, per layer)
//   fisher_weights: w[r][k] = (p_k u_k − p_k Σ_j p_j u_j) / R at the logits,
//     one invocation per row; the network's ordinary backward pass
//     (mlp.wgsl) then turns w into Σ_i J_iᵀ w_i (Jᵀw)
//   add_damping: result[n] = jtw[n] + damping · v[n], one invocation per parameter,
//     damping being the agent's (AgentParams.damping)
//
// Populations: workgroup id z is the agent; every buffer is agent-major, agent
// a's block being a single run's: parameter vectors in blocks of whole vec4s
// (stride = count rounded up to 4), row buffers in blocks of rows·numActions.
//
// Buffers:
//   vector          [agents][stride] f32, v in the MlpLayout order
//   logits, logitTangents, weights [agents][rows][numActions]
//   jtw, result     [agents][stride]
//   agents          [agents] AgentParams
// Prepended by the wrapper: shaders/common.wgsl, random.wgsl, the action distribution (categorical.wgsl)
// and the AgentParams struct (src/core/agentParams.ts).
override WG: u32 = 64;

struct FisherArgs {
  rows: u32,
  numActions: u32,
}

struct DampingArgs {
  count: u32,
}

@group(0) @binding(3) var<storage, read> vector: array<f32>;

@group(0) @binding(9) var<uniform> fisher: FisherArgs;
@group(0) @binding(10) var<storage, read> logits: array<f32>;
@group(0) @binding(11) var<storage, read> logitTangents: array<f32>;
@group(0) @binding(12) var<storage, read_write> weights: array<f32>;

@group(0) @binding(13) var<uniform> dampingArgs: DampingArgs;
@group(0) @binding(14) var<storage, read> jtw: array<f32>;
@group(0) @binding(15) var<storage, read_write> result: array<f32>;
@group(0) @binding(16) var<storage, read> agents: array<AgentParams>;

@compute @workgroup_size(WG)
fn fisher_weights(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let r = linear_index(gid, nwg);
  if (r >= fisher.rows) { return; }
  let A = fisher.numActions;
  let base = (agent * fisher.rows + r) * A;
  var row: DistParams;
  var tangent: DistParams;
  for (var k = 0u; k < A; k++) {
    row[k] = logits[base + k];
    tangent[k] = logitTangents[base + k];
  }
  let w = dist_fisher_weights(dist_from_params(row, A), tangent);
  let invRows = 1.0 / f32(fisher.rows);
  for (var k = 0u; k < A; k++) { weights[base + k] = w[k] * invRows; }
}

@compute @workgroup_size(WG)
fn add_damping(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let n = linear_index(gid, nwg);
  if (n >= dampingArgs.count) { return; }
  // Parameter vectors are whole vec4s per agent, as the MLP's aligned kernels read them.
  let i = agent * ((dampingArgs.count + 3u) / 4u * 4u) + n;
  result[i] = jtw[i] + agents[agent].damping * vector[i];
}
