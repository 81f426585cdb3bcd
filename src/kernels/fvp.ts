/**
 * Fisher-vector product of a softmax policy MLP over a batch (shaders/fvp.wgsl):
 * F v = (1/R) Σ_i J_iᵀ (diag p_i − p_i p_iᵀ) J_i v + damping · v, by forward-mode
 * tangents through the network, a weighting at the logits and the network's
 * ordinary backward pass. No double backprop, no matrix.
 *
 * Usage: `encodeForward` once after θ changes (the activations are the point
 * the Fisher is taken at), then `encode(pass, v, result)` as often as needed
 * (conjugate gradient). Bind groups are made on the first use of a (v, result)
 * pair and reused after that.
 */
import fvpWgsl from '../../shaders/fvp.wgsl?raw';
import tilesWgsl from '../../shaders/tiles.wgsl?raw';
import randomWgsl from '../../shaders/random.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, type Kernel, type StructView } from '../gpu/kernel';
import { storageBuffer, uniformBuffer } from '../gpu/buffers';
import { MlpKernels, type Mlp, type MlpPass } from './mlp';
import type { MlpLayout } from '../nn/mlp';
import { COMMON_WGSL } from '../gpu/wgsl';
import { CATEGORICAL } from './distribution';

const ACTIVATION_CODE = { identity: 0, tanh: 1 } as const;

/** Bytes of a vector in the parameter layout: whole vec4s, as the aligned kernels read them. */
export function parameterVectorBytes(layout: MlpLayout): number {
  return Math.ceil(layout.paramCount / 4) * 16;
}

const compiled = new WeakMap<GPUDevice, Promise<FvpKernels>>();

/** The tangent pipeline for a layer, and its invocations for a number of rows. */
interface TangentKernel {
  kernel: Kernel;
  invocations: number;
}

/** The fvp.wgsl pipelines, compiled once per device. */
class FvpKernels {
  constructor(
    readonly tangentTiles: Kernel,
    readonly tangentAligned: Kernel,
    readonly tangentAny: Kernel,
    readonly fisherWeights: Kernel,
    readonly addDamping: Kernel,
    readonly tangentArgs: StructView,
    readonly fisherArgs: StructView,
    readonly dampingArgs: StructView,
  ) {}

  static create(gpu: GpuContext): Promise<FvpKernels> {
    let kernels = compiled.get(gpu.device);
    if (!kernels) {
      kernels = (async () => {
        const family = await ShaderFamily.load(gpu, 'fvp', [COMMON_WGSL, randomWgsl, CATEGORICAL.wgsl, tilesWgsl, fvpWgsl]);
        const [tangentTiles, tangentAligned, tangentAny, fisherWeights, addDamping] = await Promise.all([
          family.kernel('tangent_tiles'),
          family.kernel('tangent', { constants: { ALIGNED: 1 } }),
          family.kernel('tangent'),
          family.kernel('fisher_weights'),
          family.kernel('add_damping'),
        ]);
        return new FvpKernels(
          tangentTiles,
          tangentAligned,
          tangentAny,
          fisherWeights,
          addDamping,
          family.struct('TangentArgs'),
          family.struct('FisherArgs'),
          family.struct('DampingArgs'),
        );
      })();
      compiled.set(gpu.device, kernels);
    }
    return kernels;
  }
}

export interface FisherVectorProductOptions {
  /** The softmax policy (its output layer gives the logits). */
  policy: Mlp;
  rows: number;
  /** [rows][inputDim] observations the Fisher is averaged over. */
  obs: GPUBuffer;
  damping: number;
  /** Parameters the Fisher is taken at (default the policy's own). */
  params?: GPUBuffer;
  label?: string;
}

export class FisherVectorProduct {
  /** Forward at θ; its activations are the linearisation point. */
  readonly pass: MlpPass;
  readonly layout: MlpLayout;
  readonly rows: number;

  private readonly obs: GPUBuffer;
  private readonly tangents: GPUBuffer[];
  private readonly tangentKernels: TangentKernel[];
  private readonly tangentSlots: GPUBufferBinding[];
  private readonly fisherGroup: GPUBindGroup;
  private readonly dampingArgs: GPUBuffer;
  private readonly fisherArgs: GPUBuffer;
  private readonly tangentGroups = new Map<GPUBuffer, GPUBindGroup[]>();
  private readonly dampingGroups = new Map<GPUBuffer, Map<GPUBuffer, GPUBindGroup>>();

  private constructor(
    gpu: GpuContext,
    private readonly kernels: FvpKernels,
    private readonly params: GPUBuffer,
    /** Jᵀw, the backward pass's gradient buffer. */
    private readonly products: GPUBuffer,
    readonly label: string,
    options: FisherVectorProductOptions,
  ) {
    const { policy, rows, obs } = options;
    this.layout = policy.layout;
    this.rows = rows;
    this.obs = obs;
    this.pass = policy.prepare({ rows, input: obs, params, grads: products, label: `${label}.network` });
    const layers = this.layout.layers;
    if (this.layout.outputDim > 16) throw new Error(`${label}: at most 16 actions, the policy has ${this.layout.outputDim}`);
    this.tangents = layers.map((layer, l) => storageBuffer(gpu, `${label}.tangent${l}`, rows * layer.outDim * 4));
    // The tiled tangent goes with the network's own row-blocked or tiled kernels.
    const tiled = policy.kernelShape !== 'single';
    this.tangentKernels = layers.map((layer) => {
      if (!MlpKernels.isAligned(layer)) return { kernel: kernels.tangentAny, invocations: rows };
      if (tiled) return { kernel: kernels.tangentTiles, invocations: Math.ceil(rows / 4) * Math.ceil(layer.outDim / 4) };
      return { kernel: kernels.tangentAligned, invocations: rows };
    });

    const view = kernels.tangentArgs;
    const align = gpu.limits.minUniformBufferOffsetAlignment;
    const slotBytes = Math.ceil(view.paddedSize / align) * align;
    const bytes = new ArrayBuffer(slotBytes * layers.length);
    layers.forEach((layer, l) =>
      view.write(
        new DataView(bytes),
        {
          rows,
          inDim: layer.inDim,
          outDim: layer.outDim,
          weightOffset: layer.weightOffset,
          biasOffset: layer.biasOffset,
          activation: ACTIVATION_CODE[layer.activation],
          hasTangentIn: l > 0 ? 1 : 0,
        },
        l * slotBytes,
      ),
    );
    const tangentArgs = uniformBuffer(gpu, `${label}.tangentArgs`, bytes);
    this.tangentSlots = layers.map((_, l) => ({ buffer: tangentArgs, offset: l * slotBytes, size: view.paddedSize }));

    const fisherArgs = uniformBuffer(gpu, `${label}.fisherArgs`, kernels.fisherArgs.pack({ rows, numActions: this.layout.outputDim }));
    this.fisherArgs = fisherArgs;
    this.fisherGroup = kernels.fisherWeights.bind(
      { fisher: fisherArgs, logits: this.pass.output, logitTangents: this.tangents[layers.length - 1], weights: this.pass.gradOutput },
      label,
    );
    this.dampingArgs = uniformBuffer(gpu, `${label}.dampingArgs`, kernels.dampingArgs.pack({ count: this.layout.paramCount, damping: options.damping }));
  }

  static async create(gpu: GpuContext, options: FisherVectorProductOptions): Promise<FisherVectorProduct> {
    const label = options.label ?? 'fvp';
    if (!(options.damping >= 0)) throw new Error(`${label}: damping must be ≥ 0, got ${options.damping}`);
    const kernels = await FvpKernels.create(gpu);
    const products = storageBuffer(gpu, `${label}.jtw`, parameterVectorBytes(options.policy.layout));
    return new FisherVectorProduct(gpu, kernels, options.params ?? options.policy.params, products, label, options);
  }

  /** Records the forward pass at θ (needed once after θ changes, before encode). */
  encodeForward(pass: GPUComputePassEncoder): void {
    this.pass.encodeForward(pass);
  }

  /** Records result = F·vector + damping·vector (vector: parameterVectorBytes; result: paramCount floats). */
  encode(pass: GPUComputePassEncoder, vector: GPUBuffer, result: GPUBuffer): void {
    const tangentGroups = this.tangentGroupsFor(vector);
    this.tangentKernels.forEach(({ kernel, invocations }, l) => kernel.dispatch(pass, tangentGroups[l], invocations));
    this.kernels.fisherWeights.dispatch(pass, this.fisherGroup, this.rows);
    this.pass.encodeBackward(pass);
    this.kernels.addDamping.dispatch(pass, this.dampingGroupFor(vector, result), this.layout.paramCount);
  }

  private tangentGroupsFor(vector: GPUBuffer): GPUBindGroup[] {
    let groups = this.tangentGroups.get(vector);
    if (groups) return groups;
    const need = parameterVectorBytes(this.layout);
    if (vector.size < need) {
      throw new Error(`${this.label}: vector ${vector.label} holds ${vector.size} bytes, needs ${need} (parameterVectorBytes: whole vec4s)`);
    }
    groups = this.layout.layers.map((_, l) => {
      const { kernel } = this.tangentKernels[l];
      const input = l === 0 ? this.obs : this.pass.activations[l - 1];
      // The first layer has no incoming tangent; any readable buffer fills the slot.
      const tangentIn = l === 0 ? input : this.tangents[l - 1];
      const resources: Record<string, GPUBuffer | GPUBufferBinding> = {
        args: this.tangentSlots[l],
        params: this.params,
        paramsVec4: this.params,
        vector,
        vectorVec4: vector,
        input,
        inputVec4: input,
        tangentIn,
        tangentInVec4: tangentIn,
        output: this.pass.activations[l],
        tangentOut: this.tangents[l],
      };
      return kernel.bindUsed(resources, `${this.label}.layer${l}`);
    });
    this.tangentGroups.set(vector, groups);
    return groups;
  }

  private dampingGroupFor(vector: GPUBuffer, result: GPUBuffer): GPUBindGroup {
    let byResult = this.dampingGroups.get(vector);
    if (!byResult) {
      byResult = new Map();
      this.dampingGroups.set(vector, byResult);
    }
    let group = byResult.get(result);
    if (!group) {
      if (result.size < this.layout.paramCount * 4) {
        throw new Error(`${this.label}: result ${result.label} holds ${result.size} bytes, needs ${this.layout.paramCount * 4}`);
      }
      group = this.kernels.addDamping.bind({ dampingArgs: this.dampingArgs, jtw: this.products, vector, result }, `${this.label}.damping`);
      byResult.set(result, group);
    }
    return group;
  }

  destroy(): void {
    this.pass.destroy();
    for (const b of [...this.tangents, this.products, this.dampingArgs, this.fisherArgs, this.tangentSlots[0].buffer]) b.destroy();
  }
}
