/** Buffer helpers: creation with labels, uploads, and readback for tests and metrics. */
import type { GpuContext } from './device';

type Typed = Float32Array | Uint32Array | Int32Array;

const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** A storage buffer of `bytes` (rounded up to 4), zero-filled, or holding `data`. */
export function storageBuffer(gpu: GpuContext, label: string, sizeOrData: number | Typed, extraUsage = 0): GPUBuffer {
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
  const bytes = typeof bytesOrData === 'number' ? bytesOrData : bytesOrData.byteLength;
  const buffer = gpu.device.createBuffer({
    label,
    size: Math.max(16, Math.ceil(bytes / 16) * 16),
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  if (typeof bytesOrData !== 'number') gpu.device.queue.writeBuffer(buffer, 0, bytesOrData);
  return buffer;
}

/** Copies `byteLength` bytes of `source` back to the host (waits for the queue). */
export async function readBytes(gpu: GpuContext, source: GPUBuffer, byteOffset = 0, byteLength = source.size - byteOffset): Promise<ArrayBuffer> {
  const size = Math.ceil(byteLength / 4) * 4;
  const staging = gpu.device.createBuffer({
    label: `${source.label}.readback`,
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = gpu.device.createCommandEncoder({ label: `${source.label}.readback` });
  encoder.copyBufferToBuffer(source, byteOffset, staging, 0, size);
  gpu.device.queue.submit([encoder.finish()]);
  try {
    await staging.mapAsync(GPUMapMode.READ);
    const copy = staging.getMappedRange().slice(0, byteLength);
    staging.unmap();
    gpu.throwIfFailed();
    return copy;
  } catch (error) {
    gpu.throwIfFailed();
    throw error;
  } finally {
    staging.destroy();
  }
}

export async function readFloat32(gpu: GpuContext, source: GPUBuffer, offset = 0, count?: number): Promise<Float32Array> {
  return new Float32Array(await readBytes(gpu, source, offset * 4, count === undefined ? undefined : count * 4));
}

export async function readUint32(gpu: GpuContext, source: GPUBuffer, offset = 0, count?: number): Promise<Uint32Array> {
  return new Uint32Array(await readBytes(gpu, source, offset * 4, count === undefined ? undefined : count * 4));
}

export async function readInt32(gpu: GpuContext, source: GPUBuffer, offset = 0, count?: number): Promise<Int32Array> {
  return new Int32Array(await readBytes(gpu, source, offset * 4, count === undefined ? undefined : count * 4));
}

/** Runs `record` in one compute pass and submits it. */
export function submitPass(gpu: GpuContext, label: string, record: (pass: GPUComputePassEncoder) => void): void {
  const encoder = gpu.device.createCommandEncoder({ label });
  const pass = encoder.beginComputePass({ label });
  record(pass);
  pass.end();
  gpu.device.queue.submit([encoder.finish()]);
}
