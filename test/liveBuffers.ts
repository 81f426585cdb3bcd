/**
 * Counts GPU buffers created and not yet destroyed, by wrapping
 * GPUDevice.prototype.createBuffer and GPUBuffer.prototype.destroy (the globals
 * the device helper installs in Node). A buffer destroyed twice counts once.
 */
export interface LiveSnapshot {
  count: number;
  bytes: number;
  buffers: ReadonlySet<GPUBuffer>;
}

export interface LiveBuffers {
  /** Buffers created since tracking began and not destroyed, and their bytes. */
  live(): LiveSnapshot;
  /** Labels of the buffers alive now that were not alive at `before`. */
  leftSince(before: LiveSnapshot): string[];
  /** Puts the original methods back. */
  stop(): void;
}

export function trackLiveBuffers(): LiveBuffers {
  const deviceProto = GPUDevice.prototype;
  const bufferProto = GPUBuffer.prototype;
  const createBuffer = deviceProto.createBuffer;
  const destroy = bufferProto.destroy;
  const sizes = new Map<GPUBuffer, number>();
  deviceProto.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor) {
    const buffer = createBuffer.call(this, descriptor);
    sizes.set(buffer, descriptor.size);
    return buffer;
  };
  bufferProto.destroy = function (this: GPUBuffer) {
    sizes.delete(this);
    return destroy.call(this);
  };
  return {
    live() {
      let bytes = 0;
      for (const size of sizes.values()) bytes += size;
      return { count: sizes.size, bytes, buffers: new Set(sizes.keys()) };
    },
    leftSince(before) {
      return [...sizes.keys()].filter((b) => !before.buffers.has(b)).map((b) => b.label);
    },
    stop() {
      deviceProto.createBuffer = createBuffer;
      bufferProto.destroy = destroy;
    },
  };
}
