/**
 * Per-kernel GPU time by replay: the dispatches an encode function records are
 * captured on a stand-in pass (pipeline, bind groups, dynamic offsets,
 * workgroup counts), then replayed one compute pass per dispatch with
 * `timestampWrites` around each, so every dispatch gets its own GPU duration.
 * Durations are summed per kernel (pipeline label, `family.entry`) and per call
 * site (bind-group label). Needs the `timestamp-query` feature.
 *
 * The replay runs the same kernels on the same buffers, so it changes their
 * contents: profile a trainer or pass made for measurement, never one whose
 * state matters afterwards. One pass per dispatch adds pass boundaries that the
 * real single-pass iteration does not have; compare the summed GPU time with
 * the iteration's wall time to see the gap (dispatch and submit overhead).
 */
import type { GpuContext } from '../../src/gpu/device';

export interface RecordedDispatch {
  pipeline: GPUComputePipeline;
  bindGroups: { index: number; group: GPUBindGroup; offsets: number[] }[];
  workgroups: [number, number, number];
}

/** A stand-in pass that appends every dispatch to `dispatches` and records nothing on the GPU. */
function recordingPass(dispatches: RecordedDispatch[]) {
  let pipeline: GPUComputePipeline | null = null;
  const bound = new Map<number, { group: GPUBindGroup; offsets: number[] }>();
  return {
    setPipeline(p: GPUComputePipeline) {
      pipeline = p;
    },
    setBindGroup(index: number, group: GPUBindGroup, offsets?: Iterable<number>) {
      bound.set(index, { group, offsets: offsets ? [...offsets] : [] });
    },
    dispatchWorkgroups(x: number, y = 1, z = 1) {
      if (!pipeline) throw new Error('recordDispatches: dispatch before setPipeline');
      dispatches.push({ pipeline, bindGroups: [...bound].map(([index, b]) => ({ index, ...b })), workgroups: [x, y, z] });
    },
    dispatchWorkgroupsIndirect() {
      throw new Error('recordDispatches: indirect dispatches cannot be replayed');
    },
  };
}

/** The dispatches `encode` records, in order, without recording anything on the GPU. */
export function recordDispatches(encode: (pass: GPUComputePassEncoder) => void): RecordedDispatch[] {
  const dispatches: RecordedDispatch[] = [];
  encode(recordingPass(dispatches) as unknown as GPUComputePassEncoder);
  return dispatches;
}

export interface KernelTime {
  /** Pipeline label (kernel) or bind-group label (call site). */
  name: string;
  dispatches: number;
  /** Summed GPU milliseconds. */
  ms: number;
  /** Share of the summed GPU time. */
  share: number;
}

export interface KernelProfile {
  dispatches: number;
  /** Summed GPU milliseconds over all dispatches. */
  gpuMs: number;
  /** Wall milliseconds of the replay (one pass per dispatch, so more than the real iteration). */
  replayWallMs: number;
  byKernel: KernelTime[];
  /** The call sites taking the most time. */
  bySite: KernelTime[];
}

/** Timestamp pairs per query set (the WebGPU limit is 4096 queries per set). */
const DISPATCHES_PER_CHUNK = 2048;

/** Per-kernel GPU times of what `encode` records, or null when the device has no timestamp-query. */
export async function profileKernels(gpu: GpuContext, encode: (pass: GPUComputePassEncoder) => void, topSites = 12): Promise<KernelProfile | null> {
  if (!gpu.features.has('timestamp-query')) return null;
  const device = gpu.device;
  const dispatches = recordDispatches(encode);
  const durationsNs = new Float64Array(dispatches.length);
  const querySet = device.createQuerySet({ label: 'bench.profile.queries', type: 'timestamp', count: 2 * DISPATCHES_PER_CHUNK });
  const resolveBuffer = device.createBuffer({
    label: 'bench.profile.resolve',
    size: 2 * DISPATCHES_PER_CHUNK * 8,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const staging = device.createBuffer({ label: 'bench.profile.staging', size: resolveBuffer.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  let wallMs = 0;
  try {
    for (let first = 0; first < dispatches.length; first += DISPATCHES_PER_CHUNK) {
      const chunk = dispatches.slice(first, first + DISPATCHES_PER_CHUNK);
      const encoder = device.createCommandEncoder({ label: 'bench.profile' });
      chunk.forEach((d, k) => {
        const pass = encoder.beginComputePass({
          label: 'bench.profile',
          timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * k, endOfPassWriteIndex: 2 * k + 1 },
        });
        pass.setPipeline(d.pipeline);
        for (const b of d.bindGroups) pass.setBindGroup(b.index, b.group, b.offsets);
        pass.dispatchWorkgroups(...d.workgroups);
        pass.end();
      });
      encoder.resolveQuerySet(querySet, 0, 2 * chunk.length, resolveBuffer, 0);
      encoder.copyBufferToBuffer(resolveBuffer, 0, staging, 0, 2 * chunk.length * 8);
      const start = performance.now();
      device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ, 0, 2 * chunk.length * 8);
      wallMs += performance.now() - start;
      const stamps = new BigUint64Array(staging.getMappedRange(0, 2 * chunk.length * 8));
      chunk.forEach((_, k) => {
        // Timestamps may be reset or unordered across passes on some drivers; such a pair counts as zero.
        const ns = Number(stamps[2 * k + 1] - stamps[2 * k]);
        durationsNs[first + k] = stamps[2 * k + 1] >= stamps[2 * k] ? ns : 0;
      });
      staging.unmap();
    }
    gpu.throwIfFailed();
  } finally {
    querySet.destroy();
    resolveBuffer.destroy();
    staging.destroy();
  }
  const totalNs = durationsNs.reduce((a, b) => a + b, 0);
  const group = (key: (d: RecordedDispatch) => string): KernelTime[] => {
    const sums = new Map<string, { ns: number; dispatches: number }>();
    dispatches.forEach((d, k) => {
      const name = key(d);
      const s = sums.get(name) ?? { ns: 0, dispatches: 0 };
      s.ns += durationsNs[k];
      s.dispatches++;
      sums.set(name, s);
    });
    return [...sums]
      .map(([name, s]) => ({ name, dispatches: s.dispatches, ms: s.ns / 1e6, share: totalNs ? s.ns / totalNs : 0 }))
      .sort((a, b) => b.ms - a.ms);
  };
  return {
    dispatches: dispatches.length,
    gpuMs: totalNs / 1e6,
    replayWallMs: wallMs,
    byKernel: group((d) => d.pipeline.label || 'unlabelled'),
    // Layer suffixes are folded so one network pass counts as one site.
    bySite: group((d) => (d.bindGroups[0]?.group.label || d.pipeline.label || 'unlabelled').replace(/\.layer\d+$/, '.layer*')).slice(0, topSites),
  };
}

export interface CapturedPass {
  /** The label the pass was begun with (the trainer's timePhases uses phase.collect, phase.advantage, phase.update). */
  label: string;
  dispatches: RecordedDispatch[];
  /** Host milliseconds from beginComputePass to end(): the cost of recording the pass. */
  encodeMs: number;
}

/**
 * Runs `during` with every compute pass begun on this device captured: the
 * passes still record and run as usual, and each one's dispatches and host
 * encoding time are kept. For code that builds its own passes (the trainer).
 */
export async function capturePasses<T>(gpu: GpuContext, during: () => Promise<T>): Promise<{ result: T; passes: CapturedPass[] }> {
  const device = gpu.device;
  const passes: CapturedPass[] = [];
  const createEncoder = device.createCommandEncoder;
  const own = Object.getOwnPropertyDescriptor(device, 'createCommandEncoder');
  device.createCommandEncoder = function (descriptor?: GPUCommandEncoderDescriptor): GPUCommandEncoder {
    const encoder = createEncoder.call(device, descriptor);
    const beginComputePass = encoder.beginComputePass;
    encoder.beginComputePass = function (passDescriptor?: GPUComputePassDescriptor): GPUComputePassEncoder {
      const start = performance.now();
      const real = beginComputePass.call(encoder, passDescriptor);
      const captured: CapturedPass = { label: passDescriptor?.label ?? '', dispatches: [], encodeMs: 0 };
      const recorder = recordingPass(captured.dispatches);
      passes.push(captured);
      return new Proxy(real, {
        get(target, key) {
          if (key === 'end') {
            return () => {
              target.end();
              captured.encodeMs = performance.now() - start;
            };
          }
          const value = Reflect.get(target, key, target);
          if (typeof value !== 'function') return value;
          const record = (recorder as Record<PropertyKey, unknown>)[key];
          return (...args: unknown[]) => {
            if (typeof record === 'function') record(...args);
            return value.apply(target, args);
          };
        },
      });
    };
    return encoder;
  };
  try {
    return { result: await during(), passes };
  } finally {
    if (own) Object.defineProperty(device, 'createCommandEncoder', own);
    else delete (device as { createCommandEncoder?: unknown }).createCommandEncoder;
  }
}

/** Replays recorded dispatches into a pass (for profileKernels or timing a captured phase again). */
export function replay(dispatches: readonly RecordedDispatch[]): (pass: GPUComputePassEncoder) => void {
  return (pass) => {
    for (const d of dispatches) {
      pass.setPipeline(d.pipeline);
      for (const b of d.bindGroups) pass.setBindGroup(b.index, b.group, b.offsets);
      pass.dispatchWorkgroups(...d.workgroups);
    }
  };
}
