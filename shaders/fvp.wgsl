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
// tangent comes in two shapes, like mlp.wgsl's forward:
//   tangent        one invocation per row: a row's inputs and tangents live in
//                  registers (CHUNK at a time), weights are read as vec4s where
//                  W's rows are 16-byte aligned (ALIGNED), partial vec4 lanes are
//                  multiplied by exact zeros. Any layer.
//   tangent_tiles  one invocation per 4 rows × 4 outputs, named vec4
//                  accumulators, every load serving four dot products; dispatch
//                  ceil(rows / 4) · ceil(outDim / 4). Aligned layers only (W rows
//                  and input rows whole vec4s). Used with mlp.wgsl's rows and
//                  tiles shapes; its tile geometry is shaders/tiles.wgsl's.
override WG: u32 = 64;
override ALIGNED: bool = false;

const CHUNK: u32 = 64u;
const CHUNK4: u32 = 16u;
const TANH: u32 = 1u;

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

// The same buffers as input and tangentIn, seen as vec4s (tangent_tiles).
@group(0) @binding(16) var<storage, read> inputVec4: array<vec4<f32>>;
@group(0) @binding(17) var<storage, read> tangentInVec4: array<vec4<f32>>;

@group(0) @binding(13) var<uniform> dampingArgs: DampingArgs;
@group(0) @binding(14) var<storage, read> jtw: array<f32>;
@group(0) @binding(15) var<storage, read_write> result: array<f32>;


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
fn tangent_tiles(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  let inDim = args.inDim;
  let outDim = args.outDim;
  let rows = args.rows;
  let tile = tile_of(t, rows, inDim, outDim, args.weightOffset);
  let r0 = tile.r0;
  let o0 = tile.o0;
  if (r0 >= rows) { return; }
  let lastOut = outDim - 1u;
  let x = tile.rows;
  let w = tile.weights;
  // acc<j>[c]: row r0 + j, output o0 + c.
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  // V a_{l−1}
  for (var k = 0u; k < inDim / 4u; k++) {
    let a = vectorVec4[w.x + k];
    let b = vectorVec4[w.y + k];
    let c = vectorVec4[w.z + k];
    let d = vectorVec4[w.w + k];
    acc0 += dots4(a, b, c, d, inputVec4[x.x + k]);
    acc1 += dots4(a, b, c, d, inputVec4[x.y + k]);
    acc2 += dots4(a, b, c, d, inputVec4[x.z + k]);
    acc3 += dots4(a, b, c, d, inputVec4[x.w + k]);
  }
  // + W u_{l−1}
  if (args.hasTangentIn != 0u) {
    for (var k = 0u; k < inDim / 4u; k++) {
      let a = paramsVec4[w.x + k];
      let b = paramsVec4[w.y + k];
      let c = paramsVec4[w.z + k];
      let d = paramsVec4[w.w + k];
      acc0 += dots4(a, b, c, d, tangentInVec4[x.x + k]);
      acc1 += dots4(a, b, c, d, tangentInVec4[x.y + k]);
      acc2 += dots4(a, b, c, d, tangentInVec4[x.z + k]);
      acc3 += dots4(a, b, c, d, tangentInVec4[x.w + k]);
    }
  }
  let vb = vec4<f32>(
    vector[args.biasOffset + o0],
    vector[args.biasOffset + min(o0 + 1u, lastOut)],
    vector[args.biasOffset + min(o0 + 2u, lastOut)],
    vector[args.biasOffset + min(o0 + 3u, lastOut)],
  );
  storeTangents(r0, o0, acc0 + vb);
  storeTangents(r0 + 1u, o0, acc1 + vb);
  storeTangents(r0 + 2u, o0, acc2 + vb);
  storeTangents(r0 + 3u, o0, acc3 + vb);
}

// tangentOut[r][o0 .. o0 + 3] = s · act'(a_l), the parts inside the batch and the layer.
fn storeTangents(r: u32, o0: u32, s: vec4<f32>) {
  if (r >= args.rows) { return; }
  for (var c = 0u; c < 4u; c++) {
    let o = o0 + c;
    if (o < args.outDim) {
      let at = r * args.outDim + o;
      // tanh' from the layer's output a: 1 − a².
      let a = output[at];
      tangentOut[at] = s[c] * select(1.0, 1.0 - a * a, args.activation == TANH);
    }
  }
}

@compute @workgroup_size(WG)
fn fisher_weights(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = linear_index(gid, nwg);
  if (r >= fisher.rows) { return; }
  let A = fisher.numActions;
  let base = r * A;
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
  let i = linear_index(gid, nwg);
  if (i >= dampingArgs.count) { return; }
  result[i] = jtw[i] + dampingArgs.damping * vector[i];
}
