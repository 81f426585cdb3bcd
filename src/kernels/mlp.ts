/**
 * Batched dense layers (shaders/mlp.wgsl) over one flat parameter buffer: the
 * MLP forward and backward, and the forward-mode tangents the Fisher-vector
 * product needs. `Mlp.prepare` binds a forward/backward pass to an input buffer
 * once; `MlpTangents` propagates tangents at a pass's activations. Their
 * encode* methods only record dispatches into the caller's compute pass, so a
 * trainer can put a whole iteration into one submit.
 *
 * Populations: an Mlp of P agents holds P parameter vectors, and every buffer
 * of its passes is agent-major, agent a's block being the buffer a one-agent
 * network uses (parameter vectors [P][paramStride], rows [P][rows][..] with
 * rows per agent). Each dispatch covers all P agents, so the dispatch count
 * does not depend on P.
 */
import mlpWgsl from '../../shaders/mlp.wgsl?raw';
import { ADAM_STEP_WGSL, type Adam } from './optim';
import { agentParamsWgsl } from '../core/agentParams';
import { ShaderFamily, perDevice, type Kernel, type KernelOptions, type StructView, recordChecked } from '../gpu/kernel';
import { readFloat32, storageBuffer } from '../gpu/buffers';
import { GpuArray, argBuffer, assertArraysAlive, bufferArg, type BufferArg } from '../gpu/array';
import { UniformSlots } from '../gpu/slots';
import { COMMON_WGSL, wgslConstants } from '../gpu/wgsl';
import type { DenseLayer, MlpLayout, Activation } from '../nn/mlp';
import type { AdapterDescription, GpuContext } from '../gpu/device';
import { assertAgents, type Agents } from '../gpu/agents';
import { MAX_POPULATION } from '../core/population';
import { GaussianHead, gaussianHeadKernels, type GaussianHeadKernels } from './gaussianHead';

/** Activations as the WGSL's codes (0 identity, TANH; mlp_row.wgsl's ROW_TANH the same). */
export const ACTIVATION_CODE: Record<Activation, number> = { identity: 0, tanh: 1 };

/**
 * How forward, tangent and backward_input spread a layer over invocations (see
 * the header of shaders/mlp.wgsl; measurements in bench/RESULTS.md):
 *   rows    8 rows per invocation held in registers: lavapipe
 *   tiles   4 rows × 4 outputs per invocation: SwiftShader, and GPUs (the
 *           register micro-tile of a GEMM)
 *   single  one invocation per row, the shape every layer can take
 * Layers a shape cannot take (unaligned W rows, rows wider than 64 for `rows`)
 * use `single`. The tangent has no `rows` kernel: that shape uses the tiled one.
 */
export type MlpKernelShape = 'rows' | 'tiles' | 'single';
export const MLP_KERNEL_SHAPES: readonly MlpKernelShape[] = ['rows', 'tiles', 'single'];

/** The measured-fastest shape for an adapter. */
export function defaultMlpKernelShape(adapter: AdapterDescription): MlpKernelShape {
  return adapter.backend === 'lavapipe' ? 'rows' : 'tiles';
}

/**
 * How backward_params sums a layer's gradient over rows (see the header of
 * shaders/mlp.wgsl); both add the same row blocks in the same order:
 *   serial  one invocation per 4 × 4 tile of W loops over every row: 272
 *           invocations for a 64 × 64 layer, enough for a CPU driver's threads
 *   split   one invocation per tile and block of rows writes partial sums,
 *           a second dispatch adds them per parameter in block order: GPUs
 */
export type ParamReduction = 'serial' | 'split';
export const PARAM_REDUCTIONS: readonly ParamReduction[] = ['serial', 'split'];

/**
 * `split` on GPUs, which need the invocations; CPU drivers keep `serial`
 * (paired A/B on lavapipe and SwiftShader in bench/RESULTS.md).
 */
export function defaultParamReduction(adapter: AdapterDescription): ParamReduction {
  return adapter.isFallback ? 'serial' : 'split';
}

/**
 * Whether a network's layers run in one dispatch per pass where the shape
 * allows (see the header of shaders/mlp.wgsl: the chains), or one dispatch
 * per layer:
 *   chain   the forward, input-gradient and parameter-gradient passes each
 *           in one dispatch (the `split` parameter gradients in two: every
 *           layer's row blocks, then every parameter's sum): 2 + 2 dispatches
 *           a network, serial (where layer 0 and the network input's gradient
 *           run alone), instead of 3·layers − 1; the same arithmetic,
 *           bit-identical results
 *   layers  one dispatch per layer and operation
 * `rows` chains per invocation (its invocations own whole rows), `tiles` per
 * workgroup (a workgroup owns a block of rows, barriers between layers, so
 * only layers up to 64 wide); `single` runs per layer whatever this says.
 */
export type DenseChaining = 'chain' | 'layers';
export const DENSE_CHAININGS: readonly DenseChaining[] = ['chain', 'layers'];

/**
 * The chaining for an adapter: `chain` everywhere. Measured on the CPU drivers
 * (paired A/B in bench/RESULTS.md): lavapipe's `rows` chains ×1.14 on the PPO
 * seed iteration; SwiftShader's own-rows `tiles` chains, with both networks
 * paired and forward-only passes per layer, ×1.00–1.03 (Node and Chromium,
 * PPO, TRPO, REINFORCE) in 6 dispatches per PPO minibatch instead of 19. On
 * GPUs unmeasured (none was lent): the same invocations in a third of the
 * dispatches, and a dependent dispatch costs a GPU microseconds of launch and
 * drain where a chain's barrier costs nanoseconds (bench/RESULTS.md, "Split
 * reductions in chains").
 */
export function defaultDenseChaining(_adapter: AdapterDescription): DenseChaining {
  return 'chain';
}

/**
 * How the `tiles` chains spread a pass (see the chains in the header of
 * shaders/mlp.wgsl):
 *   own-rows   an invocation owns a row tile (4 rows) and computes every
 *              column tile of every layer for it: it reads only rows it wrote,
 *              so no barrier and no width limit; ceil(rows / 4) invocations
 *   workgroup  a workgroup owns 16 rows, an invocation one tile of each
 *              layer, a storageBarrier between layers: 16× the invocations,
 *              layers up to 64 wide
 * CPU drivers run a shader with a barrier as coroutines (×0.6–0.8 measured,
 * bench/RESULTS.md), so they get own-rows; GPUs, where barriers are cheap and
 * invocations are what they lack, workgroup. The same tiles, the same bits.
 */
export type TileChainForm = 'own-rows' | 'workgroup';
export const TILE_CHAIN_FORMS: readonly TileChainForm[] = ['own-rows', 'workgroup'];

export function defaultTileChainForm(adapter: AdapterDescription): TileChainForm {
  return adapter.isFallback ? 'own-rows' : 'workgroup';
}

/**
 * Whether a chained network's parameter-gradient dispatch also takes its Adam
 * step (`MlpPass.encodeBackwardStep`):
 *   fused     `serial`: backward_params_adam_chain, the gradients and the step
 *             in one dispatch; `split`: backward_params_sum_adam_chain, the
 *             sums of the row blocks and the step in one dispatch (after the
 *             blocks'); where the pass chains its parameter gradients, every
 *             optimized parameter is a dense layer's (no Gaussian head), Adam
 *             does not clip, and the device binds the kernel's 9 (split) storage
 *             buffers, or for `serial` its 12 and its split passes' 13 (so the
 *             choice does not change with a population's size); a pass with
 *             split hidden ranges uses backward_params_adam_wide_chain (serial, and
 *             only for an optimizer whose active flag is its own); the same
 *             arithmetic as the separate step, bit-identical results
 *   separate  the optimizer's own dispatch after the gradients
 * Fused measured faster on lavapipe (bench/RESULTS.md, "Adam in the gradient
 * dispatch"); it applies only where the pass chains, so elsewhere it changes nothing.
 */
export type AdamFusion = 'fused' | 'separate';
export const ADAM_FUSIONS: readonly AdamFusion[] = ['fused', 'separate'];

/**
 * Whether two networks over the same input rows (PPO's policy and value
 * networks on a minibatch) run their forward and input-gradient chains in one
 * dispatch each (`MlpPass.encodeForwardPair`, `encodeBackwardStepPair`):
 *   paired  `rows`: forward_chain_pair and backward_input_chain_pair, each
 *           network's invocations its own chain's; `tiles`: forward_tiles_chain_pair
 *           and backward_input_tiles_chain_pair, each workgroup one network's;
 *           bit-identical results; where both passes chain, share their input,
 *           rows and agents, have no Gaussian head and no split hidden ranges,
 *           and the device binds the pair's 9 (`rows`) or 10 (`tiles`) storage
 *           buffers; the backward pair needs both steps fused, or, `serial`, both
 *           not fused: then both networks' parameter gradients are one dispatch
 *           too (backward_params_chain_pair, 9), before each Adam step
 *   alone   each network its own dispatches
 * Paired measured on lavapipe (bench/RESULTS.md, "Both networks in one dispatch")
 * and SwiftShader ("SwiftShader chains too"); on GPUs a dispatch saved per pass,
 * not measured on one.
 */
export type NetworkPairing = 'paired' | 'alone';
export const NETWORK_PAIRINGS: readonly NetworkPairing[] = ['paired', 'alone'];

/** The chains' marker for "the pass's own buffer, not a slice of the hidden one" (NETWORK in the WGSL). */
const NETWORK = 0xffffffff;

/** The dense-layer geometry; the WGSL gets these as constants generated from here. */
export const DENSE_GEOMETRY = {
  /**
   * Rows per invocation of the `rows` kernels (ROWS). 8 against 4 on lavapipe
   * (eleventh session, per-kernel replay of the PPO seed update): the forward
   * pair ×0.76, the losses chain ×0.92, the update ×0.88; the collect's 16-row
   * forward ×1.12. (4 measured best before the loads looped to the layer's
   * width, when LLVM also took minutes to compile 8 on a cold shader cache.)
   */
  rowsPerInvocation: 8,
  /** The widest summed dimension the `rows` kernels hold in registers (WIDTH). */
  rowsMaxWidth: 64,
  /**
   * Workgroup size of the `rows` kernels. lavapipe spreads a dispatch over its
   * threads by workgroup, so a 128-row minibatch (16 invocations) must span more
   * than one (with 4 rows per invocation, 16 measured ×1.13–1.2 on the PPO seed
   * iteration against 64).
   */
  rowsWorkgroup: 8,
  /**
   * Layers a chain takes (MAX_CHAIN_LAYERS): its ChainLayer records are a
   * fixed-size uniform array (64 bytes each); a deeper network runs per layer.
   */
  maxChainLayers: 16,
  /** Rows and outputs (inputs) per invocation of the `tiles` kernels (TILE; the WGSL holds them in vec4s). */
  tile: 4,
  /** Rows backward_params sums before adding the block to the total (ROW_BLOCK): one `split` partial each. */
  paramRowBlock: 64,
  /**
   * Workgroup size of the own-rows `tiles` chains: a 128-row minibatch is 32
   * invocations, which must span several workgroups to use a CPU driver's threads.
   */
  tileChainOwnRowsWorkgroup: 8,
  /**
   * Workgroup size of the `rows` chains' serial parameter gradients (one 4 × 4
   * tile per invocation; 64 elsewhere). lavapipe hands each of its threads
   * ⌊workgroups / threads⌋ workgroups at once: a 64 → 64 network's 321 tiles in
   * workgroups of 64 are 6, split 3 + 3 with the last holding one tile, so one
   * thread does a third more than the other. 16 measured 6 % less time in that
   * kernel (bench/RESULTS.md, tenth session).
   */
  rowsParamsWorkgroup: 16,
  /**
   * Rows per invocation of a forward-only `rows` chain over at most one
   * workgroup's rows per agent (rowsPerInvocation · rowsWorkgroup), such as the
   * rollout's step over N envs (CHAIN_ROWS): 16 rows in 8 invocations of 2
   * instead of 2 of 8, so a CPU driver's SIMD lanes are not left idle.
   */
  fewRowsPerInvocation: 2,
  /**
   * The `tiles` chains' workgroup: tile-wide columns of a layer it spans (CHAIN_TILES;
   * the widest layer it chains is tile · this) times blocks of `tile` rows (CHAIN_ROW_TILES).
   */
  tileChainColumns: 16,
  tileChainRowTiles: 4,
} as const;

/** The mlp family's sources: common.wgsl, the geometry and activation constants, mlp.wgsl. */
export const MLP_SOURCES = [
  COMMON_WGSL,
  wgslConstants({
    ROWS: DENSE_GEOMETRY.rowsPerInvocation,
    WIDTH: DENSE_GEOMETRY.rowsMaxWidth,
    WIDTH4: DENSE_GEOMETRY.rowsMaxWidth / 4,
    TILE: DENSE_GEOMETRY.tile,
    ROW_BLOCK: DENSE_GEOMETRY.paramRowBlock,
    CHAIN_TILES: DENSE_GEOMETRY.tileChainColumns,
    CHAIN_ROW_TILES: DENSE_GEOMETRY.tileChainRowTiles,
    MAX_CHAIN_LAYERS: DENSE_GEOMETRY.maxChainLayers,
    TANH: ACTIVATION_CODE.tanh,
    NETWORK,
  }),
  agentParamsWgsl(),
  ADAM_STEP_WGSL,
  mlpWgsl,
];

/** Bytes of a vector in the parameter layout: whole vec4s, as the aligned kernels read them. */
export function parameterVectorBytes(layout: MlpLayout): number {
  return Math.ceil(layout.paramCount / 4) * 16;
}

/**
 * Floats per agent in a population's parameter-space vectors (params, grads,
 * directions): paramCount rounded up to whole vec4s, so every agent's weight
 * rows keep the alignment the vec4 kernels need. Agent a's vector starts at
 * a · paramStride; the floats past paramCount are padding the kernels never write.
 */
export function parameterStride(layout: MlpLayout): number {
  return parameterVectorBytes(layout) / 4;
}

/**
 * Floats an optimizer steps per agent of `agents` networks of `layout`: paramCount
 * for one agent (a single run's vector), parameterStride for more (the padding
 * never gets a gradient, so Adam leaves it at 0).
 */
export function optimizedCount(layout: MlpLayout, agents: number): number {
  return agents === 1 ? layout.paramCount : parameterStride(layout);
}

/**
 * How a forward kernel sums one row of a layer (shaders/mlp_row.wgsl repeats each):
 * `fma4` forward_rows and the `rows` chains, `dot` forward_tiles and the `tiles`
 * chains, `chunk` the per-row forward.
 */
export type RowArithmetic = 'fma4' | 'dot' | 'chunk';

const ROW_ARITHMETIC: Record<string, RowArithmetic> = {
  forward_rows: 'fma4',
  forward_chain: 'fma4',
  forward_tiles: 'dot',
  forward_tiles_chain: 'dot',
  forward: 'chunk',
};

/** The arithmetic of a forward entry point (a new entry point must be listed, or a fused rollout would compute other bits). */
function rowArithmetic(entry: string): RowArithmetic {
  const arithmetic = ROW_ARITHMETIC[entry];
  if (!arithmetic) throw new Error(`mlp: no row arithmetic is listed for the forward entry point ${entry}`);
  return arithmetic;
}

/**
 * One row of a pass's forward computation, for kernels that compute a row
 * themselves (the rollout's fused steps, shaders/mlp_row.wgsl): the parameters,
 * and per layer its shape, offsets, activation and the arithmetic of the kernel
 * this pass runs it with, so such a row has the pass's bits.
 */
export interface RowForward {
  /** [P][paramStride] f32 parameter vectors (whole vec4s). */
  params: GPUBuffer | GPUBufferBinding;
  paramStride: number;
  /** Floats of one agent's parameters (the last agent's vector may end there). */
  paramCount: number;
  layers: readonly (DenseLayer & { arithmetic: RowArithmetic })[];
  /** Where a Gaussian head's log-stds start in each agent's vector; null without a head. */
  headOffset: number | null;
}

/** Whether W's rows start on 16-byte boundaries, so the vec4 weight path applies. */
function isAligned(layer: DenseLayer): boolean {
  return layer.weightOffset % 4 === 0 && layer.inDim % 4 === 0;
}


/** The dense-layer operations that come in shapes, each with a kernel per layer (backward_params comes in reductions). */
type DenseOp = 'forward' | 'tangent' | 'backwardInput';

/** One way to run an operation on a layer: an entry point with its pipeline constants, the layers it takes, its invocations. */
interface Spread {
  entry: string;
  options: KernelOptions;
  takes(layer: DenseLayer): boolean;
  invocations(rows: number, layer: DenseLayer): number;
}

const on = (...names: string[]): KernelOptions => ({ constants: Object.fromEntries(names.map((n) => [n, 1])) });
const anyLayer = () => true;
const perRow = (rows: number) => rows;
const { rowsPerInvocation, rowsMaxWidth, rowsWorkgroup, tile, paramRowBlock, tileChainColumns, tileChainRowTiles } = DENSE_GEOMETRY;

function single(entry: string, options: KernelOptions, takes: (layer: DenseLayer) => boolean): Spread {
  return { entry, options, takes, invocations: perRow };
}

/** `rowsPerInvocation` rows an invocation; `summed` is the dimension held in registers. */
function rowBlocked(entry: string, summed: (layer: DenseLayer) => number): Spread {
  return {
    entry,
    options: { constants: { WG: rowsWorkgroup } },
    takes: (layer) => isAligned(layer) && summed(layer) <= rowsMaxWidth,
    invocations: (rows) => Math.ceil(rows / rowsPerInvocation),
  };
}

/** `tilesPerBlock(layer)` tiles of outputs (inputs) for every block of `tile` rows. */
function tiled(entry: string, options: KernelOptions, takes: (layer: DenseLayer) => boolean, tilesPerBlock: (layer: DenseLayer) => number): Spread {
  return { entry, options, takes, invocations: (rows, layer) => Math.ceil(rows / tile) * tilesPerBlock(layer) };
}

const outputTiles = (layer: DenseLayer) => Math.ceil(layer.outDim / tile);
const inputTiles = (layer: DenseLayer) => layer.inDim / tile;
/** backward_params: one invocation per tile × tile block of W plus one per `tile` biases. */
const paramTiles = (layer: DenseLayer) => Math.ceil(layer.outDim / tile) * (Math.ceil(layer.inDim / tile) + 1);

/** Row blocks of a `split` reduction: one partial sum each. */
const paramBlocks = (rows: number) => Math.ceil(rows / paramRowBlock);
/** Parameters of a layer: W then b. */
const layerParams = (layer: DenseLayer) => layer.outDim * (layer.inDim + 1);

/** A backward_params entry point with vec4 reads of whichever rows are whole vec4s (the same choice in every shape). */
function paramSpreads(entry: string, invocations: (rows: number, layer: DenseLayer) => number): readonly Spread[] {
  return (
    [
      [on('INPUT_VEC4', 'GRAD_VEC4'), (l: DenseLayer) => l.inDim % 4 === 0 && l.outDim % 4 === 0],
      [on('INPUT_VEC4'), (l: DenseLayer) => l.inDim % 4 === 0],
      [on('GRAD_VEC4'), (l: DenseLayer) => l.outDim % 4 === 0],
      [{}, anyLayer],
    ] as const
  ).map(([options, takes]) => ({ entry, options, takes, invocations }));
}

/** backward_params in each reduction: its dispatches in order, each with its spreads. */
const PARAM_STAGES: Record<ParamReduction, readonly (readonly Spread[])[]> = {
  serial: [paramSpreads('backward_params', (_rows, layer) => paramTiles(layer))],
  split: [
    paramSpreads('backward_params_blocks', (rows, layer) => paramTiles(layer) * paramBlocks(rows)),
    [{ entry: 'backward_params_sum', options: {}, takes: anyLayer, invocations: (_rows, layer) => layerParams(layer) }],
  ],
};

/**
 * Bytes of the `split` partial sums a pass of `rows` rows needs per agent: every
 * layer's, one layer at a time (a pass whose parameter gradients chain keeps every
 * layer's at once where that fits a binding: more, never needed).
 */
export function partialBytes(layout: MlpLayout, rows: number): number {
  return Math.max(...layout.layers.map((layer) => paramBlocks(rows) * layerParams(layer) * 4));
}

/** Bytes of the `split` partial sums a pass of `rows` rows needs where its parameter gradients chain: every layer's at once (per agent). */
function chainPartialBytes(layout: MlpLayout, rows: number): number {
  return paramBlocks(rows) * layout.layers.reduce((n, layer) => n + layerParams(layer), 0) * 4;
}

const SINGLE: Record<DenseOp, readonly Spread[]> = {
  forward: [single('forward', on('ALIGNED', 'INPUT_VEC4'), isAligned), single('forward', {}, anyLayer)],
  tangent: [single('tangent', on('ALIGNED', 'INPUT_VEC4'), isAligned), single('tangent', {}, anyLayer)],
  backwardInput: [single('backward_input', on('ALIGNED'), isAligned), single('backward_input', {}, anyLayer)],
};

const TANGENT_TILES = tiled('tangent_tiles', {}, isAligned, outputTiles);
const ROWS_FORWARD = rowBlocked('forward_rows', (l) => l.inDim);
const ROWS_BACKWARD_INPUT = rowBlocked('backward_input_rows', (l) => l.outDim);

/**
 * The declared geometry: for each shape and operation, the spreads in order of
 * preference; a layer runs on the first that takes it (the last takes any).
 */
const SPREADS: Record<MlpKernelShape, Record<DenseOp, readonly Spread[]>> = {
  rows: {
    forward: [ROWS_FORWARD, ...SINGLE.forward],
    tangent: [TANGENT_TILES, ...SINGLE.tangent],
    backwardInput: [ROWS_BACKWARD_INPUT, ...SINGLE.backwardInput],
  },
  tiles: {
    forward: [tiled('forward_tiles', {}, isAligned, outputTiles), ...SINGLE.forward],
    tangent: [TANGENT_TILES, ...SINGLE.tangent],
    backwardInput: [
      tiled('backward_input_tiles', on('GRAD_VEC4'), (l) => isAligned(l) && l.outDim % 4 === 0, inputTiles),
      tiled('backward_input_tiles', {}, isAligned, inputTiles),
      ...SINGLE.backwardInput,
    ],
  },
  single: SINGLE,
};

/**
 * How a shape chains (see the chains in the header of shaders/mlp.wgsl): the
 * forward and input-gradient chain entry points, their workgroup size, which
 * layers each takes (those whose per-layer kernel in that shape is the one the
 * chain repeats, and that fit a chain's invocation or workgroup), and the
 * invocations of a pass of `rows` rows.
 */
interface ChainSpread {
  forward: string;
  backwardInput: string;
  workgroup: number;
  forwardTakes(layer: DenseLayer): boolean;
  backwardInputTakes(layer: DenseLayer): boolean;
  invocations(rows: number): number;
  /** Pipeline constants besides WG (the own-rows `tiles` chains' CHAIN_OWN_ROWS). */
  constants?: Record<string, number>;
  /** Whether the forward chain can hold hidden rows in registers for a forward-only pass (HOLD_HIDDEN). */
  holds?: boolean;
  /** Workgroup size of the serial parameter-gradient chains on this shape's passes (default the WGSL's 64). */
  paramsWorkgroup?: number;
  /**
   * Whether a forward-only pass runs per layer instead (its forward is all it
   * dispatches, so chaining saves it only layers − 1 dispatches a pass).
   */
  forwardOnlyPerLayer?: boolean;
  /**
   * The two-network entry points, where the shape has them, and whether another
   * family's kernel may open the input-gradient pair (PPO's losses,
   * ppo_chain.wgsl, run the `rows` chains from the gradients they hold).
   */
  pairs?: { forward: string; backwardInput: string; opened: boolean };
}

/** Outputs (inputs) of a layer the `tiles` chains' workgroup spans: the widest layer they take. */
const tileChainWidth = tile * tileChainColumns;
const tileChainWorkgroup = tileChainColumns * tileChainRowTiles;

/** The `tiles` chains' pairs, in either form: each workgroup runs one network's chain. */
const TILES_PAIRS = { forward: 'forward_tiles_chain_pair', backwardInput: 'backward_input_tiles_chain_pair', opened: false };

const CHAIN_SPREADS: Partial<Record<MlpKernelShape, ChainSpread>> = {
  rows: {
    forward: 'forward_chain',
    backwardInput: 'backward_input_chain',
    workgroup: rowsWorkgroup,
    forwardTakes: ROWS_FORWARD.takes,
    backwardInputTakes: ROWS_BACKWARD_INPUT.takes,
    invocations: (rows) => Math.ceil(rows / rowsPerInvocation),
    holds: true,
    paramsWorkgroup: DENSE_GEOMETRY.rowsParamsWorkgroup,
    pairs: { forward: 'forward_chain_pair', backwardInput: 'backward_input_chain_pair', opened: true },
  },
  // A workgroup per tileChainRowTiles · tile rows, one invocation per tile of them.
  tiles: {
    forward: 'forward_tiles_chain',
    backwardInput: 'backward_input_tiles_chain',
    workgroup: tileChainWorkgroup,
    forwardTakes: (l) => isAligned(l) && l.outDim <= tileChainWidth,
    backwardInputTakes: (l) => isAligned(l) && l.inDim <= tileChainWidth,
    invocations: (rows) => Math.ceil(rows / (tileChainRowTiles * tile)) * tileChainWorkgroup,
    pairs: TILES_PAIRS,
  },
};

/**
 * Whether a forward-only pass of `layout` keeps no hidden rows where the
 * device chains the `rows` shape (MlpPass.holdsHidden), and whether layer 0
 * then runs alone before the chain (its rows kept: the chain's input). For the
 * buffer plan (src/train/limits.ts), which must know before any GPU work.
 */
export function rowsChainHolds(layout: MlpLayout): { holds: boolean; firstAlone: boolean } {
  const spread = CHAIN_SPREADS.rows!;
  const layers = layout.layers;
  const holds = layers.length > 1 && layers.slice(1).every((l) => spread.forwardTakes(l) && spread.backwardInputTakes(l));
  return { holds, firstAlone: holds && !spread.forwardTakes(layers[0]) };
}

/** The `tiles` chains in the own-rows form: an invocation per row tile, every layer's column tiles in turn. */
const TILES_OWN_ROWS: ChainSpread = {
  forward: 'forward_tiles_chain',
  backwardInput: 'backward_input_tiles_chain',
  workgroup: DENSE_GEOMETRY.tileChainOwnRowsWorkgroup,
  constants: { CHAIN_OWN_ROWS: 1 },
  // SwiftShader's forward-only passes (the rollout's 16-row step, the 10 000-row evaluations) ran
  // ×0.75–0.9 chained against per layer (bench/RESULTS.md, fourteenth session).
  forwardOnlyPerLayer: true,
  forwardTakes: isAligned,
  backwardInputTakes: isAligned,
  invocations: (rows) => Math.ceil(rows / tile),
  pairs: TILES_PAIRS,
};

function chainSpread(shape: MlpKernelShape, form: TileChainForm): ChainSpread | undefined {
  return shape === 'tiles' && form === 'own-rows' ? TILES_OWN_ROWS : CHAIN_SPREADS[shape];
}

/** A pipeline and how many invocations it needs for a number of rows of one layer. */
export interface LayerKernel {
  kernel: Kernel;
  /** The WGSL entry point (which arithmetic the layer gets: see rowArithmetic). */
  entry: string;
  invocations(rows: number): number;
}

/** One operation's spreads in one shape, compiled: `for(layer)` gives the kernel a layer runs on. */
export class LayerKernels {
  private constructor(private readonly compiled: readonly { spread: Spread; kernel: Kernel }[]) {}

  static async compile(family: ShaderFamily, spreads: readonly Spread[]): Promise<LayerKernels> {
    const kernels = await Promise.all(spreads.map((s) => family.kernel(s.entry, s.options)));
    return new LayerKernels(spreads.map((spread, k) => ({ spread, kernel: kernels[k] })));
  }

  for(layer: DenseLayer): LayerKernel {
    const chosen = this.compiled.find((c) => c.spread.takes(layer));
    if (!chosen) throw new Error(`no dense-layer kernel takes a ${layer.inDim}→${layer.outDim} layer`);
    return { kernel: chosen.kernel, entry: chosen.spread.entry, invocations: (rows) => chosen.spread.invocations(rows, layer) };
  }
}

/** The shape, reduction and chaining useShape / useParamReduction / useChaining set per device: settings, not a cache. */
const preferred = new WeakMap<GPUDevice, MlpKernelShape>();
const preferredReduction = new WeakMap<GPUDevice, ParamReduction>();
const preferredChaining = new WeakMap<GPUDevice, DenseChaining>();
const preferredFusion = new WeakMap<GPUDevice, AdamFusion>();
const preferredPairing = new WeakMap<GPUDevice, NetworkPairing>();
const preferredTileChainForm = new WeakMap<GPUDevice, TileChainForm>();

/** The chain pipelines: forward and input gradient (the shape's), the serial parameter gradients. */
interface ChainKernels {
  spread: ChainSpread;
  forward: Kernel;
  /** The forward chain of a forward-only pass, hidden rows held in registers (the `rows` shape), else null. */
  forwardHeld: Kernel | null;
  /** forwardHeld taking fewRowsPerInvocation rows an invocation, for passes of few rows (null where forwardHeld is). */
  forwardHeldFew: Kernel | null;
  backwardInput: Kernel;
  /**
   * Every layer's parameter gradients, the dispatches in order: `serial` one
   * (backward_params_chain), `split` two (backward_params_blocks_chain, then
   * backward_params_sum_chain).
   */
  backwardParams: Kernel[];
  /** The same with the network's Adam step in the last (fusion `fused`, and the device binds enough buffers), else null. */
  backwardParamsAdam: Kernel[] | null;
  /**
   * The chains of split passes (hidden ranges in low and high parts; SPLIT_HIDDEN
   * pipelines, the parameter gradients' `wide` entry points): where the device
   * binds their storage buffers (7), else null (no pass splits). Their fused
   * step takes only optimizers whose active flag is their own (and 13 storage buffers).
   */
  wide: { forward: Kernel; backwardInput: Kernel; backwardParams: Kernel[]; backwardParamsAdam: Kernel[] | null; stepNeedsOwnFlag: boolean } | null;
  /** Two networks' forward and input-gradient chains in one dispatch (pairing `paired`, and the device binds them), else null. */
  forwardPair: Kernel | null;
  backwardInputPair: Kernel | null;
  /** The `split` reduction: two networks' row-block sums in one dispatch (pairing `paired`, 9 storage buffers), else null. */
  blocksPair: Kernel | null;
  /**
   * The `serial` reduction where the steps do not fuse: two networks' parameter
   * gradients in one dispatch (pairing `paired`, 9 storage buffers), each network's
   * Adam step its own dispatch after it; else null.
   */
  paramsPair: Kernel | null;
  /** One ChainLayer record, and the bytes between records (the array stride, from reflection). */
  layer: StructView;
  layerStride: number;
}

/**
 * The dense-layer pipelines of one shape, parameter-gradient reduction and
 * chaining, compiled once per device; the tangent's on first use (only the
 * Fisher-vector product needs them).
 */
export class MlpKernels {
  private tangentKernels: Promise<LayerKernels> | null = null;

  private constructor(
    readonly shape: MlpKernelShape,
    readonly reduction: ParamReduction,
    private readonly family: ShaderFamily,
    private readonly forwardKernels: LayerKernels,
    private readonly backwardInputKernels: LayerKernels,
    private readonly backwardParamsStages: readonly LayerKernels[],
    readonly denseArgs: StructView,
    readonly gaussianHead: GaussianHeadKernels,
    /** The chain pipelines where this shape chains (`rows` with chaining `chain`), else null. */
    readonly chainKernels: ChainKernels | null,
  ) {}

  /**
   * The pipelines for `shape`, `reduction`, `chaining`, `adamFusion` and
   * `networkPairing` and `tileChainForm` (default: those set by `useShape` /
   * `useParamReduction` / `useChaining` / `useAdamFusion` / `useNetworkPairing`
   * / `useTileChainForm` for this device, else the adapter's measured-fastest,
   * `fused` and `paired`), compiled on first use.
   */
  static create(gpu: GpuContext, shape?: MlpKernelShape, reduction?: ParamReduction, chaining?: DenseChaining, adamFusion?: AdamFusion, networkPairing?: NetworkPairing, tileChainForm?: TileChainForm): Promise<MlpKernels> {
    const chosen = shape ?? preferred.get(gpu.device) ?? defaultMlpKernelShape(gpu.adapter);
    const sums = reduction ?? preferredReduction.get(gpu.device) ?? defaultParamReduction(gpu.adapter);
    const chain = chaining ?? preferredChaining.get(gpu.device) ?? defaultDenseChaining(gpu.adapter);
    const fusion = adamFusion ?? preferredFusion.get(gpu.device) ?? 'fused';
    const pairing = networkPairing ?? preferredPairing.get(gpu.device) ?? 'paired';
    const form = tileChainForm ?? preferredTileChainForm.get(gpu.device) ?? defaultTileChainForm(gpu.adapter);
    return perDevice(gpu, `mlp:${chosen}:${sums}:${chain}:${fusion}:${pairing}:${form}`, () => MlpKernels.compile(gpu, chosen, sums, chain, fusion, pairing, form));
  }

  /**
   * Whether the kernels `create` makes for this device by default chain the
   * `rows` shape, so that forward-only passes hold their hidden rows (decided
   * from the settings alone, before anything compiles).
   */
  static holdsEvaluationRows(gpu: GpuContext): boolean {
    const shape = preferred.get(gpu.device) ?? defaultMlpKernelShape(gpu.adapter);
    const chaining = preferredChaining.get(gpu.device) ?? defaultDenseChaining(gpu.adapter);
    return shape === 'rows' && chaining === 'chain';
  }

  /**
   * Whether the kernels `create` makes for this device by default sum parameter
   * gradients over row blocks (`split`), so that every pass with a backward keeps
   * a buffer of partial sums (decided from the settings alone).
   */
  static splitsParamSums(gpu: GpuContext): boolean {
    return (preferredReduction.get(gpu.device) ?? defaultParamReduction(gpu.adapter)) === 'split';
  }

  /**
   * Makes `create` use by default on this device the shape, reduction,
   * chaining and `tiles` chain form `adapter` gets (e.g. a GPU's, to record
   * what a GPU would dispatch; the device's own adapter restores its defaults).
   */
  static useAdapterDefaults(gpu: GpuContext, adapter: AdapterDescription): void {
    MlpKernels.useShape(gpu, defaultMlpKernelShape(adapter));
    MlpKernels.useParamReduction(gpu, defaultParamReduction(adapter));
    MlpKernels.useChaining(gpu, defaultDenseChaining(adapter));
    MlpKernels.useTileChainForm(gpu, defaultTileChainForm(adapter));
  }

  /** Makes `form` the `tiles` chains' form `create` uses by default on this device. */
  static useTileChainForm(gpu: GpuContext, form: TileChainForm): void {
    preferredTileChainForm.set(gpu.device, form);
  }

  /** Makes `pairing` what `create` uses by default on this device. */
  static useNetworkPairing(gpu: GpuContext, pairing: NetworkPairing): void {
    preferredPairing.set(gpu.device, pairing);
  }

  /** Makes `fusion` what `create` uses by default on this device (benchmarks compare them this way). */
  static useAdamFusion(gpu: GpuContext, fusion: AdamFusion): void {
    preferredFusion.set(gpu.device, fusion);
  }

  /** Makes `shape` what `create` returns by default on this device (benchmarks compare shapes this way). */
  static useShape(gpu: GpuContext, shape: MlpKernelShape): void {
    preferred.set(gpu.device, shape);
  }

  /** Makes `reduction` what `create` uses by default on this device. */
  static useParamReduction(gpu: GpuContext, reduction: ParamReduction): void {
    preferredReduction.set(gpu.device, reduction);
  }

  /** Makes `chaining` what `create` uses by default on this device. */
  static useChaining(gpu: GpuContext, chaining: DenseChaining): void {
    preferredChaining.set(gpu.device, chaining);
  }

  private static async compile(gpu: GpuContext, shape: MlpKernelShape, reduction: ParamReduction, chaining: DenseChaining, fusion: AdamFusion, pairing: NetworkPairing, form: TileChainForm): Promise<MlpKernels> {
    const family = await ShaderFamily.load(gpu, 'mlp', MLP_SOURCES);
    const spreads = SPREADS[shape];
    const chainSpreadOf = chainSpread(shape, form);
    const [[forward, backwardInput, ...backwardParams], head, chains] = await Promise.all([
      Promise.all([spreads.forward, spreads.backwardInput, ...PARAM_STAGES[reduction]].map((s) => LayerKernels.compile(family, s))),
      gaussianHeadKernels(gpu),
      chaining === 'chain' && chainSpreadOf ? MlpKernels.compileChains(gpu, family, chainSpreadOf, reduction, fusion, pairing) : null,
    ]);
    return new MlpKernels(shape, reduction, family, forward, backwardInput, backwardParams, family.struct('DenseArgs'), head, chains);
  }

  private static async compileChains(gpu: GpuContext, family: ShaderFamily, spread: ChainSpread, reduction: ParamReduction, fusion: AdamFusion, pairing: NetworkPairing): Promise<ChainKernels> {
    const options = { constants: { WG: spread.workgroup, ...spread.constants } };
    // The kernels that bind many storage buffers are used where the device binds them
    // (counted from the WGSL: lavapipe 16, browsers 10, WebGPU's default 8).
    const serial = reduction === 'serial';
    const stepEntry = serial ? 'backward_params_adam_chain' : 'backward_params_sum_adam_chain';
    const paramEntries = (wide: string) => (serial ? [`backward_params${wide}_chain`] : [`backward_params_blocks${wide}_chain`, 'backward_params_sum_chain']);
    const widens = [spread.forward, spread.backwardInput, ...paramEntries('_wide')].every((entry) => family.fits(entry));
    const wideStepEntry = serial ? 'backward_params_adam_wide_chain' : stepEntry;
    // The step fuses only where a split pass's step fuses too (`serial`: 13 storage buffers against
    // 12), so a population large enough to split its passes dispatches what one agent does.
    const fuses = fusion === 'fused' && family.fits(stepEntry) && (!widens || family.fits(wideStepEntry));
    const pairs = pairing === 'paired' && spread.pairs !== undefined && family.fits(spread.pairs.forward) && family.fits(spread.pairs.backwardInput);
    const split = { constants: { ...options.constants, SPLIT_HIDDEN: 1 } };
    const widensStep = widens && fuses;
    const pairsBlocks = pairs && !serial && family.fits('backward_params_blocks_chain_pair');
    // The serial sums paired serve steps that do not fuse (fused ones sum in their own dispatch).
    const pairsParams = pairs && serial && !fuses && family.fits('backward_params_chain_pair');
    // The serial parameter chains' workgroup where the shape sets one.
    const serialWg: Record<string, number> = serial && spread.paramsWorkgroup ? { WG: spread.paramsWorkgroup } : {};
    const [forward, forwardHeld, forwardHeldFew, backwardInput, backwardParams, backwardParamsAdam, forwardPair, backwardInputPair, wideParams, wideAdam, blocksPair, paramsPair, wideForward, wideInput] = await Promise.all([
      family.kernel(spread.forward, options),
      spread.holds ? family.kernel(spread.forward, { constants: { ...options.constants, HOLD_HIDDEN: 1 } }) : null,
      spread.holds ? family.kernel(spread.forward, { constants: { ...options.constants, HOLD_HIDDEN: 1, CHAIN_ROWS: DENSE_GEOMETRY.fewRowsPerInvocation } }) : null,
      family.kernel(spread.backwardInput, options),
      Promise.all(paramEntries('').map((entry) => family.kernel(entry, { constants: serialWg }))),
      fuses ? family.kernel(stepEntry, { constants: serialWg }) : null,
      pairs ? family.kernel(spread.pairs!.forward, options) : null,
      pairs ? family.kernel(spread.pairs!.backwardInput, options) : null,
      widens ? Promise.all(paramEntries('_wide').map((entry) => family.kernel(entry, { constants: { ...serialWg, SPLIT_HIDDEN: 1 } }))) : null,
      // (split's sums read no hidden rows: the wide step ends with the same sums as the other.)
      widensStep && serial ? family.kernel(wideStepEntry, { constants: { ...serialWg, SPLIT_HIDDEN: 1 } }) : null,
      pairsBlocks ? family.kernel('backward_params_blocks_chain_pair') : null,
      pairsParams ? family.kernel('backward_params_chain_pair', { constants: serialWg }) : null,
      widens ? family.kernel(spread.forward, split) : null,
      widens ? family.kernel(spread.backwardInput, split) : null,
    ]);
    // split: the blocks dispatch, then the sums with the step.
    const withStep = (params: Kernel[], step: Kernel | null) => (step ? [...params.slice(0, -1), step] : null);
    return {
      spread,
      forward,
      forwardHeld,
      forwardHeldFew,
      backwardInput,
      backwardParams,
      backwardParamsAdam: withStep(backwardParams, backwardParamsAdam),
      // The serial fused step reads the flag from Adam's control block (split's sums read adamFlags as ever).
      wide: wideParams
        ? { forward: wideForward!, backwardInput: wideInput!, backwardParams: wideParams, backwardParamsAdam: withStep(wideParams, serial ? wideAdam : widensStep ? backwardParamsAdam : null), stepNeedsOwnFlag: serial }
        : null,
      forwardPair,
      backwardInputPair,
      blocksPair,
      paramsPair,
      layer: family.struct('ChainLayer'),
      layerStride: family.struct('ChainLayer').size,
    };
  }

  /**
   * Whether a pass of `layout` chains: this shape chains, the network has
   * hidden layers, and every layer after the first takes the shape's forward
   * and input-gradient chains (the first may run alone before the chain).
   */
  chains(layout: MlpLayout): boolean {
    const spread = this.chainKernels?.spread;
    const L = layout.layers.length;
    return spread !== undefined && L > 1 && L <= DENSE_GEOMETRY.maxChainLayers && layout.layers.slice(1).every((l) => spread.forwardTakes(l) && spread.backwardInputTakes(l));
  }

  /** Whether `layer` can use the vec4 kernels (its widths are multiples of 4). */
  static isAligned(layer: DenseLayer): boolean {
    return isAligned(layer);
  }

  /** The forward pipeline for `layer` in this shape. */
  forward(layer: DenseLayer): LayerKernel {
    return this.forwardKernels.for(layer);
  }

  /**
   * How this shape's forward passes sum one row of `layer`: its per-layer kernel's
   * arithmetic, which a chain taking the layer repeats (a chain takes only layers
   * whose per-layer kernel it repeats), so it holds chained or not.
   */
  rowArithmetic(layer: DenseLayer): RowArithmetic {
    return rowArithmetic(this.forward(layer).entry);
  }

  /** The backward_input pipeline for `layer` in this shape. */
  backwardInput(layer: DenseLayer): LayerKernel {
    return this.backwardInputKernels.for(layer);
  }

  /** The backward_params pipelines for `layer`, one per dispatch in order (two for `split`). */
  backwardParams(layer: DenseLayer): LayerKernel[] {
    return this.backwardParamsStages.map((stage) => stage.for(layer));
  }

  /** The tangent pipelines of this shape (compiled on the first call); `.for(layer)` as for forward. */
  tangents(): Promise<LayerKernels> {
    if (!this.tangentKernels) {
      const pending = LayerKernels.compile(this.family, SPREADS[this.shape].tangent);
      this.tangentKernels = pending;
      pending.catch(() => {
        if (this.tangentKernels === pending) this.tangentKernels = null;
      });
    }
    return this.tangentKernels;
  }
}

/**
 * What `Mlp.prepare` binds. Buffers are GpuArrays (dtype and shape checked) or
 * raw GPUBuffers (size checked). For a network of P > 1 agents each buffer
 * holds P agent-major blocks: shapes gain a leading [P], parameter vectors
 * are [P][paramStride].
 */
export interface MlpPassOptions {
  /** Rows per agent. */
  rows: number;
  /** f32 [rows][inputDim] ([P][inputRows][inputDim]): the network input. */
  input: BufferArg;
  /**
   * Rows of each agent's block of `input` (default `rows`; at least `rows`): a pass
   * may read the first `rows` rows of longer per-agent blocks, e.g. of the rollout's
   * observations with their bootstrap rows. Not with `inputGradient`.
   */
  inputRows?: number;
  label: string;
  /** f32 [paramCount] ([P][paramStride]): parameters to evaluate (default the network's own; e.g. TRPO candidate parameters). */
  params?: BufferArg;
  /** f32 [paramCount] ([P][paramStride]): where encodeBackward writes dLoss/dθ (default the network's own grads). */
  grads?: BufferArg;
  /** Also compute dLoss/d input into `gradInput` during encodeBackward. */
  inputGradient?: boolean;
  /**
   * The pass only ever runs forward (an evaluation: encodeBackward and tangents
   * refuse it). Where its layers chain in the `rows` shape it then keeps no
   * hidden rows: the chain holds them in registers, the same outputs bit for
   * bit, and its memory no longer grows with the hidden layers (so a population
   * of many agents still binds it whole, and still chains).
   */
  forwardOnly?: boolean;
}

/** Options of `MlpPass.encodeBackward`. */
export interface BackwardOptions {
  /** Add to the gradient buffer instead of overwriting it. */
  accumulate?: boolean;
  /** Factor applied to the parameter gradients (e.g. 1/minibatches). */
  scale?: number;
  /** f32 [paramCount] ([P][paramStride]): where this backward writes dLoss/dθ (default the pass's grads), e.g. the FVP's Jᵀw. */
  grads?: BufferArg;
}

/** A network's parameter and gradient vectors as GpuArrays, f32 [paramCount] (P agents: [P][paramStride]). */
export interface MlpArrays {
  params: GpuArray<'f32'>;
  grads: GpuArray<'f32'>;
}

/**
 * The shape of a parameter-space vector argument: [paramCount] for one agent,
 * [P][paramStride] for P (a GpuArray of P agents' vectors, padding included).
 */
function parameterSpec(layout: MlpLayout, agents: number) {
  return agents === 1
    ? { dtype: 'f32' as const, shape: [layout.paramCount], layout: '[paramCount]' }
    : { dtype: 'f32' as const, shape: [agents, parameterStride(layout)], layout: '[P][paramStride]' };
}

/** Options of `Mlp.create`. */
export interface MlpOptions {
  /**
   * Agents P of a population (default 1): a count, or the population's Agents
   * (the MLP reads no hyperparameter, only its count). Each agent has its own
   * parameters and gradients; the passes' rows are per agent.
   */
  agents?: number | Agents;
}

/** A network: its layout and its own parameter and gradient buffers (f32 [paramCount]; P agents: [P][paramStride]). */
export class Mlp {
  /** `params` and `grads` as GpuArrays, f32 [paramCount] (P agents: [P][paramStride]). */
  readonly arrays: MlpArrays;

  private constructor(
    private readonly gpu: GpuContext,
    private readonly kernels: MlpKernels,
    readonly layout: MlpLayout,
    readonly label: string,
    /** Agents P: the parameter vectors held, and the agents every pass's dispatch covers. */
    readonly agents: number,
    readonly params: GPUBuffer,
    readonly grads: GPUBuffer,
  ) {
    const { shape } = parameterSpec(layout, agents);
    const vector = (buffer: GPUBuffer) => GpuArray.wrap(gpu, buffer, 'f32', shape);
    this.arrays = { params: vector(params), grads: vector(grads) };
  }

  /**
   * A network of `layout` with zeroed parameter and gradient buffers labelled
   * `label`: f32 [paramCount], or with `options.agents` P > 1 agent-major
   * [P][paramStride] (agent a's vector at a · parameterStride(layout)).
   */
  static create(gpu: GpuContext, kernels: MlpKernels, layout: MlpLayout, label: string, options: MlpOptions = {}): Mlp {
    const agents = agentCount(`${label}: Mlp.create`, options.agents);
    const bytes = agents * parameterVectorBytes(layout);
    return new Mlp(gpu, kernels, layout, label, agents, storageBuffer(gpu, `${label}.params`, bytes), storageBuffer(gpu, `${label}.grads`, bytes));
  }

  /**
   * Queues a write of the parameters: f32 [paramCount] in `layout`'s order,
   * or for P agents [P][paramCount] (agent after agent, unpadded); throws on
   * another type or length.
   */
  setParams(values: Float32Array): void {
    if (!(values instanceof Float32Array)) throw new Error(`${this.label}.setParams: values must be a Float32Array, got ${values === null || typeof values !== 'object' ? String(values) : (values as object).constructor.name}`);
    const { paramCount } = this.layout;
    const P = this.agents;
    if (values.length !== P * paramCount) {
      const expected = P === 1 ? `${paramCount}` : `${P} agents × ${paramCount} = ${P * paramCount} ([P][paramCount])`;
      throw new Error(`${this.label}.setParams: expected ${expected} values, got ${values.length}`);
    }
    // A copy, so views of shared or offset memory are accepted too.
    if (P === 1) this.gpu.device.queue.writeBuffer(this.params, 0, new Float32Array(values));
    else this.gpu.device.queue.writeBuffer(this.params, 0, this.padded(values));
  }

  /** How this network's forward passes compute one row (for a kernel that computes a row itself: RowForward). */
  get rowForward(): RowForward {
    return {
      params: this.arrays.params.buffer,
      paramStride: parameterStride(this.layout),
      paramCount: this.layout.paramCount,
      layers: this.layout.layers.map((layer) => ({ ...layer, arithmetic: this.kernels.rowArithmetic(layer) })),
      headOffset: this.layout.head === 'gaussian' ? this.layout.headOffset : null,
    };
  }

  /** Reads the parameters back after queued work: f32 [paramCount], or [P][paramCount] (unpadded) for P agents. */
  async readParams(): Promise<Float32Array> {
    return this.readVectors(this.params);
  }

  /** The forward/backward kernel shape this network's passes use. */
  get kernelShape(): MlpKernelShape {
    return this.kernels.shape;
  }

  /** Reads the gradient buffer back after queued work: f32 [paramCount], or [P][paramCount] (unpadded) for P agents. */
  async readGrads(): Promise<Float32Array> {
    return this.readVectors(this.grads);
  }

  /** Releases the parameter and gradient buffers (passes are released by their own destroy). */
  destroy(): void {
    this.arrays.params.destroy();
    this.arrays.grads.destroy();
  }

  /**
   * A forward/backward pass bound once to `input`; keeps every layer's
   * activations. Its buffers are checked first: a wrong dtype, shape or a
   * destroyed GpuArray is one error naming the option.
   */
  prepare(options: MlpPassOptions): MlpPass {
    return new MlpPass(
      this.gpu,
      this.kernels,
      this.layout,
      {
        ...options,
        params: options.params ?? this.arrays.params,
        grads: options.grads ?? this.arrays.grads,
      },
      this.agents,
    );
  }

  /** [P][paramCount] values spread into [P][paramStride] vectors (zero padding). */
  private padded(values: Float32Array): Float32Array<ArrayBuffer> {
    const { paramCount } = this.layout;
    const stride = parameterStride(this.layout);
    const out = new Float32Array(this.agents * stride);
    for (let a = 0; a < this.agents; a++) out.set(values.subarray(a * paramCount, (a + 1) * paramCount), a * stride);
    return out;
  }

  /** A parameter-space buffer's P vectors, the padding dropped: [P][paramCount]. */
  private async readVectors(buffer: GPUBuffer): Promise<Float32Array> {
    const { paramCount } = this.layout;
    if (this.agents === 1) return readFloat32(this.gpu, buffer, 0, paramCount);
    const stride = parameterStride(this.layout);
    const all = await readFloat32(this.gpu, buffer, 0, this.agents * stride);
    const out = new Float32Array(this.agents * paramCount);
    for (let a = 0; a < this.agents; a++) out.set(all.subarray(a * stride, a * stride + paramCount), a * paramCount);
    return out;
  }
}

/** The agent count of `agents` (default 1), checked: one line naming the option and its range. */
function agentCount(where: string, agents: number | Agents | undefined): number {
  if (agents === undefined) return 1;
  if (typeof agents === 'number') {
    if (!Number.isInteger(agents) || agents < 1 || agents > MAX_POPULATION) throw new Error(`${where}: agents must be an integer in [1, ${MAX_POPULATION}], got ${agents}`);
    return agents;
  }
  assertAgents(where, agents);
  if (agents.count > MAX_POPULATION) throw new Error(`${where}: agents.count must be at most ${MAX_POPULATION}, got ${agents.count}`);
  return agents.count;
}

/**
 * The buffer a Gaussian head binds for a parameter-sized argument: the head
 * addresses its log-stds from the buffer's start, so a view must start there.
 */
function headBuffer(arg: BufferArg, what: string): GPUBuffer {
  if (!(arg instanceof GpuArray)) return arg;
  if (arg.offset !== 0) throw new Error(`${what}: a Gaussian head needs this array at element 0 of its buffer, got a view from element ${arg.offset}`);
  return arg.buffer;
}

interface Dispatch {
  kernel: Kernel;
  bindGroup: GPUBindGroup;
  invocations: number;
}

interface BackwardVariant {
  args: UniformSlots;
  /** Per layer, one per backward_params dispatch. */
  bindGroups: GPUBindGroup[][];
  /** The parameter-gradient chain's, one per dispatch, where the pass chains its parameter gradients. */
  chain: GPUBindGroup[] | null;
}

/** A fused step's kernels (the parameter-gradient chain's, the step in the last), and its bind groups reading Adam's control copy 0, and copy 1: one per dispatch. */
interface FusedStep {
  kernels: readonly Kernel[];
  groups: [GPUBindGroup[], GPUBindGroup[]];
}

/**
 * A chained pass's hidden buffer: every hidden layer's activations, then (from
 * `gradientStart`) every hidden layer's gradients. Offsets in floats: each
 * layer's activations from the buffer's start, its gradients from gradientStart
 * (the chains bind the two ranges apart and index each from its own start).
 * A split pass binds each range as two: the layers before `firstHigh` (low),
 * then the rest (high, from `lowFloats` into the range).
 */
interface HiddenSlices {
  activations: number[];
  gradients: number[];
  /** The first hidden layer in the high parts: the number of hidden layers where the pass is not split. */
  firstHigh: number;
  /** Floats of the low and high parts of the activations' range (high 0 where not split); the gradients' are alike. */
  lowFloats: number;
  highFloats: number;
  gradientStart: number;
  floats: number;
}

/**
 * The hidden layers' [rows][outDim] activations and gradients (rows: every
 * agent's) as ranges of one buffer, each layer's starting on the device's
 * storage offset alignment so each binds alone too. Where the activations'
 * (and gradients') range would exceed a binding and the chains take split
 * passes (`splits`), each range in two parts that fit, split between layers:
 * as many layers in the low part as fit. Null if they still would not fit, or
 * the buffer would exceed the largest buffer (the pass then keeps a buffer per layer).
 */
function hiddenSlices(gpu: GpuContext, layout: MlpLayout, rows: number, splits: boolean): HiddenSlices | null {
  const align = Math.max(4, gpu.limits.minStorageBufferOffsetAlignment / 4);
  const binding = gpu.limits.maxStorageBufferBindingSize / 4;
  const activations: number[] = [];
  let rangeFloats = 0;
  for (const layer of layout.layers.slice(0, -1)) {
    activations.push(rangeFloats);
    rangeFloats += Math.ceil((rows * layer.outDim) / align) * align;
  }
  if (2 * rangeFloats * 4 > gpu.limits.maxBufferSize) return null;
  let firstHigh = activations.length;
  if (rangeFloats > binding) {
    if (!splits) return null;
    // The most layers whose rows fit the low part; the rest must fit the high one.
    firstHigh = activations.findIndex((_start, l) => l + 1 === activations.length || activations[l + 1] > binding);
    if (firstHigh === 0 || rangeFloats - activations[firstHigh] > binding) return null;
  }
  const lowFloats = firstHigh < activations.length ? activations[firstHigh] : rangeFloats;
  return { activations, gradients: [...activations], firstHigh, lowFloats, highFloats: rangeFloats - lowFloats, gradientStart: rangeFloats, floats: 2 * rangeFloats };
}

/** An MlpPass's buffers as GpuArrays, f32; for P > 1 agents each shape gains a leading [P] (params: [P][paramStride]). */
export interface MlpPassArrays {
  /** [rows][inputDim] */
  input: GpuArray<'f32'>;
  /** [paramCount] */
  params: GpuArray<'f32'>;
  /** [rows][outDim_l] for every layer */
  activations: readonly GpuArray<'f32'>[];
  /** [rows][outDim_l] for every layer */
  gradPreActivations: readonly GpuArray<'f32'>[];
  /** [rows][outputDim]: the last activation; with a Gaussian head its [rows][2·outputDim] rows. */
  output: GpuArray<'f32'>;
  /** [rows][outputDim]: the last pre-activation gradient; with a Gaussian head the rows' gradient. */
  gradOutput: GpuArray<'f32'>;
  /** [rows][inputDim] when prepared with inputGradient. */
  gradInput: GpuArray<'f32'> | null;
}

/**
 * See Mlp.prepare. Every buffer, uniform and bind group is created here, once.
 * With P agents every row buffer below is [P][rows][..] and every dispatch covers the P agents.
 */
export class MlpPass {
  /** Rows per agent. */
  readonly rows: number;
  /** Rows of each agent's block of the input (rows unless the pass was prepared with a longer inputRows). */
  readonly inputRows: number;
  readonly label: string;
  /** [rows][inputDim], the network input (for a GpuArray view, its whole buffer). */
  readonly input: GPUBuffer;
  /** The parameters the pass evaluates (for a GpuArray view, its whole buffer). */
  readonly params: GPUBuffer;
  /**
   * Post-activation output of every layer, [rows][outDim_l]: the last its own
   * buffer, the hidden ones ranges of one buffer where the pass chains.
   */
  readonly activations: readonly (GPUBuffer | GPUBufferBinding)[];
  /** dLoss/d(pre-activation) of every layer, [rows][outDim_l], kept like activations; the last one is gradOutput. */
  readonly gradPreActivations: readonly (GPUBuffer | GPUBufferBinding)[];
  /** Whether the pass runs its layers in chains (MlpKernels.chains; and its hidden buffer fits a binding, or it keeps none). */
  readonly chained: boolean;
  /** Whether the chains bind each hidden range in two parts, low and high layers (it would exceed a binding whole). */
  readonly splitsHidden: boolean;
  /**
   * Prepared forwardOnly and chained in the `rows` shape: no hidden rows kept
   * (activations and gradPreActivations then hold only the last layer's, and
   * layer 0's activations where it runs alone before the chain).
   */
  readonly holdsHidden: boolean;
  /** dLoss/d(input), [rows][inputDim], when prepared with inputGradient. */
  readonly gradInput: GPUBuffer | null;
  /** The `split` reduction's partial sums: every layer's where the pass chains its parameter gradients, else one layer's at a time (null for `serial`). */
  private readonly partials: GPUBuffer | null;
  /** Whether every layer's parameter gradients are the chain's dispatches (chained, and a `split` pass's partial sums fit a binding): one for `serial`, two for `split`. */
  private readonly paramsChained: boolean;
  /** Invocations per agent of each parameter-gradient chain dispatch: the tiles (serial); the tiles of every row block, then every parameter (split). */
  private readonly paramChainInvocations: readonly number[];
  /** Every layer's DenseArgs, one slot per layer (read by forward, tangent and backward_input). */
  readonly layerArgs: UniformSlots;
  /** The Gaussian head after the last layer, when the layout has one. */
  readonly head: GaussianHead | null;
  /** The same buffers as GpuArrays (f32): `await pass.arrays.output.read()`. */
  readonly arrays: MlpPassArrays;
  /** What the kernels bind for the parameters: the buffer, or a view's range. */
  readonly paramsBinding: GPUBuffer | GPUBufferBinding;

  private readonly inputBinding: GPUBuffer | GPUBufferBinding;
  private readonly forwardDispatches: Dispatch[];
  /** backward_input per layer (null where that gradient is not needed); chained: the chain, then layer 0's. */
  private readonly inputDispatches: (Dispatch | null)[];
  /** Chained: every hidden layer's activations and gradients, and the layers' ChainLayer records. */
  private readonly hidden: GPUBuffer | null = null;
  /** What the chains bind for the hidden activations and gradients: the two ranges of `hidden` (a held pass: `hidden` for the activations, no gradients). */
  private readonly hiddenActs: GPUBuffer | GPUBufferBinding | null = null;
  private readonly hiddenGrads: GPUBuffer | GPUBufferBinding | null = null;
  /**
   * A split pass's high parts of those ranges (its low parts are hiddenActs and
   * hiddenGrads); where the pass is not split, 16-byte placeholders no layer
   * reads, as the chains bind them all the same.
   */
  private readonly hiddenActsHigh: GPUBuffer | GPUBufferBinding | null = null;
  private readonly hiddenGradsHigh: GPUBuffer | GPUBufferBinding | null = null;
  /** Placeholders this pass made for the high parts (destroyed with it). */
  private readonly placeholders: GPUBuffer[] = [];
  private readonly chainLayers: GPUBuffer | null = null;
  /** By gradient argument, then by accumulate and scale. */
  private readonly backwardVariants = new Map<BufferArg, Map<string, BackwardVariant>>();
  /** Chained: what this pass's forward and input-gradient chains bind (a pair's bind groups are made from them). */
  private readonly chainResources: { forward: Record<string, GPUBuffer | GPUBufferBinding>; backwardInput: Record<string, GPUBuffer | GPUBufferBinding> } | null = null;
  /** Pair bind groups with another pass as the second network. */
  private readonly pairGroups = new Map<MlpPass, { forward: GPUBindGroup; backwardInput: GPUBindGroup }>();
  /** The parameter-gradient pairs' bind groups with another pass as the second network, by kernel and both gradient buffers. */
  private readonly paramsPairGroups = new Map<MlpPass, { kernel: Kernel; grads: [BufferArg, BufferArg]; group: GPUBindGroup }[]>();
  /** encodeBackwardStep's fused bind groups, by optimizer and vectors. */
  private readonly fusedSteps: { adam: Adam; params: GPUBuffer; grads: GPUBuffer; step: FusedStep }[] = [];

  constructor(
    private readonly gpu: GpuContext,
    readonly kernels: MlpKernels,
    readonly layout: MlpLayout,
    private readonly options: Required<Omit<MlpPassOptions, 'inputGradient' | 'inputRows' | 'forwardOnly'>> & { inputGradient?: boolean; inputRows?: number; forwardOnly?: boolean },
    /** Agents P every dispatch covers (the network's). */
    readonly agents = 1,
    /** withInput: the pass whose buffers, arguments and head this one shares (only its input and bind groups are its own). */
    private readonly sharing: MlpPass | null = null,
  ) {
    const { rows, label } = options;
    if (!Number.isInteger(rows) || rows < 1) throw new Error(`${label}: rows must be a positive integer, got ${JSON.stringify(rows)}`);
    const P = agents;
    const inputRows = options.inputRows ?? rows;
    if (!Number.isInteger(inputRows) || inputRows < rows) throw new Error(`${label}: inputRows must be an integer ≥ rows ${rows}, got ${JSON.stringify(options.inputRows)}`);
    if (inputRows !== rows && options.inputGradient) throw new Error(`${label}: inputGradient needs input blocks of exactly rows ${rows} rows, got inputRows ${inputRows}`);
    if (options.forwardOnly && options.inputGradient) throw new Error(`${label}: a forwardOnly pass has no backward, so no inputGradient`);
    this.inputRows = inputRows;
    const inputBytes = ((P - 1) * inputRows + rows) * layout.inputDim * 4;
    const input = bufferArg(label, 'input', options.input, rowSpec(P, P === 1 ? rows : inputRows, layout.inputDim, 'inputDim'));
    const params = bufferArg(label, 'params', options.params, parameterSpec(layout, P));
    bufferArg(label, 'grads', options.grads, parameterSpec(layout, P));
    // Also read as vec4s, and a vec4 binding needs 16 bytes.
    if ('usage' in input && input.size < Math.max(16, inputBytes)) {
      const agentsTimes = P === 1 ? '' : `${P} agents × `;
      throw new Error(`${label}: input buffer ${input.label} holds ${input.size} bytes, ${agentsTimes}${rows} rows × ${layout.inputDim} need ${Math.max(16, inputBytes)}`);
    }
    for (const [name, buffer] of [['params', params], ['grads', options.grads]] as const) {
      if ('usage' in buffer) checkParamBuffer(label, name, buffer, layout, P);
    }
    this.rows = rows;
    this.label = label;
    this.inputBinding = input;
    this.paramsBinding = params;
    this.input = argBuffer(input);
    this.params = argBuffer(params);
    const layers = layout.layers;
    const L = layers.length;
    const last = (name: string) => storageBuffer(gpu, `${label}.${name}${L - 1}`, P * rows * layers[L - 1].outDim * 4);
    this.holdsHidden = options.forwardOnly === true && kernels.chainKernels?.forwardHeld != null && kernels.chains(layout);
    const chainsPass = kernels.chains(layout) && !(options.forwardOnly && kernels.chainKernels?.spread.forwardOnlyPerLayer);
    const slices = chainsPass && !this.holdsHidden ? hiddenSlices(gpu, layout, P * rows, kernels.chainKernels?.wide != null) : null;
    this.chained = slices !== null || this.holdsHidden;
    this.splitsHidden = slices !== null && slices.highFloats > 0;
    const placeholder = (name: string) => {
      const buffer = storageBuffer(gpu, `${label}.${name}Placeholder`, 16);
      this.placeholders.push(buffer);
      return buffer;
    };
    let hiddenArray: GpuArray<'f32'> | null = null;
    if (sharing) {
      this.hidden = sharing.hidden;
      this.hiddenActs = sharing.hiddenActs;
      this.hiddenGrads = sharing.hiddenGrads;
      this.hiddenActsHigh = sharing.hiddenActsHigh;
      this.hiddenGradsHigh = sharing.hiddenGradsHigh;
      this.activations = sharing.activations;
      this.gradPreActivations = sharing.gradPreActivations;
    } else if (this.holdsHidden) {
      // Layer 0's rows where it runs alone (the chain's first input, bound as the hidden activations), else a placeholder binding.
      const first = this.chainFirst === 1 ? storageBuffer(gpu, `${label}.activations0`, P * rows * layers[0].outDim * 4) : null;
      this.hidden = first ?? storageBuffer(gpu, `${label}.hiddenPlaceholder`, 16);
      this.hiddenActs = this.hidden;
      this.hiddenActsHigh = placeholder('hiddenActsHigh');
      this.activations = first ? [first, last('activations')] : [last('activations')];
      this.gradPreActivations = [last('gradPreActivation')];
    } else if (slices) {
      this.hidden = storageBuffer(gpu, `${label}.hidden`, slices.floats * 4);
      hiddenArray = GpuArray.wrap(gpu, this.hidden, 'f32', [slices.floats]);
      const [low, high] = [slices.lowFloats * 4, slices.highFloats * 4];
      this.hiddenActs = { buffer: this.hidden, offset: 0, size: low };
      this.hiddenGrads = { buffer: this.hidden, offset: slices.gradientStart * 4, size: low };
      this.hiddenActsHigh = high > 0 ? { buffer: this.hidden, offset: low, size: high } : placeholder('hiddenActsHigh');
      this.hiddenGradsHigh = high > 0 ? { buffer: this.hidden, offset: slices.gradientStart * 4 + low, size: high } : placeholder('hiddenGradsHigh');
      const range = (at: number, l: number): GPUBufferBinding => ({ buffer: this.hidden!, offset: at * 4, size: P * rows * layers[l].outDim * 4 });
      this.activations = [...slices.activations.map(range), last('activations')];
      this.gradPreActivations = [...slices.gradients.map((at, l) => range(slices.gradientStart + at, l)), last('gradPreActivation')];
    } else {
      this.activations = layers.map((layer, l) => storageBuffer(gpu, `${label}.activations${l}`, P * rows * layer.outDim * 4));
      this.gradPreActivations = layers.map((layer, l) => storageBuffer(gpu, `${label}.gradPreActivation${l}`, P * rows * layer.outDim * 4));
    }
    this.gradInput = sharing ? sharing.gradInput : options.inputGradient ? storageBuffer(gpu, `${label}.gradInput`, inputBytes) : null;
    // split: every layer's row-block sums where the parameter gradients chain (and that fits a binding), else one layer's at a time.
    this.paramsChained = this.chained && !this.holdsHidden && (kernels.reduction === 'serial' || P * chainPartialBytes(layout, rows) <= gpu.limits.maxStorageBufferBindingSize);
    const tiles = this.paramTileCount;
    this.paramChainInvocations = kernels.reduction === 'serial' ? [tiles] : [tiles * paramBlocks(rows), layout.layers.reduce((n, layer) => n + layerParams(layer), 0)];
    const partials = this.paramsChained ? chainPartialBytes(layout, rows) : partialBytes(layout, rows);
    this.partials = sharing ? sharing.partials : kernels.reduction === 'split' && !options.forwardOnly ? storageBuffer(gpu, `${label}.partials`, P * partials) : null;
    // Slot l: layer l's arguments; chained, slot L: the chains'.
    this.layerArgs = sharing ? sharing.layerArgs : UniformSlots.create(gpu, kernels.denseArgs, this.argSlots({}), `${label}.args`);
    if (layout.head === 'gaussian') for (const name of ['params', 'grads'] as const) headBuffer(options[name], `${label}: ${name}`);
    this.head = sharing
      ? sharing.head
      : layout.head === 'gaussian'
        ? new GaussianHead(gpu, kernels.gaussianHead, {
            rows,
            dim: layout.outputDim,
            offset: layout.headOffset,
            meanGrads: this.lastBuffer(this.gradPreActivations),
            label: `${label}.head`,
            agents: P,
            paramStride: parameterStride(layout),
          })
        : null;
    const rowsOf = (width: number) => rowSpec(P, rows, width, '').shape;
    // Kept layers: every layer, or where the pass holds its hidden rows, the ones kept (layer 0 alone, the last).
    const keptLayers = this.holdsHidden ? (this.chainFirst === 1 ? [0, L - 1] : [L - 1]) : layers.map((_, l) => l);
    const perLayer = (buffers: readonly (GPUBuffer | GPUBufferBinding)[], kept = keptLayers) =>
      buffers.map((b, k) => {
        const l = kept[k];
        return 'usage' in b ? GpuArray.wrap(gpu, b, 'f32', rowsOf(layers[l].outDim)) : hiddenArray!.view(rowsOf(layers[l].outDim), (b.offset ?? 0) / 4, `${label}.hidden${l}`);
      });
    // A GpuArray given has been checked to be f32.
    const asArray = (value: BufferArg, shape: number[]) => (value instanceof GpuArray ? (value as GpuArray<'f32'>) : GpuArray.wrap(gpu, value, 'f32', shape));
    const activations = sharing ? sharing.arrays.activations : perLayer(this.activations);
    const gradPreActivations = sharing ? sharing.arrays.gradPreActivations : perLayer(this.gradPreActivations, this.holdsHidden ? [L - 1] : keptLayers);
    this.arrays = {
      input: asArray(options.input, rowsOf(layout.inputDim)),
      params: asArray(options.params, parameterSpec(layout, P).shape),
      activations,
      gradPreActivations,
      // With a Gaussian head: its [rows][2·outputDim] rows (means, then log-stds).
      output: sharing ? sharing.arrays.output : this.head ? GpuArray.wrap(gpu, this.output, 'f32', rowsOf(2 * layout.outputDim)) : activations[activations.length - 1],
      gradOutput: sharing ? sharing.arrays.gradOutput : this.head ? GpuArray.wrap(gpu, this.head.rowGrads, 'f32', rowsOf(2 * layout.outputDim)) : gradPreActivations[gradPreActivations.length - 1],
      gradInput: sharing ? sharing.arrays.gradInput : this.gradInput ? GpuArray.wrap(gpu, this.gradInput, 'f32', rowsOf(layout.inputDim)) : null,
    };

    const perLayerForward = (l: number): Dispatch => {
      const { kernel, invocations } = kernels.forward(layers[l]);
      const input = this.layerInput(l);
      const resources = { args: this.layerArgs.slot(l), params, paramsVec4: params, input, inputVec4: input, output: this.activations[l] };
      return { kernel, bindGroup: kernel.bindUsed(resources, `${label}.layer${l}`), invocations: invocations(rows) };
    };
    const perLayerInput = (l: number): Dispatch | null => {
      const layer = layers[l];
      const gradInput = l > 0 ? this.gradPreActivations[l - 1] : this.gradInput;
      if (!gradInput) return null;
      const { kernel, invocations } = kernels.backwardInput(layer);
      const resources = {
        args: this.layerArgs.slot(l),
        params,
        paramsVec4: params,
        gradOutput: this.gradPreActivations[l],
        gradOutputVec4: this.gradPreActivations[l],
        input: this.layerInput(l),
        gradInput,
      };
      return { kernel, bindGroup: kernel.bindUsed(resources, `${label}.layer${l}`), invocations: invocations(rows) };
    };
    const chains = kernels.chainKernels;
    // What a forward chain binds (after chainLayers is set).
    const forwardChainResources = () => ({
      args: this.layerArgs.slot(L),
      params,
      paramsVec4: params,
      inputVec4: input,
      hiddenActsVec4: this.hiddenActs!,
      hiddenActsHighVec4: this.hiddenActsHigh!,
      output: this.lastBuffer(this.activations),
      chainLayers: this.chainLayers!,
    });
    if (this.holdsHidden && chains) {
      this.chainLayers = sharing?.chainLayers ?? this.chainTable(gpu, chains, null);
      // A pass of at most one workgroup's rows per agent takes fewer rows an invocation (the bits are the same).
      const few = chains.forwardHeldFew !== null && chains.spread.invocations(rows) <= chains.spread.workgroup;
      const held = few ? chains.forwardHeldFew! : chains.forwardHeld!;
      const invocations = few ? Math.ceil(rows / DENSE_GEOMETRY.fewRowsPerInvocation) : chains.spread.invocations(rows);
      const forward = { kernel: held, bindGroup: held.bindUsed(forwardChainResources(), `${label}.forwardChainHeld${few ? 'Few' : ''}`), invocations };
      this.forwardDispatches = this.chainFirst === 0 ? [forward] : [perLayerForward(0), forward];
      this.inputDispatches = [];
    } else if (slices && chains) {
      this.chainLayers = sharing?.chainLayers ?? this.chainTable(gpu, chains, slices);
      const blocks = chains.spread.invocations(rows);
      const chainArgs = this.layerArgs.slot(L);
      this.chainResources = {
        forward: forwardChainResources(),
        backwardInput: {
          args: chainArgs,
          paramsVec4: params,
          gradOutput: this.lastBuffer(this.gradPreActivations),
          gradOutputVec4: this.lastBuffer(this.gradPreActivations),
          hiddenGrads: this.hiddenGrads!,
          hiddenGradsVec4: this.hiddenGrads!,
          hiddenActs: this.hiddenActs!,
          hiddenActsVec4: this.hiddenActs!,
          hiddenGradsHigh: this.hiddenGradsHigh!,
          hiddenGradsHighVec4: this.hiddenGradsHigh!,
          hiddenActsHigh: this.hiddenActsHigh!,
          hiddenActsHighVec4: this.hiddenActsHigh!,
          chainLayers: this.chainLayers,
        },
      };
      // A split pass's chains are the SPLIT_HIDDEN pipelines.
      const [forwardKernel, inputKernel] = this.splitsHidden ? [chains.wide!.forward, chains.wide!.backwardInput] : [chains.forward, chains.backwardInput];
      const forward = { kernel: forwardKernel, bindGroup: forwardKernel.bindUsed(this.chainResources.forward, `${label}.forwardChain`), invocations: blocks };
      const inputChain = { kernel: inputKernel, bindGroup: inputKernel.bindUsed(this.chainResources.backwardInput, `${label}.backwardInputChain`), invocations: blocks };
      this.forwardDispatches = this.chainFirst === 0 ? [forward] : [perLayerForward(0), forward];
      this.inputDispatches = [inputChain, perLayerInput(0)];
    } else {
      this.forwardDispatches = layers.map((_, l) => perLayerForward(l));
      this.inputDispatches = layers.map((_, l) => perLayerInput(l));
    }
  }

  /** The first layer forward_chain runs: 0, or 1 where the `rows` forward does not take layer 0 (it runs alone first). */
  private get chainFirst(): number {
    return this.kernels.chainKernels!.spread.forwardTakes(this.layout.layers[0]) ? 0 : 1;
  }

  /** The last of a per-layer list, which is always its own buffer. */
  private lastBuffer(buffers: readonly (GPUBuffer | GPUBufferBinding)[]): GPUBuffer {
    return buffers[buffers.length - 1] as GPUBuffer;
  }

  /**
   * The layers' ChainLayer records (hidden offsets from `slices`), uploaded. Without
   * slices (a pass holding its hidden rows) a hidden layer's offsets are 0: only the
   * first chained layer reads `hidden`, which is then layer 0's own rows.
   */
  private chainTable(gpu: GpuContext, { layer: view, layerStride }: ChainKernels, slices: HiddenSlices | null): GPUBuffer {
    // A hidden layer's offsets count from the start of the part it lies in (the high part's past the low one).
    const high = (l: number) => slices !== null && l >= slices.firstHigh;
    const at = (list: 'activations' | 'gradients', l: number) => (slices ? slices[list][l] - (high(l) ? slices.lowFloats : 0) : 0);
    const layers = this.layout.layers;
    const L = layers.length;
    // The whole fixed-size table: a uniform binding covers the struct the WGSL declares.
    const bytes = new ArrayBuffer(DENSE_GEOMETRY.maxChainLayers * layerStride);
    const data = new DataView(bytes);
    let firstTile = 0;
    let firstPartial = 0;
    layers.forEach((layer, l) => {
      view.write(
        data,
        {
          inDim: layer.inDim,
          outDim: layer.outDim,
          weightOffset: layer.weightOffset,
          biasOffset: layer.biasOffset,
          activation: ACTIVATION_CODE[layer.activation],
          inputActivation: l === 0 ? ACTIVATION_CODE.identity : ACTIVATION_CODE[layers[l - 1].activation],
          input: l === 0 ? NETWORK : at('activations', l - 1),
          output: l === L - 1 ? NETWORK : at('activations', l),
          gradInput: l === 0 ? NETWORK : at('gradients', l - 1),
          gradOutput: l === L - 1 ? NETWORK : at('gradients', l),
          inputHigh: l > 0 && high(l - 1) ? 1 : 0,
          outputHigh: l < L - 1 && high(l) ? 1 : 0,
          firstTile,
          firstPartial,
        },
        l * layerStride,
      );
      firstTile += paramTiles(layer);
      firstPartial += layerParams(layer);
    });
    const buffer = gpu.device.createBuffer({ label: `${this.label}.chainLayers`, size: bytes.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    gpu.device.queue.writeBuffer(buffer, 0, bytes);
    return buffer;
  }

  /** DenseArgs of every layer, then (chained) the chains' (layers and chainFirst; rows, agents' strides, accumulate and scale as every layer's). */
  private argSlots(backward: { accumulate?: boolean; scale?: number }): Record<string, number>[] {
    const layers = this.layout.layers;
    const slots = layers.map((layer, l) => this.denseArgs(layer, l, backward));
    if (this.chained) slots.push({ ...this.denseArgs(layers[0], 0, backward), layers: layers.length, chainFirst: this.chainFirst });
    return slots;
  }

  /**
   * [P][rows][distParamsPerRow]: the last layer's post-activation (logits, values),
   * or with a Gaussian head the means then the log-stds of every row.
   */
  get output(): GPUBuffer {
    const last = this.lastBuffer(this.activations);
    return this.head ? this.head.rowParams(last) : last;
  }

  /** [P][rows][distParamsPerRow]: write dLoss/d(output pre-activation, log-stds) here before encodeBackward. */
  get gradOutput(): GPUBuffer {
    return this.head ? this.head.rowGrads : this.lastBuffer(this.gradPreActivations);
  }

  /** Dispatches recorded by encodeForward (one per layer or the chain's, and the head's), whatever the number of agents. */
  get dispatchCount(): number {
    return this.forwardDispatches.length + (this.head ? 1 : 0);
  }

  /** Dispatches recorded by encodeBackward. */
  get backwardDispatchCount(): number {
    const inputs = this.inputDispatches.filter((d) => d).length;
    const params = this.paramsChained ? this.paramChainKernels.length : this.layout.layers.reduce((n, layer) => n + this.kernels.backwardParams(layer).length, 0);
    return inputs + params + (this.head ? 1 : 0);
  }

  /** Records the parameter-gradient chain's dispatches with `groups` (one per dispatch). */
  private encodeParamChain(pass: GPUComputePassEncoder, kernels: readonly Kernel[], groups: readonly GPUBindGroup[]): void {
    const invocations = this.paramChainInvocations;
    kernels.forEach((kernel, k) => kernel.dispatch(pass, groups[k], invocations[k], undefined, this.agents));
  }

  /** What layer l reads: the network input (its binding) for l = 0, else layer l − 1's activations. */
  layerInput(l: number): GPUBuffer | GPUBufferBinding {
    return l === 0 ? this.inputBinding : this.activations[l - 1];
  }

  /** Whether the pass was prepared forwardOnly (no backward, no tangents). */
  get forwardOnly(): boolean {
    return this.options.forwardOnly === true;
  }

  /** Throws where the pass was prepared forwardOnly: it may keep no hidden rows to differentiate. */
  assertBackward(where: string): void {
    if (this.forwardOnly) throw new Error(`${where}: ${this.label} was prepared forwardOnly, so it has no backward pass or tangents`);
  }

  /** Throws, naming the option, if the input or parameter array was destroyed since `prepare`. */
  assertInputsAlive(where: string): void {
    assertArraysAlive(where, { input: this.options.input, params: this.options.params });
  }

  /**
   * Records the forward pass: every layer's activations, the output f32 [rows][outputDim] last; throws first if
   * the input or parameter array was destroyed.
   */
  encodeForward(pass: GPUComputePassEncoder): void {
    recordChecked(this.gpu, `${this.label}.encodeForward`, pass, (pass) => {
      this.assertInputsAlive(`${this.label}.encodeForward`);
      for (const d of this.forwardDispatches) d.kernel.dispatch(pass, d.bindGroup, d.invocations, undefined, this.agents);
      this.head?.encodeForward(pass, this.lastBuffer(this.activations), this.params);
    });
  }

  /**
   * Backpropagates gradOutput into the gradient buffer (and gradInput). Each
   * distinct (grads, accumulate, scale) gets its uniforms and bind groups on
   * first use, then reuses them.
   */
  encodeBackward(pass: GPUComputePassEncoder, options: BackwardOptions = {}): void {
    this.assertBackward(`${this.label}.encodeBackward`);
    recordChecked(this.gpu, `${this.label}.encodeBackward`, pass, (pass) => {
      const where = `${this.label}.encodeBackward`;
      const grads = options.grads ?? this.options.grads;
      this.assertInputsAlive(where);
      assertArraysAlive(where, { grads });
      const variant = this.backwardVariant(grads, options.accumulate ?? false, options.scale ?? 1);
      if (this.head) this.head.encodeBackward(pass, headBuffer(grads, `${where}: grads`), options.accumulate ?? false, options.scale ?? 1);
      const layers = this.layout.layers;
      const params = (l: number) =>
        this.kernels.backwardParams(layers[l]).forEach(({ kernel, invocations }, k) => kernel.dispatch(pass, variant.bindGroups[l][k], invocations(this.rows), undefined, this.agents));
      const input = (d: Dispatch | null) => d?.kernel.dispatch(pass, d.bindGroup, d.invocations, undefined, this.agents);
      if (this.chained) {
        // A layer's parameter gradient needs its gradOutput, which the input chain writes: inputs first.
        this.inputDispatches.forEach(input);
        if (variant.chain) this.encodeParamChain(pass, this.paramChainKernels, variant.chain);
        else for (let l = layers.length - 1; l >= 0; l--) params(l);
      } else {
        for (let l = layers.length - 1; l >= 0; l--) {
          params(l);
          input(this.inputDispatches[l]);
        }
      }
    });
  }

  /**
   * Whether `a` and `b` (in that order) run their forward and input-gradient
   * chains as one dispatch each (NetworkPairing `paired`): both chain with the
   * same kernels, which have the pair pipelines, over the same input binding,
   * rows and agents, and neither has a Gaussian head or split hidden ranges.
   */
  static pairs(a: MlpPass, b: MlpPass): boolean {
    const kernels = a.kernels.chainKernels;
    if (a === b || a.kernels !== b.kernels || !kernels?.forwardPair || !kernels.backwardInputPair) return false;
    // A split pass's chains bind its high ranges, which the pair kernels do not.
    if (!a.chained || !b.chained || a.head || b.head || a.holdsHidden || b.holdsHidden || a.splitsHidden || b.splitsHidden) return false;
    return a.rows === b.rows && a.inputRows === b.inputRows && a.agents === b.agents && sameBinding(a.inputBinding, b.inputBinding);
  }

  /** Records both passes' forwards: where they pair, each one's lone first layer (if any), then one dispatch for both chains; else a's encodeForward, then b's. */
  static encodeForwardPair(pass: GPUComputePassEncoder, a: MlpPass, b: MlpPass): void {
    if (!MlpPass.pairs(a, b)) {
      a.encodeForward(pass);
      b.encodeForward(pass);
      return;
    }
    recordChecked(a.gpu, `${a.label}+${b.label}.encodeForwardPair`, pass, (pass) => {
      for (const p of [a, b]) p.assertInputsAlive(`${p.label}.encodeForwardPair`);
      // Each forwardDispatches list ends with its chain; what comes before it runs first.
      for (const p of [a, b]) for (const d of p.forwardDispatches.slice(0, -1)) d.kernel.dispatch(pass, d.bindGroup, d.invocations, undefined, a.agents);
      a.kernels.chainKernels!.forwardPair!.dispatch(pass, a.pairGroupsWith(b).forward, a.pairInvocations, undefined, a.agents);
    });
  }

  /**
   * Both passes' encodeBackwardStep: where they pair and both steps fuse, one
   * dispatch for both input-gradient chains, then each one's layer-0 input
   * gradient (if prepared) and its fused step; else a's, then b's.
   */
  static encodeBackwardStepPair(pass: GPUComputePassEncoder, a: BackwardStep, b: BackwardStep, inputChains?: PairedInputDispatch): void {
    const fusedA = a.pass.fusedStepGroups(a.adam, a.params, a.grads);
    const fusedB = b.pass.fusedStepGroups(b.adam, b.params, b.grads);
    if (!inputChains && MlpPass.pairsParams(a, b, fusedA, fusedB)) {
      MlpPass.encodeParamsPair(pass, a, b);
      return;
    }
    if (!MlpPass.pairs(a.pass, b.pass) || !fusedA || !fusedB) {
      if (inputChains) throw new Error(`${a.pass.label}+${b.pass.label}.encodeBackwardStepPair: these passes do not pair with fused steps, so no other kernel can run their input-gradient chains (check pairedInputChains first)`);
      a.pass.encodeBackwardStep(pass, a.adam, a.params, a.grads);
      b.pass.encodeBackwardStep(pass, b.adam, b.params, b.grads);
      return;
    }
    const [p, q] = [a.pass, b.pass];
    recordChecked(p.gpu, `${p.label}+${q.label}.encodeBackwardStepPair`, pass, (pass) => {
      for (const s of [p, q]) s.assertInputsAlive(`${s.label}.encodeBackwardStepPair`);
      if (inputChains) inputChains.kernel.dispatch(pass, inputChains.bindGroup, p.pairInvocations, inputChains.dynamicOffsets, p.agents);
      else p.kernels.chainKernels!.backwardInputPair!.dispatch(pass, p.pairGroupsWith(q).backwardInput, p.pairInvocations, undefined, p.agents);
      // The chain is inputDispatches[0]; what follows it (layer 0's input gradient) is each pass's own.
      for (const s of [p, q]) for (const d of s.inputDispatches.slice(1)) d?.kernel.dispatch(pass, d.bindGroup, d.invocations, undefined, s.agents);
      const blocksPair = MlpPass.blocksPair(fusedA, fusedB, p);
      if (!blocksPair) {
        p.encodeFusedStep(pass, a.adam, fusedA);
        q.encodeFusedStep(pass, b.adam, fusedB);
        return;
      }
      // Both networks' row-block sums in one dispatch, then each one's sums with its Adam step.
      blocksPair.dispatch(pass, p.paramsPairGroupWith(blocksPair, q, a.grads, b.grads), p.paramsPairInvocations(blocksPair, q), undefined, p.agents);
      for (const [s, step, fused] of [[p, a, fusedA], [q, b, fusedB]] as const) {
        const { copy } = step.adam.takeFusedStep();
        fused.kernels[1].dispatch(pass, fused.groups[copy][1], s.paramChainInvocations[1], undefined, s.agents);
      }
    });
  }

  /**
   * Whether encodeBackwardStepPair records a and b as one input-gradient dispatch,
   * one parameter-gradient dispatch and each optimizer's own step: the passes pair,
   * neither step fuses, and the device has the serial pair (ChainKernels.paramsPair).
   */
  private static pairsParams(a: BackwardStep, b: BackwardStep, fusedA: FusedStep | null, fusedB: FusedStep | null): boolean {
    return !fusedA && !fusedB && MlpPass.pairs(a.pass, b.pass) && a.pass.kernels.chainKernels!.paramsPair !== null;
  }

  /** encodeBackwardStepPair where pairsParams: both input-gradient chains, each one's lone layer-0 input gradient, both parameter gradients, then each optimizer's step. */
  private static encodeParamsPair(pass: GPUComputePassEncoder, a: BackwardStep, b: BackwardStep): void {
    const [p, q] = [a.pass, b.pass];
    recordChecked(p.gpu, `${p.label}+${q.label}.encodeBackwardStepPair`, pass, (pass) => {
      for (const s of [p, q]) s.assertInputsAlive(`${s.label}.encodeBackwardStepPair`);
      assertArraysAlive(`${p.label}+${q.label}.encodeBackwardStepPair`, { grads: a.grads, otherGrads: b.grads });
      const kernels = p.kernels.chainKernels!;
      kernels.backwardInputPair!.dispatch(pass, p.pairGroupsWith(q).backwardInput, p.pairInvocations, undefined, p.agents);
      for (const s of [p, q]) for (const d of s.inputDispatches.slice(1)) d?.kernel.dispatch(pass, d.bindGroup, d.invocations, undefined, s.agents);
      const kernel = kernels.paramsPair!;
      kernel.dispatch(pass, p.paramsPairGroupWith(kernel, q, a.grads, b.grads), p.paramsPairInvocations(kernel, q), undefined, p.agents);
    });
    a.adam.encodeStep(pass, a.params, a.grads);
    b.adam.encodeStep(pass, b.params, b.grads);
  }

  /** The blocks pair kernel where two fused steps are the `split` reduction's (row blocks, then the sums with the step) and the device has it, else null. */
  private static blocksPair(fusedA: FusedStep, fusedB: FusedStep, p: MlpPass): Kernel | null {
    const kernel = p.kernels.chainKernels!.blocksPair;
    return kernel && fusedA.kernels.length === 2 && fusedB.kernels.length === 2 ? kernel : null;
  }

  /**
   * A parameter-gradient pair's invocations per agent (the blocks pair's or the serial
   * pair's: each network's first parameter-chain dispatch): this (the first) network's
   * rounded up to whole workgroups, then `other`'s.
   */
  private paramsPairInvocations(kernel: Kernel, other: MlpPass): number {
    const workgroup = kernel.workgroupSize;
    return Math.ceil(this.paramChainInvocations[0] / workgroup) * workgroup + other.paramChainInvocations[0];
  }

  /** A parameter-gradient pair's bind group (`kernel`, the blocks pair or the serial pair) with this pass as the first network (its gradients `grads`) and `other` as the second (`otherGrads`). */
  private paramsPairGroupWith(kernel: Kernel, other: MlpPass, grads: GPUBuffer, otherGrads: GPUBuffer): GPUBindGroup {
    const cached = this.paramsPairGroups.get(other)?.find((g) => g.kernel === kernel && g.grads[0] === grads && g.grads[1] === otherGrads);
    if (cached) return cached.group;
    const L = (pass: MlpPass) => pass.layout.layers.length;
    const theirs = other.paramsChainResources(other.backwardVariant(otherGrads, false, 1).args, otherGrads);
    const group = kernel.bindUsed(
      {
        ...this.paramsChainResources(this.backwardVariant(grads, false, 1).args, grads),
        args2: other.backwardVariant(otherGrads, false, 1).args.slot(L(other)),
        gradOutput2: theirs.gradOutput,
        gradOutput2Vec4: theirs.gradOutputVec4,
        hidden2ActsRead4: theirs.hiddenActsRead4,
        hidden2GradsRead4: theirs.hiddenGradsRead4,
        chainLayers2: theirs.chainLayers,
        partials2: theirs.partials,
        grads2: theirs.grads,
      },
      `${this.label}+${other.label}.paramsPair`,
    );
    const list = this.paramsPairGroups.get(other) ?? [];
    list.push({ kernel, grads: [grads, otherGrads], group });
    this.paramsPairGroups.set(other, list);
    return group;
  }

  /**
   * Where `a` and `b` pair with fused steps (encodeBackwardStepPair's one
   * input-gradient dispatch for both): what that dispatch binds, by the mlp
   * family's names, and the pipeline constants its kernels take, so that a
   * kernel of another family built on mlp.wgsl (PPO's losses, ppo_chain.wgsl)
   * can run both chains after its own prologue; else null.
   */
  static pairedInputChains(a: BackwardStep, b: BackwardStep): PairedInputChains | null {
    const [p, q] = [a.pass, b.pass];
    if (!MlpPass.pairs(p, q) || !p.kernels.chainKernels!.spread.pairs!.opened) return null;
    if (!p.fusedStepGroups(a.adam, a.params, a.grads) || !q.fusedStepGroups(b.adam, b.params, b.grads)) return null;
    const mine = p.chainResources!.backwardInput;
    const theirs = q.chainResources!.backwardInput;
    const { spread } = p.kernels.chainKernels!;
    return {
      resources: { ...mine, args2: theirs.args, params2Vec4: theirs.paramsVec4, gradOutput2: theirs.gradOutput, hidden2Grads: theirs.hiddenGrads, hidden2Acts: theirs.hiddenActs, chainLayers2: theirs.chainLayers },
      constants: { WG: spread.workgroup, ...spread.constants },
    };
  }

  /** Dispatches of encodeForwardPair and encodeBackwardStepPair for these two passes and steps. */
  static pairDispatchCount(a: BackwardStep, b: BackwardStep): { forward: number; backwardStep: number } {
    const [p, q] = [a.pass, b.pass];
    if (!MlpPass.pairs(p, q)) return { forward: p.dispatchCount + q.dispatchCount, backwardStep: p.backwardStepDispatchCount(a.adam, a.params, a.grads) + q.backwardStepDispatchCount(b.adam, b.params, b.grads) };
    const forward = p.forwardDispatches.length - 1 + q.forwardDispatches.length - 1 + 1;
    const [stepA, stepB] = [p.fusedStepGroups(a.adam, a.params, a.grads), q.fusedStepGroups(b.adam, b.params, b.grads)];
    // Each pass's lone layer-0 input gradient, if any.
    const alone = (s: MlpPass) => s.inputDispatches.slice(1).filter((d) => d).length;
    const backwardStep = stepA && stepB
      ? 1 + alone(p) + alone(q) + (MlpPass.blocksPair(stepA, stepB, p) ? 3 : stepA.kernels.length + stepB.kernels.length)
      : MlpPass.pairsParams(a, b, stepA, stepB)
        ? 1 + alone(p) + alone(q) + 1 + a.adam.stepDispatchCount + b.adam.stepDispatchCount
        : p.backwardStepDispatchCount(a.adam, a.params, a.grads) + q.backwardStepDispatchCount(b.adam, b.params, b.grads);
    return { forward, backwardStep };
  }

  /** A pair dispatch's invocations per agent: this (the first) network's rounded up to whole workgroups (pair_split in the WGSL), then the second's. */
  private get pairInvocations(): number {
    const { spread } = this.kernels.chainKernels!;
    const blocks = spread.invocations(this.rows);
    return Math.ceil(blocks / spread.workgroup) * spread.workgroup + blocks;
  }

  /** The pair bind groups with this pass as the first network and `other` as the second. */
  private pairGroupsWith(other: MlpPass): { forward: GPUBindGroup; backwardInput: GPUBindGroup } {
    let groups = this.pairGroups.get(other);
    if (groups) return groups;
    const kernels = this.kernels.chainKernels!;
    const mine = this.chainResources!;
    const theirs = other.chainResources!;
    groups = {
      forward: kernels.forwardPair!.bindUsed(
        {
          ...mine.forward,
          args2: theirs.forward.args,
          params2: theirs.forward.params,
          params2Vec4: theirs.forward.params,
          output2: theirs.forward.output,
          hidden2ActsVec4: theirs.forward.hiddenActsVec4,
          chainLayers2: theirs.forward.chainLayers,
        },
        `${this.label}+${other.label}.forwardPair`,
      ),
      backwardInput: kernels.backwardInputPair!.bindUsed(
        {
          ...mine.backwardInput,
          args2: theirs.backwardInput.args,
          params2Vec4: theirs.backwardInput.paramsVec4,
          gradOutput2: theirs.backwardInput.gradOutput,
          gradOutput2Vec4: theirs.backwardInput.gradOutputVec4,
          hidden2Grads: theirs.backwardInput.hiddenGrads,
          hidden2GradsVec4: theirs.backwardInput.hiddenGradsVec4,
          hidden2Acts: theirs.backwardInput.hiddenActs,
          hidden2ActsVec4: theirs.backwardInput.hiddenActsVec4,
          chainLayers2: theirs.backwardInput.chainLayers,
        },
        `${this.label}+${other.label}.backwardInputPair`,
      ),
    };
    this.pairGroups.set(other, groups);
    return groups;
  }

  /**
   * Backpropagates gradOutput into `grads` and takes one step of `adam` on
   * `params` with them (both [P][paramStride], the network's own vectors).
   * Where the pass chains its parameter gradients in one dispatch with the
   * fused kernel (AdamFusion `fused`), the network has no Gaussian head, `adam`
   * steps exactly these vectors and does not clip, that dispatch takes the step
   * too; otherwise encodeBackward, then adam.encodeStep. The same bits either way.
   */
  encodeBackwardStep(pass: GPUComputePassEncoder, adam: Adam, params: GPUBuffer, grads: GPUBuffer): void {
    this.assertBackward(`${this.label}.encodeBackwardStep`);
    const groups = this.fusedStepGroups(adam, params, grads);
    if (!groups) {
      this.encodeBackward(pass, grads === this.options.grads ? {} : { grads });
      adam.encodeStep(pass, params, grads);
      return;
    }
    recordChecked(this.gpu, `${this.label}.encodeBackwardStep`, pass, (pass) => {
      this.assertInputsAlive(`${this.label}.encodeBackwardStep`);
      // As encodeBackward: the input chain writes the gradOutputs the parameter gradients read.
      for (const d of this.inputDispatches) d?.kernel.dispatch(pass, d.bindGroup, d.invocations, undefined, this.agents);
      this.encodeFusedStep(pass, adam, groups);
    });
  }

  /** The parameter gradients with the Adam step in the last of their dispatches (after the input gradients). */
  private encodeFusedStep(pass: GPUComputePassEncoder, adam: Adam, step: FusedStep): void {
    const { copy } = adam.takeFusedStep();
    this.encodeParamChain(pass, step.kernels, step.groups[copy]);
  }

  /** Dispatches recorded by encodeBackwardStep with `adam` on params and grads (the optimizer's own included). */
  backwardStepDispatchCount(adam: Adam, params: GPUBuffer, grads: GPUBuffer): number {
    const fused = this.fusedStepGroups(adam, params, grads);
    if (fused) return this.inputDispatches.filter((d) => d).length + fused.kernels.length;
    return this.backwardDispatchCount + adam.stepDispatchCount;
  }

  /** The parameter-gradient chain's kernels: a split pass's bind its high ranges (`wide`). */
  private get paramChainKernels(): readonly Kernel[] {
    const chains = this.kernels.chainKernels!;
    return this.splitsHidden ? chains.wide!.backwardParams : chains.backwardParams;
  }

  /**
   * The same with `adam`'s step in the last, or null where the device has none
   * (a split pass's serial fused step takes only an optimizer whose active flag is its own).
   */
  private fusedStepKernels(adam: Adam): readonly Kernel[] | null {
    const chains = this.kernels.chainKernels;
    if (!this.splitsHidden) return chains?.backwardParamsAdam ?? null;
    const wide = chains!.wide!;
    return wide.stepNeedsOwnFlag && adam.options.activeFlag ? null : wide.backwardParamsAdam;
  }

  /** Parameter tiles of every layer: the parameter-gradient chain's invocations per agent. */
  private get paramTileCount(): number {
    return this.layout.layers.reduce((n, layer) => n + paramTiles(layer), 0);
  }

  /** The fused step's bind groups (one per dispatch) for `adam`'s step reading control copy 0 and 1, or null where the step cannot be fused. */
  private fusedStepGroups(adam: Adam, params: GPUBuffer, grads: GPUBuffer): FusedStep | null {
    if (!this.paramsChained || this.head || !adam.fusible) return null;
    const kernels = this.fusedStepKernels(adam);
    if (!kernels) return null;
    if (adam.agentCount !== this.agents || adam.options.count !== optimizedCount(this.layout, this.agents) || this.paramsBinding !== params) return null;
    const cached = this.fusedSteps.find((f) => f.adam === adam && f.params === params && f.grads === grads);
    if (cached) return cached.step;
    // The chain's own resources, from the gradient variant it would use (checks grads).
    const variant = this.backwardVariant(grads, false, 1);
    const resources = (copy: number): Record<string, GPUBuffer | GPUBufferBinding> => ({
      ...this.paramsChainResources(variant.args, grads),
      adamParams: params,
      ...adam.fusedResources(copy),
    });
    const bind = (copy: number) => kernels.map((kernel, k) => kernel.bindUsed(resources(copy), `${this.label}.backwardStep${copy}.${k}`));
    const step: FusedStep = { kernels, groups: [bind(0), bind(1)] };
    this.fusedSteps.push({ adam, params, grads, step });
    return step;
  }

  /**
   * The same pass over another input of the same shape (`input` as `prepare`
   * takes it, e.g. a view of the next block of a longer buffer): it shares
   * every buffer this pass keeps (activations, gradients, the head, the layer
   * arguments), so it costs only its bind groups, and either writes the same
   * rows. Its outputs are this pass's. It makes only bind groups, so its
   * destroy releases nothing; destroy it before this pass.
   */
  withInput(input: BufferArg, label = `${this.label}'`): MlpPass {
    const owner = this.sharing ?? this;
    return new MlpPass(this.gpu, this.kernels, this.layout, { ...owner.options, input, label }, this.agents, owner);
  }

  /** Releases the buffers this pass allocated. */
  destroy(): void {
    // A withInput pass made only bind groups: everything else is its owner's.
    if (this.sharing) return;
    for (const a of [...this.arrays.activations, ...this.arrays.gradPreActivations]) a.destroy();
    this.arrays.gradInput?.destroy();
    this.head?.destroy();
    this.partials?.destroy();
    this.layerArgs.destroy();
    for (const byScale of this.backwardVariants.values()) for (const v of byScale.values()) v.args.destroy();
    this.chainLayers?.destroy();
    // Where the pass holds its hidden rows, `hidden` is layer 0's rows (destroyed above) or a placeholder.
    if (this.holdsHidden) this.hidden?.destroy();
    for (const b of this.placeholders) b.destroy();
  }

  private denseArgs(layer: DenseLayer, l: number, backward: { accumulate?: boolean; scale?: number }): Record<string, number> {
    return {
      rows: this.rows,
      inputRows: l === 0 ? this.inputRows : this.rows,
      inDim: layer.inDim,
      outDim: layer.outDim,
      weightOffset: layer.weightOffset,
      biasOffset: layer.biasOffset,
      paramStride: parameterStride(this.layout),
      activation: ACTIVATION_CODE[layer.activation],
      // The network input has no activation: its slope is 1.
      inputActivation: l === 0 ? ACTIVATION_CODE.identity : ACTIVATION_CODE[this.layout.layers[l - 1].activation],
      firstLayer: l === 0 ? 1 : 0,
      accumulate: backward.accumulate ? 1 : 0,
      scale: backward.scale ?? 1,
      layers: this.layout.layers.length,
      chainFirst: 0,
    };
  }

  /** What the parameter-gradient chain binds, with the chains' slot of `args` and the gradient buffer. */
  private paramsChainResources(args: UniformSlots, grads: GPUBuffer | GPUBufferBinding): Record<string, GPUBuffer | GPUBufferBinding> {
    return {
      args: args.slot(this.layout.layers.length),
      grads,
      input: this.inputBinding,
      inputVec4: this.inputBinding,
      gradOutput: this.lastBuffer(this.gradPreActivations),
      gradOutputVec4: this.lastBuffer(this.gradPreActivations),
      hiddenActsRead4: this.hiddenActs!,
      hiddenGradsRead4: this.hiddenGrads!,
      hiddenActsHighRead4: this.hiddenActsHigh!,
      hiddenGradsHighRead4: this.hiddenGradsHigh!,
      chainLayers: this.chainLayers!,
      ...(this.partials ? { partials: this.partials } : {}),
    };
  }

  private backwardVariant(gradsArg: BufferArg, accumulate: boolean, scale: number): BackwardVariant {
    const grads = bufferArg(`${this.label}.encodeBackward`, 'grads', gradsArg, parameterSpec(this.layout, this.agents));
    let byScale = this.backwardVariants.get(gradsArg);
    if (!byScale) {
      if ('usage' in grads) checkParamBuffer(this.label, 'grads', grads, this.layout, this.agents);
      this.backwardVariants.set(gradsArg, (byScale = new Map()));
    }
    const key = `${accumulate}:${Math.fround(scale)}`;
    let variant = byScale.get(key);
    if (variant) return variant;
    const { gpu, kernels, layout, label } = this;
    // A withInput pass's arguments are its owner's: the same values (only the input differs).
    const args = this.sharing ? this.sharing.backwardVariant(gradsArg, accumulate, scale).args : UniformSlots.create(gpu, kernels.denseArgs, this.argSlots({ accumulate, scale }), `${label}.backwardArgs`);
    const bindGroups = layout.layers.map((layer, l) => {
      const resources: Record<string, GPUBuffer | GPUBufferBinding> = {
        args: args.slot(l),
        gradOutput: this.gradPreActivations[l],
        gradOutputVec4: this.gradPreActivations[l],
        input: this.layerInput(l),
        inputVec4: this.layerInput(l),
        grads,
      };
      if (this.partials) resources.partials = this.partials;
      return kernels.backwardParams(layer).map(({ kernel }) => kernel.bindUsed(resources, `${label}.layer${l}`));
    });
    const chain = this.paramsChained ? this.paramChainKernels : null;
    const chainGroups = chain?.map((kernel, k) => kernel.bindUsed(this.paramsChainResources(args, grads), `${label}.backwardParamsChain${k}`));
    variant = { args, bindGroups, chain: chainGroups ?? null };
    byScale.set(key, variant);
    return variant;
  }
}

/** What pairedInputChains returns: the pair's input-gradient bindings and the chains' pipeline constants. */
export interface PairedInputChains {
  resources: Record<string, GPUBuffer | GPUBufferBinding>;
  constants: Record<string, number>;
}

/** A caller's dispatch that runs both networks' input-gradient chains (pairedInputChains), for encodeBackwardStepPair. */
export interface PairedInputDispatch {
  kernel: Kernel;
  bindGroup: GPUBindGroup;
  dynamicOffsets?: number[];
}

/** One network's backward step for encodeBackwardStepPair: its pass, optimizer and vectors. */
export interface BackwardStep {
  pass: MlpPass;
  adam: Adam;
  params: GPUBuffer;
  grads: GPUBuffer;
}

/** Whether two bindings are the same buffer range. */
function sameBinding(a: GPUBuffer | GPUBufferBinding, b: GPUBuffer | GPUBufferBinding): boolean {
  if (a === b) return true;
  if ('usage' in a || 'usage' in b) return false;
  return a.buffer === b.buffer && (a.offset ?? 0) === (b.offset ?? 0) && a.size === b.size;
}

/** A raw parameter-space buffer must reach the last agent's last parameter ([P][paramStride], the last vector unpadded). */
function checkParamBuffer(label: string, name: string, buffer: GPUBuffer, layout: MlpLayout, agents: number): void {
  const need = ((agents - 1) * parameterStride(layout) + layout.paramCount) * 4;
  if (buffer.size < need) {
    const what = agents === 1 ? `${layout.paramCount} parameters` : `${agents} agents × ${parameterStride(layout)} floats ([P][paramStride])`;
    throw new Error(`${label}: ${name} buffer ${buffer.label} holds ${buffer.size} bytes, ${what} need ${need}`);
  }
}

/** The spec of a row buffer: [rows][width], or [P][rows][width] for P agents. */
function rowSpec(agents: number, rows: number, width: number, widthName: string) {
  return agents === 1
    ? { dtype: 'f32' as const, shape: [rows, width], layout: `[rows][${widthName}]` }
    : { dtype: 'f32' as const, shape: [agents, rows, width], layout: `[P][rows][${widthName}]` };
}

/**
 * Forward-mode tangents through a pass's network at the activations its last
 * forward left: u_l = d a_l/dθ · v for a direction v in the parameter layout,
 * layer by layer (tangent kernels of the pass's shape). The last layer's u is
 * J v, the tangent of the network output. Bind groups are made on the first
 * use of a direction buffer and reused after that.
 */
export class MlpTangents {
  /** u_l for every layer, [rows][outDim_l] ([P][rows][outDim_l] for the pass's P agents). */
  readonly outputs: readonly GPUBuffer[];
  private readonly kernels: LayerKernel[];
  private readonly groups = new Map<BufferArg, GPUBindGroup[]>();

  private constructor(gpu: GpuContext, private readonly pass: MlpPass, tangents: LayerKernels, readonly label: string) {
    const layers = pass.layout.layers;
    this.kernels = layers.map((layer) => tangents.for(layer));
    this.outputs = layers.map((layer, l) => storageBuffer(gpu, `${label}.tangent${l}`, pass.agents * pass.rows * layer.outDim * 4));
  }

  static async create(gpu: GpuContext, pass: MlpPass, label: string): Promise<MlpTangents> {
    pass.assertBackward(`${label}: MlpTangents.create`);
    return new MlpTangents(gpu, pass, await pass.kernels.tangents(), label);
  }

  /** [P][rows][distParamsPerRow]: J v, the network output's tangent (with a Gaussian head, then v's log-std part on every row). */
  get output(): GPUBuffer {
    const last = this.outputs[this.outputs.length - 1];
    return this.pass.head ? this.pass.head.rowParams(last) : last;
  }

  /**
   * Records the tangents along `vector`: f32 [paramCount], or a raw buffer of
   * parameterVectorBytes (whole vec4s); for P agents [P][paramStride], each
   * agent's tangent along its own direction.
   */
  encode(pass: GPUComputePassEncoder, vector: BufferArg): void {
    assertArraysAlive(`${this.label}.encode`, { vector });
    this.pass.assertInputsAlive(`${this.label}.encode`);
    const groups = this.groupsFor(vector);
    this.kernels.forEach(({ kernel, invocations }, l) => kernel.dispatch(pass, groups[l], invocations(this.pass.rows), undefined, this.pass.agents));
    this.pass.head?.encodeForward(pass, this.outputs[this.outputs.length - 1], headBuffer(vector, `${this.label}.encode: vector`));
  }

  destroy(): void {
    for (const b of this.outputs) b.destroy();
  }

  private groupsFor(vectorArg: BufferArg): GPUBindGroup[] {
    let groups = this.groups.get(vectorArg);
    if (groups) return groups;
    const { pass } = this;
    const need = pass.agents * parameterVectorBytes(pass.layout);
    const vector = bufferArg(`${this.label}.encode`, 'vector', vectorArg, parameterSpec(pass.layout, pass.agents));
    if ('usage' in vector && vector.size < need) {
      const times = pass.agents === 1 ? '' : `${pass.agents} agents × `;
      throw new Error(`${this.label}: vector ${vector.label} holds ${vector.size} bytes, needs ${need} (${times}parameterVectorBytes: whole vec4s)`);
    }
    groups = pass.layout.layers.map((_, l) => {
      const input = pass.layerInput(l);
      // The first layer has no incoming tangent; any readable buffer fills the slot.
      const tangentIn = l === 0 ? input : this.outputs[l - 1];
      const resources: Record<string, GPUBuffer | GPUBufferBinding> = {
        args: pass.layerArgs.slot(l),
        params: pass.paramsBinding,
        paramsVec4: pass.paramsBinding,
        vector,
        vectorVec4: vector,
        input,
        inputVec4: input,
        tangentIn,
        tangentInVec4: tangentIn,
        activation: pass.activations[l],
        tangentOut: this.outputs[l],
      };
      return this.kernels[l].kernel.bindUsed(resources, `${this.label}.layer${l}`);
    });
    this.groups.set(vectorArg, groups);
    return groups;
  }
}
