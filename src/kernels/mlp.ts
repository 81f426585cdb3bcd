/**
 * Batched MLP forward and backward (shaders/mlp.wgsl) over one flat parameter
 * buffer. `Mlp.prepare` binds a forward/backward pass to an input buffer once;
 * its encode* methods only record dispatches into the caller's compute pass, so
 * a trainer can put a whole iteration into one submit.
 */
import mlpWgsl from '../../shaders/mlp.wgsl?raw';
import tilesWgsl from '../../shaders/tiles.wgsl?raw';
import { ShaderFamily, type Kernel, type StructView } from '../gpu/kernel';
import { readFloat32, storageBuffer } from '../gpu/buffers';
import type { DenseLayer, MlpLayout, Activation } from '../nn/mlp';
import type { AdapterDescription, GpuContext } from '../gpu/device';

const ACTIVATION_CODE: Record<Activation, number> = { identity: 0, tanh: 1 };

/**
 * How forward and backward_input spread a layer over invocations (see the
 * header of shaders/mlp.wgsl; measurements in bench/RESULTS.md):
 *   rows    4 rows per invocation held in registers: lavapipe
 *   tiles   4 rows × 4 outputs per invocation: SwiftShader, and GPUs (the
 *           register micro-tile of a GEMM)
 *   single  one invocation per row, the shape every layer can take
 * Layers a shape cannot take (unaligned W rows, rows wider than 64 for `rows`)
 * use `single`.
 */
export type MlpKernelShape = 'rows' | 'tiles' | 'single';
export const MLP_KERNEL_SHAPES: readonly MlpKernelShape[] = ['rows', 'tiles', 'single'];

/** The measured-fastest shape for an adapter. */
export function defaultMlpKernelShape(adapter: AdapterDescription): MlpKernelShape {
  return adapter.backend === 'lavapipe' ? 'rows' : 'tiles';
}

/** The widest summed dimension the `rows` kernels hold in registers (WIDTH in the WGSL). */
const ROWS_MAX_WIDTH = 64;
/** Rows per invocation of the `rows` kernels (ROWS in the WGSL). */
const ROWS_PER_INVOCATION = 4;
/**
 * Workgroup size of the `rows` kernels. lavapipe spreads a dispatch over its
 * threads by workgroup, so a 128-row minibatch (32 invocations) must span more
 * than one: 16 measured ×1.13–1.2 on the PPO seed iteration against 64.
 */
const ROWS_WORKGROUP = 16;
/** Rows and outputs (inputs) per invocation of the `tiles` kernels. */
const TILE = 4;

const compiled = new WeakMap<GPUDevice, Map<MlpKernelShape, Promise<MlpKernels>>>();
const preferred = new WeakMap<GPUDevice, MlpKernelShape>();

/** A pipeline and how many invocations it needs for a layer and a number of rows. */
export interface LayerKernel {
  kernel: Kernel;
  invocations(rows: number, layer: DenseLayer): number;
}

/** The dense-layer pipelines of one shape, compiled once per device. */
export class MlpKernels {
  private constructor(
    readonly shape: MlpKernelShape,
    private readonly forwardBy: { rows: Kernel | null; tiles: Kernel | null; aligned: Kernel; any: Kernel },
    private readonly backwardInputBy: {
      rows: Kernel | null;
      tiles: Kernel | null;
      tilesGradVec4: Kernel | null;
      aligned: Kernel;
      any: Kernel;
    },
    /** backward_params specialised by [inDim % 4 === 0][outDim % 4 === 0]. */
    private readonly backwardParamsBy: Kernel[][],
    readonly denseArgs: StructView,
  ) {}

  /**
   * The pipelines for `shape` (default: the one set by `useShape` for this
   * device, else the adapter's measured-fastest), compiled on first use.
   */
  static create(gpu: GpuContext, shape?: MlpKernelShape): Promise<MlpKernels> {
    const chosen = shape ?? preferred.get(gpu.device) ?? defaultMlpKernelShape(gpu.adapter);
    let byShape = compiled.get(gpu.device);
    if (!byShape) compiled.set(gpu.device, (byShape = new Map()));
    let kernels = byShape.get(chosen);
    if (!kernels) {
      kernels = MlpKernels.compile(gpu, chosen);
      byShape.set(chosen, kernels);
    }
    return kernels;
  }

  /** Makes `shape` what `create` returns by default on this device (benchmarks compare shapes this way). */
  static useShape(gpu: GpuContext, shape: MlpKernelShape): void {
    preferred.set(gpu.device, shape);
  }

  private static async compile(gpu: GpuContext, shape: MlpKernelShape): Promise<MlpKernels> {
    const family = await ShaderFamily.load(gpu, 'mlp', [tilesWgsl, mlpWgsl]);
    const on = (...names: string[]) => ({ constants: Object.fromEntries(names.map((n) => [n, 1])) });
    const optional = (wanted: boolean, entry: string, options = {}) => (wanted ? family.kernel(entry, options) : Promise.resolve(null));
    const [
      forwardAligned,
      forwardAny,
      inputAligned,
      inputAny,
      forwardRows,
      inputRows,
      forwardTiles,
      inputTiles,
      inputTilesVec4,
      ...params
    ] = await Promise.all([
        family.kernel('forward', on('ALIGNED', 'INPUT_VEC4')),
        family.kernel('forward'),
        family.kernel('backward_input', on('ALIGNED')),
        family.kernel('backward_input'),
        optional(shape === 'rows', 'forward_rows', { constants: { WG: ROWS_WORKGROUP } }),
        optional(shape === 'rows', 'backward_input_rows', { constants: { WG: ROWS_WORKGROUP } }),
        optional(shape === 'tiles', 'forward_tiles'),
        optional(shape === 'tiles', 'backward_input_tiles'),
        optional(shape === 'tiles', 'backward_input_tiles', on('GRAD_VEC4')),
        family.kernel('backward_params'),
        family.kernel('backward_params', on('GRAD_VEC4')),
        family.kernel('backward_params', on('INPUT_VEC4')),
        family.kernel('backward_params', on('INPUT_VEC4', 'GRAD_VEC4')),
      ]);
    return new MlpKernels(
      shape,
      { rows: forwardRows, tiles: forwardTiles, aligned: forwardAligned, any: forwardAny },
      {
        rows: inputRows,
        tiles: inputTiles,
        tilesGradVec4: inputTilesVec4,
        aligned: inputAligned,
        any: inputAny,
      },
      [params.slice(0, 2), params.slice(2, 4)],
      family.struct('DenseArgs'),
    );
  }

  /** Whether W's rows start on 16-byte boundaries, so the vec4 weight path applies. */
  static isAligned(layer: DenseLayer): boolean {
    return layer.weightOffset % 4 === 0 && layer.inDim % 4 === 0;
  }

  /** Invocations of backward_params for one layer: one per 4×4 tile of W plus one per 4 biases. */
  static paramTiles(layer: DenseLayer): number {
    return Math.ceil(layer.outDim / 4) * (Math.ceil(layer.inDim / 4) + 1);
  }

  /** The forward pipeline for `layer` in this shape. */
  forward(layer: DenseLayer): LayerKernel {
    const k = this.forwardBy;
    if (MlpKernels.isAligned(layer)) {
      if (k.rows && layer.inDim <= ROWS_MAX_WIDTH) return blocked(k.rows, ROWS_PER_INVOCATION);
      if (k.tiles) return tiled(k.tiles, Math.ceil(layer.outDim / TILE));
      return blocked(k.aligned, 1);
    }
    return blocked(k.any, 1);
  }

  /** The backward_input pipeline for `layer` in this shape. */
  backwardInput(layer: DenseLayer): LayerKernel {
    const k = this.backwardInputBy;
    if (MlpKernels.isAligned(layer)) {
      if (k.rows && layer.outDim <= ROWS_MAX_WIDTH) return blocked(k.rows, ROWS_PER_INVOCATION);
      if (k.tiles && k.tilesGradVec4) return tiled(layer.outDim % 4 === 0 ? k.tilesGradVec4 : k.tiles, layer.inDim / TILE);
      return blocked(k.aligned, 1);
    }
    return blocked(k.any, 1);
  }

  /** The backward_params pipeline for `layer`: vec4 reads of whichever rows are whole vec4s. */
  backwardParams(layer: DenseLayer): Kernel {
    return this.backwardParamsBy[layer.inDim % 4 === 0 ? 1 : 0][layer.outDim % 4 === 0 ? 1 : 0];
  }
}

function blocked(kernel: Kernel, rowsPerInvocation: number): LayerKernel {
  return { kernel, invocations: (rows) => Math.ceil(rows / rowsPerInvocation) };
}

/** `tilesPerRow` tiles of outputs (inputs) for every block of TILE rows. */
function tiled(kernel: Kernel, tilesPerRow: number): LayerKernel {
  return { kernel, invocations: (rows) => Math.ceil(rows / TILE) * tilesPerRow };
}

export interface MlpPassOptions {
  rows: number;
  /** [rows][inputDim] f32 network input. */
  input: GPUBuffer;
  label: string;
  /** Parameters to evaluate (default the network's own; e.g. TRPO candidate parameters). */
  params?: GPUBuffer;
  /** Where encodeBackward writes dLoss/dθ (default the network's own grads). */
  grads?: GPUBuffer;
  /** Also compute dLoss/d input into `gradInput` during encodeBackward. */
  inputGradient?: boolean;
}

export interface BackwardOptions {
  /** Add to the gradient buffer instead of overwriting it. */
  accumulate?: boolean;
  /** Factor applied to the parameter gradients (e.g. 1/minibatches). */
  scale?: number;
}

/** A network: its layout and its own parameter and gradient buffers (f32[paramCount]). */
export class Mlp {
  private constructor(
    private readonly gpu: GpuContext,
    private readonly kernels: MlpKernels,
    readonly layout: MlpLayout,
    readonly label: string,
    readonly params: GPUBuffer,
    readonly grads: GPUBuffer,
  ) {}

  static create(gpu: GpuContext, kernels: MlpKernels, layout: MlpLayout, label: string): Mlp {
    // Whole vec4s, so the aligned kernels' vec4 view covers every weight.
    const bytes = Math.ceil(layout.paramCount / 4) * 16;
    return new Mlp(gpu, kernels, layout, label, storageBuffer(gpu, `${label}.params`, bytes), storageBuffer(gpu, `${label}.grads`, bytes));
  }

  setParams(values: Float32Array): void {
    if (values.length !== this.layout.paramCount) {
      throw new Error(`${this.label}.setParams: expected ${this.layout.paramCount} values, got ${values.length}`);
    }
    // A copy, so views of shared or offset memory are accepted too.
    this.gpu.device.queue.writeBuffer(this.params, 0, new Float32Array(values));
  }

  readParams(): Promise<Float32Array> {
    return readFloat32(this.gpu, this.params, 0, this.layout.paramCount);
  }

  /** The forward/backward kernel shape this network's passes use. */
  get kernelShape(): MlpKernelShape {
    return this.kernels.shape;
  }

  readGrads(): Promise<Float32Array> {
    return readFloat32(this.gpu, this.grads, 0, this.layout.paramCount);
  }

  /** Releases the parameter and gradient buffers (passes are released by their own destroy). */
  destroy(): void {
    this.params.destroy();
    this.grads.destroy();
  }

  /** A forward/backward pass bound once to `input`; keeps every layer's activations. */
  prepare(options: MlpPassOptions): MlpPass {
    return new MlpPass(this.gpu, this.kernels, this.layout, {
      ...options,
      params: options.params ?? this.params,
      grads: options.grads ?? this.grads,
    });
  }
}

interface Dispatch {
  kernel: Kernel;
  bindGroup: GPUBindGroup;
  invocations: number;
}

interface BackwardVariant {
  args: GPUBuffer;
  bindGroups: GPUBindGroup[];
}

/** See Mlp.prepare. Every buffer, uniform and bind group is created here, once. */
export class MlpPass {
  readonly rows: number;
  /** Post-activation output of every layer, [rows][outDim_l]. */
  readonly activations: readonly GPUBuffer[];
  /** dLoss/d(pre-activation) of every layer, [rows][outDim_l]; the last one is gradOutput. */
  readonly gradPreActivations: readonly GPUBuffer[];
  /** dLoss/d(input), [rows][inputDim], when prepared with inputGradient. */
  readonly gradInput: GPUBuffer | null;

  private readonly forwardDispatches: Dispatch[];
  /** backward_input per layer (null where that gradient is not needed). */
  private readonly inputDispatches: (Dispatch | null)[];
  private readonly backwardVariants = new Map<string, BackwardVariant>();
  private readonly slotBytes: number;
  private readonly forwardArgs: GPUBuffer;

  constructor(
    private readonly gpu: GpuContext,
    private readonly kernels: MlpKernels,
    private readonly layout: MlpLayout,
    private readonly options: Required<Omit<MlpPassOptions, 'inputGradient'>> & { inputGradient?: boolean },
  ) {
    const { rows, input, label, params } = options;
    if (!Number.isInteger(rows) || rows < 1) throw new Error(`${label}: rows must be a positive integer, got ${rows}`);
    const inputBytes = rows * layout.inputDim * 4;
    // Also read as vec4s, and a vec4 binding needs 16 bytes.
    if (input.size < Math.max(16, inputBytes)) {
      throw new Error(`${label}: input buffer ${input.label} holds ${input.size} bytes, ${rows} rows × ${layout.inputDim} need ${Math.max(16, inputBytes)}`);
    }
    for (const [name, buffer] of [['params', params], ['grads', options.grads]] as const) {
      if (buffer.size < layout.paramCount * 4) {
        throw new Error(`${label}: ${name} buffer ${buffer.label} holds ${buffer.size} bytes, ${layout.paramCount} parameters need ${layout.paramCount * 4}`);
      }
    }
    this.rows = rows;
    const layers = layout.layers;
    this.activations = layers.map((layer, l) => storageBuffer(gpu, `${label}.activations${l}`, rows * layer.outDim * 4));
    this.gradPreActivations = layers.map((layer, l) => storageBuffer(gpu, `${label}.gradPreActivation${l}`, rows * layer.outDim * 4));
    this.gradInput = options.inputGradient ? storageBuffer(gpu, `${label}.gradInput`, inputBytes) : null;

    const view = kernels.denseArgs;
    this.slotBytes = Math.ceil(view.paddedSize / gpu.limits.minUniformBufferOffsetAlignment) * gpu.limits.minUniformBufferOffsetAlignment;
    // One slot per layer, read by its forward and backward_input.
    const args = gpu.device.createBuffer({
      label: `${label}.args`,
      size: this.slotBytes * layers.length,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const bytes = new ArrayBuffer(args.size);
    const data = new DataView(bytes);
    layers.forEach((layer, l) => view.write(data, this.denseArgs(layer, l, {}), l * this.slotBytes));
    gpu.device.queue.writeBuffer(args, 0, bytes);
    this.forwardArgs = args;
    const slot = (l: number) => ({ buffer: args, offset: l * this.slotBytes, size: view.paddedSize });

    this.forwardDispatches = layers.map((layer, l) => {
      const { kernel, invocations } = kernels.forward(layer);
      const input = this.layerInput(l);
      const resources = { args: slot(l), params, paramsVec4: params, input, inputVec4: input, output: this.activations[l] };
      return { kernel, bindGroup: kernel.bindUsed(resources, `${label}.layer${l}`), invocations: invocations(rows, layer) };
    });
    this.inputDispatches = layers.map((layer, l) => {
      const gradInput = l > 0 ? this.gradPreActivations[l - 1] : this.gradInput;
      if (!gradInput) return null;
      const { kernel, invocations } = kernels.backwardInput(layer);
      const resources = {
        args: slot(l),
        params,
        paramsVec4: params,
        gradOutput: this.gradPreActivations[l],
        gradOutputVec4: this.gradPreActivations[l],
        input: this.layerInput(l),
        gradInput,
      };
      return { kernel, bindGroup: kernel.bindUsed(resources, `${label}.layer${l}`), invocations: invocations(rows, layer) };
    });
  }

  /** [rows][outputDim]: the last layer's post-activation (logits, values). */
  get output(): GPUBuffer {
    return this.activations[this.activations.length - 1];
  }

  /** [rows][outputDim]: write dLoss/d(output pre-activation) here before encodeBackward. */
  get gradOutput(): GPUBuffer {
    return this.gradPreActivations[this.gradPreActivations.length - 1];
  }

  /** Dispatches recorded by encodeForward (one per layer). */
  get dispatchCount(): number {
    return this.layout.layers.length;
  }

  /** Dispatches recorded by encodeBackward. */
  get backwardDispatchCount(): number {
    return this.inputDispatches.reduce((n, d) => n + (d ? 2 : 1), 0);
  }

  encodeForward(pass: GPUComputePassEncoder): void {
    for (const d of this.forwardDispatches) d.kernel.dispatch(pass, d.bindGroup, d.invocations);
  }

  /**
   * Backpropagates gradOutput into the gradient buffer (and gradInput). Each
   * distinct (accumulate, scale) gets its uniforms and bind groups on first
   * use, then reuses them.
   */
  encodeBackward(pass: GPUComputePassEncoder, options: BackwardOptions = {}): void {
    const variant = this.backwardVariant(options.accumulate ?? false, options.scale ?? 1);
    for (let l = this.layout.layers.length - 1; l >= 0; l--) {
      const layer = this.layout.layers[l];
      this.kernels.backwardParams(layer).dispatch(pass, variant.bindGroups[l], MlpKernels.paramTiles(layer));
      const d = this.inputDispatches[l];
      if (d) d.kernel.dispatch(pass, d.bindGroup, d.invocations);
    }
  }

  /** Releases the buffers this pass allocated. */
  destroy(): void {
    for (const b of [...this.activations, ...this.gradPreActivations]) b.destroy();
    this.gradInput?.destroy();
    this.forwardArgs.destroy();
    for (const v of this.backwardVariants.values()) v.args.destroy();
  }

  private layerInput(l: number): GPUBuffer {
    return l === 0 ? this.options.input : this.activations[l - 1];
  }

  private denseArgs(layer: DenseLayer, l: number, backward: { accumulate?: boolean; scale?: number }): Record<string, number> {
    return {
      rows: this.rows,
      inDim: layer.inDim,
      outDim: layer.outDim,
      weightOffset: layer.weightOffset,
      biasOffset: layer.biasOffset,
      activation: ACTIVATION_CODE[layer.activation],
      // The network input has no activation: its slope is 1.
      inputActivation: l === 0 ? ACTIVATION_CODE.identity : ACTIVATION_CODE[this.layout.layers[l - 1].activation],
      accumulate: backward.accumulate ? 1 : 0,
      scale: backward.scale ?? 1,
    };
  }

  private backwardVariant(accumulate: boolean, scale: number): BackwardVariant {
    const key = `${accumulate}:${Math.fround(scale)}`;
    let variant = this.backwardVariants.get(key);
    if (variant) return variant;
    const { gpu, kernels, layout } = this;
    const { label, grads } = this.options;
    const view = kernels.denseArgs;
    const args = gpu.device.createBuffer({
      label: `${label}.backwardArgs`,
      size: this.slotBytes * layout.layers.length,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const bytes = new ArrayBuffer(args.size);
    const data = new DataView(bytes);
    layout.layers.forEach((layer, l) => view.write(data, this.denseArgs(layer, l, { accumulate, scale }), l * this.slotBytes));
    gpu.device.queue.writeBuffer(args, 0, bytes);
    const bindGroups = layout.layers.map((layer, l) =>
      kernels.backwardParams(layer).bindUsed(
        {
          args: { buffer: args, offset: l * this.slotBytes, size: view.paddedSize },
          gradOutput: this.gradPreActivations[l],
          gradOutputVec4: this.gradPreActivations[l],
          input: this.layerInput(l),
          inputVec4: this.layerInput(l),
          grads,
        },
        `${label}.layer${l}`,
      ),
    );
    variant = { args, bindGroups };
    this.backwardVariants.set(key, variant);
    return variant;
  }
}
