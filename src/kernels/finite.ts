/**
 * Finiteness check of named f32 tensors on the GPU (shaders/finite.wgsl): two
 * dispatches per tensor recorded into the caller's pass, and a flag slot in a
 * small f32 buffer (the metrics block) holding a bit mask of the tensors found
 * holding NaN or ±infinity (bits are only set; 0: all finite). The flag is
 * read back with the block it lives in; nothing else is.
 */
import finiteWgsl from '../../shaders/finite.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type Kernel, type StructView, recordChecked } from '../gpu/kernel';
import { storageBuffer } from '../gpu/buffers';
import { UniformSlots } from '../gpu/slots';
import { COMMON_WGSL } from '../gpu/wgsl';
import { Reduction } from './reduce';

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

/** A tensor to check: `count` f32 values of `buffer` from element `offset`. */
export interface CheckedTensor {
  name: string;
  buffer: GPUBuffer;
  count: number;
  offset?: number;
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
  ) {}

  /** Checks `tensors` into `flags[flagIndex]`, tensor k as bit k. */
  static async create(
    gpu: GpuContext,
    options: { tensors: readonly CheckedTensor[]; flags: GPUBuffer; flagIndex: number; label?: string },
  ): Promise<FiniteCheck> {
    const { tensors, flags, flagIndex } = options;
    const label = options.label ?? 'finite';
    if (tensors.length === 0 || tensors.length > MAX_CHECKED_TENSORS) {
      throw new Error(`${label}: ${tensors.length} tensors to check; an f32 flag holds 1 to ${MAX_CHECKED_TENSORS} bits`);
    }
    if (!Number.isInteger(flagIndex) || flagIndex < 0 || (flagIndex + 1) * 4 > flags.size) {
      throw new Error(`${label}: flag index ${flagIndex} is outside buffer ${flags.label} (${flags.size / 4} floats)`);
    }
    for (const t of tensors) {
      const offset = t.offset ?? 0;
      if (!Number.isInteger(t.count) || t.count < 1 || !Number.isInteger(offset) || offset < 0 || (offset + t.count) * 4 > t.buffer.size) {
        throw new Error(`${label}: tensor ${t.name} (${t.count} values from ${offset}) does not fit buffer ${t.buffer.label} (${t.buffer.size / 4} floats)`);
      }
    }
    const kernels = await finiteKernels(gpu);
    const partialCounts = tensors.map((t) => Reduction.partialCount(t.count));
    // The checks run one after another in the pass, so they share one partials buffer.
    const partials = storageBuffer(gpu, `${label}.partials`, Math.max(...partialCounts) * 4);
    const slots = UniformSlots.create(
      gpu,
      kernels.args,
      tensors.map((t, k) => ({ count: t.count, offset: t.offset ?? 0, partialCount: partialCounts[k], bit: k, flagIndex })),
      `${label}.args`,
    );
    const counts = tensors.map((t, k) => ({
      group: kernels.count.bind({ args: slots.binding, bits: t.buffer, partials }, `${label}.${t.name}`),
      partialCount: partialCounts[k],
    }));
    const flagGroup = kernels.flag.bind({ args: slots.binding, partials, flags }, label);
    return new FiniteCheck(kernels, tensors.map((t) => t.name), counts, flagGroup, slots, partials);
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
        this.kernels.count.dispatch(pass, group, partialCount, offset);
        this.kernels.flag.dispatch(pass, this.flagGroup, 1, offset);
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
