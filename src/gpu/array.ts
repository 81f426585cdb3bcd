/**
 * GpuArray: a GPU buffer that knows its element type, shape and label, so a
 * kernel can check what it is given (`bufferArg`) and say which argument is
 * wrong, in one line, before any GPU work. Row-major, like the kernels'
 * `[T][N]` layouts; `view` reinterprets part of one buffer (a rollout's rows,
 * a flat vector as a matrix) without copying.
 */
import type { GpuContext } from './device';
import { readBytes } from './buffers';

/** Element types the kernels use: 4 bytes each. */
export type DType = 'f32' | 'u32' | 'i32';

/** The typed array of each element type. */
export interface TypedArrayOf {
  f32: Float32Array<ArrayBuffer>;
  u32: Uint32Array<ArrayBuffer>;
  i32: Int32Array<ArrayBuffer>;
}

/** Host data `GpuArray.from` uploads: its element type is the array's. */
export type HostArray = Float32Array | Uint32Array | Int32Array;

const CONSTRUCTORS = { f32: Float32Array, u32: Uint32Array, i32: Int32Array } as const;

function dtypeOf(data: unknown): DType | null {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Uint32Array) return 'u32';
  if (data instanceof Int32Array) return 'i32';
  return null;
}

/** What a value is, in a message: the constructor name for objects. */
function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value !== 'object') return `${typeof value} ${JSON.stringify(value)}`;
  return (value as object).constructor?.name ?? 'an object';
}

function checkShape(where: string, shape: readonly number[]): number {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return shape.reduce((a, b) => a * b, 1);
}

/** Whole vec4s: the aligned kernels read buffers 16 bytes at a time. */
const paddedBytes = (bytes: number) => Math.max(16, Math.ceil(bytes / 16) * 16);

/** The buffer a family of views shares, and whether it was released. */
interface Storage {
  readonly buffer: GPUBuffer;
  destroyed: boolean;
}

/** Options of `GpuArray.from`. */
export interface GpuArrayOptions {
  /** Row-major dimensions (default: one dimension, the data's length). */
  shape?: readonly number[];
  /** The buffer's label, also used in error messages. */
  label?: string;
}

/**
 * A GPU buffer with its element type `D`, row-major `shape` and `label`:
 * `GpuArray.from(gpu, data, { shape })`, `read()`, `write(data)`, `view(shape,
 * offset)`, `destroy()`. Every kernel wrapper takes one wherever it takes a
 * buffer, and checks it.
 */
export class GpuArray<D extends DType = DType> {
  private constructor(
    readonly gpu: GpuContext,
    private readonly storage: Storage,
    readonly dtype: D,
    readonly shape: readonly number[],
    /** First element, in elements of the buffer. */
    readonly offset: number,
    readonly label: string,
  ) {}

  /** Uploads `data` into a new buffer; the element type is the typed array's. */
  static from<T extends HostArray>(gpu: GpuContext, data: T, options: GpuArrayOptions = {}): GpuArray<T extends Float32Array ? 'f32' : T extends Uint32Array ? 'u32' : 'i32'> {
    const label = options.label ?? 'array';
    const where = `GpuArray.from(${label})`;
    const dtype = dtypeOf(data);
    if (!dtype) {
      throw new Error(
        `${where}: data is ${describeValue(data)}; the kernels take Float32Array (f32), Uint32Array (u32) or Int32Array (i32): convert it, e.g. Float32Array.from(data)`,
      );
    }
    const shape = options.shape ?? [data.length];
    const size = checkShape(where, shape);
    if (size !== data.length) throw new Error(`${where}: shape [${shape.join(', ')}] holds ${size} elements, data has ${data.length}`);
    gpu.assertUsable(where);
    const buffer = gpu.device.createBuffer({ label, size: paddedBytes(data.byteLength), usage: storageUsage(), mappedAtCreation: true });
    new CONSTRUCTORS[dtype](buffer.getMappedRange()).set(data);
    buffer.unmap();
    return new GpuArray(gpu, { buffer, destroyed: false }, dtype, [...shape], 0, label) as never;
  }

  /** A new zero-filled array. */
  static zeros<D extends DType>(gpu: GpuContext, dtype: D, shape: readonly number[], label = 'array'): GpuArray<D> {
    const where = `GpuArray.zeros(${label})`;
    if (!(dtype in CONSTRUCTORS)) throw new Error(`${where}: dtype must be f32, u32 or i32, got ${JSON.stringify(dtype)}`);
    const size = checkShape(where, shape);
    gpu.assertUsable(where);
    const buffer = gpu.device.createBuffer({ label, size: paddedBytes(size * 4), usage: storageUsage() });
    return new GpuArray(gpu, { buffer, destroyed: false }, dtype, [...shape], 0, label);
  }

  /**
   * An array over a buffer you already have (the raw path's buffers, a
   * wrapper's own): `destroy()` then destroys that buffer.
   */
  static wrap<D extends DType>(gpu: GpuContext, buffer: GPUBuffer, dtype: D, shape: readonly number[], label = buffer.label || 'array'): GpuArray<D> {
    const where = `GpuArray.wrap(${label})`;
    if (!(dtype in CONSTRUCTORS)) throw new Error(`${where}: dtype must be f32, u32 or i32, got ${JSON.stringify(dtype)}`);
    const size = checkShape(where, shape);
    if (size * 4 > buffer.size) throw new Error(`${where}: shape [${shape.join(', ')}] needs ${size * 4} bytes, the buffer holds ${buffer.size}`);
    return new GpuArray(gpu, { buffer, destroyed: false }, dtype, [...shape], 0, label);
  }

  /** The underlying buffer (shared by every view of it). */
  get buffer(): GPUBuffer {
    return this.storage.buffer;
  }

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get byteOffset(): number {
    return this.offset * 4;
  }

  get byteLength(): number {
    return this.size * 4;
  }

  /** Whether `destroy()` was called on this array or any view of its buffer. */
  get destroyed(): boolean {
    return this.storage.destroyed;
  }

  /** `f32 [32, 64] "rewards"`, as messages show it. */
  describe(): string {
    const at = this.offset ? ` from element ${this.offset}` : '';
    return `${this.dtype} [${this.shape.join(', ')}]${at} "${this.label}"`;
  }

  /**
   * The same buffer seen with another shape, from element `offset` of this
   * array (default 0): no copy. Bound to a kernel, a view must start at a
   * multiple of the device's minStorageBufferOffsetAlignment bytes.
   */
  view(shape: readonly number[], offset = 0, label = this.label): GpuArray<D> {
    const where = `${this.label}.view`;
    const size = checkShape(where, shape);
    if (!Number.isInteger(offset) || offset < 0 || offset + size > this.size) {
      throw new Error(`${where}: ${size} elements from element ${offset} do not fit in ${this.describe()} (${this.size} elements)`);
    }
    return new GpuArray(this.gpu, this.storage, this.dtype, [...shape], this.offset + offset, label);
  }

  /** Copies the elements back to the host (waits for queued work). */
  async read(): Promise<TypedArrayOf[D]> {
    this.assertAlive(`${this.label}.read`);
    const bytes = await readBytes(this.gpu, this.buffer, this.byteOffset, this.byteLength);
    return new CONSTRUCTORS[this.dtype](bytes) as TypedArrayOf[D];
  }

  /** Replaces the elements with `data` (same element type and count). */
  write(data: HostArray): void {
    const where = `${this.label}.write`;
    this.assertAlive(where);
    const dtype = dtypeOf(data);
    if (dtype !== this.dtype) throw new Error(`${where}: data is ${describeValue(data)}, the array holds ${this.dtype}`);
    if (data.length !== this.size) throw new Error(`${where}: data has ${data.length} elements, the array ${this.size}`);
    // A copy, so views of shared or offset memory are accepted too.
    this.gpu.device.queue.writeBuffer(this.buffer, this.byteOffset, new CONSTRUCTORS[dtype](data));
  }

  /** Releases the buffer; this array and every view of it report `destroyed`. */
  destroy(): void {
    if (this.storage.destroyed) return;
    this.storage.destroyed = true;
    this.storage.buffer.destroy();
  }

  /** Throws, naming `what`, if the buffer was destroyed or the context cannot be used. */
  assertAlive(what: string): void {
    if (this.storage.destroyed) throw new Error(`${what}: ${this.describe()} was destroyed`);
    this.gpu.assertUsable(what);
  }
}

function storageUsage(): number {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

/** A kernel argument: a GpuArray (checked) or a raw GPUBuffer (its size checked by the kernel). */
export type BufferArg = GpuArray | GPUBuffer;

/** What a kernel argument must be. */
export interface ArgSpec {
  dtype: DType;
  shape: readonly number[];
  /** The layout in the kernel's words, e.g. `[T][N]`, shown beside the numbers. */
  layout: string;
}

function isGpuBuffer(value: unknown): value is GPUBuffer {
  return typeof value === 'object' && value !== null && 'usage' in value && typeof (value as GPUBuffer).size === 'number' && 'mapState' in value;
}

/**
 * Checks kernel argument `name` against `spec` and returns what to bind: the
 * buffer (or, for a view not at element 0, its range). A GpuArray must have the
 * dtype and shape exactly and not be destroyed; a GPUBuffer passes through for
 * the kernel's own size check (the raw path). `where` names the call.
 */
export function bufferArg(where: string, name: string, value: unknown, spec: ArgSpec): GPUBuffer | GPUBufferBinding {
  if (isGpuBuffer(value)) return value;
  if (!(value instanceof GpuArray)) {
    const hint = dtypeOf(value) ? ' (upload it with GpuArray.from(gpu, data))' : '';
    throw new Error(`${where}: ${name} must be a GpuArray or a GPUBuffer, got ${describeValue(value)}${hint}`);
  }
  const expected = `${spec.dtype} ${spec.layout} = [${spec.shape.join(', ')}]`;
  if (value.destroyed) throw new Error(`${where}: ${name} (${value.describe()}) was destroyed`);
  if (value.dtype !== spec.dtype || value.shape.length !== spec.shape.length || value.shape.some((d, i) => d !== spec.shape[i])) {
    throw new Error(`${where}: ${name} must be ${expected}, got ${value.describe()}`);
  }
  value.gpu.assertUsable(where);
  if (value.offset === 0) return value.buffer;
  const alignment = value.gpu.limits.minStorageBufferOffsetAlignment;
  if (value.byteOffset % alignment !== 0) {
    throw new Error(`${where}: ${name} (${value.describe()}) starts at byte ${value.byteOffset}; a bound view must start at a multiple of ${alignment} bytes`);
  }
  return { buffer: value.buffer, offset: value.byteOffset, size: Math.min(paddedBytes(value.byteLength), value.buffer.size - value.byteOffset) };
}

/** The buffer behind a checked argument (the whole buffer for a view bound by range). */
export function argBuffer(bound: GPUBuffer | GPUBufferBinding): GPUBuffer {
  return 'usage' in bound ? bound : bound.buffer;
}

/** Throws naming the first of `arrays` that was destroyed since a kernel was bound to it. */
export function assertArraysAlive(where: string, arrays: Readonly<Record<string, unknown>>): void {
  for (const [name, value] of Object.entries(arrays)) {
    if (value instanceof GpuArray && value.destroyed) throw new Error(`${where}: ${name} (${value.describe()}) was destroyed`);
  }
}
