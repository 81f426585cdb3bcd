// Peak microbenchmarks (bench only): what an adapter can do at best, to put the
// training kernels' FLOP rates in proportion.
//
// Buffers:
//   weights [WIDTH][WIDTH4] vec4  W[o][i] (row o, inputs 4k .. 4k + 3)
//   input   [rows][WIDTH4] vec4   x[r][i]
//   output  [rows][WIDTH] f32     dense: y[r][o];  alu: one value per invocation
//
// dense  y[r][o] = Σ_i W[o][i] x[r][i] at width 64: the trained networks' hidden
//        layer without bias and activation. One invocation per ROWS rows (ROWS
//        is a const peakSources in bench/lib/kernelCases.ts prepends, with
//        shaders/common.wgsl, so the row arrays have exact sizes)
//        (dispatch ceil(rows / ROWS)); each holds its rows in registers (16 vec4
//        each) and reads every weight vec4 once for all of them (register
//        blocking over rows: ROWS multiply-adds per weight load). 2·64·64 FLOPs per row.
// dense_cols  the same y with one invocation per output element of 4 rows
//        (dispatch ceil(rows / 4) · 64): no per-invocation arrays, four dot
//        products per weight vec4.
// dense_tiles  the same y with one invocation per 4 rows × 4 outputs
//        (dispatch ceil(rows / 4) · 16), named vec4 accumulators: each weight
//        and input vec4 serves four dot products (the shape of mlp.wgsl's
//        *_tiles kernels, which SwiftShader runs best).
// alu    CHAINS independent vec4 fma chains of aluIterations steps per
//        invocation, no memory traffic but one store: 2·4·CHAINS·aluIterations FLOPs
//        per invocation (the arithmetic ceiling).
// empty  does nothing (the cost of a dispatch by itself).
override WG: u32 = 64;

const WIDTH: u32 = 64u;
const WIDTH4: u32 = 16u;
const CHAINS: u32 = 8u;

struct PeakArgs {
  rows: u32,
  aluIterations: u32,
}

@group(0) @binding(0) var<uniform> args: PeakArgs;
@group(0) @binding(1) var<storage, read> weights: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> input: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(WG)
fn dense(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let first = linear_index(gid, nwg) * ROWS;
  if (first >= args.rows) { return; }
  var x: array<array<vec4<f32>, WIDTH4>, ROWS>;
  for (var j = 0u; j < ROWS; j++) {
    // Rows past the end repeat the last row; their results are not stored.
    let r = min(first + j, args.rows - 1u);
    for (var k = 0u; k < WIDTH4; k++) { x[j][k] = input[r * WIDTH4 + k]; }
  }
  for (var o = 0u; o < WIDTH; o++) {
    // Zeroed explicitly: an uninitialised var declared in a loop kept the previous iteration's value on lavapipe.
    var acc = array<vec4<f32>, ROWS>();
    for (var k = 0u; k < WIDTH4; k++) {
      let w = weights[o * WIDTH4 + k];
      for (var j = 0u; j < ROWS; j++) { acc[j] = fma(w, x[j][k], acc[j]); }
    }
    for (var j = 0u; j < ROWS; j++) {
      if (first + j < args.rows) {
        output[(first + j) * WIDTH + o] = (acc[j].x + acc[j].y) + (acc[j].z + acc[j].w);
      }
    }
  }
}

// Where input rows r0 .. r0 + 3 start; rows past the end repeat the last row
// (their results are not stored).
fn input_rows4(r0: u32, rows: u32) -> vec4<u32> {
  let last = rows - 1u;
  return vec4<u32>(r0, min(r0 + 1u, last), min(r0 + 2u, last), min(r0 + 3u, last)) * WIDTH4;
}

@compute @workgroup_size(WG)
fn dense_cols(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  let o = t % WIDTH;
  let r0 = 4u * (t / WIDTH);
  let rows = args.rows;
  if (r0 >= rows) { return; }
  let x = input_rows4(r0, rows);
  var acc = vec4<f32>(0.0);
  for (var k = 0u; k < WIDTH4; k++) {
    let w = weights[o * WIDTH4 + k];
    acc += vec4<f32>(dot(w, input[x.x + k]), dot(w, input[x.y + k]), dot(w, input[x.z + k]), dot(w, input[x.w + k]));
  }
  for (var j = 0u; j < 4u; j++) {
    if (r0 + j < rows) { output[(r0 + j) * WIDTH + o] = acc[j]; }
  }
}

@compute @workgroup_size(WG)
fn dense_tiles(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  let o0 = 4u * (t % (WIDTH / 4u));
  let r0 = 4u * (t / (WIDTH / 4u));
  let rows = args.rows;
  if (r0 >= rows) { return; }
  let x = input_rows4(r0, rows);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < WIDTH4; k++) {
    let a = weights[o0 * WIDTH4 + k];
    let b = weights[(o0 + 1u) * WIDTH4 + k];
    let c = weights[(o0 + 2u) * WIDTH4 + k];
    let d = weights[(o0 + 3u) * WIDTH4 + k];
    let y0 = input[x.x + k];
    let y1 = input[x.y + k];
    let y2 = input[x.z + k];
    let y3 = input[x.w + k];
    acc0 += vec4<f32>(dot(a, y0), dot(b, y0), dot(c, y0), dot(d, y0));
    acc1 += vec4<f32>(dot(a, y1), dot(b, y1), dot(c, y1), dot(d, y1));
    acc2 += vec4<f32>(dot(a, y2), dot(b, y2), dot(c, y2), dot(d, y2));
    acc3 += vec4<f32>(dot(a, y3), dot(b, y3), dot(c, y3), dot(d, y3));
  }
  let base = r0 * WIDTH + o0;
  for (var c = 0u; c < 4u; c++) {
    output[base + c] = acc0[c];
    if (r0 + 1u < rows) { output[base + WIDTH + c] = acc1[c]; }
    if (r0 + 2u < rows) { output[base + 2u * WIDTH + c] = acc2[c]; }
    if (r0 + 3u < rows) { output[base + 3u * WIDTH + c] = acc3[c]; }
  }
}

@compute @workgroup_size(WG)
fn alu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= args.rows) { return; }
  var chains: array<vec4<f32>, CHAINS>;
  for (var c = 0u; c < CHAINS; c++) { chains[c] = vec4<f32>(f32(i + c) * 1e-6); }
  // |m| < 1, so the chains converge to c / (1 − m) and never overflow.
  let m = vec4<f32>(0.999, 0.998, 0.997, 0.996);
  let a = vec4<f32>(1e-3);
  for (var t = 0u; t < args.aluIterations; t++) {
    for (var c = 0u; c < CHAINS; c++) { chains[c] = fma(chains[c], m, a); }
  }
  var s = vec4<f32>(0.0);
  for (var c = 0u; c < CHAINS; c++) { s += chains[c]; }
  output[i] = (s.x + s.y) + (s.z + s.w);
}

@compute @workgroup_size(WG)
fn empty() {}
