// Prototype (bench only): shaders/mlp.wgsl's forward and backward_input with
// register blocking over rows, as drop-in replacements for their ALIGNED
// pipelines (same binding names, same DenseArgs), to measure what blocking buys
// inside the real trainer. ROWS is a const the wrapper prepends.
//
// Buffers (row-major, as in shaders/mlp.wgsl):
//   params / paramsVec4  [paramCount] f32; W[o][i] at weightOffset + o·inDim + i, b[o] at biasOffset + o
//   input       [rows][inDim]   gradInput  [rows][inDim]
//   output      [rows][outDim]  gradOutput [rows][outDim]
//
// forward:         output[r][o]    = act(Σ_i W[o][i] input[r][i] + b[o])
// backward_input:  gradInput[r][i] = (Σ_o W[o][i] gradOutput[r][o]) · act'(input[r][i])
//
// Dispatch: one invocation per ROWS consecutive rows (the wrapper dispatches
// ceil(rows / ROWS) invocations). Each invocation holds its ROWS rows in
// registers and reads every weight vec4 once for all of them: ROWS
// multiply-adds per weight load instead of one. Restrictions of the prototype:
// W rows 16-byte aligned (weightOffset and inDim multiples of 4, the ALIGNED
// case), inDim ≤ 64 for forward and outDim ≤ 64 for backward_input (the
// trainer's 64-wide networks).
override WG: u32 = 64;

const WIDTH: u32 = 64u;
const WIDTH4: u32 = 16u;
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

fn activate(kind: u32, x: f32) -> f32 {
  if (kind == TANH) { return tanh(clamp(x, -10.0, 10.0)); }
  return x;
}

fn slope(kind: u32, y: f32) -> f32 {
  if (kind == TANH) { return 1.0 - y * y; }
  return 1.0;
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let first = (gid.x + gid.y * nwg.x * WG) * ROWS;
  let rows = args.rows;
  if (first >= rows) { return; }
  let inDim = args.inDim;
  let outDim = args.outDim;
  let n4 = inDim / 4u;
  var x: array<array<vec4<f32>, WIDTH4>, ROWS>;
  for (var j = 0u; j < ROWS; j++) {
    // Rows past the end repeat the last row; their results are not stored.
    let base = min(first + j, rows - 1u) * inDim;
    for (var k = 0u; k < WIDTH4; k++) {
      if (k < n4) {
        let i = base + 4u * k;
        x[j][k] = vec4<f32>(input[i], input[i + 1u], input[i + 2u], input[i + 3u]);
      }
    }
  }
  for (var o = 0u; o < outDim; o++) {
    let w = (args.weightOffset + o * inDim) / 4u;
    // Zeroed explicitly: an uninitialised var declared in a loop kept the previous iteration's value on lavapipe.
    var acc = array<vec4<f32>, ROWS>();
    for (var k = 0u; k < WIDTH4; k++) {
      if (k < n4) {
        let wv = paramsVec4[w + k];
        for (var j = 0u; j < ROWS; j++) { acc[j] = fma(wv, x[j][k], acc[j]); }
      }
    }
    let b = params[args.biasOffset + o];
    for (var j = 0u; j < ROWS; j++) {
      if (first + j < rows) {
        let a = acc[j];
        output[(first + j) * outDim + o] = activate(args.activation, (a.x + a.y) + (a.z + a.w) + b);
      }
    }
  }
}

@compute @workgroup_size(WG)
fn backward_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let first = (gid.x + gid.y * nwg.x * WG) * ROWS;
  let rows = args.rows;
  if (first >= rows) { return; }
  let inDim = args.inDim;
  let outDim = args.outDim;
  var g: array<array<f32, WIDTH>, ROWS>;
  for (var j = 0u; j < ROWS; j++) {
    let base = min(first + j, rows - 1u) * outDim;
    for (var o = 0u; o < WIDTH; o++) {
      if (o < outDim) { g[j][o] = gradOutput[base + o]; }
    }
  }
  for (var i0 = 0u; i0 < inDim; i0 += 4u) {
    // Inputs i0 .. i0 + 3 of every row against all outputs.
    // Zeroed explicitly: an uninitialised var declared in a loop kept the previous iteration's value on lavapipe.
    var acc = array<vec4<f32>, ROWS>();
    for (var o = 0u; o < WIDTH; o++) {
      if (o < outDim) {
        let wv = paramsVec4[(args.weightOffset + o * inDim + i0) / 4u];
        for (var j = 0u; j < ROWS; j++) { acc[j] = fma(wv, vec4<f32>(g[j][o]), acc[j]); }
      }
    }
    for (var j = 0u; j < ROWS; j++) {
      let r = first + j;
      if (r < rows) {
        for (var c = 0u; c < 4u; c++) {
          let at = r * inDim + i0 + c;
          gradInput[at] = acc[j][c] * slope(args.inputActivation, input[at]);
        }
      }
    }
  }
}
