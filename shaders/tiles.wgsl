// Helpers shared by the 4 × 4 register-tile kernels (mlp.wgsl's forward_tiles,
// fvp.wgsl's tangent_tiles), prepended to those families' sources.
//
// Invocation t of a layer [rows][inDim] → [rows][outDim] owns rows r0 .. r0 + 3
// and outputs o0 .. o0 + 3 (t = (r0 / 4) · ceil(outDim / 4) + o0 / 4). Rows and
// outputs past the end repeat the last one, so every load is in range; their
// results are not stored. inDim and the weight offset are multiples of 4, so
// rows of the input and of W are whole vec4s.

struct Tile {
  r0: u32,
  o0: u32,
  // vec4 index of input row r0 + j, for j = 0 .. 3
  rows: vec4<u32>,
  // vec4 index of W row o0 + j (in the parameter layout), for j = 0 .. 3
  weights: vec4<u32>,
}

fn tile_of(t: u32, rows: u32, inDim: u32, outDim: u32, weightOffset: u32) -> Tile {
  let outTiles = (outDim + 3u) / 4u;
  let o0 = 4u * (t % outTiles);
  let r0 = 4u * (t / outTiles);
  let r = min(vec4<u32>(r0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(rows - 1u));
  let o = min(vec4<u32>(o0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(outDim - 1u));
  return Tile(r0, o0, r * inDim / 4u, (vec4<u32>(weightOffset) + o * inDim) / 4u);
}

// (a·y, b·y, c·y, d·y): one row against four rows of W.
fn dots4(a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32>, y: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(a, y), dot(b, y), dot(c, y), dot(d, y));
}
