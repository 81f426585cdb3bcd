// Batched dense layers of an MLP whose parameters live in one flat buffer: the
// forward pass, its tangent (forward mode, for the Fisher-vector product in
// fvp.wgsl), and the input and parameter gradients.
//
// Buffers (row-major), each agent-major for a population (one dispatch covers
// every agent along z; agent a's block is exactly a one-agent run's buffer):
//   params      [P][paramStride] f32; paramStride = paramCount rounded up to whole vec4s, so
//               every agent's W rows keep the vec4 alignment; this layer's W[o][i] at
//               weightOffset + o * inDim + i, b[o] at biasOffset + o of the agent's block
//   input       [rows][inDim]  the previous layer's post-activation a_{l−1} (or the network input)
//   output      [rows][outDim] this layer's post-activation a_l (the tangent reads it as `activation`)
//   gradOutput  [rows][outDim] dLoss/d(this layer's pre-activation)
//   gradInput   [rows][inDim]  dLoss/d(previous layer's pre-activation)
//   grads       [P][paramStride] f32, same layout as params
//   partials    [P][ceil(rows/ROW_BLOCK)][outDim·inDim + outDim] f32: per row block, this
//               layer's W sums (o·inDim + i) then b sums (outDim·inDim + o)
//   vector      [P][paramStride] f32, the tangent direction (V, v_b) in the parameter layout
//   tangentIn   [rows][inDim]  u_{l−1}, the tangent of input (not read by the first layer)
//   tangentOut  [rows][outDim] u_l
//   *Vec4: the same buffers seen as vec4s
//   The row buffers (input .. tangentOut) are [P][rows][..]: rows is per agent.
//
//   forward:         output[r][o]   = act(Σ_i W[o][i] input[r][i] + b[o])
//   tangent:         tangentOut[r][o] = act'(a_l[r][o]) · (Σ_i V[o][i] input[r][i] + W[o][i] tangentIn[r][i] + v_b[o])
//                    (the W·u term only where args.firstLayer = 0: the network input does not depend on θ)
//   backward_input:  gradInput[r][i] = (Σ_o W[o][i] gradOutput[r][o]) · act'(input[r][i]),
//                    act' of the activation that produced input (tanh: 1 − input², identity: 1)
//   backward_params: grads[W[o][i]] (=, or += with accumulate) scale · Σ_r gradOutput[r][o] input[r][i]
//                    grads[b[o]]    likewise with scale · Σ_r gradOutput[r][o]
//
// forward, tangent and backward_input come in shapes, because what is fast
// differs between drivers (bench/RESULTS.md has the measurements); which shape
// takes which layer, and its dispatch, is declared once in src/kernels/mlp.ts:
//   *_rows      ROWS rows per invocation held in registers; every weight vec4
//               is loaded once for all ROWS rows. Dispatch ceil(rows / ROWS).
//               Fastest on lavapipe, whose LLVM keeps the rows in vector
//               registers. Needs aligned W rows (see ALIGNED) and the summed
//               dimension ≤ WIDTH (forward: inDim, backward_input: outDim).
//               (No tangent_rows: that shape's tangent is tangent_tiles.)
//   *_tiles     one invocation per TILE rows × TILE outputs (inputs for
//               backward_input), accumulated in named vec4s: each loaded
//               weight vec4 and row vec4 serves four dot products. Dispatch
//               ceil(rows / TILE) · ceil(outDim / TILE) (forward, tangent) or
//               · inDim / TILE (backward_input). Fastest on SwiftShader, which
//               keeps indexed per-invocation arrays in memory and loads each
//               lane apart; also the register micro-tile GPUs favour. Needs
//               aligned W rows (see ALIGNED).
//   no suffix   one invocation per row (dispatch `rows`), any shape; rows
//               wider than CHUNK are done in chunks that accumulate in the
//               output row. ALIGNED: W rows start on 16-byte boundaries
//               (weightOffset and inDim multiples of 4), so weights are read
//               as vec4s.
// backward_params sums over rows in a fixed order: blocks of ROW_BLOCK rows,
//   then the block sums in block order, so results are bit-reproducible and the
//   f32 error grows like (ROW_BLOCK + rows/ROW_BLOCK)·eps. Two reductions:
//   serial  backward_params: one invocation per TILE×TILE tile of W (and per
//           TILE biases) loops over every block, dispatch ceil(outDim/TILE) ·
//           (ceil(inDim/TILE) + 1) = 272 for a 64×64 layer: enough for a CPU
//           driver's threads, far too few for a GPU.
//   split   backward_params_blocks: one invocation per tile and row block
//           writes that block's sums to partials (dispatch: the tiles above ·
//           ceil(rows/ROW_BLOCK)); backward_params_sum: one invocation per
//           parameter adds its blocks' partials in block order (dispatch
//           outDim · (inDim + 1)). The same sums in the same order as serial.
//   INPUT_VEC4 / GRAD_VEC4 (inDim / outDim multiples of 4) read a row's four
//   values as one vec4: a pipeline per layer shape, since a runtime test runs
//   both sides on SwiftShader.
// Chains (DenseChaining `chain` in src/kernels/mlp.ts, the `rows` and `tiles` shapes):
//   a network's pass in one dispatch, each layer's arithmetic exactly its
//   per-layer kernel's, so results are bit-identical to the per-layer dispatches.
//   `rows`:
//   forward_chain         the invocation owning ROWS rows runs every layer on
//                         them from the activations it just wrote (program
//                         order, no barrier); layer 0 runs alone first where
//                         the rows kernel does not take it (inDim not a
//                         multiple of 4). Dispatch ceil(rows / ROWS).
//   backward_input_chain  likewise the input gradients from the last layer
//                         down to layer 1's input (layer 0's, the network
//                         input's, stays backward_input's own dispatch).
//   backward_params_chain every layer's parameter gradients, serial reduction:
//                         invocation → (layer, tile) by the layers' firstTile;
//                         after the input chain, which writes the gradOutputs
//                         it reads. Dispatch Σ_l param tiles. (Shape-free:
//                         the `tiles` chains use it too.)
//   backward_params_adam_chain  the same, then the network's Adam step on the
//                         parameters each invocation just summed (adam_step.wgsl,
//                         optim.wgsl's arithmetic): gradients and optimizer in
//                         one dispatch (AdamFusion in src/kernels/mlp.ts).
//   *_wide_chain          the parameter-gradient chains binding a split pass's
//                         high ranges (below); backward_params_adam_wide_chain
//                         for an optimizer whose active flag is in its own
//                         control block (no adamFlags binding: 16 in all).
//   backward_params_blocks_chain, backward_params_sum_chain  the split reduction
//                         chained: every layer's row-block sums in one dispatch
//                         (Σ_l param tiles · row blocks), every parameter's total
//                         in the next (Σ_l outDim·(inDim + 1)); the same sums in
//                         the same order as backward_params_chain. Shape-free.
//   backward_params_sum_adam_chain  the sums, then Adam's step on each parameter.
//   backward_params_blocks_chain_pair  two networks' row-block sums in one dispatch
//                         (each invocation one network's), before each one's sums.
//   `tiles` (workgroup-cooperative: a layer needs all of the previous layer's
//   outputs for its rows, which other invocations computed):
//   forward_tiles_chain   a workgroup of CHAIN_ROW_TILES · CHAIN_TILES invocations
//                         owns TILE · CHAIN_ROW_TILES rows and runs every layer on
//                         them, each invocation one forward_tiles tile per layer,
//                         a storageBarrier between layers. Only layers at most
//                         TILE · CHAIN_TILES outputs wide; layer 0 alone first
//                         where forward_tiles does not take it. Dispatch
//                         ceil(rows / (TILE · CHAIN_ROW_TILES)) workgroups.
//   backward_input_tiles_chain  likewise backward_input_tiles' tiles from the last
//                         layer down to layer 1's input (inputs at most
//                         TILE · CHAIN_TILES wide).
//   forward_tiles_chain_pair, backward_input_tiles_chain_pair  two networks' chains in
//                         one dispatch, each workgroup running one network's, so the
//                         results are the chains' own (the `rows` pairs' counterpart).
//   With CHAIN_OWN_ROWS (CPU drivers) an invocation owns a row tile and computes
//                         every column tile of every layer for it, in column
//                         order: it reads only rows it wrote, so no barrier and
//                         no width limit; ceil(rows / TILE) invocations. The
//                         same tiles, so the same bits.
//   SwiftShader runs each 4-lane subgroup of a shader with a barrier as its own
//   coroutine: the workgroup form measured ×0.6 there (bench/RESULTS.md), so CPU
//   drivers chain `tiles` in the own-rows form; GPUs, where barriers are cheap,
//   in the workgroup form.
//   backward_params_chain_pair  two networks' serial parameter gradients in one
//                         dispatch (each invocation one network's tile), where
//                         their Adam steps do not fuse (SwiftShader's 10–12
//                         storage buffers): each step then its own dispatch.
//   The hidden layers' activations and gradients are two ranges of one buffer,
//   all activations then all gradients, bound as two bindings (so each may be
//   as large as one storage binding: a population twice as large still
//   chains), every layer's rows on the storage offset alignment so they also
//   bind alone; ChainLayer records give each layer's dims and its offsets in
//   the range it lies in. Where a range would exceed a binding, the chains
//   bind each range as two, split between layers: the low layers', then the
//   high layers' (the *High bindings; ChainLayer.inputHigh and outputHigh say
//   where a layer's rows lie, read through input_high and output_high). With
//   two hidden layers a chain then fits wherever each layer's rows bind alone.
//   A split pass runs pipelines made with SPLIT_HIDDEN, so the others run no
//   branch between the parts. Of the parameter-gradient chains only the `wide`
//   entry points bind the high ranges (the others pass the low ones in their
//   place); the pairs bind none, as their passes are never split (each
//   network's chain is given the other's range in the high one's place, never
//   read). A dispatch may not read one buffer through a read-only binding and
//   write it through another, so a chain that writes either range binds both
//   read-write, and the tangent reads a_l through the read-only `activation`.
// The loops that read a matrix (W, or the tangent's V) against rows are the
// helpers below, taking the buffers by pointer, so forward and tangent share
// them (WGSL language feature unrestricted_pointer_parameters).
// Every shape computes a row from that row alone, in the same order whatever
// the batch, so a row's result does not depend on the rows beside it.
// Lanes of a partial vec4 past the end of a row read a clamped, valid index;
// forward and tangent multiply them by an exact zero, backward_input discards them.
// Rows past the end in a block of ROWS or TILE repeat the last row; their
// results are not stored.
// Prepended by the wrapper: shaders/common.wgsl, the constants ROWS, WIDTH,
// WIDTH4, TILE, ROW_BLOCK, TANH and NETWORK generated from src/kernels/mlp.ts,
// AgentParams and adam_step.wgsl (for backward_params_adam_chain).
override WG: u32 = 64;
override ALIGNED: bool = false;
override INPUT_VEC4: bool = false;
override GRAD_VEC4: bool = false;
// The `tiles` chains: an invocation owns a row tile and loops over its column tiles (no barriers).
override CHAIN_OWN_ROWS: bool = false;
// forward_chain of a forward-only pass: each hidden layer's rows stay in the invocation's
// registers for the next layer instead of being stored (nothing reads them later).
override HOLD_HIDDEN: bool = false;
// The chains' pipelines for a split pass (its hidden ranges in low and high parts): with
// false, a pass that is not split runs no branch between the parts.
override SPLIT_HIDDEN: bool = false;
// Rows a forward_chain invocation owns (at most ROWS): fewer for a pass of few rows,
// such as the rollout's one step of N envs, whose ROWS-row invocations would leave
// most of a CPU driver's SIMD lanes idle.
override CHAIN_ROWS: u32 = ROWS;

const CHUNK: u32 = 64u;
const CHUNK4: u32 = 16u;

struct DenseArgs {
  rows: u32,
  // rows between agents' blocks of `input`: rows, or for the first layer the caller's
  // longer per-agent block (a pass over the first rows of, e.g., the rollout's observations)
  inputRows: u32,
  inDim: u32,
  outDim: u32,
  weightOffset: u32,
  biasOffset: u32,
  // floats per agent in params, grads and vector
  paramStride: u32,
  // forward: the activation applied to this layer's output (0 identity, TANH)
  activation: u32,
  // backward_input: the activation that produced `input`
  inputActivation: u32,
  // tangent: 1 for the network's first layer, whose input has no tangent
  firstLayer: u32,
  // backward_params: 1 adds to grads instead of overwriting them
  accumulate: u32,
  // backward_params: factor applied to the summed gradient
  scale: f32,
  // the chains: the network's layers (records in chainLayers)
  layers: u32,
  // forward_chain: the first layer it computes (1 where layer 0 has its own dispatch)
  chainFirst: u32,
}

// One layer of a network for the chains, which run several layers in one
// dispatch. Where the layer's rows live: float offsets of its input a_{l−1} and
// output a_l in the hidden activations, and of their gradients in the hidden
// gradients (each [P][rows][width]), or NETWORK for the pass's own buffer
// (input, output, gradOutput).
// 16-byte aligned, 64 bytes: a uniform array's stride.
struct ChainLayer {
  @align(16) inDim: u32,
  outDim: u32,
  weightOffset: u32,
  biasOffset: u32,
  activation: u32,
  // the activation that produced the layer's input (identity for the network input)
  inputActivation: u32,
  input: u32,
  output: u32,
  gradInput: u32,
  gradOutput: u32,
  // 1 where the rows of layer l − 1 (input, gradInput) / of layer l (output, gradOutput) lie in
  // the high ranges (offsets from their start), 0 in the low ones (or the network's buffer)
  inputHigh: u32,
  outputHigh: u32,
  // backward_params_chain: the parameter tiles of the layers before this one
  firstTile: u32,
  // backward_params_*_chain (split): the parameters of the layers before this one
  firstPartial: u32,
}

// A network's ChainLayer records, in a uniform buffer: read-only, small, and not
// counted against the storage buffers a stage may bind (WebGPU's default 8, 10
// in browsers), which the two-network chains need for their rows.
struct ChainTable {
  layer: array<ChainLayer, MAX_CHAIN_LAYERS>,
}

// Whether a split pass's layer reads (input_high) or writes (output_high) rows in the high parts.
fn input_high(layer: ChainLayer) -> bool {
  return SPLIT_HIDDEN && layer.inputHigh != 0u;
}

fn output_high(layer: ChainLayer) -> bool {
  return SPLIT_HIDDEN && layer.outputHigh != 0u;
}

@group(0) @binding(0) var<uniform> args: DenseArgs;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> input: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<storage, read> gradOutput: array<f32>;
@group(0) @binding(5) var<storage, read_write> gradInput: array<f32>;
@group(0) @binding(6) var<storage, read_write> grads: array<f32>;
@group(0) @binding(7) var<storage, read> paramsVec4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> inputVec4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> gradOutputVec4: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read> vector: array<f32>;
@group(0) @binding(11) var<storage, read> vectorVec4: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read> tangentIn: array<f32>;
@group(0) @binding(13) var<storage, read> tangentInVec4: array<vec4<f32>>;
@group(0) @binding(14) var<storage, read_write> tangentOut: array<f32>;
@group(0) @binding(15) var<storage, read_write> partials: array<f32>;
// tangent: this layer's a_l, read only, so a_l and a_{l−1} may be slices of one buffer
@group(0) @binding(16) var<storage, read> activation: array<f32>;
@group(0) @binding(17) var<uniform> chainLayers: ChainTable;
// The chains' hidden layers' activations (`Acts`) and gradients (`Grads`), two ranges of one
// buffer: read-write where a chain writes either, read only where it only reads them.
@group(0) @binding(18) var<storage, read_write> hiddenGrads: array<f32>;
@group(0) @binding(19) var<storage, read_write> hiddenActsVec4: array<vec4<f32>>;
@group(0) @binding(20) var<storage, read_write> hiddenActs: array<f32>;
@group(0) @binding(21) var<storage, read> hiddenActsRead4: array<vec4<f32>>;
@group(0) @binding(38) var<storage, read> hiddenGradsRead4: array<vec4<f32>>;
@group(0) @binding(39) var<storage, read_write> hiddenGradsVec4: array<vec4<f32>>;
// The high ranges of a split pass (the high layers' activations and gradients), as above.
@group(0) @binding(41) var<storage, read_write> hiddenActsHighVec4: array<vec4<f32>>;
@group(0) @binding(42) var<storage, read_write> hiddenActsHigh: array<f32>;
@group(0) @binding(43) var<storage, read_write> hiddenGradsHigh: array<f32>;
@group(0) @binding(44) var<storage, read> hiddenActsHighRead4: array<vec4<f32>>;
@group(0) @binding(45) var<storage, read> hiddenGradsHighRead4: array<vec4<f32>>;
@group(0) @binding(51) var<storage, read_write> hiddenGradsHighVec4: array<vec4<f32>>;
// backward_params_adam_chain: the network's Adam (optim.wgsl's bindings of the same names without `adam`).
@group(0) @binding(22) var<uniform> adamArgs: AdamArgs;
@group(0) @binding(23) var<storage, read> adamControlIn: array<AdamControl>;
@group(0) @binding(24) var<storage, read_write> adamControlOut: array<AdamControl>;
@group(0) @binding(25) var<storage, read> adamFlags: array<f32>;
@group(0) @binding(26) var<storage, read_write> adamParams: array<f32>;
@group(0) @binding(27) var<storage, read_write> adamM: array<f32>;
@group(0) @binding(28) var<storage, read_write> adamV: array<f32>;
@group(0) @binding(29) var<storage, read> adamAgents: array<AgentParams>;
// The pairs (*_chain_pair: forward, input gradient, row blocks): the second network's buffers.
@group(0) @binding(30) var<uniform> args2: DenseArgs;
@group(0) @binding(31) var<storage, read> params2: array<f32>;
@group(0) @binding(32) var<storage, read> params2Vec4: array<vec4<f32>>;
@group(0) @binding(33) var<storage, read_write> output2: array<f32>;
@group(0) @binding(34) var<storage, read> gradOutput2: array<f32>;
@group(0) @binding(35) var<uniform> chainLayers2: ChainTable;
@group(0) @binding(36) var<storage, read_write> hidden2Grads: array<f32>;
@group(0) @binding(37) var<storage, read_write> hidden2ActsVec4: array<vec4<f32>>;
@group(0) @binding(40) var<storage, read_write> hidden2Acts: array<f32>;
@group(0) @binding(46) var<storage, read> gradOutput2Vec4: array<vec4<f32>>;
@group(0) @binding(47) var<storage, read_write> hidden2GradsVec4: array<vec4<f32>>;
@group(0) @binding(48) var<storage, read> hidden2ActsRead4: array<vec4<f32>>;
@group(0) @binding(49) var<storage, read> hidden2GradsRead4: array<vec4<f32>>;
@group(0) @binding(50) var<storage, read_write> partials2: array<f32>;
@group(0) @binding(52) var<storage, read_write> grads2: array<f32>;

// A read-only buffer by pointer, and the same buffer seen as vec4s.
alias Floats = ptr<storage, array<f32>, read>;
alias Vec4s = ptr<storage, array<vec4<f32>>, read>;
// A network's ChainLayer records.
alias ChainLayers = ptr<uniform, ChainTable>;
// A network's read-write vec4 view of its hidden activations or gradients, which a chain
// writes, so they bind read-write and cannot be passed as a read-only Vec4s.
alias HiddenVec4s = ptr<storage, array<vec4<f32>>, read_write>;
// One chunk of a row held by an invocation.
alias Chunk = array<vec4<f32>, CHUNK4>;

// The invocation's agent's blocks, set by at_agent first thing in every entry
// point, so the helpers index within the agent without taking it as an argument.
// This layer's W and b in params, grads and vector:
var<private> weightOffset: u32;
var<private> biasOffset: u32;
// input, gradInput, tangentIn: agent · inputRows · inDim (inputRows = rows wherever gradInput or
// tangentIn is used); output, gradOutput, tangentOut: agent · rows · outDim.
// Multiples of 4 wherever those rows are read as vec4s (inDim or outDim a multiple of 4).
var<private> inBlock: u32;
var<private> outBlock: u32;

fn at_agent(gid: vec3<u32>) {
  let agent = agent_index(gid);
  let paramBlock = agent * args.paramStride;
  weightOffset = paramBlock + args.weightOffset;
  biasOffset = paramBlock + args.biasOffset;
  inBlock = agent * args.inputRows * args.inDim;
  outBlock = agent * args.rows * args.outDim;
}

// The agent's partial sums for this layer: [ceil(rows/ROW_BLOCK)][outDim·(inDim + 1)] each.
fn partial_block(gid: vec3<u32>) -> u32 {
  return agent_index(gid) * ((args.rows + ROW_BLOCK - 1u) / ROW_BLOCK) * (args.outDim * (args.inDim + 1u));
}

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

// v[base + i .. base + i + 3], each index clamped to base + last.
fn clamped4(v: Floats, base: u32, i: u32, last: u32) -> vec4<f32> {
  return vec4<f32>(
    (*v)[base + min(i, last)],
    (*v)[base + min(i + 1u, last)],
    (*v)[base + min(i + 2u, last)],
    (*v)[base + min(i + 3u, last)],
  );
}

// Four consecutive elements of a row of v (n long) from base + i, zero where
// i + j >= n; one vec4 read where the row is whole vec4s (`whole`).
fn row4(v: Floats, v4: Vec4s, whole: bool, base: u32, i: u32, n: u32) -> vec4<f32> {
  if (whole) { return (*v4)[(base + i) / 4u]; }
  return select(vec4<f32>(0.0), clamped4(v, base, i, n - 1u), vec4<u32>(i, i + 1u, i + 2u, i + 3u) < vec4<u32>(n));
}

// M[row][i .. i + 3] for a row of M (W in params, or V in vector) starting at
// m[w]; lanes past the row's last index are clamped to it.
fn weights4(m: Floats, m4: Vec4s, w: u32, i: u32, last: u32) -> vec4<f32> {
  if (ALIGNED) { return (*m4)[(w + i) / 4u]; }
  return clamped4(m, w, i, last);
}

// x[k] = row elements 4k .. 4k + 3 of the n from base, for the k a chunk of n uses.
fn load_chunk(x: ptr<function, Chunk>, v: Floats, v4: Vec4s, base: u32, n: u32) {
  let n4 = (n + 3u) / 4u;
  // Constant trip counts let the compiler unroll and keep x in registers.
  for (var k = 0u; k < CHUNK4; k++) {
    if (k < n4) { (*x)[k] = row4(v, v4, INPUT_VEC4, base, 4u * k, n); }
  }
}

// acc + Σ_k M[w + 4k .. 4k + 3] · x[k]: a chunk of n elements of a row of M against a held chunk.
fn chunk_dot(acc: vec4<f32>, m: Floats, m4: Vec4s, w: u32, x: ptr<function, Chunk>, n: u32) -> vec4<f32> {
  let n4 = (n + 3u) / 4u;
  var sum = acc;
  for (var k = 0u; k < CHUNK4; k++) {
    if (k < n4) { sum += weights4(m, m4, w, 4u * k, n - 1u) * (*x)[k]; }
  }
  return sum;
}

// Invocation t of a *_tiles kernel for a layer [rows][inDim] → [rows][outDim]
// owns rows r0 .. r0 + 3 and outputs o0 .. o0 + 3 (t = (r0 / TILE) ·
// ceil(outDim / TILE) + o0 / TILE). Rows and outputs past the end repeat the
// last one, so every load is in range. inDim and the weight offset are
// multiples of 4, so rows of the input and of W are whole vec4s.
struct Tile {
  r0: u32,
  o0: u32,
  // vec4 index of input row r0 + j, for j = 0 .. 3
  rows: vec4<u32>,
  // vec4 index of W row o0 + j (in the parameter layout), for j = 0 .. 3
  weights: vec4<u32>,
}

fn tile_of(t: u32) -> Tile {
  let inDim = args.inDim;
  let outTiles = (args.outDim + TILE - 1u) / TILE;
  let o0 = TILE * (t % outTiles);
  let r0 = TILE * (t / outTiles);
  let r = min(vec4<u32>(r0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(args.rows - 1u));
  let o = min(vec4<u32>(o0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(args.outDim - 1u));
  return Tile(r0, o0, (vec4<u32>(inBlock) + r * inDim) / 4u, (vec4<u32>(weightOffset) + o * inDim) / 4u);
}

// A tile's sums: row<j>[c] for row r0 + j, output o0 + c. Named, not an
// array: SwiftShader keeps indexed arrays in memory.
struct TileSums {
  row0: vec4<f32>,
  row1: vec4<f32>,
  row2: vec4<f32>,
  row3: vec4<f32>,
}

// (a·y, b·y, c·y, d·y): one row against four rows of W.
fn dots4(a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32>, y: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(a, y), dot(b, y), dot(c, y), dot(d, y));
}

// sums + the tile's four rows of M (vec4s m4) against its four rows of x (vec4s x4), over the layer's inDim inputs.
fn tile_dots(sums: TileSums, m4: Vec4s, x4: Vec4s, tile: Tile, inDim: u32) -> TileSums {
  let w = tile.weights;
  let x = tile.rows;
  var s = sums;
  for (var k = 0u; k < inDim / 4u; k++) {
    let a = (*m4)[w.x + k];
    let b = (*m4)[w.y + k];
    let c = (*m4)[w.z + k];
    let d = (*m4)[w.w + k];
    s.row0 += dots4(a, b, c, d, (*x4)[x.x + k]);
    s.row1 += dots4(a, b, c, d, (*x4)[x.y + k]);
    s.row2 += dots4(a, b, c, d, (*x4)[x.z + k]);
    s.row3 += dots4(a, b, c, d, (*x4)[x.w + k]);
  }
  return s;
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  at_agent(gid);
  let r = linear_index(gid, nwg);
  if (r >= args.rows) { return; }
  let inDim = args.inDim;
  let outDim = args.outDim;
  let outBase = outBlock + r * outDim;
  var x: Chunk;
  for (var c0 = 0u; c0 < inDim; c0 += CHUNK) {
    let n = min(CHUNK, inDim - c0);
    load_chunk(&x, &input, &inputVec4, inBlock + r * inDim + c0, n);
    let firstChunk = c0 == 0u;
    let lastChunk = c0 + n == inDim;
    for (var o = 0u; o < outDim; o++) {
      let acc = chunk_dot(vec4<f32>(0.0), &params, &paramsVec4, weightOffset + o * inDim + c0, &x, n);
      var s = (acc.x + acc.y) + (acc.z + acc.w);
      if (firstChunk) { s += params[biasOffset + o]; } else { s += output[outBase + o]; }
      output[outBase + o] = select(s, activate(args.activation, s), lastChunk);
    }
  }
}

@compute @workgroup_size(WG)
fn tangent(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  at_agent(gid);
  let r = linear_index(gid, nwg);
  if (r >= args.rows) { return; }
  let inDim = args.inDim;
  let outDim = args.outDim;
  let outBase = outBlock + r * outDim;
  let chained = args.firstLayer == 0u;
  var x: Chunk;
  var u: Chunk;
  for (var c0 = 0u; c0 < inDim; c0 += CHUNK) {
    let n = min(CHUNK, inDim - c0);
    load_chunk(&x, &input, &inputVec4, inBlock + r * inDim + c0, n);
    if (chained) { load_chunk(&u, &tangentIn, &tangentInVec4, inBlock + r * inDim + c0, n); }
    let firstChunk = c0 == 0u;
    let lastChunk = c0 + n == inDim;
    for (var o = 0u; o < outDim; o++) {
      let w = weightOffset + o * inDim + c0;
      var acc = chunk_dot(vec4<f32>(0.0), &vector, &vectorVec4, w, &x, n);
      if (chained) { acc = chunk_dot(acc, &params, &paramsVec4, w, &u, n); }
      let earlier = select(tangentOut[outBase + o], vector[biasOffset + o], firstChunk);
      let s = earlier + ((acc.x + acc.y) + (acc.z + acc.w));
      tangentOut[outBase + o] = select(s, s * slope(args.activation, activation[outBase + o]), lastChunk);
    }
  }
}

@compute @workgroup_size(WG)
fn backward_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  at_agent(gid);
  let r = linear_index(gid, nwg);
  if (r >= args.rows) { return; }
  let inDim = args.inDim;
  let outDim = args.outDim;
  let inBase = inBlock + r * inDim;
  var g: array<f32, CHUNK>;
  for (var c0 = 0u; c0 < outDim; c0 += CHUNK) {
    let n = min(CHUNK, outDim - c0);
    for (var o = 0u; o < CHUNK; o++) {
      if (o < n) { g[o] = gradOutput[outBlock + r * outDim + c0 + o]; }
    }
    let firstChunk = c0 == 0u;
    let lastChunk = c0 + n == outDim;
    for (var i0 = 0u; i0 < inDim; i0 += 4u) {
      // Inputs i0 .. i0 + 3 against outputs c0 .. c0 + n.
      var acc = vec4<f32>(0.0);
      for (var o = 0u; o < CHUNK; o++) {
        if (o < n) { acc += weights4(&params, &paramsVec4, weightOffset + (c0 + o) * inDim, i0, inDim - 1u) * g[o]; }
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
fn forward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  at_agent(gid);
  let first = linear_index(gid, nwg) * ROWS;
  let rows = args.rows;
  if (first >= rows) { return; }
  let inDim = args.inDim;
  let outDim = args.outDim;
  let n4 = inDim / 4u;
  var x: array<array<vec4<f32>, WIDTH4>, ROWS>;
  for (var j = 0u; j < ROWS; j++) {
    let base = inBlock + min(first + j, rows - 1u) * inDim;
    // The loads loop to the layer's width; the sums below unroll to WIDTH4 (see chain_forward).
    for (var k = 0u; k < n4; k++) { x[j][k] = inputVec4[base / 4u + k]; }
  }
  for (var o = 0u; o < outDim; o++) {
    let w = (weightOffset + o * inDim) / 4u;
    // Zeroed explicitly: lavapipe kept an uninitialised loop-local array's previous values.
    var acc = array<vec4<f32>, ROWS>();
    for (var k = 0u; k < WIDTH4; k++) {
      if (k < n4) {
        let wv = paramsVec4[w + k];
        for (var j = 0u; j < ROWS; j++) { acc[j] = fma(wv, x[j][k], acc[j]); }
      }
    }
    let b = params[biasOffset + o];
    for (var j = 0u; j < ROWS; j++) {
      if (first + j < rows) {
        let a = acc[j];
        output[outBlock + (first + j) * outDim + o] = activate(args.activation, (a.x + a.y) + (a.z + a.w) + b);
      }
    }
  }
}

// The gradient rows a backward_input_rows invocation holds: g[j][o] for its ROWS rows.
alias RowGradients = array<array<f32, WIDTH>, ROWS>;

// A backward_input_rows block's sums: acc[j][c] = Σ_o W[o][i0 + c] · g[j][o] for
// inputs i0 .. i0 + 3 of the ROWS rows held in g, W's rows starting at weightOffset of m4.
fn input_rows_sums(m4: Vec4s, weightOffset: u32, inDim: u32, outDim: u32, i0: u32, g: ptr<function, RowGradients>) -> array<vec4<f32>, ROWS> {
  var acc = array<vec4<f32>, ROWS>();
  for (var o = 0u; o < WIDTH; o++) {
    if (o < outDim) {
      let wv = (*m4)[(weightOffset + o * inDim + i0) / 4u];
      for (var j = 0u; j < ROWS; j++) { acc[j] = fma(wv, vec4<f32>((*g)[j][o]), acc[j]); }
    }
  }
  return acc;
}

@compute @workgroup_size(WG)
fn backward_input_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  at_agent(gid);
  let first = linear_index(gid, nwg) * ROWS;
  let rows = args.rows;
  if (first >= rows) { return; }
  let inDim = args.inDim;
  let outDim = args.outDim;
  var g: RowGradients;
  for (var j = 0u; j < ROWS; j++) {
    let base = outBlock + min(first + j, rows - 1u) * outDim;
    for (var o = 0u; o < WIDTH; o++) {
      if (o < outDim) { g[j][o] = gradOutput[base + o]; }
    }
  }
  for (var i0 = 0u; i0 < inDim; i0 += 4u) {
    let acc = input_rows_sums(&paramsVec4, weightOffset, inDim, outDim, i0, &g);
    for (var j = 0u; j < ROWS; j++) {
      let r = first + j;
      if (r < rows) {
        for (var c = 0u; c < 4u; c++) {
          let at = inBlock + r * inDim + i0 + c;
          gradInput[at] = acc[j][c] * slope(args.inputActivation, input[at]);
        }
      }
    }
  }
}

@compute @workgroup_size(WG)
fn forward_tiles(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  at_agent(gid);
  let tile = tile_of(linear_index(gid, nwg));
  let r0 = tile.r0;
  let o0 = tile.o0;
  if (r0 >= args.rows) { return; }
  let s = tile_dots(TileSums(), &paramsVec4, &inputVec4, tile, args.inDim);
  let bias = clamped4(&params, biasOffset, o0, args.outDim - 1u);
  storeOutputs(r0, o0, s.row0 + bias);
  storeOutputs(r0 + 1u, o0, s.row1 + bias);
  storeOutputs(r0 + 2u, o0, s.row2 + bias);
  storeOutputs(r0 + 3u, o0, s.row3 + bias);
}

// output[r][o0 .. o0 + 3] = act(s), the parts inside the batch and the layer.
fn storeOutputs(r: u32, o0: u32, s: vec4<f32>) {
  if (r >= args.rows) { return; }
  for (var c = 0u; c < 4u; c++) {
    if (o0 + c < args.outDim) { output[outBlock + r * args.outDim + o0 + c] = activate(args.activation, s[c]); }
  }
}

@compute @workgroup_size(WG)
fn tangent_tiles(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  at_agent(gid);
  let tile = tile_of(linear_index(gid, nwg));
  let r0 = tile.r0;
  let o0 = tile.o0;
  if (r0 >= args.rows) { return; }
  // V a_{l−1}, then + W u_{l−1}
  var s = tile_dots(TileSums(), &vectorVec4, &inputVec4, tile, args.inDim);
  if (args.firstLayer == 0u) { s = tile_dots(s, &paramsVec4, &tangentInVec4, tile, args.inDim); }
  let vb = clamped4(&vector, biasOffset, o0, args.outDim - 1u);
  storeTangents(r0, o0, s.row0 + vb);
  storeTangents(r0 + 1u, o0, s.row1 + vb);
  storeTangents(r0 + 2u, o0, s.row2 + vb);
  storeTangents(r0 + 3u, o0, s.row3 + vb);
}

// tangentOut[r][o0 .. o0 + 3] = s · act'(a_l), the parts inside the batch and the layer.
fn storeTangents(r: u32, o0: u32, s: vec4<f32>) {
  if (r >= args.rows) { return; }
  for (var c = 0u; c < 4u; c++) {
    if (o0 + c < args.outDim) {
      let at = outBlock + r * args.outDim + o0 + c;
      tangentOut[at] = s[c] * slope(args.activation, activation[at]);
    }
  }
}

@compute @workgroup_size(WG)
fn backward_input_tiles(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  at_agent(gid);
  let t = linear_index(gid, nwg);
  let inDim = args.inDim;
  let outDim = args.outDim;
  let rows = args.rows;
  let inTiles = inDim / TILE;
  let i0 = TILE * (t % inTiles);
  let r0 = TILE * (t / inTiles);
  if (r0 >= rows) { return; }
  let g = vec4<u32>(outBlock) + min(vec4<u32>(r0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(rows - 1u)) * outDim;
  let s = input_tile_sums((weightOffset + i0) / 4u, inDim / 4u, g, outDim, &paramsVec4, &gradOutput, &gradOutputVec4, GRAD_VEC4);
  storeGradInputs(r0, i0, s.row0);
  storeGradInputs(r0 + 1u, i0, s.row1);
  storeGradInputs(r0 + 2u, i0, s.row2);
  storeGradInputs(r0 + 3u, i0, s.row3);
}

// A backward_input tile's sums: row<j>[c] = Σ_o W[o][i0 + c] · gradient[g[j] + o] for
// W's columns i0 .. i0 + 3 from vec4 w (rows stride vec4s apart) and the gradient
// rows starting at g; read as vec4s (gv4) where they are whole vec4s, else as floats (gv).
fn input_tile_sums(w: u32, stride: u32, g: vec4<u32>, outDim: u32, p4: Vec4s, gv: Floats, gv4: Vec4s, whole: bool) -> TileSums {
  var s = TileSums();
  if (whole) {
    // Outputs o .. o + 3: W[o + c][i0 .. i0 + 3] against gradient[r][o .. o + 3].
    for (var o = 0u; o < outDim; o += 4u) {
      let a = (*p4)[w + o * stride];
      let b = (*p4)[w + (o + 1u) * stride];
      let c = (*p4)[w + (o + 2u) * stride];
      let d = (*p4)[w + (o + 3u) * stride];
      let h0 = (*gv4)[(g.x + o) / 4u];
      let h1 = (*gv4)[(g.y + o) / 4u];
      let h2 = (*gv4)[(g.z + o) / 4u];
      let h3 = (*gv4)[(g.w + o) / 4u];
      s.row0 += a * h0.x + b * h0.y + c * h0.z + d * h0.w;
      s.row1 += a * h1.x + b * h1.y + c * h1.z + d * h1.w;
      s.row2 += a * h2.x + b * h2.y + c * h2.z + d * h2.w;
      s.row3 += a * h3.x + b * h3.y + c * h3.z + d * h3.w;
    }
  } else {
    for (var o = 0u; o < outDim; o++) {
      let a = (*p4)[w + o * stride];
      s.row0 += a * (*gv)[g.x + o];
      s.row1 += a * (*gv)[g.y + o];
      s.row2 += a * (*gv)[g.z + o];
      s.row3 += a * (*gv)[g.w + o];
    }
  }
  return s;
}

// gradInput[r][i0 .. i0 + 3] = s · act'(input[r][i0 .. i0 + 3]) for rows inside the batch.
fn storeGradInputs(r: u32, i0: u32, s: vec4<f32>) {
  if (r >= args.rows) { return; }
  for (var c = 0u; c < 4u; c++) {
    let at = inBlock + r * args.inDim + i0 + c;
    gradInput[at] = s[c] * slope(args.inputActivation, input[at]);
  }
}

// The tile of W (or of b) a backward_params invocation owns: outputs o0 .. o0 + 3
// against inputs i0 .. i0 + 3; the last tile of each row of tiles holds the
// biases of outputs o0 .. o0 + 3 (isBias).
struct ParamTile {
  o0: u32,
  i0: u32,
  isBias: bool,
}

// ceil(outDim / TILE) · (ceil(inDim / TILE) + 1): W tiles and one bias tile per row of tiles.
fn param_tiles(inDim: u32, outDim: u32) -> u32 {
  return ((outDim + TILE - 1u) / TILE) * ((inDim + TILE - 1u) / TILE + 1u);
}

fn param_tile(t: u32, inDim: u32) -> ParamTile {
  let inTiles = (inDim + TILE - 1u) / TILE;
  let tilesPerRow = inTiles + 1u;
  let i0 = TILE * (t % tilesPerRow);
  return ParamTile(TILE * (t / tilesPerRow), i0, i0 == TILE * inTiles);
}

// A tile's sums over rows r0 .. r1 − 1 in row order: row<j> for output o0 + j
// against inputs i0 .. i0 + 3 (bias tiles: against 1, in .x). The layer's
// input rows are read from x (its rows from xBase), its gradOutput rows from g;
// xWhole / gWhole: those rows are whole vec4s.
fn block_sums(tile: ParamTile, r0: u32, r1: u32, inDim: u32, outDim: u32,
              x: Floats, x4: Vec4s, xWhole: bool, xBase: u32, g: Floats, g4: Vec4s, gWhole: bool, gBase: u32) -> TileSums {
  var s = TileSums();
  for (var r = r0; r < r1; r++) {
    let gr = row4(g, g4, gWhole, gBase + r * outDim, tile.o0, outDim);
    var xr = vec4<f32>(1.0, 0.0, 0.0, 0.0);
    if (!tile.isBias) { xr = row4(x, x4, xWhole, xBase + r * inDim, tile.i0, inDim); }
    s.row0 += gr.x * xr;
    s.row1 += gr.y * xr;
    s.row2 += gr.z * xr;
    s.row3 += gr.w * xr;
  }
  return s;
}

// This layer's block_sums, from the pass's input and gradOutput bindings.
fn layer_block_sums(tile: ParamTile, r0: u32, r1: u32) -> TileSums {
  return block_sums(tile, r0, r1, args.inDim, args.outDim, &input, &inputVec4, INPUT_VEC4, inBlock, &gradOutput, &gradOutputVec4, GRAD_VEC4, outBlock);
}

fn add_sums(a: TileSums, b: TileSums) -> TileSums {
  return TileSums(a.row0 + b.row0, a.row1 + b.row1, a.row2 + b.row2, a.row3 + b.row3);
}

// block_sums of rows r0 .. r1 − 1 block by block (ROW_BLOCK rows each from r0), each
// added in order to zero, as backward_params adds its blocks (a single block: zero
// plus its sums, which a split reduction's sum then adds to zero again: the same total).
fn range_sums(tile: ParamTile, r0: u32, r1: u32, inDim: u32, outDim: u32,
              x: Floats, x4: Vec4s, xWhole: bool, xBase: u32, g: Floats, g4: Vec4s, gWhole: bool, gBase: u32) -> TileSums {
  var total = TileSums();
  for (var b = r0; b < r1; b += ROW_BLOCK) {
    total = add_sums(total, block_sums(tile, b, min(b + ROW_BLOCK, r1), inDim, outDim, x, x4, xWhole, xBase, g, g4, gWhole, gBase));
  }
  return total;
}

@compute @workgroup_size(WG)
fn backward_params(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  at_agent(gid);
  let t = linear_index(gid, nwg);
  if (t >= param_tiles(args.inDim, args.outDim)) { return; }
  let tile = param_tile(t, args.inDim);
  let rows = args.rows;
  var total = TileSums();
  for (var r0 = 0u; r0 < rows; r0 += ROW_BLOCK) {
    total = add_sums(total, layer_block_sums(tile, r0, min(r0 + ROW_BLOCK, rows)));
  }
  store_param_grads(tile, total, args.inDim, args.outDim, args, weightOffset, biasOffset, &grads);
}

// The tile's four rows of sums into a network's gradients `out`, under its arguments
// `a` (scale, accumulate), its layer's W and b at wOffset and bOffset in the agent's block.
fn store_param_grads(tile: ParamTile, total: TileSums, inDim: u32, outDim: u32,
                     a: DenseArgs, wOffset: u32, bOffset: u32, out: ptr<storage, array<f32>, read_write>) {
  store_param_grads_row(tile.o0, tile.i0, tile.isBias, total.row0, inDim, outDim, a, wOffset, bOffset, out);
  store_param_grads_row(tile.o0 + 1u, tile.i0, tile.isBias, total.row1, inDim, outDim, a, wOffset, bOffset, out);
  store_param_grads_row(tile.o0 + 2u, tile.i0, tile.isBias, total.row2, inDim, outDim, a, wOffset, bOffset, out);
  store_param_grads_row(tile.o0 + 3u, tile.i0, tile.isBias, total.row3, inDim, outDim, a, wOffset, bOffset, out);
}

// grads of W[o][i0 .. i0 + 3] (bias tiles: of b[o], from total.x), the parts inside the layer.
fn store_param_grads_row(o: u32, i0: u32, isBias: bool, total: vec4<f32>, inDim: u32, outDim: u32,
                         a: DenseArgs, wOffset: u32, bOffset: u32, out: ptr<storage, array<f32>, read_write>) {
  if (o >= outDim) { return; }
  let keep = a.accumulate != 0u;
  if (isBias) {
    let at = bOffset + o;
    (*out)[at] = a.scale * total.x + select(0.0, (*out)[at], keep);
    return;
  }
  for (var c = 0u; c < 4u; c++) {
    if (i0 + c >= inDim) { return; }
    let at = wOffset + o * inDim + i0 + c;
    (*out)[at] = a.scale * total[c] + select(0.0, (*out)[at], keep);
  }
}

// Invocation t owns tile t % param_tiles() of row block t / param_tiles():
// consecutive invocations share the block's rows.
@compute @workgroup_size(WG)
fn backward_params_blocks(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  at_agent(gid);
  let t = linear_index(gid, nwg);
  let tiles = param_tiles(args.inDim, args.outDim);
  let b = t / tiles;
  let r0 = b * ROW_BLOCK;
  if (r0 >= args.rows) { return; }
  let tile = param_tile(t % tiles, args.inDim);
  let s = layer_block_sums(tile, r0, min(r0 + ROW_BLOCK, args.rows));
  let base = partial_block(gid) + b * (args.outDim * (args.inDim + 1u));
  store_tile_partials(base, tile, s, args.inDim, args.outDim, &partials);
}

// A tile's block sums into partials `out`, whose layer's block (W sums, then b sums) starts at base.
fn store_tile_partials(base: u32, tile: ParamTile, s: TileSums, inDim: u32, outDim: u32, out: ptr<storage, array<f32>, read_write>) {
  storePartials(base, tile.o0, tile.i0, tile.isBias, s.row0, inDim, outDim, out);
  storePartials(base, tile.o0 + 1u, tile.i0, tile.isBias, s.row1, inDim, outDim, out);
  storePartials(base, tile.o0 + 2u, tile.i0, tile.isBias, s.row2, inDim, outDim, out);
  storePartials(base, tile.o0 + 3u, tile.i0, tile.isBias, s.row3, inDim, outDim, out);
}

// A block's sums for W[o][i0 .. i0 + 3] (bias tiles: b[o], from s.x) at base in partials, the parts inside the layer.
fn storePartials(base: u32, o: u32, i0: u32, isBias: bool, s: vec4<f32>, inDim: u32, outDim: u32, out: ptr<storage, array<f32>, read_write>) {
  if (o >= outDim) { return; }
  if (isBias) {
    (*out)[base + outDim * inDim + o] = s.x;
    return;
  }
  for (var c = 0u; c < 4u; c++) {
    if (i0 + c >= inDim) { return; }
    (*out)[base + o * inDim + i0 + c] = s[c];
  }
}

// Parameter p of the layer (W in o·inDim + i order, then b): its blocks' sums
// added in block order from 0, as backward_params adds them.
@compute @workgroup_size(WG)
fn backward_params_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  at_agent(gid);
  let p = linear_index(gid, nwg);
  let weights = args.outDim * args.inDim;
  let count = weights + args.outDim;
  if (p >= count) { return; }
  let blocks = (args.rows + ROW_BLOCK - 1u) / ROW_BLOCK;
  var total = 0.0;
  let agentPartials = partial_block(gid);
  for (var b = 0u; b < blocks; b++) { total += partials[agentPartials + b * count + p]; }
  let at = select(biasOffset + p - weights, weightOffset + p, p < weights);
  grads[at] = args.scale * total + select(0.0, grads[at], args.accumulate != 0u);
}

// The chains: several layers of a network in one dispatch, each layer's
// arithmetic exactly that of its per-layer kernel (forward_rows,
// backward_input_rows, backward_params), so results are bit-identical.

// forward_chain: the invocation owning rows first .. first + CHAIN_ROWS − 1 runs
// layers chainFirst .. layers − 1 on them, each from the activations it just
// wrote (same invocation, program order: no barrier). Every layer it runs
// takes the `rows` shape. With HOLD_HIDDEN it keeps them in `held` instead and
// writes only the network's output (hidden rows then bind a placeholder, or,
// where layer 0 ran alone, its rows: the first chained layer's input).
@compute @workgroup_size(WG)
fn forward_chain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  chain_forward(agent_index(gid), linear_index(gid, nwg) * CHAIN_ROWS, args, &chainLayers, &params, &paramsVec4, &output, &hiddenActsVec4, &hiddenActsHighVec4);
}

// forward_chain over one network's buffers (the pair's second network passes its own):
// h4 its low activations range, h4High its high one.
fn chain_forward(agent: u32, first: u32, a: DenseArgs, layers: ChainLayers, p: Floats, p4: Vec4s,
                 out: ptr<storage, array<f32>, read_write>, h4: HiddenVec4s, h4High: HiddenVec4s) {
  let rows = a.rows;
  if (first >= rows) { return; }
  let paramBlock = agent * a.paramStride;
  // HOLD_HIDDEN: the last layer's outputs for these rows, [ROWS][WIDTH] (rows past the end
  // repeat the last row's). Scalars, indexed: a vec4 array written lane by lane compiled
  // for half a minute on lavapipe.
  var held: array<f32, ROWS * WIDTH>;
  for (var l = a.chainFirst; l < a.layers; l++) {
    let layer = (*layers).layer[l];
    let inDim = layer.inDim;
    let outDim = layer.outDim;
    let n4 = inDim / 4u;
    var x: array<array<vec4<f32>, WIDTH4>, ROWS>;
    let fromNetwork = layer.input == NETWORK;
    let fromHeld = HOLD_HIDDEN && l > a.chainFirst;
    let fromHigh = input_high(layer);
    let inRows = select(layer.input + agent * rows * inDim, agent * a.inputRows * inDim, fromNetwork);
    // The loads loop to the layer's width. Unrolled to WIDTH4 with a guard per vec4
    // and source, LLVM took ~20 s to compile this chain on a cold lavapipe cache
    // (now under 1 s), and ran it no faster. The sums below stay unrolled.
    for (var j = 0u; j < CHAIN_ROWS; j++) {
      let base = (inRows + min(first + j, rows - 1u) * inDim) / 4u;
      for (var k = 0u; k < n4; k++) {
        if (fromHeld) {
          let at = j * WIDTH + 4u * k;
          x[j][k] = vec4<f32>(held[at], held[at + 1u], held[at + 2u], held[at + 3u]);
        } else if (fromNetwork) {
          x[j][k] = inputVec4[base + k];
        } else if (fromHigh) {
          x[j][k] = (*h4High)[base + k];
        } else {
          x[j][k] = (*h4)[base + k];
        }
      }
    }
    let toNetwork = layer.output == NETWORK;
    let toHigh = output_high(layer);
    let outRows = select(layer.output, 0u, toNetwork) + agent * rows * outDim;
    for (var o = 0u; o < outDim; o++) {
      let w = (paramBlock + layer.weightOffset + o * inDim) / 4u;
      var acc = array<vec4<f32>, ROWS>();
      for (var k = 0u; k < WIDTH4; k++) {
        if (k < n4) {
          let wv = (*p4)[w + k];
          for (var j = 0u; j < CHAIN_ROWS; j++) { acc[j] = fma(wv, x[j][k], acc[j]); }
        }
      }
      let b = (*p)[paramBlock + layer.biasOffset + o];
      for (var j = 0u; j < CHAIN_ROWS; j++) {
        let acc4 = acc[j];
        let y = activate(layer.activation, (acc4.x + acc4.y) + (acc4.z + acc4.w) + b);
        if (HOLD_HIDDEN && !toNetwork) {
          // Rows past the end compute the last row again, as they read it: the same values.
          held[j * WIDTH + o] = y;
        } else if (first + j < rows) {
          let at = outRows + (first + j) * outDim + o;
          if (toNetwork) {
            (*out)[at] = y;
          } else if (toHigh) {
            (*h4High)[at / 4u][at % 4u] = y;
          } else {
            (*h4)[at / 4u][at % 4u] = y;
          }
        }
      }
    }
  }
}

// The pairs: two networks' chains over the same input rows (PPO's policy and
// value networks on a minibatch) in one dispatch, each network with its own
// buffers (the second's: args2, params2 ... chainLayers2). Invocations below
// pair_split run the first network, the rest the second, each exactly as its
// own chain would, so results are bit-identical.
// A pair's passes are never split, so each network's chain is given the other's
// range where it takes its high range: never read, and no binding added.
// The first network's invocations rounded up to whole workgroups, so no workgroup runs both.
fn pair_split() -> u32 {
  let blocks = (args.rows + ROWS - 1u) / ROWS;
  return (blocks + WG - 1u) / WG * WG;
}

@compute @workgroup_size(WG)
fn forward_chain_pair(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let i = linear_index(gid, nwg);
  let split = pair_split();
  if (i < split) {
    chain_forward(agent, i * ROWS, args, &chainLayers, &params, &paramsVec4, &output, &hiddenActsVec4, &hidden2ActsVec4);
  } else {
    chain_forward(agent, (i - split) * ROWS, args2, &chainLayers2, &params2, &params2Vec4, &output2, &hidden2ActsVec4, &hiddenActsVec4);
  }
}

// backward_input_chain: the invocation owning rows first .. first + ROWS − 1
// takes their gradient from layer layers − 1 down to layer 1's input, each
// layer from the gradient it just wrote. Layer 0's (the network input's) is
// backward_input's own dispatch.
@compute @workgroup_size(WG)
fn backward_input_chain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  chain_backward_input(agent_index(gid), linear_index(gid, nwg) * ROWS, args, &chainLayers, &paramsVec4, &gradOutput,
                       &hiddenGrads, &hiddenActs, &hiddenGradsHigh, &hiddenActsHigh);
}

// backward_input_chain over one network's buffers: h its hidden gradients, acts its hidden
// activations (the low ranges; hHigh, actsHigh the high ones).
fn chain_backward_input(agent: u32, first: u32, a: DenseArgs, layers: ChainLayers, p4: Vec4s, gOut: Floats,
                        h: ptr<storage, array<f32>, read_write>, acts: ptr<storage, array<f32>, read_write>,
                        hHigh: ptr<storage, array<f32>, read_write>, actsHigh: ptr<storage, array<f32>, read_write>) {
  let rows = a.rows;
  if (first >= rows) { return; }
  // The network's output gradient rows (the last layer's gradOutput).
  let outDim = (*layers).layer[a.layers - 1u].outDim;
  var g: RowGradients;
  for (var j = 0u; j < ROWS; j++) {
    let base = (agent * rows + min(first + j, rows - 1u)) * outDim;
    for (var o = 0u; o < WIDTH; o++) {
      if (o < outDim) { g[j][o] = (*gOut)[base + o]; }
    }
  }
  chain_backward_input_from(agent, first, a, layers, p4, &g, h, acts, hHigh, actsHigh);
}

// chain_backward_input from the network's output gradient rows first .. first + ROWS − 1 in g
// (rows past the end repeat the last row), e.g. as a loss computed them (ppo_chain.wgsl).
fn chain_backward_input_from(agent: u32, first: u32, a: DenseArgs, layers: ChainLayers, p4: Vec4s,
                             gNetwork: ptr<function, RowGradients>, h: ptr<storage, array<f32>, read_write>, acts: ptr<storage, array<f32>, read_write>,
                             hHigh: ptr<storage, array<f32>, read_write>, actsHigh: ptr<storage, array<f32>, read_write>) {
  let rows = a.rows;
  let paramBlock = agent * a.paramStride;
  for (var l = a.layers - 1u; l > 0u; l--) {
    let layer = (*layers).layer[l];
    let inDim = layer.inDim;
    let outDim = layer.outDim;
    var g: RowGradients;
    if (layer.gradOutput == NETWORK) {
      g = *gNetwork;
    } else {
      let gradRows = layer.gradOutput + agent * rows * outDim;
      let fromHigh = output_high(layer);
      for (var j = 0u; j < ROWS; j++) {
        let base = gradRows + min(first + j, rows - 1u) * outDim;
        for (var o = 0u; o < WIDTH; o++) {
          if (o < outDim) {
            if (fromHigh) { g[j][o] = (*hHigh)[base + o]; } else { g[j][o] = (*h)[base + o]; }
          }
        }
      }
    }
    let inRows = agent * rows * inDim;
    let toHigh = input_high(layer);
    for (var i0 = 0u; i0 < inDim; i0 += 4u) {
      let acc = input_rows_sums(p4, paramBlock + layer.weightOffset, inDim, outDim, i0, &g);
      for (var j = 0u; j < ROWS; j++) {
        let r = first + j;
        if (r < rows) {
          for (var c = 0u; c < 4u; c++) {
            let at = inRows + r * inDim + i0 + c;
            if (toHigh) {
              (*hHigh)[layer.gradInput + at] = acc[j][c] * slope(layer.inputActivation, (*actsHigh)[layer.input + at]);
            } else {
              (*h)[layer.gradInput + at] = acc[j][c] * slope(layer.inputActivation, (*acts)[layer.input + at]);
            }
          }
        }
      }
    }
  }
}

@compute @workgroup_size(WG)
fn backward_input_chain_pair(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let i = linear_index(gid, nwg);
  let split = pair_split();
  if (i < split) {
    chain_backward_input(agent, i * ROWS, args, &chainLayers, &paramsVec4, &gradOutput, &hiddenGrads, &hiddenActs, &hidden2Grads, &hidden2Acts);
  } else {
    chain_backward_input(agent, (i - split) * ROWS, args2, &chainLayers2, &params2Vec4, &gradOutput2, &hidden2Grads, &hidden2Acts, &hiddenGrads, &hiddenActs);
  }
}

// backward_params_chain: every layer's parameter gradients in one dispatch
// (the serial reduction): invocation t owns tile t − firstTile of the layer
// whose tiles hold t, and sums it exactly as backward_params does.
@compute @workgroup_size(WG)
fn backward_params_chain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  chain_param_grads(agent_index(gid), linear_index(gid, nwg), &hiddenActsRead4, &hiddenActsRead4, &hiddenGradsRead4, &hiddenGradsRead4);
}

// The parameter-gradient chains' `wide` entry points bind the high ranges too
// (7 storage buffers), for split passes; the others
// pass their low ranges in the high ones' place.
@compute @workgroup_size(WG)
fn backward_params_wide_chain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  chain_param_grads(agent_index(gid), linear_index(gid, nwg), &hiddenActsRead4, &hiddenActsHighRead4, &hiddenGradsRead4, &hiddenGradsHighRead4);
}

// A tile of a chained layer's parameters, as chain_param_grads found it.
struct ChainParamTile {
  // false for the invocations past the last layer's tiles
  owned: bool,
  tile: ParamTile,
  inDim: u32,
  outDim: u32,
}

// The chained layer whose parameter tiles hold tile t (firstTile order).
fn chain_tile_layer(t: u32, a: DenseArgs, layers: ChainLayers) -> u32 {
  var l = 0u;
  while (l + 1u < a.layers && t >= (*layers).layer[l + 1u].firstTile) { l++; }
  return l;
}

// Parameter tiles of every chained layer (the serial chain's invocations per agent).
fn chain_param_tiles(a: DenseArgs, layers: ChainLayers) -> u32 {
  let last = (*layers).layer[a.layers - 1u];
  return last.firstTile + param_tiles(last.inDim, last.outDim);
}

// A chained layer's tile's sums over rows r0 .. r1 − 1 for the agent, exactly
// as backward_params sums that tile's block (block_sums from the layer's rows).
// The network's buffers: a its arguments, gOut its output gradient rows (the layers
// read `input`, shared by a pair's networks); a4, g4 the hidden activations' and
// gradients' low ranges (read-only vec4 views), a4High, g4High the high ones (a kernel
// binding none passes the low ones). The network's own rows (input, gOut) are read
// through their float views only, whatever their width: a vec4 view of them is not
// bound, so a pair's row-block sums bind 9 storage buffers (a browser grants 10), and
// a binding whose size is not whole vec4s is never read past its end.
fn chain_block_sums(layer: ChainLayer, agent: u32, tile: ParamTile, r0: u32, r1: u32, a: DenseArgs, gOut: Floats,
                    a4: Vec4s, a4High: Vec4s, g4: Vec4s, g4High: Vec4s) -> TileSums {
  let inDim = layer.inDim;
  let xBase = layer.input + agent * a.rows * inDim;
  if (layer.input == NETWORK) {
    // (a4 stands in for the input's vec4 view, which `whole` false never reads.)
    return chain_sums_of(layer, agent, tile, r0, r1, a, gOut, a4, false, agent * a.inputRows * inDim, g4, g4High);
  } else if (input_high(layer)) {
    return chain_sums_of(layer, agent, tile, r0, r1, a, gOut, a4High, true, xBase, g4, g4High);
  }
  return chain_sums_of(layer, agent, tile, r0, r1, a, gOut, a4, true, xBase, g4, g4High);
}

// chain_block_sums with the layer's input rows chosen (x4 from xBase where xWhole, else
// `input`'s floats): against its gradient rows, the network's gOut (floats) or a hidden
// range's (hidden rows are whole vec4s: the chains take only such widths).
fn chain_sums_of(layer: ChainLayer, agent: u32, tile: ParamTile, r0: u32, r1: u32, a: DenseArgs, gOut: Floats,
                 x4: Vec4s, xWhole: bool, xBase: u32, g4: Vec4s, g4High: Vec4s) -> TileSums {
  let inDim = layer.inDim;
  let outDim = layer.outDim;
  let gNetwork = layer.gradOutput == NETWORK;
  let gBase = select(layer.gradOutput, 0u, gNetwork) + agent * a.rows * outDim;
  if (gNetwork) {
    // (g4 stands in for gOut's vec4 view, which `whole` false never reads.)
    return range_sums(tile, r0, r1, inDim, outDim, &input, x4, xWhole, xBase, gOut, g4, false, gBase);
  } else if (output_high(layer)) {
    return range_sums(tile, r0, r1, inDim, outDim, &input, x4, xWhole, xBase, gOut, g4High, true, gBase);
  }
  return range_sums(tile, r0, r1, inDim, outDim, &input, x4, xWhole, xBase, gOut, g4, true, gBase);
}

// Invocation t's tile of the agent's layers: sums and stores its gradients
// (weightOffset and biasOffset are then the tile's layer's, in the agent's block).
// The hidden ranges as chain_block_sums takes them.
fn chain_param_grads(agent: u32, t: u32, a4: Vec4s, a4High: Vec4s, g4: Vec4s, g4High: Vec4s) -> ChainParamTile {
  return chain_param_grads_of(agent, t, args, &chainLayers, &gradOutput, a4, a4High, g4, g4High, &grads);
}

// chain_param_grads for a network given by its buffers (as chain_block_sums takes them)
// and its gradients `out`: a pair's second network passes its *2 bindings.
fn chain_param_grads_of(agent: u32, t: u32, a: DenseArgs, layers: ChainLayers, gOut: Floats,
                        a4: Vec4s, a4High: Vec4s, g4: Vec4s, g4High: Vec4s, out: ptr<storage, array<f32>, read_write>) -> ChainParamTile {
  let layer = (*layers).layer[chain_tile_layer(t, a, layers)];
  let inDim = layer.inDim;
  let outDim = layer.outDim;
  if (t - layer.firstTile >= param_tiles(inDim, outDim)) { return ChainParamTile(false, ParamTile(), inDim, outDim); }
  let tile = param_tile(t - layer.firstTile, inDim);
  let paramBlock = agent * a.paramStride;
  weightOffset = paramBlock + layer.weightOffset;
  biasOffset = paramBlock + layer.biasOffset;
  // Every row block in one call: the branch on the layer's row sources is taken once per
  // tile, not once per block (SwiftShader runs every side of a branch, masked: 6 % less
  // time in its PPO update's parameter pair, bench/RESULTS.md).
  let total = chain_block_sums(layer, agent, tile, 0u, a.rows, a, gOut, a4, a4High, g4, g4High);
  store_param_grads(tile, total, inDim, outDim, a, weightOffset, biasOffset, out);
  return ChainParamTile(true, tile, inDim, outDim);
}

// Two networks' serial parameter gradients over the same input rows in one dispatch
// (PPO's policy and value networks, where their Adam steps do not fuse), each
// invocation one network's tile as its own backward_params_chain sums it: the first
// network's tiles, rounded up to whole workgroups, then the second's (its buffers the
// *2 bindings). 9 storage buffers. Their passes are never split.
@compute @workgroup_size(WG)
fn backward_params_chain_pair(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let t = linear_index(gid, nwg);
  let split = (chain_param_tiles(args, &chainLayers) + WG - 1u) / WG * WG;
  if (t < split) {
    chain_param_grads_of(agent, t, args, &chainLayers, &gradOutput,
                         &hiddenActsRead4, &hiddenActsRead4, &hiddenGradsRead4, &hiddenGradsRead4, &grads);
  } else {
    chain_param_grads_of(agent, t - split, args2, &chainLayers2, &gradOutput2,
                         &hidden2ActsRead4, &hidden2ActsRead4, &hidden2GradsRead4, &hidden2GradsRead4, &grads2);
  }
}

// The split reduction chained: every layer's row-block sums in one dispatch
// (backward_params_blocks_chain), then every parameter's total in another
// (backward_params_sum_chain, or backward_params_sum_adam_chain with the Adam
// step), the same sums in the same order as backward_params_chain, so the
// same bits. The agent's partials are [blocks][Σ_l outDim·(inDim + 1)]: per
// block, layer l's W sums (o·inDim + i) then b sums from its firstPartial.

// Partial sums per row block: every chained layer's parameters.
fn chain_block_partials(a: DenseArgs, layers: ChainLayers) -> u32 {
  let last = (*layers).layer[a.layers - 1u];
  return last.firstPartial + last.outDim * (last.inDim + 1u);
}

// Invocation t owns tile t % chain_param_tiles(..) of row block t / chain_param_tiles(..):
// consecutive invocations share the block's rows.
@compute @workgroup_size(WG)
fn backward_params_blocks_chain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  chain_blocks(agent_index(gid), linear_index(gid, nwg), args, &chainLayers, &gradOutput,
               &hiddenActsRead4, &hiddenActsRead4, &hiddenGradsRead4, &hiddenGradsRead4, &partials);
}

@compute @workgroup_size(WG)
fn backward_params_blocks_wide_chain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  chain_blocks(agent_index(gid), linear_index(gid, nwg), args, &chainLayers, &gradOutput,
               &hiddenActsRead4, &hiddenActsHighRead4, &hiddenGradsRead4, &hiddenGradsHighRead4, &partials);
}

// Two networks' row-block sums over the same input rows in one dispatch (PPO's policy and
// value networks), each invocation one network's as its own chain would run it: the first
// network's invocations, rounded up to whole workgroups, then the second's (its buffers
// the *2 bindings). Their passes are never split.
@compute @workgroup_size(WG)
fn backward_params_blocks_chain_pair(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let t = linear_index(gid, nwg);
  let first = chain_param_tiles(args, &chainLayers) * ((args.rows + ROW_BLOCK - 1u) / ROW_BLOCK);
  let split = (first + WG - 1u) / WG * WG;
  if (t < split) {
    chain_blocks(agent, t, args, &chainLayers, &gradOutput,
                 &hiddenActsRead4, &hiddenActsRead4, &hiddenGradsRead4, &hiddenGradsRead4, &partials);
  } else {
    chain_blocks(agent, t - split, args2, &chainLayers2, &gradOutput2,
                 &hidden2ActsRead4, &hidden2ActsRead4, &hidden2GradsRead4, &hidden2GradsRead4, &partials2);
  }
}

// Invocation t's row-block sums of a network (its buffers as chain_block_sums takes them,
// its partial sums `out`).
fn chain_blocks(agent: u32, t: u32, a: DenseArgs, layers: ChainLayers, gOut: Floats,
                a4: Vec4s, a4High: Vec4s, g4: Vec4s, g4High: Vec4s, out: ptr<storage, array<f32>, read_write>) {
  let tiles = chain_param_tiles(a, layers);
  let b = t / tiles;
  let r0 = b * ROW_BLOCK;
  if (r0 >= a.rows) { return; }
  let layer = (*layers).layer[chain_tile_layer(t % tiles, a, layers)];
  let tile = param_tile(t % tiles - layer.firstTile, layer.inDim);
  let s = chain_block_sums(layer, agent, tile, r0, min(r0 + ROW_BLOCK, a.rows), a, gOut, a4, a4High, g4, g4High);
  let blocks = (a.rows + ROW_BLOCK - 1u) / ROW_BLOCK;
  let perBlock = chain_block_partials(a, layers);
  let base = (agent * blocks + b) * perBlock + layer.firstPartial;
  store_tile_partials(base, tile, s, layer.inDim, layer.outDim, out);
}

// Parameter p of the chained layers (in partials order): its blocks' sums added
// in block order from 0, stored as backward_params_sum stores it. Returns the
// parameter's index in the agents' blocks of grads and params, or NETWORK past the last.
fn chain_param_sum(agent: u32, p: u32) -> u32 {
  let perBlock = chain_block_partials(args, &chainLayers);
  if (p >= perBlock) { return NETWORK; }
  var l = 0u;
  while (l + 1u < args.layers && p >= chainLayers.layer[l + 1u].firstPartial) { l++; }
  let layer = chainLayers.layer[l];
  let q = p - layer.firstPartial;
  let weights = layer.outDim * layer.inDim;
  let blocks = (args.rows + ROW_BLOCK - 1u) / ROW_BLOCK;
  var total = 0.0;
  let agentPartials = agent * blocks * perBlock;
  for (var b = 0u; b < blocks; b++) { total += partials[agentPartials + b * perBlock + p]; }
  let at = agent * args.paramStride + select(layer.biasOffset + q - weights, layer.weightOffset + q, q < weights);
  grads[at] = args.scale * total + select(0.0, grads[at], args.accumulate != 0u);
  return at;
}

@compute @workgroup_size(WG)
fn backward_params_sum_chain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  chain_param_sum(agent_index(gid), linear_index(gid, nwg));
}

// backward_params_sum_chain, then one Adam step on the parameter just summed
// (as backward_params_adam_chain: every invocation derives the agent's control
// block, invocation 0 stores it; the same conditions for fusing).
@compute @workgroup_size(WG)
fn backward_params_sum_adam_chain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let p = linear_index(gid, nwg);
  let at = chain_param_sum(agent, p);
  let c = chain_adam_control(agent, p, adam_flag(agent));
  if (at == NETWORK || c.activeFlag <= 0.0) { return; }
  adam_step_at(at, c);
}

// backward_params_adam_chain: backward_params_chain, then one Adam step
// (adam_step.wgsl, the arithmetic optim.wgsl's adam runs) on the parameters
// whose gradients the invocation just stored, so a network's gradients and its
// optimizer step are one dispatch. Every invocation derives the agent's control
// block (as adam does); invocation 0 stores it. Only where every optimized
// parameter is a dense layer's (no Gaussian head's log-stds), the gradients
// are not clipped by a global norm (that needs all of them first), and the
// agent's block in Adam's vectors is the network's (paramStride, or for one
// agent the unpadded paramCount: its block starts at 0 either way).
// It binds 12 storage buffers, without the high ranges: for passes that are not split.
@compute @workgroup_size(WG)
fn backward_params_adam_chain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let t = linear_index(gid, nwg);
  let owned = chain_param_grads(agent, t, &hiddenActsRead4, &hiddenActsRead4, &hiddenGradsRead4, &hiddenGradsRead4);
  chain_adam_params(owned, chain_adam_control(agent, t, adam_flag(agent)));
}

// backward_params_adam_chain binding the high ranges (`wide`), for split passes:
// for an optimizer whose active flag is its own (in its control block, not
// another buffer's: REINFORCE's, TRPO's and the value fits'), so that without
// adamFlags it binds 13 storage buffers.
@compute @workgroup_size(WG)
fn backward_params_adam_wide_chain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let t = linear_index(gid, nwg);
  let owned = chain_param_grads(agent, t, &hiddenActsRead4, &hiddenActsHighRead4, &hiddenGradsRead4, &hiddenGradsHighRead4);
  chain_adam_params(owned, chain_adam_control(agent, t, adamControlIn[agent].activeFlag));
}

// Adam's step, under the control block c, on the parameters of the tile the invocation summed.
fn chain_adam_params(owned: ChainParamTile, c: AdamControl) {
  if (!owned.owned || c.activeFlag <= 0.0) { return; }
  let tile = owned.tile;
  for (var j = 0u; j < TILE; j++) {
    let o = tile.o0 + j;
    if (o >= owned.outDim) { return; }
    if (tile.isBias) {
      adam_step_at(biasOffset + o, c);
      continue;
    }
    for (var k = 0u; k < TILE; k++) {
      if (tile.i0 + k >= owned.inDim) { break; }
      adam_step_at(weightOffset + o * owned.inDim + tile.i0 + k, c);
    }
  }
}

// The agent's active flag in adamFlags.
fn adam_flag(agent: u32) -> f32 {
  return adamFlags[agent * adamArgs.activeStride + adamArgs.activeIndex];
}

// The agent's Adam control block for this step under its active flag, derived by every
// invocation (as adam does); invocation 0 stores it.
fn chain_adam_control(agent: u32, invocation: u32, activeFlag: f32) -> AdamControl {
  let c = adam_control(adamArgs, adamControlIn[agent], activeFlag, adamAgents[agent]);
  if (invocation == 0u) { adamControlOut[agent] = c; }
  return c;
}

// Adam's step on parameter `at` (an index into the agents' blocks) from the gradient just stored there.
fn adam_step_at(at: u32, c: AdamControl) {
  let next = adam_parameter(adamArgs, c, adamParams[at], grads[at], adamM[at], adamV[at]);
  adamM[at] = next.m;
  adamV[at] = next.v;
  adamParams[at] = next.param;
}

// The `tiles` chains: workgroup b owns rows CHAIN_ROWS · b .. CHAIN_ROWS · (b + 1) − 1
// (CHAIN_ROWS = TILE · CHAIN_ROW_TILES) and runs every chained layer on them. Its
// invocation k takes row tile k % CHAIN_ROW_TILES of the block and output (input, for
// the gradient) tile k / CHAIN_ROW_TILES, computed exactly as the per-layer tiles kernel
// computes that tile, so the chained layers are at most TILE · CHAIN_TILES wide. A layer
// reads rows that other invocations of the workgroup wrote in the layer before: a
// storageBarrier between layers makes those writes visible. The rows stay in the hidden
// ranges (storage), not workgroup memory: the backward pass and the tangent read them from
// there anyway, and they are read as the per-layer kernel reads them. (The bench's
// `fused` case measured rows, and weights, in workgroup memory: slower than these
// forms on both CPU drivers; bench/RESULTS.md.)
// Invocations past a narrower layer's last tile run its loops zero times (their
// results are not stored) and reach the barrier all the same. Neighbouring
// invocations share a column tile, so whole SIMD groups (SwiftShader's are 4 wide)
// skip such loops, and no branch picks a layer's buffers: SwiftShader runs both
// sides of a branch. The layer reading the network's buffer (forward: layer 0;
// gradient: the last) runs before the loop over the others.

// The tile of invocation t of a `tiles` chain: its first row and first output (input) column.
struct ChainTile {
  r0: u32,
  c0: u32,
  // rows r0 .. r0 + 3, each clamped to the last row
  r: vec4<u32>,
}

fn chain_tile(t: u32, rows: u32) -> ChainTile {
  if (CHAIN_OWN_ROWS) {
    let r0 = TILE * t;
    return ChainTile(r0, 0u, min(vec4<u32>(r0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(rows - 1u)));
  }
  let k = t % WG;
  let r0 = (t / WG) * CHAIN_ROW_TILES * TILE + TILE * (k % CHAIN_ROW_TILES);
  let r = min(vec4<u32>(r0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(rows - 1u));
  return ChainTile(r0, TILE * (k / CHAIN_ROW_TILES), r);
}

// n where the tile lies inside the batch of `rows` rows and columns columns, else 0: the bound of its loop over n.
fn chain_extent(ct: ChainTile, rows: u32, columns: u32, n: u32) -> u32 {
  return select(0u, n, ct.r0 < rows && ct.c0 < columns);
}

// The forward Tile of a chain's layer (as tile_of), its input rows from inRows.
fn chain_forward_tile(ct: ChainTile, layer: ChainLayer, paramBlock: u32, inRows: u32) -> Tile {
  let o = min(vec4<u32>(ct.c0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(layer.outDim - 1u));
  return Tile(ct.r0, ct.c0, (vec4<u32>(inRows) + ct.r * layer.inDim) / 4u, (vec4<u32>(paramBlock + layer.weightOffset) + o * layer.inDim) / 4u);
}

// tile_dots (from zero) of W (in p4) against input rows in the hidden activations h4.
fn hidden_tile_dots(tile: Tile, inDim: u32, p4: Vec4s, h4: HiddenVec4s) -> TileSums {
  let w = tile.weights;
  let x = tile.rows;
  var s = TileSums();
  for (var k = 0u; k < inDim / 4u; k++) {
    let a = (*p4)[w.x + k];
    let b = (*p4)[w.y + k];
    let c = (*p4)[w.z + k];
    let d = (*p4)[w.w + k];
    s.row0 += dots4(a, b, c, d, (*h4)[x.x + k]);
    s.row1 += dots4(a, b, c, d, (*h4)[x.y + k]);
    s.row2 += dots4(a, b, c, d, (*h4)[x.z + k]);
    s.row3 += dots4(a, b, c, d, (*h4)[x.w + k]);
  }
  return s;
}

// forward_tiles' bias and stores for a chain's layer: output[r][o0 .. o0 + 3] = act(s + b)
// for rows r0 .. r0 + 3, into the network's output `out` or the layer's range of h4 (h4High
// the high part's).
fn store_chain_tile(ct: ChainTile, layer: ChainLayer, agent: u32, rows: u32, paramBlock: u32, s: TileSums, p: Floats,
                    out: ptr<storage, array<f32>, read_write>, h4: HiddenVec4s, h4High: HiddenVec4s) {
  let o0 = ct.c0;
  let outDim = layer.outDim;
  let bias = clamped4(p, paramBlock + layer.biasOffset, o0, outDim - 1u);
  let outRows = select(layer.output, 0u, layer.output == NETWORK) + agent * rows * outDim;
  store_chain_outputs(layer, outRows, rows, ct.r0, o0, s.row0 + bias, out, h4, h4High);
  store_chain_outputs(layer, outRows, rows, ct.r0 + 1u, o0, s.row1 + bias, out, h4, h4High);
  store_chain_outputs(layer, outRows, rows, ct.r0 + 2u, o0, s.row2 + bias, out, h4, h4High);
  store_chain_outputs(layer, outRows, rows, ct.r0 + 3u, o0, s.row3 + bias, out, h4, h4High);
}

// storeOutputs for a chain: output[r][o0 .. o0 + 3] = act(s) (rows from outRows), the parts
// inside the batch and the layer.
fn store_chain_outputs(layer: ChainLayer, outRows: u32, rows: u32, r: u32, o0: u32, s: vec4<f32>,
                       out: ptr<storage, array<f32>, read_write>, h4: HiddenVec4s, h4High: HiddenVec4s) {
  if (r >= rows) { return; }
  if (layer.output != NETWORK) {
    // A hidden layer's rows are whole vec4s (the next chained layer's input is aligned):
    // one vec4 store, not four component stores (a dynamic component index costs SwiftShader).
    if (o0 >= layer.outDim) { return; }
    let k = layer.activation;
    let y = vec4<f32>(activate(k, s.x), activate(k, s.y), activate(k, s.z), activate(k, s.w));
    let at = (outRows + r * layer.outDim + o0) / 4u;
    if (output_high(layer)) { (*h4High)[at] = y; } else { (*h4)[at] = y; }
    return;
  }
  for (var c = 0u; c < 4u; c++) {
    if (o0 + c < layer.outDim) {
      (*out)[outRows + r * layer.outDim + o0 + c] = activate(layer.activation, s[c]);
    }
  }
}

// forward_tiles_chain: layers chainFirst .. layers − 1 on the workgroup's rows, each tile
// as forward_tiles computes it. Every layer's outputs fit the workgroup's tiles.
@compute @workgroup_size(WG)
fn forward_tiles_chain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  tiles_chain_forward(agent_index(gid), linear_index(gid, nwg), args, &chainLayers, &params, &paramsVec4, &output,
                      &hiddenActsVec4, &hiddenActsHighVec4);
}

// forward_tiles_chain over one network's buffers for invocation t of its chain (the
// pair's second network passes its own): every invocation of a workgroup calls it.
// h4, h4High: the low and high parts of its hidden activations.
fn tiles_chain_forward(agent: u32, t: u32, a: DenseArgs, layers: ChainLayers, p: Floats, p4: Vec4s,
                       out: ptr<storage, array<f32>, read_write>, h4: HiddenVec4s, h4High: HiddenVec4s) {
  let rows = a.rows;
  var ct = chain_tile(t, rows);
  let paramBlock = agent * a.paramStride;
  var l = a.chainFirst;
  if (l == 0u) {
    let layer = (*layers).layer[0];
    for (var c = 0u; c < chain_column_tiles(layer.outDim); c++) {
      ct.c0 = chain_column(ct, c);
      let tile = chain_forward_tile(ct, layer, paramBlock, agent * a.inputRows * layer.inDim);
      let s = tile_dots(TileSums(), p4, &inputVec4, tile, chain_extent(ct, rows, layer.outDim, layer.inDim));
      store_chain_tile(ct, layer, agent, rows, paramBlock, s, p, out, h4, h4High);
    }
    if (!CHAIN_OWN_ROWS) { storageBarrier(); }
    l = 1u;
  }
  for (; l < a.layers; l++) {
    let layer = (*layers).layer[l];
    for (var c = 0u; c < chain_column_tiles(layer.outDim); c++) {
      ct.c0 = chain_column(ct, c);
      let tile = chain_forward_tile(ct, layer, paramBlock, layer.input + agent * rows * layer.inDim);
      let extent = chain_extent(ct, rows, layer.outDim, layer.inDim);
      var s: TileSums;
      if (input_high(layer)) { s = hidden_tile_dots(tile, extent, p4, h4High); } else { s = hidden_tile_dots(tile, extent, p4, h4); }
      store_chain_tile(ct, layer, agent, rows, paramBlock, s, p, out, h4, h4High);
    }
    if (!CHAIN_OWN_ROWS) { storageBarrier(); }
  }
}

// The `tiles` pairs (forward_tiles_chain_pair, backward_input_tiles_chain_pair): two
// networks' chains over the same input rows in one dispatch, as the `rows` pairs, each
// workgroup running one network's (the first network's workgroups first), so a branch on
// the workgroup keeps the barriers in uniform control flow.
// The first network's workgroups per agent.
fn tiles_pair_split() -> u32 {
  if (CHAIN_OWN_ROWS) { return ((args.rows + TILE - 1u) / TILE + WG - 1u) / WG; }
  return (args.rows + TILE * CHAIN_ROW_TILES - 1u) / (TILE * CHAIN_ROW_TILES);
}

@compute @workgroup_size(WG)
fn forward_tiles_chain_pair(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                            @builtin(workgroup_id) wid: vec3<u32>) {
  let agent = agent_index(gid);
  let t = linear_index(gid, nwg);
  let split = tiles_pair_split();
  if (wid.x + wid.y * nwg.x < split) {
    tiles_chain_forward(agent, t, args, &chainLayers, &params, &paramsVec4, &output, &hiddenActsVec4, &hidden2ActsVec4);
  } else {
    tiles_chain_forward(agent, t - split * WG, args2, &chainLayers2, &params2, &params2Vec4, &output2, &hidden2ActsVec4, &hiddenActsVec4);
  }
}

// Column tiles an invocation computes per layer `columns` wide: all with CHAIN_OWN_ROWS, else its one.
fn chain_column_tiles(columns: u32) -> u32 {
  return select(1u, (columns + TILE - 1u) / TILE, CHAIN_OWN_ROWS);
}

// The first column of the invocation's c-th column tile.
fn chain_column(ct: ChainTile, c: u32) -> u32 {
  return select(ct.c0, TILE * c, CHAIN_OWN_ROWS);
}

// input_tile_sums of whole-vec4 rows of the hidden gradients h4 (read-write, as in hidden_tile_dots).
fn hidden_input_tile_sums(w: u32, stride: u32, g: vec4<u32>, outDim: u32, p4: Vec4s, h4: HiddenVec4s) -> TileSums {
  var s = TileSums();
  for (var o = 0u; o < outDim; o += 4u) {
    let a = (*p4)[w + o * stride];
    let b = (*p4)[w + (o + 1u) * stride];
    let c = (*p4)[w + (o + 2u) * stride];
    let d = (*p4)[w + (o + 3u) * stride];
    let h0 = (*h4)[(g.x + o) / 4u];
    let h1 = (*h4)[(g.y + o) / 4u];
    let h2 = (*h4)[(g.z + o) / 4u];
    let h3 = (*h4)[(g.w + o) / 4u];
    s.row0 += a * h0.x + b * h0.y + c * h0.z + d * h0.w;
    s.row1 += a * h1.x + b * h1.y + c * h1.z + d * h1.w;
    s.row2 += a * h2.x + b * h2.y + c * h2.z + d * h2.w;
    s.row3 += a * h3.x + b * h3.y + c * h3.z + d * h3.w;
  }
  return s;
}

// backward_input_tiles_chain: the workgroup's rows' gradients from layer layers − 1 down
// to layer 1's input, each tile as backward_input_tiles computes it (layer 0's, the
// network input's, is backward_input's own dispatch). Every such layer's inputs fit the
// workgroup's tiles; hidden gradient rows are whole vec4s.
@compute @workgroup_size(WG)
fn backward_input_tiles_chain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  tiles_chain_backward_input(agent_index(gid), linear_index(gid, nwg), args, &chainLayers, &paramsVec4, &gradOutput, &gradOutputVec4,
                             &hiddenActsVec4, &hiddenGradsVec4, &hiddenActsHighVec4, &hiddenGradsHighVec4);
}

// backward_input_tiles_chain over one network's buffers for invocation t of its chain:
// gOut, gOut4 its output gradient rows, acts4 and grads4 its hidden activations and
// gradients (the low parts; actsHigh4, gradsHigh4 the high ones).
fn tiles_chain_backward_input(agent: u32, t: u32, a: DenseArgs, layers: ChainLayers, p4: Vec4s,
                              gOut: Floats, gOut4: Vec4s, acts4: HiddenVec4s, grads4: HiddenVec4s,
                              actsHigh4: HiddenVec4s, gradsHigh4: HiddenVec4s) {
  let rows = a.rows;
  var ct = chain_tile(t, rows);
  let paramBlock = agent * a.paramStride;
  let last = (*layers).layer[a.layers - 1u];
  let g = vec4<u32>(agent * rows * last.outDim) + ct.r * last.outDim;
  for (var c = 0u; c < chain_column_tiles(last.inDim); c++) {
    ct.c0 = chain_column(ct, c);
    let lastExtent = chain_extent(ct, rows, last.inDim, last.outDim);
    let w = (paramBlock + last.weightOffset + ct.c0) / 4u;
    let s = input_tile_sums(w, last.inDim / 4u, g, lastExtent, p4, gOut, gOut4, last.outDim % 4u == 0u);
    store_chain_grad_tile(ct, last, agent, rows, s, acts4, grads4, actsHigh4, gradsHigh4);
  }
  if (!CHAIN_OWN_ROWS) { storageBarrier(); }
  for (var l = a.layers - 2u; l > 0u; l--) {
    let layer = (*layers).layer[l];
    let g = vec4<u32>(layer.gradOutput + agent * rows * layer.outDim) + ct.r * layer.outDim;
    for (var c = 0u; c < chain_column_tiles(layer.inDim); c++) {
      ct.c0 = chain_column(ct, c);
      let extent = chain_extent(ct, rows, layer.inDim, layer.outDim);
      let w = (paramBlock + layer.weightOffset + ct.c0) / 4u;
      var s: TileSums;
      if (output_high(layer)) {
        s = hidden_input_tile_sums(w, layer.inDim / 4u, g, extent, p4, gradsHigh4);
      } else {
        s = hidden_input_tile_sums(w, layer.inDim / 4u, g, extent, p4, grads4);
      }
      store_chain_grad_tile(ct, layer, agent, rows, s, acts4, grads4, actsHigh4, gradsHigh4);
    }
    if (!CHAIN_OWN_ROWS) { storageBarrier(); }
  }
}

@compute @workgroup_size(WG)
fn backward_input_tiles_chain_pair(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                                   @builtin(workgroup_id) wid: vec3<u32>) {
  let agent = agent_index(gid);
  let t = linear_index(gid, nwg);
  let split = tiles_pair_split();
  if (wid.x + wid.y * nwg.x < split) {
    tiles_chain_backward_input(agent, t, args, &chainLayers, &paramsVec4, &gradOutput, &gradOutputVec4, &hiddenActsVec4, &hiddenGradsVec4,
                               &hidden2ActsVec4, &hidden2GradsVec4);
  } else {
    tiles_chain_backward_input(agent, t - split * WG, args2, &chainLayers2, &params2Vec4, &gradOutput2, &gradOutput2Vec4,
                               &hidden2ActsVec4, &hidden2GradsVec4, &hiddenActsVec4, &hiddenGradsVec4);
  }
}

// storeGradInputs for a chain's layer: gradInput[r][i0 .. i0 + 3] = s · act'(input[r][i0 .. i0 + 3])
// in the layer's hidden ranges, for rows r0 .. r0 + 3 inside the batch and a tile inside the layer.
// Layer l − 1's rows (its activations read, its gradients written) lie in the high parts where input_high.
fn store_chain_grad_tile(ct: ChainTile, layer: ChainLayer, agent: u32, rows: u32, s: TileSums, acts4: HiddenVec4s, grads4: HiddenVec4s,
                         actsHigh4: HiddenVec4s, gradsHigh4: HiddenVec4s) {
  if (ct.c0 >= layer.inDim) { return; }
  let inRows = agent * rows * layer.inDim;
  store_chain_grad_inputs(layer, inRows, rows, ct.r0, ct.c0, s.row0, acts4, grads4, actsHigh4, gradsHigh4);
  store_chain_grad_inputs(layer, inRows, rows, ct.r0 + 1u, ct.c0, s.row1, acts4, grads4, actsHigh4, gradsHigh4);
  store_chain_grad_inputs(layer, inRows, rows, ct.r0 + 2u, ct.c0, s.row2, acts4, grads4, actsHigh4, gradsHigh4);
  store_chain_grad_inputs(layer, inRows, rows, ct.r0 + 3u, ct.c0, s.row3, acts4, grads4, actsHigh4, gradsHigh4);
}

fn store_chain_grad_inputs(layer: ChainLayer, inRows: u32, rows: u32, r: u32, i0: u32, s: vec4<f32>, acts4: HiddenVec4s, grads4: HiddenVec4s,
                           actsHigh4: HiddenVec4s, gradsHigh4: HiddenVec4s) {
  if (r >= rows) { return; }
  let at = (inRows + r * layer.inDim + i0) / 4u;
  let high = input_high(layer);
  var y: vec4<f32>;
  if (high) { y = (*actsHigh4)[layer.input / 4u + at]; } else { y = (*acts4)[layer.input / 4u + at]; }
  // One vec4 store (the tile lies inside the aligned layer), not four component stores.
  let k = layer.inputActivation;
  let g = s * vec4<f32>(slope(k, y.x), slope(k, y.y), slope(k, y.z), slope(k, y.w));
  if (high) { (*gradsHigh4)[layer.gradInput / 4u + at] = g; } else { (*grads4)[layer.gradInput / 4u + at] = g; }
}
