// Diagonal Gaussian policy head: joins the network's means with the
// state-independent log standard deviations into the rows the distribution
// module reads (shaders/gaussian.wgsl: means, then log-stds), and splits a
// gradient at those rows back into the network's output gradient and the
// log-stds' own. Loaded after common.wgsl.
//
// Buffers (D = args.dim action components), each agent-major for a population
// of P agents (one dispatch covers every agent along z):
//   means      [P][rows][D]   the network's output (or its tangent J v)
//   source     [P][paramStride] a parameter vector per agent: the log-stds ℓ at args.offset
//                             of the agent's block (the parameters, or the FVP's direction v)
//   rowParams  [P][rows][2D]  (μ_r, ℓ): what dist_from_params reads (or the row tangent (J_r v, v_ℓ))
//   rowGrads   [P][rows][2D]  dLoss/d rowParams, written by a loss or the Fisher weights
//   meanGrads  [P][rows][D]   dLoss/d means, the network backward's input
//   grads      [P][paramStride] gradient vectors: grads[offset + i] = scale · Σ_r rowGrads[r][D + i]
//                             (+ its previous value when accumulating), in row order
// The log-stds are shared by every row, so their gradient is the sum over rows of
// the per-row one, as the network's biases are.
// Dispatch (per agent): head_forward rows invocations; head_backward max(rows, D)
// (invocation r copies row r's mean gradients and, for r < D, sums log-std r's).
override WG: u32 = 64;

struct HeadArgs {
  rows: u32,
  dim: u32,
  offset: u32,
  // floats per agent in source and grads
  paramStride: u32,
  accumulate: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> args: HeadArgs;
@group(0) @binding(1) var<storage, read> means: array<f32>;
@group(0) @binding(2) var<storage, read> source: array<f32>;
@group(0) @binding(3) var<storage, read_write> rowParams: array<f32>;
@group(0) @binding(4) var<storage, read> rowGrads: array<f32>;
@group(0) @binding(5) var<storage, read_write> meanGrads: array<f32>;
@group(0) @binding(6) var<storage, read_write> grads: array<f32>;

@compute @workgroup_size(WG)
fn head_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let r = linear_index(gid, nwg);
  if (r >= args.rows) { return; }
  let D = args.dim;
  // The agent's row r, and its log-stds.
  let row = agent * args.rows + r;
  let logStds = agent * args.paramStride + args.offset;
  for (var i = 0u; i < D; i++) {
    rowParams[row * 2u * D + i] = means[row * D + i];
    rowParams[row * 2u * D + D + i] = source[logStds + i];
  }
}

@compute @workgroup_size(WG)
fn head_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let r = linear_index(gid, nwg);
  let D = args.dim;
  // The agent's first row.
  let first = agent * args.rows;
  if (r < args.rows) {
    for (var i = 0u; i < D; i++) { meanGrads[(first + r) * D + i] = rowGrads[(first + r) * 2u * D + i]; }
  }
  if (r < D) {
    var total = 0.0;
    for (var q = 0u; q < args.rows; q++) { total += rowGrads[(first + q) * 2u * D + D + r]; }
    let at = agent * args.paramStride + args.offset + r;
    let previous = select(0.0, grads[at], args.accumulate != 0u);
    grads[at] = previous + args.scale * total;
  }
}
