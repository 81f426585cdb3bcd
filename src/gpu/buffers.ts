/**
 * Buffer helpers: creation with labels, uploads, and readback for tests and
 * metrics. Offsets: `readBytes` counts bytes; `readFloat32`, `readUint32` and
 * `readInt32` count elements (4 bytes each), as their results do.
 */
import type { GpuContext } from './device';

type Typed = Float32Array | Uint32Array | Int32Array;

const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** A storage buffer of `bytes` (rounded up to 4), zero-filled, or holding `data`. */
export function storageBuffer(gpu: GpuContext, label: string, sizeOrData: number | Typed, extraUsage = 0): GPUBuffer {
  gpu.assertUsable(`storageBuffer(${label})`);
  const bytes = typeof sizeOrData === 'number' ? sizeOrData : sizeOrData.byteLength;
  const buffer = gpu.device.createBuffer({
    label,
    size: Math.max(16, Math.ceil(bytes / 4) * 4),
    usage: STORAGE() | extraUsage,
    mappedAtCreation: typeof sizeOrData !== 'number',
  });
  if (typeof sizeOrData !== 'number') {
    const Ctor = sizeOrData.constructor as { new (b: ArrayBuffer): Typed };
    new Ctor(buffer.getMappedRange()).set(sizeOrData);
    buffer.unmap();
  }
  return buffer;
}

/** A uniform buffer of `bytes` (rounded up to 16), optionally with initial contents. */
export function uniformBuffer(gpu: GpuContext, label: string, bytesOrData: number | ArrayBuffer): GPUBuffer {
  gpu.assertUsable(`uniformBuffer(${label})`);
  const bytes = typeof bytesOrData === 'number' ? bytesOrData : bytesOrData.byteLength;
  const buffer = gpu.device.createBuffer({
    label,
    size: Math.max(16, Math.ceil(bytes / 16) * 16),
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  if (typeof bytesOrData !== 'number') gpu.device.queue.writeBuffer(buffer, 0, bytesOrData);
  return buffer;
}

/**
 * Copies `byteLength` bytes of `source`, from byte `byteOffset` (a multiple of
 * 4), back to the host; waits for the queue. A GPU error this copy causes (a
 * destroyed `source`, say) is thrown by this call; one left by earlier work and
 * not reported yet is thrown once, here, and later reads work again.
 */
export async function readBytes(gpu: GpuContext, source: GPUBuffer, byteOffset = 0, byteLength = source.size - byteOffset): Promise<ArrayBuffer> {
  const what = `readBytes(${source.label || 'unlabelled buffer'})`;
  gpu.assertUsable(what);
  const size = Math.ceil(byteLength / 4) * 4;
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 4 !== 0) {
    throw new Error(`${what}: byteOffset must be a non-negative multiple of 4, got ${byteOffset}`);
  }
  if (!Number.isInteger(byteLength) || byteLength < 0 || byteOffset + size > source.size) {
    throw new Error(`${what}: byteLength must be an integer in [0, ${source.size - byteOffset}] (the buffer holds ${source.size} bytes), got ${byteLength}`);
  }
  const staging = gpu.device.createBuffer({
    label: `${source.label}.readback`,
    size: Math.max(4, size),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const recordCopy = () => {
      const encoder = gpu.device.createCommandEncoder({ label: `${source.label}.readback` });
      if (size > 0) encoder.copyBufferToBuffer(source, byteOffset, staging, 0, size);
      gpu.device.queue.submit([encoder.finish()]);
    };
    if (gpu.validate) {
      // An error of earlier checked work is reported first, then this copy's own.
      await gpu.sync();
      await gpu.scoped(what, recordCopy);
    } else {
      gpu.device.pushErrorScope('validation');
      recordCopy();
      const error = await gpu.device.popErrorScope();
      if (error) throw new Error(`${what}: GPU validation error: ${error.message.split('\n')[0]}`);
    }
    await staging.mapAsync(GPUMapMode.READ);
    const copy = staging.getMappedRange().slice(0, byteLength);
    staging.unmap();
    gpu.throwIfFailed();
    return copy;
  } finally {
    staging.destroy();
  }
}

/** `count` f32 values of `source` from element `offset` (default: to the end). */
export async function readFloat32(gpu: GpuContext, source: GPUBuffer, offset = 0, count?: number): Promise<Float32Array<ArrayBuffer>> {
  return new Float32Array(await readBytes(gpu, source, offset * 4, count === undefined ? undefined : count * 4));
}

/** `count` u32 values of `source` from element `offset` (default: to the end). */
export async function readUint32(gpu: GpuContext, source: GPUBuffer, offset = 0, count?: number): Promise<Uint32Array<ArrayBuffer>> {
  return new Uint32Array(await readBytes(gpu, source, offset * 4, count === undefined ? undefined : count * 4));
}

/** `count` i32 values of `source` from element `offset` (default: to the end). */
export async function readInt32(gpu: GpuContext, source: GPUBuffer, offset = 0, count?: number): Promise<Int32Array<ArrayBuffer>> {
  return new Int32Array(await readBytes(gpu, source, offset * 4, count === undefined ? undefined : count * 4));
}

/** Runs `record` in one compute pass and submits it. */
export function submitPass(gpu: GpuContext, label: string, record: (pass: GPUComputePassEncoder) => void): void {
  gpu.assertUsable(`submitPass(${label})`);
  gpu.checked(`submitPass(${label})`, () => {
    const encoder = gpu.device.createCommandEncoder({ label });
    const pass = encoder.beginComputePass({ label });
    record(pass);
    pass.end();
    gpu.device.queue.submit([encoder.finish()]);
  });
}
