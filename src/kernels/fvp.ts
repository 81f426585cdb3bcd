/**
 * Fisher-vector product of a softmax policy MLP over a batch (shaders/fvp.wgsl):
 * F v = (1/R) Σ_i J_iᵀ (diag p_i − p_i p_iᵀ) J_i v + damping · v, by forward-mode
 * tangents through the network (MlpTangents), a weighting at the logits and the
 * network's ordinary backward pass. No double backprop, no matrix.
 *
 * The product is taken at the activations of a policy forward pass. Either
 * share one (`pass`: e.g. TRPO's gradient pass; its owner records the forward),
 * or give the policy, rows and observations and the product prepares its own
 * (then `encodeForward` once after θ changes). Then `encode(pass, v, result)` as
 * often as needed (conjugate gradient). Bind groups are made on the first use
 * of a (v, result) pair and reused after that.
 *
 * Populations (`agents`): every dispatch covers agents.count agents, each with
 * its own damping (AgentParams.damping); the pass must be one over the same
 * agents (an Mlp created with them), vectors are [agents][stride] with stride =
 * parameterVectorBytes / 4 (whole vec4s). Without `agents`, a one-agent record
 * holding `damping` is made, so a single product is the same kernels.
 */
import fvpWgsl from '../../shaders/fvp.wgsl?raw';
import randomWgsl from '../../shaders/random.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type Kernel, type StructView, recordChecked } from '../gpu/kernel';
import { storageBuffer, uniformBuffer } from '../gpu/buffers';
import { assertArraysAlive, bufferArg, type BufferArg } from '../gpu/array';
import { COMMON_WGSL } from '../gpu/wgsl';
import { MlpTangents, parameterVectorBytes, type Mlp, type MlpPass } from './mlp';
import type { MlpLayout } from '../nn/mlp';
import { CATEGORICAL, distributionOf, type ActionDistribution } from './distribution';
import { agentParamsWgsl } from '../core/agentParams';
import { agentsBuffer, assertAgents, type Agents } from '../gpu/agents';

export { parameterVectorBytes };

/** The fvp.wgsl pipelines, compiled once per device. */
export interface FvpKernels {
  fisherWeights: Kernel;
  addDamping: Kernel;
  fisherArgs: StructView;
  dampingArgs: StructView;
}

/** fvp.wgsl with what it is loaded after, for `distribution`. */
export function fvpSources(distribution: ActionDistribution = CATEGORICAL): string[] {
  return [COMMON_WGSL, randomWgsl, distribution.wgsl, agentParamsWgsl(), fvpWgsl];
}

/** Compiles fvp.wgsl for `distribution` once per device (the product's own steps: fisher_weights, add_damping). */
export function fvpKernels(gpu: GpuContext, distribution: ActionDistribution = CATEGORICAL): Promise<FvpKernels> {
  return perDevice(gpu, `fvp:${distribution.name}`, async () => {
    const family = await ShaderFamily.load(gpu, 'fvp', fvpSources(distribution));
    const { fisher_weights, add_damping } = await family.kernels({ fisher_weights: undefined, add_damping: undefined });
    return { fisherWeights: fisher_weights, addDamping: add_damping, fisherArgs: family.struct('FisherArgs'), dampingArgs: family.struct('DampingArgs') };
  });
}

interface CommonOptions {
  /** Added times v (the seed's cg_damping); required without `agents`, which otherwise carry it per agent. */
  damping?: number;
  /** A population: agents.count products at once, agent a's damping agents[a].damping. */
  agents?: Agents;
  label?: string;
}

/** On the activations of an existing policy pass (its output layer gives the logits). */
export interface SharedForwardOptions extends CommonOptions {
  pass: MlpPass;
}

/** With a forward pass of its own. */
export interface OwnForwardOptions extends CommonOptions {
  /** The softmax policy (its output layer gives the logits). */
  policy: Mlp;
  rows: number;
  /** f32 [rows][inputDim]: observations the Fisher is averaged over (a GpuArray, or a raw buffer). */
  obs: BufferArg;
  /** f32 [paramCount]: parameters the Fisher is taken at (default the policy's own). */
  params?: BufferArg;
}

/** Either a shared forward pass (`pass`) or the policy, rows and observations for a pass of its own. */
export type FisherVectorProductOptions = SharedForwardOptions | OwnForwardOptions;

/** F·v + damping·v for a softmax policy MLP, matrix-free (see the module comment). */
export class FisherVectorProduct {
  readonly layout: MlpLayout;
  readonly rows: number;
  /** Agents covered by every dispatch. */
  readonly agentCount: number;

  private readonly fisherGroup: GPUBindGroup;
  private readonly fisherArgs: GPUBuffer;
  private readonly dampingArgs: GPUBuffer;
  private readonly dampingGroups = new Map<BufferArg, Map<BufferArg, GPUBindGroup>>();

  private constructor(
    private readonly kernels: FvpKernels,
    /** The forward at θ; its activations are the linearisation point. */
    readonly pass: MlpPass,
    /** Whether this product prepared the pass (and so records its forward and releases it). */
    private readonly ownsPass: boolean,
    private readonly tangents: MlpTangents,
    /** Jᵀw, the backward pass's gradient buffer. */
    private readonly products: GPUBuffer,
    readonly label: string,
    gpu: GpuContext,
    private readonly agents: Agents,
    /** The one-agent record made from `damping` (released with the product), or null for the caller's agents. */
    private readonly ownedAgents: Agents | null,
  ) {
    this.layout = pass.layout;
    this.rows = pass.rows;
    this.agentCount = agents.count;
    this.fisherArgs = uniformBuffer(gpu, `${label}.fisherArgs`, kernels.fisherArgs.pack({ rows: this.rows, numActions: this.layout.distParamsPerRow }));
    this.fisherGroup = kernels.fisherWeights.bind(
      { fisher: this.fisherArgs, logits: pass.output, logitTangents: tangents.output, weights: pass.gradOutput },
      label,
    );
    this.dampingArgs = uniformBuffer(gpu, `${label}.dampingArgs`, kernels.dampingArgs.pack({ count: this.layout.paramCount }));
  }

  /** Checks the options (one error naming the field), compiles the kernels once per device and allocates the tangents. */
  static async create(gpu: GpuContext, options: FisherVectorProductOptions): Promise<FisherVectorProduct> {
    const label = options.label ?? 'fvp';
    if (options.agents) assertAgents(label, options.agents);
    else if (!(options.damping !== undefined && options.damping >= 0)) throw new Error(`${label}: damping must be ≥ 0, got ${options.damping}`);
    const agentCount = options.agents?.count ?? 1;
    const layout = 'pass' in options ? options.pass.layout : options.policy.layout;
    const distribution = distributionOf(layout);
    distribution.checkParamsPerRow(layout.distParamsPerRow, label);
    if (!('pass' in options)) {
      // Named as the caller named them (the pass would call them input and params).
      if (!Number.isInteger(options.rows) || options.rows < 1) throw new Error(`${label}: rows must be a positive integer, got ${JSON.stringify(options.rows)}`);
      const agentDim = agentCount === 1 ? [] : [agentCount];
      const agentLayout = agentCount === 1 ? '' : '[agents]';
      bufferArg(label, 'obs', options.obs, { dtype: 'f32', shape: [...agentDim, options.rows, layout.inputDim], layout: `${agentLayout}[rows][inputDim]` });
      if (options.params !== undefined) {
        const params = agentCount === 1 ? [layout.paramCount] : [agentCount, parameterVectorBytes(layout) / 4];
        bufferArg(label, 'params', options.params, { dtype: 'f32', shape: params, layout: agentCount === 1 ? '[paramCount]' : '[agents][stride]' });
      }
    }
    const kernels = await fvpKernels(gpu, distribution);
    const pass =
      'pass' in options
        ? options.pass
        : options.policy.prepare({ rows: options.rows, input: options.obs, params: options.params, label: `${label}.network` });
    try {
      const tangents = await MlpTangents.create(gpu, pass, `${label}.tangents`);
      const products = storageBuffer(gpu, `${label}.jtw`, agentCount * parameterVectorBytes(layout));
      const ownedAgents = options.agents ? null : agentsBuffer(gpu, `${label}.agents`, [{ damping: options.damping }]);
      return new FisherVectorProduct(kernels, pass, !('pass' in options), tangents, products, label, gpu, options.agents ?? ownedAgents!, ownedAgents);
    } catch (error) {
      if (!('pass' in options)) pass.destroy();
      throw error;
    }
  }

  /** Records the forward pass at θ (needed once after θ changes, before encode; on a shared pass its owner's forward does this). */
  encodeForward(pass: GPUComputePassEncoder): void {
    recordChecked(this.kernels.fisherWeights.gpu, `${this.label}.encodeForward`, pass, (pass) => {
      this.pass.encodeForward(pass);
    });
  }

  /**
   * Records result = F·vector + damping·vector. Both f32 [paramCount]
   * GpuArrays (checked: one error naming the argument), or raw buffers of
   * parameterVectorBytes (vector) and paramCount floats (result); for a
   * population [agents][stride], stride = parameterVectorBytes / 4.
   */
  encode(pass: GPUComputePassEncoder, vector: BufferArg, result: BufferArg): void {
    recordChecked(this.kernels.fisherWeights.gpu, `${this.label}.encode`, pass, (pass) => {
      assertArraysAlive(`${this.label}.encode`, { vector, result });
      const damping = this.dampingGroupFor(vector, result);
      this.tangents.encode(pass, vector);
      this.kernels.fisherWeights.dispatch(pass, this.fisherGroup, this.rows, undefined, this.agentCount);
      this.pass.encodeBackward(pass, { grads: this.products });
      this.kernels.addDamping.dispatch(pass, damping, this.layout.paramCount, undefined, this.agentCount);
    });
  }

  private dampingGroupFor(vector: BufferArg, result: BufferArg): GPUBindGroup {
    let byResult = this.dampingGroups.get(vector);
    if (!byResult) {
      byResult = new Map();
      this.dampingGroups.set(vector, byResult);
    }
    let group = byResult.get(result);
    if (!group) {
      const where = `${this.label}.encode`;
      const P = this.agentCount;
      const stride = parameterVectorBytes(this.layout) / 4;
      const spec =
        P === 1
          ? { dtype: 'f32' as const, shape: [this.layout.paramCount], layout: '[paramCount]' }
          : { dtype: 'f32' as const, shape: [P, stride], layout: '[agents][stride]' };
      const vectorBinding = bufferArg(where, 'vector', vector, spec);
      const resultBinding = bufferArg(where, 'result', result, spec);
      // The tangents check the vector (whole vec4s per agent); a raw result needs every agent's block.
      const need = P === 1 ? this.layout.paramCount * 4 : P * stride * 4;
      if ('usage' in resultBinding && resultBinding.size < need) {
        throw new Error(`${this.label}: result ${resultBinding.label} holds ${resultBinding.size} bytes, needs ${need}${P === 1 ? '' : ` ([${P}][${stride}] f32)`}`);
      }
      group = this.kernels.addDamping.bind(
        { dampingArgs: this.dampingArgs, jtw: this.products, vector: vectorBinding, result: resultBinding, agents: this.agents.params },
        `${this.label}.damping`,
      );
      byResult.set(result, group);
    }
    return group;
  }

  /** Releases what this product created (a shared pass stays with its owner). */
  destroy(): void {
    if (this.ownsPass) this.pass.destroy();
    this.tangents.destroy();
    for (const b of [this.products, this.fisherArgs, this.dampingArgs]) b.destroy();
    this.ownedAgents?.params.destroy();
  }
}
