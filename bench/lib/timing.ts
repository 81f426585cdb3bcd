/**
 * Wall-clock timing of GPU work: one submit timed to onSubmittedWorkDone,
 * repeated after a warm-up, summarised by the median (the figure reported) and
 * the fastest repetition (which says more on a shared, noisy CPU).
 */
import type { GpuContext } from '../../src/gpu/device';

export interface Samples {
  median: number;
  min: number;
  max: number;
  /** Every timed repetition, in the order taken. */
  samples: number[];
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summarize(samples: number[]): Samples {
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples };
}

/** Runs `once` `warmup` times untimed, then `reps` times, and summarises the seconds it returns. */
export async function repeat(warmup: number, reps: number, once: () => Promise<number>): Promise<Samples> {
  for (let k = 0; k < warmup; k++) await once();
  const samples: number[] = [];
  for (let k = 0; k < reps; k++) samples.push(await once());
  return summarize(samples);
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
