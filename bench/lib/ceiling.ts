/**
 * Training cases as a fraction of the adapter's workload ceiling (the peak
 * case's `ceiling_best` points): each training point's useful GFLOP/s over the
 * ceiling at the row count its update runs at (PPO and PPO-KL: the minibatch;
 * TRPO and REINFORCE: the whole batch), the nearest measured one on a log scale.
 */
import type { BenchRecord, Point } from './types';

export interface Ceiling {
  rows: number;
  gflops: number;
  shape: string;
  reduction: string;
}

const TRAINING = new Set(['ppo', 'ppo-kl', 'trpo', 'reinforce']);

/** The ceiling per row count a peak record measured (none if it failed or is another case). */
export function ceilingsOf(record: BenchRecord): Ceiling[] {
  if (record.case !== 'peak' || record.error) return [];
  return record.points
    .filter((p) => p.kernel === 'ceiling_best')
    .map((p) => ({ rows: p.rows as number, gflops: p.gflops as number, shape: String(p.shape), reduction: String(p.reduction) }));
}

/** Rows of the dense passes a training point's update runs (null: not a measured training point). */
export function updateRows(p: Point): number | null {
  if (typeof p.gflops !== 'number') return null;
  if (typeof p.minibatch === 'number') return p.minibatch;
  return typeof p.batch_size === 'number' ? p.batch_size : null;
}

/** The ceiling measured at the row count nearest `rows` (by ratio). */
export function nearestCeiling(ceilings: readonly Ceiling[], rows: number): Ceiling | null {
  let best: Ceiling | null = null;
  for (const c of ceilings) {
    if (!best || Math.abs(Math.log(c.rows / rows)) < Math.abs(Math.log(best.rows / rows))) best = c;
  }
  return best;
}

/** A training record with ceiling_gflops, ceiling_rows and of_ceiling on each measured point; others unchanged. */
export function withCeilingFractions(record: BenchRecord, ceilings: readonly Ceiling[]): BenchRecord {
  if (!TRAINING.has(record.case) || !ceilings.length) return record;
  const points = record.points.map((p) => {
    const rows = updateRows(p);
    const c = rows === null ? null : nearestCeiling(ceilings, rows);
    if (!c) return p;
    return { ...p, ceiling_rows: c.rows, ceiling_gflops: c.gflops, of_ceiling: Number(((p.gflops as number) / c.gflops).toFixed(3)) };
  });
  return { ...record, points, headline: record.headline ? (points[record.points.indexOf(record.headline)] ?? record.headline) : null };
}
