/**
 * Uniform slot tables: one uniform struct per slot, strided to the device's
 * dynamic-offset alignment, bound once and selected per dispatch by a dynamic
 * offset, so per-step and per-layer arguments never need a host write between
 * dispatches of one submit. The only place that strides and aligns slots.
 */
import type { GpuContext } from './device';
import type { StructView } from './kernel';

/** Bytes between consecutive slots of `view`: its padded size rounded up to the dynamic-offset alignment. */
export function uniformSlotStride(gpu: GpuContext, view: StructView): number {
  const align = gpu.limits.minUniformBufferOffsetAlignment;
  return Math.ceil(view.paddedSize / align) * align;
}

/**
 * A uniform buffer of `count` slots of one struct, each at a multiple of the device's dynamic-offset alignment:
 * bound once, one slot selected per dispatch by `offset(k)`.
 */
export class UniformSlots {
  readonly stride: number;
  readonly buffer: GPUBuffer;

  private constructor(
    private readonly gpu: GpuContext,
    readonly view: StructView,
    readonly count: number,
    label: string,
  ) {
    this.stride = uniformSlotStride(gpu, view);
    this.buffer = gpu.device.createBuffer({ label, size: Math.max(1, count) * this.stride, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  }

  /** A table holding `slots[k]` in slot k (every field of the struct given for each). */
  static create(gpu: GpuContext, view: StructView, slots: readonly Record<string, number | ArrayLike<number>>[], label: string): UniformSlots {
    gpu.assertUsable(label);
    const table = new UniformSlots(gpu, view, slots.length, label);
    const bytes = new ArrayBuffer(table.buffer.size);
    const data = new DataView(bytes);
    slots.forEach((values, k) => view.write(data, values, k * table.stride));
    gpu.device.queue.writeBuffer(table.buffer, 0, bytes);
    return table;
  }

  /** The binding for a bind group whose entry has a dynamic offset (slot 0 until offset). */
  get binding(): GPUBufferBinding {
    return { buffer: this.buffer, offset: 0, size: this.view.paddedSize };
  }

  /** A static binding of slot k (for bind groups without dynamic offsets). */
  slot(k: number): GPUBufferBinding {
    this.check(k);
    return { buffer: this.buffer, offset: k * this.stride, size: this.view.paddedSize };
  }

  /** The dynamic offset that selects slot k. */
  offset(k: number): number {
    this.check(k);
    return k * this.stride;
  }

  /** Queues new values for slot k (takes effect for the next submit). */
  write(k: number, values: Record<string, number | ArrayLike<number>>): void {
    this.check(k);
    const bytes = new ArrayBuffer(this.view.paddedSize);
    this.view.write(new DataView(bytes), values);
    this.gpu.device.queue.writeBuffer(this.buffer, k * this.stride, bytes);
  }

  /** Releases the buffer. */
  destroy(): void {
    this.buffer.destroy();
  }

  private check(k: number): void {
    if (!Number.isInteger(k) || k < 0 || k >= this.count) throw new Error(`${this.buffer.label}: slot ${k} is outside 0..${this.count - 1}`);
  }
}
