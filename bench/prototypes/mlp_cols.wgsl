// Prototype (bench only): shaders/mlp.wgsl's forward and backward_input with
// one invocation per output element of 4 rows, no per-invocation arrays, as
// drop-in replacements for their ALIGNED pipelines (same binding names, same
// DenseArgs). SwiftShader keeps per-invocation arrays that loops index in
// memory; this shape has none, only vec4 loads and four accumulators.
//
// Buffers (row-major, as in shaders/mlp.wgsl):
//   params / paramsVec4  [paramCount] f32; W[o][i] at weightOffset + o·inDim + i, b[o] at biasOffset + o
//   input       [rows][inDim]   gradInput  [rows][inDim]
//   output      [rows][outDim]  gradOutput [rows][outDim]
//
// forward:         output[r][o]    = act(Σ_i W[o][i] input[r][i] + b[o])
//   invocation t: o = t mod outDim, rows 4·(t / outDim) .. + 3
// backward_input:  gradInput[r][i] = (Σ_o W[o][i] gradOutput[r][o]) · act'(input[r][i])
//   invocation t: i = t mod inDim, rows 4·(t / inDim) .. + 3
// Dispatch: ceil(rows / 4) · outDim (forward) or · inDim (backward_input)
// invocations. W rows 16-byte aligned (the ALIGNED case): inDim a multiple of 4.
//
// VEC4 (the cols4v variant): rows of input and gradOutput read through vec4
// views of the same buffers (inputVec4, gradOutputVec4, bound by the wrapper):
// one load, and one robustness clamp, instead of four. gradOutput rows are
// read so only where outDim is a multiple of 4 (not the 2-logit output layer).
// (backward_params with the same vec4 reads chosen per row by a runtime test
// of the layer's dims was slower on SwiftShader, which ran both sides of the
// branch: such a kernel needs a pipeline specialised per layer shape.)
override WG: u32 = 64;
override VEC4: bool = false;

const TANH: u32 = 1u;

struct DenseArgs {
  rows: u32,
  inDim: u32,
  outDim: u32,
  weightOffset: u32,
  biasOffset: u32,
  activation: u32,
  inputActivation: u32,
  accumulate: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> args: DenseArgs;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> input: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<storage, read> gradOutput: array<f32>;
@group(0) @binding(5) var<storage, read_write> gradInput: array<f32>;
@group(0) @binding(7) var<storage, read> paramsVec4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> inputVec4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> gradOutputVec4: array<vec4<f32>>;

fn activate(kind: u32, x: f32) -> f32 {
  if (kind == TANH) { return tanh(clamp(x, -10.0, 10.0)); }
  return x;
}

fn slope(kind: u32, y: f32) -> f32 {
  if (kind == TANH) { return 1.0 - y * y; }
  return 1.0;
}

// input[r][i .. i + 3] (i a multiple of 4, inDim too, so the four are in the row).
fn input4(r: u32, i: u32) -> vec4<f32> {
  let at = r * args.inDim + i;
  if (VEC4) { return inputVec4[at / 4u]; }
  return vec4<f32>(input[at], input[at + 1u], input[at + 2u], input[at + 3u]);
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  let outDim = args.outDim;
  let rows = args.rows;
  let o = t % outDim;
  let r0 = 4u * (t / outDim);
  if (r0 >= rows) { return; }
  // Rows past the end repeat the last row; their results are not stored.
  let last = rows - 1u;
  let r1 = min(r0 + 1u, last);
  let r2 = min(r0 + 2u, last);
  let r3 = min(r0 + 3u, last);
  let w = (args.weightOffset + o * args.inDim) / 4u;
  var acc = vec4<f32>(0.0);
  for (var i = 0u; i < args.inDim; i += 4u) {
    let wv = paramsVec4[w + i / 4u];
    acc += vec4<f32>(dot(wv, input4(r0, i)), dot(wv, input4(r1, i)), dot(wv, input4(r2, i)), dot(wv, input4(r3, i)));
  }
  let b = params[args.biasOffset + o];
  for (var j = 0u; j < 4u; j++) {
    if (r0 + j < rows) { output[(r0 + j) * outDim + o] = activate(args.activation, acc[j] + b); }
  }
}

@compute @workgroup_size(WG)
fn backward_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  let inDim = args.inDim;
  let outDim = args.outDim;
  let rows = args.rows;
  let i = t % inDim;
  let r0 = 4u * (t / inDim);
  if (r0 >= rows) { return; }
  let last = rows - 1u;
  let g0 = r0 * outDim;
  let g1 = min(r0 + 1u, last) * outDim;
  let g2 = min(r0 + 2u, last) * outDim;
  let g3 = min(r0 + 3u, last) * outDim;
  var acc = vec4<f32>(0.0);
  if (VEC4 && outDim % 4u == 0u) {
    for (var o = 0u; o < outDim; o += 4u) {
      let w = vec4<f32>(
        params[args.weightOffset + o * inDim + i],
        params[args.weightOffset + (o + 1u) * inDim + i],
        params[args.weightOffset + (o + 2u) * inDim + i],
        params[args.weightOffset + (o + 3u) * inDim + i],
      );
      acc += vec4<f32>(dot(w, gradOutputVec4[(g0 + o) / 4u]), dot(w, gradOutputVec4[(g1 + o) / 4u]), dot(w, gradOutputVec4[(g2 + o) / 4u]), dot(w, gradOutputVec4[(g3 + o) / 4u]));
    }
  } else {
    for (var o = 0u; o < outDim; o++) {
      let w = params[args.weightOffset + o * inDim + i];
      acc += w * vec4<f32>(gradOutput[g0 + o], gradOutput[g1 + o], gradOutput[g2 + o], gradOutput[g3 + o]);
    }
  }
  for (var j = 0u; j < 4u; j++) {
    let r = r0 + j;
    if (r < rows) {
      let at = r * inDim + i;
      gradInput[at] = acc[j] * slope(args.inputActivation, input[at]);
    }
  }
}
