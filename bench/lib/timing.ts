/**
 * Wall-clock timing of GPU work: one submit timed to onSubmittedWorkDone,
 * repeated after a warm-up, summarised by the median (the figure reported) and
 * the fastest repetition (which says more on a shared, noisy CPU).
 *
 * Beside wall time, the CPU seconds spent by whatever executes the GPU work
 * (see setCpuClock): on a CPU driver that is the work itself, and unlike wall
 * time it does not grow when other processes take the cores.
 */
import type { GpuContext } from '../../src/gpu/device';

export interface Samples {
  median: number;
  min: number;
  max: number;
  /** Every timed repetition, in the order taken. */
  samples: number[];
  /** The untimed warm-up runs (the first includes any lazy shader compilation). */
  warmup: number[];
  /** CPU seconds of each timed repetition, and their median; null without a CPU clock. */
  cpu: number[] | null;
  cpuMedian: number | null;
}

let cpuClock: (() => Promise<number>) | null = null;

/**
 * Sets the clock of CPU seconds used by the executing driver: Node's own
 * process.cpuUsage() (lavapipe and SwiftShader run inside it), or in the
 * browser the Chromium processes' CPU time read by the host.
 */
export function setCpuClock(clock: (() => Promise<number>) | null): void {
  cpuClock = clock;
}

/** CPU seconds on the clock now, or null without one. */
export async function cpuNow(): Promise<number | null> {
  return cpuClock ? cpuClock() : null;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summarize(samples: number[], warmup: number[] = [], cpu: number[] | null = null): Samples {
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples, warmup, cpu, cpuMedian: cpu ? median(cpu) : null };
}

/** Runs `once` `warmup` times, then `reps` times, and summarises the seconds it returns (the warm-ups apart). */
export async function repeat(warmup: number, reps: number, once: () => Promise<number>): Promise<Samples> {
  const warm: number[] = [];
  for (let k = 0; k < warmup; k++) warm.push(await once());
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let k = 0; k < reps; k++) {
    const c0 = await cpuNow();
    samples.push(await once());
    const c1 = await cpuNow();
    if (c0 !== null && c1 !== null) cpu.push(c1 - c0);
  }
  return summarize(samples, warm, cpu.length === reps ? cpu : null);
}

/** Records `encode` into one compute pass, submits it and returns the seconds until the queue is idle (encoding excluded). */
export async function timeSubmit(gpu: GpuContext, label: string, encode: (pass: GPUComputePassEncoder) => void): Promise<number> {
  const encoder = gpu.device.createCommandEncoder({ label });
  const pass = encoder.beginComputePass({ label });
  encode(pass);
  pass.end();
  const commands = encoder.finish();
  await gpu.device.queue.onSubmittedWorkDone();
  const start = performance.now();
  gpu.device.queue.submit([commands]);
  await gpu.sync();
  return (performance.now() - start) / 1000;
}
