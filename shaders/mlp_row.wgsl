// One row of a policy network's forward pass, inside another family's kernel
// (the rollout's fused steps, rollout_steps.wgsl): helpers only, no entry
// points. Each layer is computed with the arithmetic of the mlp kernel the
// network's own forward pass runs it with (the layer's `arithmetic`), in the
// same order, so the row's outputs have the same bits as that pass's row.
//   ROW_FMA4   forward_rows and the `rows` chains: acc += W[o][4k..] ⊙ x[k] by vec4 fma,
//              then (acc.x + acc.y) + (acc.z + acc.w) + b
//   ROW_DOT    forward_tiles and the `tiles` chains: s += dot(W[o][4k..], x[k]), then s + b
//   ROW_CHUNK  forward (any layer): per 64-input chunk, sum += W ⊙ x in vec4s (weight
//              lanes past the row clamped to its last, input lanes zero), then
//              (sum.x + sum.y) + (sum.z + sum.w) + b, or + the chunks before
// Loaded after the generated POLICY_WIDTH4 (the widest layer input or output, in
// vec4s), POLICY_MAX_LAYERS and POLICY_VEC4_ARITHMETIC (ROW_FMA4 or ROW_DOT: the
// arithmetic of every layer that is not ROW_CHUNK); the includer declares the bindings
//   policyRow     uniform PolicyRowArgs: layers, parameter stride, head
//   policyLayers  uniform PolicyRowTable: the layers
//   policyParams  storage, read: array<vec4<f32>>, [P][paramStride] floats as vec4s
// Locals avoid binding names (reflection counts a shadowing identifier as a use).

const ROW_FMA4: u32 = 0u;
const ROW_DOT: u32 = 1u;
const ROW_CHUNK: u32 = 2u;
const ROW_TANH: u32 = 1u;
// mlp.wgsl's CHUNK: forward's inputs per chunk (test/rolloutFused.test.ts's 96-input layer spans two).
const ROW_CHUNK_INPUTS: u32 = 64u;

// One dense layer; 32 bytes, a uniform array's stride.
struct PolicyRowLayer {
  @align(16) inDim: u32,
  outDim: u32,
  weightOffset: u32,
  biasOffset: u32,
  // 0 identity, ROW_TANH
  activation: u32,
  arithmetic: u32,
}

struct PolicyRowArgs {
  layers: u32,
  // floats between agents' parameter vectors
  paramStride: u32,
  // a Gaussian head: 1, its log-stds at headOffset of the agent's vector
  gaussian: u32,
  headOffset: u32,
}

struct PolicyRowTable {
  layer: array<PolicyRowLayer, POLICY_MAX_LAYERS>,
}

alias PolicyRowValues = array<f32, POLICY_WIDTH4 * 4u>;

fn row_param(i: u32) -> f32 {
  return policyParams[i / 4u][i % 4u];
}

// mlp.wgsl's activate: the clamp keeps drivers that take tanh through exponentials finite.
fn row_activate(kind: u32, v: f32) -> f32 {
  if (kind == ROW_TANH) { return tanh(clamp(v, -10.0, 10.0)); }
  return v;
}

// Inputs c0 .. c0 + 4·POLICY_WIDTH4 − 1 of the row as vec4s, lanes at or past `count` zero.
fn row_inputs(h: ptr<function, PolicyRowValues>, c0: u32, count: u32) -> array<vec4<f32>, POLICY_WIDTH4> {
  var x: array<vec4<f32>, POLICY_WIDTH4>;
  let n4 = (count - c0 + 3u) / 4u;
  for (var k = 0u; k < n4; k++) {
    let i = c0 + 4u * k;
    let lanes = vec4<u32>(i, i + 1u, i + 2u, i + 3u) < vec4<u32>(count);
    let last = count - 1u;
    x[k] = select(vec4<f32>(0.0), vec4<f32>((*h)[min(i, last)], (*h)[min(i + 1u, last)], (*h)[min(i + 2u, last)], (*h)[min(i + 3u, last)]), lanes);
  }
  return x;
}

// W[o][i .. i + 3] of a row of W starting at float w, lanes past index `last` clamped to it (forward's weights4).
fn row_weights4(w: u32, i: u32, last: u32) -> vec4<f32> {
  return vec4<f32>(row_param(w + min(i, last)), row_param(w + min(i + 1u, last)), row_param(w + min(i + 2u, last)), row_param(w + min(i + 3u, last)));
}

// One layer on the row held in h (its first inDim values); returns the layer's outputs.
// The vec4 loops run to POLICY_WIDTH4 with a guard: constant trip counts let the
// compiler unroll them and keep x in registers (indexed by a loop variable, a CPU
// driver reaches a private array through memory or a select per element).
fn row_layer(layer: PolicyRowLayer, agentBase: u32, h: ptr<function, PolicyRowValues>) -> PolicyRowValues {
  if (layer.arithmetic == ROW_CHUNK) { return row_layer_chunks(layer, agentBase, h); }
  var y: PolicyRowValues;
  let inDim = layer.inDim;
  let n4 = inDim / 4u;
  var x: array<vec4<f32>, POLICY_WIDTH4>;
  for (var k = 0u; k < POLICY_WIDTH4; k++) {
    if (k < n4) { x[k] = vec4<f32>((*h)[4u * k], (*h)[4u * k + 1u], (*h)[4u * k + 2u], (*h)[4u * k + 3u]); }
  }
  for (var o = 0u; o < layer.outDim; o++) {
    let w = (agentBase + layer.weightOffset + o * inDim) / 4u;
    let b = row_param(agentBase + layer.biasOffset + o);
    // One pass's vec4 layers share its shape's arithmetic (POLICY_VEC4_ARITHMETIC):
    // a constant, so the other branch, and its unrolled loop, is not compiled.
    if (POLICY_VEC4_ARITHMETIC == ROW_FMA4) {
      var acc = vec4<f32>(0.0);
      for (var k = 0u; k < POLICY_WIDTH4; k++) {
        if (k < n4) { acc = fma(policyParams[w + k], x[k], acc); }
      }
      y[o] = row_activate(layer.activation, (acc.x + acc.y) + (acc.z + acc.w) + b);
    } else {
      var s = 0.0;
      for (var k = 0u; k < POLICY_WIDTH4; k++) {
        if (k < n4) { s += dot(policyParams[w + k], x[k]); }
      }
      y[o] = row_activate(layer.activation, s + b);
    }
  }
  return y;
}

// A ROW_CHUNK layer (any widths: the layers the vec4 kernels do not take, often only the first).
fn row_layer_chunks(layer: PolicyRowLayer, agentBase: u32, h: ptr<function, PolicyRowValues>) -> PolicyRowValues {
  var y: PolicyRowValues;
  let inDim = layer.inDim;
  for (var c0 = 0u; c0 < inDim; c0 += ROW_CHUNK_INPUTS) {
    let n = min(ROW_CHUNK_INPUTS, inDim - c0);
    let chunk4 = (n + 3u) / 4u;
    var x = row_inputs(h, c0, c0 + n);
    for (var o = 0u; o < layer.outDim; o++) {
      let w = agentBase + layer.weightOffset + o * inDim + c0;
      var sum = vec4<f32>(0.0);
      for (var k = 0u; k < chunk4; k++) { sum += row_weights4(w, 4u * k, n - 1u) * x[k]; }
      var s = (sum.x + sum.y) + (sum.z + sum.w);
      if (c0 == 0u) { s += row_param(agentBase + layer.biasOffset + o); } else { s += y[o]; }
      y[o] = select(s, row_activate(layer.activation, s), c0 + n == inDim);
    }
  }
  return y;
}

// The distribution parameters of agent `agent`'s policy for one input row (its first
// `inputs` values): the last layer's outputs, then with a Gaussian head its log-stds.
fn policy_row(agent: u32, input: PolicyRowValues, inputs: u32) -> PolicyRowValues {
  let agentBase = agent * policyRow.paramStride;
  var h = input;
  var width = inputs;
  for (var l = 0u; l < policyRow.layers; l++) {
    let layer = policyLayers.layer[l];
    h = row_layer(layer, agentBase, &h);
    width = layer.outDim;
  }
  if (policyRow.gaussian != 0u) {
    for (var i = 0u; i < width; i++) { h[width + i] = row_param(agentBase + policyRow.headOffset + i); }
  }
  return h;
}
