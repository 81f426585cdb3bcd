/**
 * The case registry and the one function both runners call: a fresh GPU
 * context per case (a failure or device loss stays in its case), the case's
 * outcome turned into a BenchRecord with the adapter and the headline figure.
 */
import { describeAdapter, type GpuContext } from '../../src/gpu/device';
import type { BenchOptions, RunnerName } from './options';
import { KERNEL_CASES } from './kernelCases';
import { TRAINING_CASES } from './trainingCases';
import { populationCase } from './populationCase';
import type { BenchCase, BenchRecord, CaseOutcome, Point } from './types';
import { applyVariant } from './variants';

export const CASES: readonly BenchCase[] = [...KERNEL_CASES, ...TRAINING_CASES, populationCase];

export function findCase(name: string): BenchCase {
  const found = CASES.find((c) => c.name === name);
  if (!found) throw new Error(`unknown case "${name}" (known: ${CASES.map((c) => c.name).join(', ')})`);
  return found;
}

function headlineIndex(outcome: CaseOutcome): number {
  if (outcome.headline !== undefined) return outcome.headline;
  const higherIsBetter = outcome.unit === 'sps' || outcome.unit === 'gflops';
  let best = -1;
  outcome.points.forEach((p, i) => {
    const v = p[outcome.unit];
    if (typeof v !== 'number') return;
    const b = best < 0 ? undefined : (outcome.points[best][outcome.unit] as number);
    if (b === undefined || (higherIsBetter ? v > b : v < b)) best = i;
  });
  return best;
}

/** A case's record before it has run: no adapter, no points. */
export function emptyRecord(name: string, options: BenchOptions, runner: RunnerName): BenchRecord {
  return {
    case: name,
    runner,
    adapter: 'unknown',
    adapter_info: null,
    features: [],
    storage_buffers: null,
    toggles: options.toggles,
    variant: options.variant,
    unit: null,
    headline: null,
    points: [],
    timing: '',
    case_s: 0,
    started_at: new Date().toISOString(),
  };
}

/** Runs one case on a GPU context of its own and returns its record (errors are recorded, not thrown). */
export async function runCase(
  name: string,
  options: BenchOptions,
  runner: RunnerName,
  requestGpu: () => Promise<GpuContext>,
  log: (line: string) => void,
): Promise<BenchRecord> {
  const started = performance.now();
  const record = emptyRecord(name, options, runner);
  let gpu: GpuContext | null = null;
  try {
    gpu = await requestGpu();
    if (options.variant) await applyVariant(gpu, options.variant);
    record.adapter = describeAdapter(gpu.adapter);
    record.adapter_info = gpu.adapter;
    record.features = [...gpu.features].sort();
    record.storage_buffers = gpu.limits.maxStorageBuffersPerShaderStage;
    const outcome = await findCase(name).run({ gpu, options, runner, log });
    gpu.throwIfFailed();
    record.unit = outcome.unit;
    record.points = outcome.points;
    record.timing = outcome.timing;
    if (outcome.profiles?.length) record.profiles = outcome.profiles;
    else if (!gpu.features.has('timestamp-query')) record.notes = ['no timestamp-query on this adapter: wall time only'];
    if (outcome.notes?.length) record.notes = [...(record.notes ?? []), ...outcome.notes];
    if (outcome.unavailable) record.unavailable = outcome.unavailable;
    const at = headlineIndex(outcome);
    if (at >= 0) {
      const headline: Point = outcome.points[at];
      record.headline = headline;
      // The case's unit first; the other headline figures the point has come along (solve: wall_s and sps).
      for (const key of [outcome.unit, 'sps', 'gflops', 'ms', 'wall_s'] as const) {
        const value = headline[key];
        if (typeof value === 'number' && record[key] === undefined) record[key] = value;
      }
    }
  } catch (error) {
    record.error = (error as Error).message;
  } finally {
    gpu?.destroy();
    record.case_s = Number(((performance.now() - started) / 1000).toFixed(2));
  }
  return record;
}
