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

// Where weight row o of layer l starts (vec4s).
fn weight_row(l: u32, o: u32) -> u32 {
  return (l * 64u + o) * WIDTH4;
}

// Where row r of activation block l starts (vec4s).
fn act_row(l: u32, r: u32) -> u32 {
  return (l * args.rows + r) * WIDTH4;
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
  let rows = args.rows;
  if (r0 >= rows) { return; }
  let l = args.layer;
  let last = rows - 1u;
  let x = vec4<u32>(act_row(l, r0), act_row(l, min(r0 + 1u, last)), act_row(l, min(r0 + 2u, last)), act_row(l, min(r0 + 3u, last)));
  let w = weight_row(l, 4u * c);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < WIDTH4; k++) {
    let a = weights[w + k];
    let b = weights[w + WIDTH4 + k];
    let cc = weights[w + 2u * WIDTH4 + k];
    let d = weights[w + 3u * WIDTH4 + k];
    acc0 += dots(a, b, cc, d, acts[x.x + k]);
    acc1 += dots(a, b, cc, d, acts[x.y + k]);
    acc2 += dots(a, b, cc, d, acts[x.z + k]);
    acc3 += dots(a, b, cc, d, acts[x.w + k]);
  }
  acts[act_row(l + 1u, r0) + c] = tanh(acc0);
  if (r0 + 1u < rows) { acts[act_row(l + 1u, r0 + 1u) + c] = tanh(acc1); }
  if (r0 + 2u < rows) { acts[act_row(l + 1u, r0 + 2u) + c] = tanh(acc2); }
  if (r0 + 3u < rows) { acts[act_row(l + 1u, r0 + 3u) + c] = tanh(acc3); }
}

@compute @workgroup_size(WG)
fn chain_storage(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tile = block_tile(gid, nwg, lid);
  let rows = args.rows;
  let last = rows - 1u;
  let r0 = tile.first + tile.row;
  let r = min(vec4<u32>(r0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last));
  for (var l = 0u; l < LAYERS; l++) {
    let w = weight_row(l, 4u * tile.column);
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k = 0u; k < WIDTH4; k++) {
      let a = weights[w + k];
      let b = weights[w + WIDTH4 + k];
      let cc = weights[w + 2u * WIDTH4 + k];
      let d = weights[w + 3u * WIDTH4 + k];
      acc0 += dots(a, b, cc, d, acts[act_row(l, r.x) + k]);
      acc1 += dots(a, b, cc, d, acts[act_row(l, r.y) + k]);
      acc2 += dots(a, b, cc, d, acts[act_row(l, r.z) + k]);
      acc3 += dots(a, b, cc, d, acts[act_row(l, r.w) + k]);
    }
    let c = tile.column;
    if (r0 < rows) { acts[act_row(l + 1u, r0) + c] = tanh(acc0); }
    if (r0 + 1u < rows) { acts[act_row(l + 1u, r0 + 1u) + c] = tanh(acc1); }
    if (r0 + 2u < rows) { acts[act_row(l + 1u, r0 + 2u) + c] = tanh(acc2); }
    if (r0 + 3u < rows) { acts[act_row(l + 1u, r0 + 3u) + c] = tanh(acc3); }
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

@compute @workgroup_size(WG)
fn chain_workgroup(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tile = block_tile(gid, nwg, lid);
  load_block(tile.first, lid);
  workgroupBarrier();
  var readHalf = 0u;
  for (var l = 0u; l < LAYERS; l++) {
    let writeHalf = BLOCK_VEC4S - readHalf;
    let w = weight_row(l, 4u * tile.column);
    let x = readHalf + tile.row * WIDTH4;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k = 0u; k < WIDTH4; k++) {
      let a = weights[w + k];
      let b = weights[w + WIDTH4 + k];
      let cc = weights[w + 2u * WIDTH4 + k];
      let d = weights[w + 3u * WIDTH4 + k];
      acc0 += dots(a, b, cc, d, rowBlock[x + k]);
      acc1 += dots(a, b, cc, d, rowBlock[x + WIDTH4 + k]);
      acc2 += dots(a, b, cc, d, rowBlock[x + 2u * WIDTH4 + k]);
      acc3 += dots(a, b, cc, d, rowBlock[x + 3u * WIDTH4 + k]);
    }
    let y = writeHalf + tile.row * WIDTH4 + tile.column;
    rowBlock[y] = tanh(acc0);
    rowBlock[y + WIDTH4] = tanh(acc1);
    rowBlock[y + 2u * WIDTH4] = tanh(acc2);
    rowBlock[y + 3u * WIDTH4] = tanh(acc3);
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
    let writeHalf = BLOCK_VEC4S - readHalf;
    let w = 4u * tile.column * WIDTH4;
    let x = readHalf + tile.row * WIDTH4;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k = 0u; k < WIDTH4; k++) {
      let a = layerWeights[w + k];
      let b = layerWeights[w + WIDTH4 + k];
      let cc = layerWeights[w + 2u * WIDTH4 + k];
      let d = layerWeights[w + 3u * WIDTH4 + k];
      acc0 += dots(a, b, cc, d, rowBlock[x + k]);
      acc1 += dots(a, b, cc, d, rowBlock[x + WIDTH4 + k]);
      acc2 += dots(a, b, cc, d, rowBlock[x + 2u * WIDTH4 + k]);
      acc3 += dots(a, b, cc, d, rowBlock[x + 3u * WIDTH4 + k]);
    }
    let y = writeHalf + tile.row * WIDTH4 + tile.column;
    rowBlock[y] = tanh(acc0);
    rowBlock[y + WIDTH4] = tanh(acc1);
    rowBlock[y + 2u * WIDTH4] = tanh(acc2);
    rowBlock[y + 3u * WIDTH4] = tanh(acc3);
    // Every invocation is done with this layer's weights and rows before the next overwrites them.
    workgroupBarrier();
    readHalf = writeHalf;
  }
  store_block(tile.first, lid, readHalf);
}

@compute @workgroup_size(WG)
fn chain_private(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r0 = 4u * linear_index(gid, nwg);
  let rows = args.rows;
  if (r0 >= rows) { return; }
  let last = rows - 1u;
  let r = min(vec4<u32>(r0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last));
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
      var acc0 = vec4<f32>(0.0);
      var acc1 = vec4<f32>(0.0);
      var acc2 = vec4<f32>(0.0);
      var acc3 = vec4<f32>(0.0);
      for (var k = 0u; k < WIDTH4; k++) {
        let a = weights[w + k];
        let b = weights[w + WIDTH4 + k];
        let cc = weights[w + 2u * WIDTH4 + k];
        let d = weights[w + 3u * WIDTH4 + k];
        acc0 += dots(a, b, cc, d, x[k]);
        acc1 += dots(a, b, cc, d, x[WIDTH4 + k]);
        acc2 += dots(a, b, cc, d, x[2u * WIDTH4 + k]);
        acc3 += dots(a, b, cc, d, x[3u * WIDTH4 + k]);
      }
      y[c] = tanh(acc0);
      y[WIDTH4 + c] = tanh(acc1);
      y[2u * WIDTH4 + c] = tanh(acc2);
      y[3u * WIDTH4 + c] = tanh(acc3);
    }
    x = y;
  }
  for (var j = 0u; j < 4u; j++) {
    if (r0 + j < rows) {
      for (var k = 0u; k < WIDTH4; k++) { acts[act_row(LAYERS, r0 + j) + k] = x[j * WIDTH4 + k]; }
    }
  }
}

@compute @workgroup_size(WG)
fn chain_own_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r0 = 4u * linear_index(gid, nwg);
  let rows = args.rows;
  if (r0 >= rows) { return; }
  let r = min(vec4<u32>(r0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(rows - 1u));
  for (var l = 0u; l < LAYERS; l++) {
    for (var c = 0u; c < WIDTH4; c++) {
      let w = weight_row(l, 4u * c);
      var acc0 = vec4<f32>(0.0);
      var acc1 = vec4<f32>(0.0);
      var acc2 = vec4<f32>(0.0);
      var acc3 = vec4<f32>(0.0);
      for (var k = 0u; k < WIDTH4; k++) {
        let a = weights[w + k];
        let b = weights[w + WIDTH4 + k];
        let cc = weights[w + 2u * WIDTH4 + k];
        let d = weights[w + 3u * WIDTH4 + k];
        acc0 += dots(a, b, cc, d, acts[act_row(l, r.x) + k]);
        acc1 += dots(a, b, cc, d, acts[act_row(l, r.y) + k]);
        acc2 += dots(a, b, cc, d, acts[act_row(l, r.z) + k]);
        acc3 += dots(a, b, cc, d, acts[act_row(l, r.w) + k]);
      }
      // Only this invocation reads these rows in the next layer: no barrier.
      if (r0 < rows) { acts[act_row(l + 1u, r0) + c] = tanh(acc0); }
      if (r0 + 1u < rows) { acts[act_row(l + 1u, r0 + 1u) + c] = tanh(acc1); }
      if (r0 + 2u < rows) { acts[act_row(l + 1u, r0 + 2u) + c] = tanh(acc2); }
      if (r0 + 3u < rows) { acts[act_row(l + 1u, r0 + 3u) + c] = tanh(acc3); }
    }
  }
}
