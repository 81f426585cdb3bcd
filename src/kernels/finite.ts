/**
 * Finiteness check of named f32 tensors on the GPU (shaders/finite.wgsl): two
 * dispatches per tensor recorded into the caller's pass, and a flag slot in a
 * small f32 buffer (the metrics block) holding a bit mask of the tensors found
 * holding NaN or ±infinity (bits are only set; 0: all finite). The flag is
 * read back with the block it lives in; nothing else is. Given `agents`, the
 * same dispatches check every agent's block of each tensor and set the bit in
 * that agent's flag (its own metrics block), so an error can name the agent.
 */
import finiteWgsl from '../../shaders/finite.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type Kernel, type StructView, recordChecked } from '../gpu/kernel';
import { storageBuffer } from '../gpu/buffers';
import { UniformSlots } from '../gpu/slots';
import { COMMON_WGSL } from '../gpu/wgsl';
import { Reduction } from './reduce';
import type { Agents } from '../gpu/agents';

interface FiniteKernels {
  count: Kernel;
  flag: Kernel;
  args: StructView;
}

function finiteKernels(gpu: GpuContext): Promise<FiniteKernels> {
  return perDevice(gpu, 'kernels:finite', async () => {
    const family = await ShaderFamily.load(gpu, 'finite', [COMMON_WGSL, finiteWgsl]);
    const k = await family.kernels({
      count_non_finite: { dynamicOffsets: ['args'] },
      flag_non_finite: { dynamicOffsets: ['args'] },
    });
    return { count: k.count_non_finite, flag: k.flag_non_finite, args: family.struct('FiniteArgs') };
  });
}

/** Bits an f32 flag holds exactly. */
export const MAX_CHECKED_TENSORS = 24;

/** A tensor to check: `count` f32 values of `buffer` from element `offset` (in each agent's block). */
export interface CheckedTensor {
  name: string;
  buffer: GPUBuffer;
  count: number;
  offset?: number;
  /** Floats between agents' blocks of `buffer` (default offset + count: the tensor is the whole block). */
  stride?: number;
}

/** Options of `FiniteCheck.create`. */
export interface FiniteCheckOptions {
  tensors: readonly CheckedTensor[];
  /** f32 flag buffer (the metrics block; one per agent, agent-major, with `agents`). */
  flags: GPUBuffer;
  /** Slot of the flag in (each agent's block of) `flags`. */
  flagIndex: number;
  /** A population: every agent's tensors are checked into its own flag. Only `agents.count` is used. Default: one agent. */
  agents?: Agents;
  /** Floats between agents' blocks of `flags`, e.g. METRICS_BLOCK_FLOATS; required with `agents`. */
  flagStride?: number;
  label?: string;
}

/**
 * Checks named f32 tensors for NaN and ±inf on the GPU: `encode` records two dispatches per tensor and
 * sets bit k of `flags[flagIndex]` when tensor k holds one (bits are only set, never cleared).
 */
export class FiniteCheck {
  private constructor(
    private readonly kernels: FiniteKernels,
    private readonly names: readonly string[],
    private readonly counts: readonly { group: GPUBindGroup; partialCount: number }[],
    private readonly flagGroup: GPUBindGroup,
    private readonly slots: UniformSlots,
    private readonly partials: GPUBuffer,
    /** Agents each dispatch covers. */
    readonly agentCount: number,
  ) {}

  /** Checks `tensors` into `flags[flagIndex]` (agent a: flags[a · flagStride + flagIndex]), tensor k as bit k. */
  static async create(gpu: GpuContext, options: FiniteCheckOptions): Promise<FiniteCheck> {
    const { tensors, flags, flagIndex } = options;
    const label = options.label ?? 'finite';
    const agentCount = options.agents?.count ?? 1;
    if (!Number.isInteger(agentCount) || agentCount < 1) throw new Error(`${label}: agents.count must be a positive integer, got ${agentCount}`);
    if (tensors.length === 0 || tensors.length > MAX_CHECKED_TENSORS) {
      throw new Error(`${label}: ${tensors.length} tensors to check; an f32 flag holds 1 to ${MAX_CHECKED_TENSORS} bits`);
    }
    if (options.agents && options.flagStride === undefined) throw new Error(`${label}: flagStride (floats between agents' flag blocks) is required with agents`);
    const flagStride = options.flagStride ?? flagIndex + 1;
    if (!Number.isInteger(flagStride) || flagStride < flagIndex + 1) throw new Error(`${label}: flagStride must be an integer ≥ ${flagIndex + 1}, got ${flagStride}`);
    if (!Number.isInteger(flagIndex) || flagIndex < 0 || ((agentCount - 1) * flagStride + flagIndex + 1) * 4 > flags.size) {
      throw new Error(`${label}: flag index ${flagIndex}${agentCount > 1 ? ` (${agentCount} agents, stride ${flagStride})` : ''} is outside buffer ${flags.label} (${flags.size / 4} floats)`);
    }
    for (const t of tensors) {
      const offset = t.offset ?? 0;
      const stride = t.stride ?? offset + t.count;
      if (!Number.isInteger(t.count) || t.count < 1 || !Number.isInteger(offset) || offset < 0 || !Number.isInteger(stride) || stride < offset + t.count) {
        throw new Error(`${label}: tensor ${t.name} (${t.count} values from ${offset}, agent stride ${stride}) is not a valid range`);
      }
      if (((agentCount - 1) * stride + offset + t.count) * 4 > t.buffer.size) {
        const shape = agentCount > 1 ? ` for [${agentCount}][${stride}]` : '';
        throw new Error(`${label}: tensor ${t.name} (${t.count} values from ${offset}${shape}) does not fit buffer ${t.buffer.label} (${t.buffer.size / 4} floats)`);
      }
    }
    const kernels = await finiteKernels(gpu);
    const partialCounts = tensors.map((t) => Reduction.partialCount(t.count));
    // The checks run one after another in the pass, so they share one partials buffer.
    const partials = storageBuffer(gpu, `${label}.partials`, agentCount * Math.max(...partialCounts) * 4);
    const slots = UniformSlots.create(
      gpu,
      kernels.args,
      tensors.map((t, k) => {
        const offset = t.offset ?? 0;
        return { count: t.count, offset, partialCount: partialCounts[k], bit: k, flagIndex, stride: t.stride ?? offset + t.count, flagStride };
      }),
      `${label}.args`,
    );
    const counts = tensors.map((t, k) => ({
      group: kernels.count.bind({ args: slots.binding, bits: t.buffer, partials }, `${label}.${t.name}`),
      partialCount: partialCounts[k],
    }));
    const flagGroup = kernels.flag.bind({ args: slots.binding, partials, flags }, label);
    return new FiniteCheck(kernels, tensors.map((t) => t.name), counts, flagGroup, slots, partials, agentCount);
  }

  /** Dispatches recorded by encode. */
  get dispatchCount(): number {
    return 2 * this.names.length;
  }

  /** Records the check of every tensor into `pass`. */
  encode(pass: GPUComputePassEncoder): void {
    recordChecked(this.kernels.count.gpu, 'FiniteCheck.encode', pass, (pass) => {
      this.counts.forEach(({ group, partialCount }, k) => {
        const offset = [this.slots.offset(k)];
        this.kernels.count.dispatch(pass, group, partialCount, offset, this.agentCount);
        this.kernels.flag.dispatch(pass, this.flagGroup, 1, offset, this.agentCount);
      });
    });
  }

  /** The tensors a flag value names, in checking order (none: every tensor finite). */
  tensorsIn(flag: number): string[] {
    return this.names.filter((_, k) => Math.floor(flag / 2 ** k) % 2 === 1);
  }

  /** Releases the partial counts and uniforms it created (the tensors and flags belong to the caller). */
  destroy(): void {
    this.partials.destroy();
    this.slots.destroy();
  }
}
