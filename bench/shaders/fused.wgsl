// Fused dense chains (bench only): the WGSL analogue of tiny-cuda-nn's fully
// fused MLPs (Müller et al. 2021), against the forms the engine ships, on one
// workload: the forward pass of LAYERS hidden 64 → 64 tanh layers (no bias),
// so that each adapter shows what keeping a row block's activations (and the
// weights) in workgroup memory buys or costs against storage and registers.
//
// Buffers:
//   weights [LAYERS][64][16] vec4   W_l[o][4k .. 4k + 3]
//   acts    [LAYERS + 1][rows][16] vec4: block 0 is the input; layer l reads
//           block l and writes tanh(W_l x) to block l + 1 (the chains that keep
//           activations elsewhere write only the last block)
//
// Every form computes each 4-row × 4-output tile as dense_tiles does (the
// shape mlp.wgsl's *_tiles kernels use), k ascending, so all forms give the
// same bits; they differ only in where the rows and the weights live and in
// how many dispatches and barriers a pass costs:
//   layer_tiles              one dispatch per layer, activations in storage
//   chain_storage            a workgroup owns BLOCK_ROWS rows and runs every
//                            layer, activations in storage, storageBarrier
//                            between layers (the engine's `tiles` chain)
//   chain_workgroup          the same, activations in workgroup memory
//                            (workgroupBarrier), weights read from storage
//   chain_workgroup_weights  the same, each layer's weights staged into
//                            workgroup memory first (16 KiB, so 24 KiB in all)
//   chain_own_rows           an invocation owns 4 rows and computes every
//                            column tile of every layer for them, activations
//                            in storage: it reads only rows it wrote, so no
//                            barrier, workgroup size WG
//   chain_private            an invocation owns 4 rows and runs every layer
//                            in its own registers: no barrier (the engine's
//                            `rows` chain), workgroup size WG
override WG: u32 = 64;

const WIDTH4: u32 = 16u;
// Rows a chain workgroup owns: 4 row tiles × 16 column tiles = 64 invocations.
const BLOCK_ROWS: u32 = 16u;
const CHAIN_WG: u32 = 64u;
const BLOCK_VEC4S: u32 = 256u;

struct FusedArgs {
  rows: u32,
  // layer_tiles: the layer this dispatch computes
  layer: u32,
}

@group(0) @binding(0) var<uniform> args: FusedArgs;
@group(0) @binding(1) var<storage, read> weights: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> acts: array<vec4<f32>>;

// Two row blocks (read one, write the other) and one layer's weights.
var<workgroup> rowBlock: array<vec4<f32>, 512>;
var<workgroup> layerWeights: array<vec4<f32>, 1024>;

// Four dot products of one input vec4 with the same vec4 of four weight rows.
fn dots(a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32>, y: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(a, y), dot(b, y), dot(c, y), dot(d, y));
}

// A 4-row × 4-output tile's sums: r<j> holds row j's four outputs.
struct Sums {
  r0: vec4<f32>,
  r1: vec4<f32>,
  r2: vec4<f32>,
  r3: vec4<f32>,
}

// s + one input vec4 of each of the tile's rows (y0 .. y3) against the same vec4 of its four weight rows.
fn add_tile(s: Sums, a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32>, y0: vec4<f32>, y1: vec4<f32>, y2: vec4<f32>, y3: vec4<f32>) -> Sums {
  return Sums(s.r0 + dots(a, b, c, d, y0), s.r1 + dots(a, b, c, d, y1), s.r2 + dots(a, b, c, d, y2), s.r3 + dots(a, b, c, d, y3));
}

// add_tile with the weight rows w, w + 16, w + 32, w + 48 (vec4s) read from storage at column vec4 k.
fn add_tile_at(s: Sums, w: u32, k: u32, y0: vec4<f32>, y1: vec4<f32>, y2: vec4<f32>, y3: vec4<f32>) -> Sums {
  return add_tile(s, weights[w + k], weights[w + WIDTH4 + k], weights[w + 2u * WIDTH4 + k], weights[w + 3u * WIDTH4 + k], y0, y1, y2, y3);
}

// Where weight row o of layer l starts (vec4s).
fn weight_row(l: u32, o: u32) -> u32 {
  return (l * 64u + o) * WIDTH4;
}

// Where row r of activation block l starts (vec4s).
fn act_row(l: u32, r: u32) -> u32 {
  return (l * args.rows + r) * WIDTH4;
}

// The tile of rows r.x .. r.w (clamped), output vec4 c, of layer l: its input rows in storage block l.
fn storage_tile(l: u32, r: vec4<u32>, c: u32) -> Sums {
  let w = weight_row(l, 4u * c);
  var s = Sums();
  for (var k = 0u; k < WIDTH4; k++) {
    s = add_tile_at(s, w, k, acts[act_row(l, r.x) + k], acts[act_row(l, r.y) + k], acts[act_row(l, r.z) + k], acts[act_row(l, r.w) + k]);
  }
  return s;
}

// tanh of the tile's sums into storage block l + 1, the rows r0 .. r0 + 3 inside the batch.
fn store_tile(l: u32, r0: u32, c: u32, s: Sums) {
  let rows = args.rows;
  if (r0 < rows) { acts[act_row(l + 1u, r0) + c] = tanh(s.r0); }
  if (r0 + 1u < rows) { acts[act_row(l + 1u, r0 + 1u) + c] = tanh(s.r1); }
  if (r0 + 2u < rows) { acts[act_row(l + 1u, r0 + 2u) + c] = tanh(s.r2); }
  if (r0 + 3u < rows) { acts[act_row(l + 1u, r0 + 3u) + c] = tanh(s.r3); }
}

// Rows r0 .. r0 + 3, each clamped to the last.
fn rows4(r0: u32) -> vec4<u32> {
  return min(vec4<u32>(r0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(args.rows - 1u));
}

// A chain invocation's tile: rows 4·(t % 4) .. + 3 of the workgroup's block
// (neighbours share a column tile, as in mlp.wgsl's chains), outputs 4·(t / 4) .. + 3.
struct BlockTile {
  first: u32,
  row: u32,
  column: u32,
}

fn block_tile(gid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> BlockTile {
  let b = linear_index(gid, nwg) / CHAIN_WG;
  return BlockTile(b * BLOCK_ROWS, 4u * (lid % 4u), lid / 4u);
}

@compute @workgroup_size(WG)
fn layer_tiles(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  let c = t % WIDTH4;
  let r0 = 4u * (t / WIDTH4);
  if (r0 >= args.rows) { return; }
  store_tile(args.layer, r0, c, storage_tile(args.layer, rows4(r0), c));
}

@compute @workgroup_size(WG)
fn chain_storage(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tile = block_tile(gid, nwg, lid);
  let r0 = tile.first + tile.row;
  for (var l = 0u; l < LAYERS; l++) {
    store_tile(l, r0, tile.column, storage_tile(l, rows4(r0), tile.column));
    // The next layer reads rows the workgroup's other invocations wrote.
    storageBarrier();
  }
}

// Copies the workgroup's block of input rows (block 0, the last row repeated past the end) into `rowBlock`.
fn load_block(first: u32, lid: u32) {
  for (var m = 0u; m < 4u; m++) {
    let i = lid + m * CHAIN_WG;
    rowBlock[i] = acts[act_row(0u, min(first + i / WIDTH4, args.rows - 1u)) + i % WIDTH4];
  }
}

// Stores the half of `rowBlock` at `readHalf` as the workgroup's rows of the last activation block.
fn store_block(first: u32, lid: u32, readHalf: u32) {
  for (var m = 0u; m < 4u; m++) {
    let i = lid + m * CHAIN_WG;
    let row = first + i / WIDTH4;
    if (row < args.rows) { acts[act_row(LAYERS, row) + i % WIDTH4] = rowBlock[readHalf + i]; }
  }
}

// tanh of the tile's sums into `rowBlock` at y (row j at y + 16 j).
fn store_block_tile(y: u32, s: Sums) {
  rowBlock[y] = tanh(s.r0);
  rowBlock[y + WIDTH4] = tanh(s.r1);
  rowBlock[y + 2u * WIDTH4] = tanh(s.r2);
  rowBlock[y + 3u * WIDTH4] = tanh(s.r3);
}

@compute @workgroup_size(WG)
fn chain_workgroup(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tile = block_tile(gid, nwg, lid);
  load_block(tile.first, lid);
  workgroupBarrier();
  var readHalf = 0u;
  for (var l = 0u; l < LAYERS; l++) {
    let w = weight_row(l, 4u * tile.column);
    let x = readHalf + tile.row * WIDTH4;
    var s = Sums();
    for (var k = 0u; k < WIDTH4; k++) {
      s = add_tile_at(s, w, k, rowBlock[x + k], rowBlock[x + WIDTH4 + k], rowBlock[x + 2u * WIDTH4 + k], rowBlock[x + 3u * WIDTH4 + k]);
    }
    let writeHalf = BLOCK_VEC4S - readHalf;
    store_block_tile(writeHalf + tile.row * WIDTH4 + tile.column, s);
    workgroupBarrier();
    readHalf = writeHalf;
  }
  store_block(tile.first, lid, readHalf);
}

@compute @workgroup_size(WG)
fn chain_workgroup_weights(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tile = block_tile(gid, nwg, lid);
  load_block(tile.first, lid);
  var readHalf = 0u;
  for (var l = 0u; l < LAYERS; l++) {
    for (var m = 0u; m < 16u; m++) {
      let i = lid + m * CHAIN_WG;
      layerWeights[i] = weights[weight_row(l, 0u) + i];
    }
    workgroupBarrier();
    let w = 4u * tile.column * WIDTH4;
    let x = readHalf + tile.row * WIDTH4;
    var s = Sums();
    for (var k = 0u; k < WIDTH4; k++) {
      s = add_tile(s, layerWeights[w + k], layerWeights[w + WIDTH4 + k], layerWeights[w + 2u * WIDTH4 + k], layerWeights[w + 3u * WIDTH4 + k],
                   rowBlock[x + k], rowBlock[x + WIDTH4 + k], rowBlock[x + 2u * WIDTH4 + k], rowBlock[x + 3u * WIDTH4 + k]);
    }
    let writeHalf = BLOCK_VEC4S - readHalf;
    store_block_tile(writeHalf + tile.row * WIDTH4 + tile.column, s);
    // Every invocation is done with this layer's weights and rows before the next overwrites them.
    workgroupBarrier();
    readHalf = writeHalf;
  }
  store_block(tile.first, lid, readHalf);
}

@compute @workgroup_size(WG)
fn chain_own_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r0 = 4u * linear_index(gid, nwg);
  if (r0 >= args.rows) { return; }
  for (var l = 0u; l < LAYERS; l++) {
    // Only this invocation reads these rows in the next layer: no barrier.
    for (var c = 0u; c < WIDTH4; c++) { store_tile(l, r0, c, storage_tile(l, rows4(r0), c)); }
  }
}

@compute @workgroup_size(WG)
fn chain_private(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r0 = 4u * linear_index(gid, nwg);
  let rows = args.rows;
  if (r0 >= rows) { return; }
  let r = rows4(r0);
  var x: array<vec4<f32>, 64>;
  for (var k = 0u; k < WIDTH4; k++) {
    x[k] = acts[act_row(0u, r.x) + k];
    x[WIDTH4 + k] = acts[act_row(0u, r.y) + k];
    x[2u * WIDTH4 + k] = acts[act_row(0u, r.z) + k];
    x[3u * WIDTH4 + k] = acts[act_row(0u, r.w) + k];
  }
  for (var l = 0u; l < LAYERS; l++) {
    var y: array<vec4<f32>, 64>;
    for (var c = 0u; c < WIDTH4; c++) {
      let w = weight_row(l, 4u * c);
      var s = Sums();
      for (var k = 0u; k < WIDTH4; k++) {
        s = add_tile_at(s, w, k, x[k], x[WIDTH4 + k], x[2u * WIDTH4 + k], x[3u * WIDTH4 + k]);
      }
      y[c] = tanh(s.r0);
      y[WIDTH4 + c] = tanh(s.r1);
      y[2u * WIDTH4 + c] = tanh(s.r2);
      y[3u * WIDTH4 + c] = tanh(s.r3);
    }
    x = y;
  }
  for (var j = 0u; j < 4u; j++) {
    if (r0 + j < rows) {
      for (var k = 0u; k < WIDTH4; k++) { acts[act_row(LAYERS, r0 + j) + k] = x[j * WIDTH4 + k]; }
    }
  }
}
