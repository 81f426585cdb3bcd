/**
 * The diagonal Gaussian policy head (shaders/gaussian_head.wgsl): a network
 * whose layout has `head: 'gaussian'` outputs the means, and its log standard
 * deviations are the parameters after the layers'. MlpPass runs `forward`
 * after the last layer (so its `output` is the [rows][2D] rows the Gaussian
 * module reads) and `backward` before the first backward layer; MlpTangents
 * runs `forward` on the tangent, with the direction's log-std part. For a
 * population every buffer is agent-major ([P][rows][..] rows, [P][paramStride]
 * parameter vectors) and each dispatch covers the P agents.
 */
import gaussianHeadWgsl from '../../shaders/gaussian_head.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type Kernel, type StructView } from '../gpu/kernel';
import { storageBuffer, uniformBuffer } from '../gpu/buffers';
import { COMMON_WGSL } from '../gpu/wgsl';

/** The family's sources, in order (also what `wgsl('gaussian_head')` composes). */
export const GAUSSIAN_HEAD_SOURCES = [COMMON_WGSL, gaussianHeadWgsl] as const;

export interface GaussianHeadKernels {
  forward: Kernel;
  backward: Kernel;
  args: StructView;
}

export function gaussianHeadKernels(gpu: GpuContext): Promise<GaussianHeadKernels> {
  return perDevice(gpu, 'gaussian_head', async () => {
    const family = await ShaderFamily.load(gpu, 'gaussian_head', GAUSSIAN_HEAD_SOURCES);
    const { head_forward, head_backward } = await family.kernels({ head_forward: undefined, head_backward: undefined });
    return { forward: head_forward, backward: head_backward, args: family.struct('HeadArgs') };
  });
}

export interface GaussianHeadOptions {
  rows: number;
  /** Action components D. */
  dim: number;
  /** Index of the log-stds in (each agent's block of) parameter vectors. */
  offset: number;
  /** [P][rows][D]: where encodeBackward puts dLoss/d means (the network's output gradient). */
  meanGrads: GPUBuffer;
  label: string;
  /** Agents P of a population (default 1): rows is per agent. */
  agents?: number;
  /** Floats per agent in parameter vectors (source, grads); needed when agents > 1. */
  paramStride?: number;
}

/** One head over `rows` rows: its row buffers, and bind groups made on first use of each buffer pairing. */
export class GaussianHead {
  /** [P][rows][2D]: dLoss/d(means, log-stds) per row; a loss writes here before `encodeBackward`. */
  readonly rowGrads: GPUBuffer;
  /** Agents P every dispatch covers. */
  readonly agents: number;
  private readonly forwardArgs: GPUBuffer;
  /** By means buffer: the rows built from it, and a bind group per source. */
  private readonly forwardRows = new Map<GPUBuffer, { rowParams: GPUBuffer; groups: Map<GPUBuffer, GPUBindGroup> }>();
  private readonly backwardGroups = new Map<GPUBuffer, Map<string, GPUBindGroup>>();
  private readonly backwardArgs = new Map<string, GPUBuffer>();

  constructor(
    private readonly gpu: GpuContext,
    private readonly kernels: GaussianHeadKernels,
    readonly options: GaussianHeadOptions,
  ) {
    const { rows, dim, offset, label } = options;
    const agents = options.agents ?? 1;
    if (!Number.isInteger(agents) || agents < 1) throw new Error(`${label}: agents must be a positive integer, got ${JSON.stringify(agents)}`);
    if (agents > 1 && !(Number.isInteger(options.paramStride) && options.paramStride! >= offset + dim)) {
      throw new Error(`${label}: paramStride must be an integer >= offset + dim = ${offset + dim} with ${agents} agents, got ${JSON.stringify(options.paramStride)}`);
    }
    this.agents = agents;
    this.rowGrads = storageBuffer(gpu, `${label}.rowGrads`, agents * rows * 2 * dim * 4);
    this.forwardArgs = this.args(false, 1);
  }

  /** [P][rows][2D]: the rows built from `means` (one buffer per means buffer, whatever the source). */
  rowParams(means: GPUBuffer): GPUBuffer {
    return this.rowsFor(means).rowParams;
  }

  /** Records rowParams(means) = (means, source[offset ..]) per row. */
  encodeForward(pass: GPUComputePassEncoder, means: GPUBuffer, source: GPUBuffer): void {
    const rows = this.rowsFor(means);
    let group = rows.groups.get(source);
    if (!group) {
      group = this.kernels.forward.bind({ args: this.forwardArgs, means, source, rowParams: rows.rowParams }, `${this.options.label}.forward`);
      rows.groups.set(source, group);
    }
    this.kernels.forward.dispatch(pass, group, this.options.rows, undefined, this.agents);
  }

  /** Records meanGrads = rowGrads' mean part; grads[offset + i] = scale Σ_r rowGrads[r][D + i] (+ previous when accumulating). */
  encodeBackward(pass: GPUComputePassEncoder, grads: GPUBuffer, accumulate: boolean, scale: number): void {
    const argsKey = `${accumulate}:${Math.fround(scale)}`;
    let byArgs = this.backwardGroups.get(grads);
    if (!byArgs) this.backwardGroups.set(grads, (byArgs = new Map()));
    let group = byArgs.get(argsKey);
    if (!group) {
      let args = this.backwardArgs.get(argsKey);
      if (!args) this.backwardArgs.set(argsKey, (args = this.args(accumulate, scale)));
      group = this.kernels.backward.bind({ args, rowGrads: this.rowGrads, meanGrads: this.options.meanGrads, grads }, `${this.options.label}.backward`);
      byArgs.set(argsKey, group);
    }
    this.kernels.backward.dispatch(pass, group, Math.max(this.options.rows, this.options.dim), undefined, this.agents);
  }

  destroy(): void {
    for (const b of [this.rowGrads, this.forwardArgs, ...this.backwardArgs.values()]) b.destroy();
    for (const rows of this.forwardRows.values()) rows.rowParams.destroy();
  }

  private args(accumulate: boolean, scale: number): GPUBuffer {
    const { rows, dim, offset, label } = this.options;
    const paramStride = this.options.paramStride ?? 0;
    return uniformBuffer(this.gpu, `${label}.args`, this.kernels.args.pack({ rows, dim, offset, paramStride, accumulate: accumulate ? 1 : 0, scale }));
  }

  private rowsFor(means: GPUBuffer): { rowParams: GPUBuffer; groups: Map<GPUBuffer, GPUBindGroup> } {
    let rows = this.forwardRows.get(means);
    if (!rows) {
      const { rows: count, dim, label } = this.options;
      rows = { rowParams: storageBuffer(this.gpu, `${label}.rowParams${this.forwardRows.size}`, this.agents * count * 2 * dim * 4), groups: new Map() };
      this.forwardRows.set(means, rows);
    }
    return rows;
  }
}
