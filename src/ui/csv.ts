/**
 * Metrics as CSV: one row per iteration of each algorithm, columns `algo` then
 * METRIC_FIELDS (the names of the CLI's JSON lines). Missing values (no episode
 * completed, metrics of another algorithm) are empty cells.
 */
import { METRIC_FIELDS, type IterationMetrics } from '../core/metrics';

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function metricsCsv(runs: readonly { algo: string; history: readonly IterationMetrics[] }[]): string {
  const lines = [['algo', ...METRIC_FIELDS].join(',')];
  for (const { algo, history } of runs) {
    for (const m of history) lines.push([cell(algo), ...METRIC_FIELDS.map((field) => cell(m[field]))].join(','));
  }
  return `${lines.join('\n')}\n`;
}
