// Fisher-vector product of a softmax policy MLP over a batch, without double
// backprop and without forming the matrix:
//
//   F v = (1/R) Σ_i J_iᵀ (diag p_i − p_i p_iᵀ) J_i v + damping · v
//
// J_i = d logits_i / dθ. At θ = θ_old this is the Hessian of the mean
// KL(π_old ‖ π_θ), which is what the seed's double backprop computes.
// Three steps, all one invocation per row except the last:
//   tangent (per layer l, forward mode, u_0 = 0 for the network input):
//     u_l[r][o] = act'(a_l[r][o]) · (Σ_i W[o][i] u_{l−1}[r][i] + V[o][i] a_{l−1}[r][i] + v_b[o])
//     where V, v_b are the tangent vector v read in the parameter layout; the
//     last layer's u is J_i v (the logit tangents)
//   fisher_weights: w[r][k] = (p_k u_k − p_k Σ_j p_j u_j) / R at the logits;
//     the ordinary MLP backward then turns w into Σ_i J_iᵀ w_i (Jᵀw)
//   add_damping: result[n] = jtw[n] + damping · v[n]   (one invocation per parameter)
//
// Buffers:
//   params, vector  [paramCount] f32 in the MlpLayout order (vector: whole vec4s)
//   input           [rows][inDim]  a_{l−1} (the network input for l = 0)
//   output          [rows][outDim] a_l, this layer's post-activation at θ
//   tangentIn       [rows][inDim]  u_{l−1} (ignored where hasTangentIn = 0)
//   tangentOut      [rows][outDim] u_l
//   logits, logitTangents, weights [rows][numActions]
//   jtw, result     [paramCount]
//
// Shaped like mlp.wgsl's forward for CPU drivers: a row's inputs and tangents
// live in registers (CHUNK at a time), weights are read as vec4s where W's rows
// are 16-byte aligned (ALIGNED), partial vec4 lanes are multiplied by exact zeros.
override WG: u32 = 64;
override ALIGNED: bool = false;

const CHUNK: u32 = 64u;
const CHUNK4: u32 = 16u;
const TANH: u32 = 1u;
const MAX_ACTIONS: u32 = 16u;

struct TangentArgs {
  rows: u32,
  inDim: u32,
  outDim: u32,
  weightOffset: u32,
  biasOffset: u32,
  // the activation that produced `output` (0 identity, 1 tanh)
  activation: u32,
  // 0 for the first layer: the network input does not depend on θ
  hasTangentIn: u32,
}

struct FisherArgs {
  rows: u32,
  numActions: u32,
}

struct DampingArgs {
  count: u32,
  damping: f32,
}

@group(0) @binding(0) var<uniform> args: TangentArgs;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> paramsVec4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> vector: array<f32>;
@group(0) @binding(4) var<storage, read> vectorVec4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> input: array<f32>;
@group(0) @binding(6) var<storage, read> tangentIn: array<f32>;
@group(0) @binding(7) var<storage, read> output: array<f32>;
@group(0) @binding(8) var<storage, read_write> tangentOut: array<f32>;

@group(0) @binding(9) var<uniform> fisher: FisherArgs;
@group(0) @binding(10) var<storage, read> logits: array<f32>;
@group(0) @binding(11) var<storage, read> logitTangents: array<f32>;
@group(0) @binding(12) var<storage, read_write> weights: array<f32>;

@group(0) @binding(13) var<uniform> dampingArgs: DampingArgs;
@group(0) @binding(14) var<storage, read> jtw: array<f32>;
@group(0) @binding(15) var<storage, read_write> result: array<f32>;

fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// Four consecutive elements of a row from base + i, zero where i + j >= n.
fn input4(base: u32, i: u32, n: u32) -> vec4<f32> {
  let last = n - 1u;
  return select(vec4<f32>(0.0), vec4<f32>(
    input[base + min(i, last)],
    input[base + min(i + 1u, last)],
    input[base + min(i + 2u, last)],
    input[base + min(i + 3u, last)],
  ), vec4<u32>(i, i + 1u, i + 2u, i + 3u) < vec4<u32>(n));
}

fn tangent_in4(base: u32, i: u32, n: u32) -> vec4<f32> {
  let last = n - 1u;
  return select(vec4<f32>(0.0), vec4<f32>(
    tangentIn[base + min(i, last)],
    tangentIn[base + min(i + 1u, last)],
    tangentIn[base + min(i + 2u, last)],
    tangentIn[base + min(i + 3u, last)],
  ), vec4<u32>(i, i + 1u, i + 2u, i + 3u) < vec4<u32>(n));
}

// W[row][i .. i + 3] for a row of W starting at params[w]; lanes past the row's
// last index are clamped to it (and multiplied by zero by the caller).
fn weights4(w: u32, i: u32, last: u32) -> vec4<f32> {
  if (ALIGNED) { return paramsVec4[(w + i) / 4u]; }
  return vec4<f32>(params[w + min(i, last)], params[w + min(i + 1u, last)], params[w + min(i + 2u, last)], params[w + min(i + 3u, last)]);
}

// The same entries of the tangent vector (V[row][i .. i + 3]).
fn vector4(w: u32, i: u32, last: u32) -> vec4<f32> {
  if (ALIGNED) { return vectorVec4[(w + i) / 4u]; }
  return vec4<f32>(vector[w + min(i, last)], vector[w + min(i + 1u, last)], vector[w + min(i + 2u, last)], vector[w + min(i + 3u, last)]);
}

@compute @workgroup_size(WG)
fn tangent(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = linear_index(gid, nwg);
  if (r >= args.rows) { return; }
  let inDim = args.inDim;
  let outDim = args.outDim;
  let outBase = r * outDim;
  let chained = args.hasTangentIn != 0u;
  var x: array<vec4<f32>, CHUNK4>;
  var u: array<vec4<f32>, CHUNK4>;
  for (var c0 = 0u; c0 < inDim; c0 += CHUNK) {
    let n = min(CHUNK, inDim - c0);
    let n4 = (n + 3u) / 4u;
    for (var k = 0u; k < CHUNK4; k++) {
      if (k < n4) {
        x[k] = input4(r * inDim + c0, 4u * k, n);
        u[k] = select(vec4<f32>(0.0), tangent_in4(r * inDim + c0, 4u * k, n), chained);
      }
    }
    let firstChunk = c0 == 0u;
    let lastChunk = c0 + n == inDim;
    for (var o = 0u; o < outDim; o++) {
      let w = args.weightOffset + o * inDim + c0;
      var acc = vec4<f32>(0.0);
      for (var k = 0u; k < CHUNK4; k++) {
        if (k < n4) { acc += vector4(w, 4u * k, n - 1u) * x[k]; }
      }
      if (chained) {
        for (var k = 0u; k < CHUNK4; k++) {
          if (k < n4) { acc += weights4(w, 4u * k, n - 1u) * u[k]; }
        }
      }
      let earlier = select(tangentOut[outBase + o], vector[args.biasOffset + o], firstChunk);
      let s = earlier + ((acc.x + acc.y) + (acc.z + acc.w));
      // tanh' from the layer's output a: 1 − a².
      let a = output[outBase + o];
      let slope = select(1.0, 1.0 - a * a, args.activation == TANH);
      tangentOut[outBase + o] = select(s, s * slope, lastChunk);
    }
  }
}

@compute @workgroup_size(WG)
fn fisher_weights(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = linear_index(gid, nwg);
  if (r >= fisher.rows) { return; }
  let A = fisher.numActions;
  let base = r * A;
  var p: array<f32, MAX_ACTIONS>;
  var maxLogit = -3.4e38;
  for (var k = 0u; k < A; k++) { maxLogit = max(maxLogit, logits[base + k]); }
  var sum = 0.0;
  for (var k = 0u; k < A; k++) {
    p[k] = exp(logits[base + k] - maxLogit);
    sum += p[k];
  }
  var pu = 0.0;
  for (var k = 0u; k < A; k++) {
    p[k] /= sum;
    pu += p[k] * logitTangents[base + k];
  }
  let invRows = 1.0 / f32(fisher.rows);
  for (var k = 0u; k < A; k++) {
    weights[base + k] = p[k] * (logitTangents[base + k] - pu) * invRows;
  }
}

@compute @workgroup_size(WG)
fn add_damping(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= dampingArgs.count) { return; }
  result[i] = jtw[i] + dampingArgs.damping * vector[i];
}
