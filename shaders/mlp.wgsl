// Batched dense layers of an MLP whose parameters live in one flat buffer.
//
// Buffers (row-major):
//   params      [paramCount] f32; this layer's W[o][i] at weightOffset + o * inDim + i, b[o] at biasOffset + o
//   input       [rows][inDim]  the previous layer's post-activation (or the network input)
//   output      [rows][outDim] this layer's post-activation
//   gradOutput  [rows][outDim] dLoss/d(this layer's pre-activation)
//   gradInput   [rows][inDim]  dLoss/d(previous layer's pre-activation)
//   grads       [paramCount] f32, same layout as params
//
//   forward:         output[r][o]   = act(Σ_i W[o][i] input[r][i] + b[o])
//   backward_input:  gradInput[r][i] = (Σ_o W[o][i] gradOutput[r][o]) · act'(input[r][i]),
//                    act' of the activation that produced input (tanh: 1 − input², identity: 1)
//   backward_params: grads[W[o][i]] (=, or += with accumulate) scale · Σ_r gradOutput[r][o] input[r][i]
//                    grads[b[o]]    likewise with scale · Σ_r gradOutput[r][o]
//
// Shaped for CPU drivers (lavapipe, SwiftShader), where workgroup memory and
// barriers are slow and a row held in registers is fast:
//   forward, backward_input: one invocation per row (dispatch `rows`); up to
//     CHUNK values of the row live in registers, and all invocations read the
//     same weight at the same time (a broadcast). Rows wider than CHUNK are done
//     in chunks that accumulate in the output row. Where W's rows start on
//     16-byte boundaries (ALIGNED: weightOffset and inDim multiples of 4),
//     weights are read as vec4s, which CPU drivers turn into one load, not four.
//   backward_params: one invocation per 4×4 tile of W (and per 4 biases),
//     dispatch ceil(outDim/4) · (ceil(inDim/4) + 1); it sums over rows in a
//     fixed order (blocks of ROW_BLOCK rows, then the block sums), so results
//     are bit-reproducible and the f32 error grows like (ROW_BLOCK + rows/ROW_BLOCK)·eps.
// Lanes of a partial vec4 past the end of a row read a clamped, valid index;
// forward multiplies them by an exact zero, backward_input discards them.
override WG: u32 = 64;
override ALIGNED: bool = false;

const CHUNK: u32 = 64u;
const CHUNK4: u32 = 16u;
const ROW_BLOCK: u32 = 64u;

// Activation codes (DenseArgs.activation, inputActivation); 0 is identity.
const TANH: u32 = 1u;

struct DenseArgs {
  rows: u32,
  inDim: u32,
  outDim: u32,
  weightOffset: u32,
  biasOffset: u32,
  // forward: the activation applied to this layer's output
  activation: u32,
  // backward_input: the activation that produced `input`
  inputActivation: u32,
  // backward_params: 1 adds to grads instead of overwriting them
  accumulate: u32,
  // backward_params: factor applied to the summed gradient
  scale: f32,
}

@group(0) @binding(0) var<uniform> args: DenseArgs;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> input: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<storage, read> gradOutput: array<f32>;
@group(0) @binding(5) var<storage, read_write> gradInput: array<f32>;
@group(0) @binding(6) var<storage, read_write> grads: array<f32>;
// The same buffer as params, seen as vec4s (read only where ALIGNED).
@group(0) @binding(7) var<storage, read> paramsVec4: array<vec4<f32>>;

fn activate(kind: u32, x: f32) -> f32 {
  // tanh rounds to ±1 in f32 beyond |x| ≈ 9; the clamp keeps drivers that
  // evaluate it through exponentials from overflowing to NaN.
  if (kind == TANH) { return tanh(clamp(x, -10.0, 10.0)); }
  return x;
}

// d act / d pre-activation, from the activation's output y.
fn slope(kind: u32, y: f32) -> f32 {
  if (kind == TANH) { return 1.0 - y * y; }
  return 1.0;
}

// Four consecutive elements of `input` from base + i, zero where i + j >= n.
fn input4(base: u32, i: u32, n: u32) -> vec4<f32> {
  let last = n - 1u;
  return select(vec4<f32>(0.0), vec4<f32>(
    input[base + min(i, last)],
    input[base + min(i + 1u, last)],
    input[base + min(i + 2u, last)],
    input[base + min(i + 3u, last)],
  ), vec4<u32>(i, i + 1u, i + 2u, i + 3u) < vec4<u32>(n));
}

// Four consecutive elements of gradOutput from base + o, zero where o + j >= n.
fn gradOutput4(base: u32, o: u32, n: u32) -> vec4<f32> {
  let last = n - 1u;
  return select(vec4<f32>(0.0), vec4<f32>(
    gradOutput[base + min(o, last)],
    gradOutput[base + min(o + 1u, last)],
    gradOutput[base + min(o + 2u, last)],
    gradOutput[base + min(o + 3u, last)],
  ), vec4<u32>(o, o + 1u, o + 2u, o + 3u) < vec4<u32>(n));
}

// W[row][i .. i + 3] for a row of W starting at params[w]; lanes past the
// row's last index are clamped to it.
fn weights4(w: u32, i: u32, last: u32) -> vec4<f32> {
  if (ALIGNED) { return paramsVec4[(w + i) / 4u]; }
  return vec4<f32>(
    params[w + min(i, last)],
    params[w + min(i + 1u, last)],
    params[w + min(i + 2u, last)],
    params[w + min(i + 3u, last)],
  );
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= args.rows) { return; }
  let inDim = args.inDim;
  let outDim = args.outDim;
  let outBase = r * outDim;
  var x: array<vec4<f32>, CHUNK4>;
  for (var c0 = 0u; c0 < inDim; c0 += CHUNK) {
    let n = min(CHUNK, inDim - c0);
    let n4 = (n + 3u) / 4u;
    // Constant trip counts let the compiler unroll and keep x in registers.
    for (var k = 0u; k < CHUNK4; k++) {
      if (k < n4) { x[k] = input4(r * inDim + c0, 4u * k, n); }
    }
    let firstChunk = c0 == 0u;
    let lastChunk = c0 + n == inDim;
    for (var o = 0u; o < outDim; o++) {
      let w = args.weightOffset + o * inDim + c0;
      var acc = vec4<f32>(0.0);
      for (var k = 0u; k < CHUNK4; k++) {
        if (k < n4) { acc += weights4(w, 4u * k, n - 1u) * x[k]; }
      }
      var s = (acc.x + acc.y) + (acc.z + acc.w);
      if (firstChunk) { s += params[args.biasOffset + o]; } else { s += output[outBase + o]; }
      output[outBase + o] = select(s, activate(args.activation, s), lastChunk);
    }
  }
}

@compute @workgroup_size(WG)
fn backward_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= args.rows) { return; }
  let inDim = args.inDim;
  let outDim = args.outDim;
  let inBase = r * inDim;
  var g: array<f32, CHUNK>;
  for (var c0 = 0u; c0 < outDim; c0 += CHUNK) {
    let n = min(CHUNK, outDim - c0);
    for (var o = 0u; o < CHUNK; o++) {
      if (o < n) { g[o] = gradOutput[r * outDim + c0 + o]; }
    }
    let firstChunk = c0 == 0u;
    let lastChunk = c0 + n == outDim;
    for (var i0 = 0u; i0 < inDim; i0 += 4u) {
      // Inputs i0 .. i0 + 3 against outputs c0 .. c0 + n.
      var acc = vec4<f32>(0.0);
      for (var o = 0u; o < CHUNK; o++) {
        if (o < n) { acc += weights4(args.weightOffset + (c0 + o) * inDim, i0, inDim - 1u) * g[o]; }
      }
      for (var j = 0u; j < 4u; j++) {
        let i = inBase + i0 + j;
        if (i0 + j < inDim) {
          var s = acc[j];
          if (!firstChunk) { s += gradInput[i]; }
          gradInput[i] = select(s, s * slope(args.inputActivation, input[i]), lastChunk);
        }
      }
    }
  }
}

@compute @workgroup_size(WG)
fn backward_params(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let tile = gid.x + gid.y * nwg.x * WG;
  let inDim = args.inDim;
  let outDim = args.outDim;
  let inTiles = (inDim + 3u) / 4u;
  let tilesPerRow = inTiles + 1u;
  if (tile >= tilesPerRow * ((outDim + 3u) / 4u)) { return; }
  let o0 = 4u * (tile / tilesPerRow);
  let i0 = 4u * (tile % tilesPerRow);
  // The last tile of each row of tiles holds the biases of outputs o0 .. o0 + 3.
  let isBias = i0 == 4u * inTiles;
  // total[j], blockSum[j]: output o0 + j against inputs i0 .. i0 + 3 (bias tiles: against 1).
  var total: array<vec4<f32>, 4>;
  var blockSum: array<vec4<f32>, 4>;
  let rows = args.rows;
  for (var r0 = 0u; r0 < rows; r0 += ROW_BLOCK) {
    let r1 = min(r0 + ROW_BLOCK, rows);
    for (var j = 0u; j < 4u; j++) { blockSum[j] = vec4<f32>(0.0); }
    for (var r = r0; r < r1; r++) {
      let g = gradOutput4(r * outDim, o0, outDim);
      var x = vec4<f32>(1.0, 0.0, 0.0, 0.0);
      if (!isBias) { x = input4(r * inDim, i0, inDim); }
      blockSum[0] += g.x * x;
      blockSum[1] += g.y * x;
      blockSum[2] += g.z * x;
      blockSum[3] += g.w * x;
    }
    for (var j = 0u; j < 4u; j++) { total[j] += blockSum[j]; }
  }
  for (var j = 0u; j < 4u; j++) {
    let o = o0 + j;
    if (o >= outDim) { break; }
    if (isBias) {
      let at = args.biasOffset + o;
      grads[at] = args.scale * total[j].x + select(0.0, grads[at], args.accumulate != 0u);
      continue;
    }
    for (var c = 0u; c < 4u; c++) {
      let i = i0 + c;
      if (i >= inDim) { break; }
      let at = args.weightOffset + o * inDim + i;
      grads[at] = args.scale * total[j][c] + select(0.0, grads[at], args.accumulate != 0u);
    }
  }
}
