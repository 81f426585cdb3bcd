/**
 * Metrics as CSV: one row per iteration of each algorithm (of each agent of a
 * population: then an `agent` column follows `algo`), columns `algo` then
 * METRIC_FIELDS (the names of the CLI's JSON lines). Missing values (no episode
 * completed, metrics of another algorithm) are empty cells. Cells are CSV-quoted
 * and neutralised against formula injection (see `cell`).
 */
import { METRIC_FIELDS, type IterationMetrics } from '../core/metrics';

/** Text a spreadsheet would read as a formula (or that hides one behind a tab or carriage return). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Numbers and booleans are written as they are; text (the algorithm's name,
 * or whatever a loaded file held) gets a leading `'` and quotes when a
 * spreadsheet would otherwise run it as a formula, and quotes where CSV needs them.
 */
function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = String(value);
  const safe = FORMULA_START.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) || safe !== text ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function metricsCsv(runs: readonly { algo: string; agent?: number; history: readonly IterationMetrics[] }[]): string {
  const agents = runs.some((r) => r.agent !== undefined);
  const lines = [['algo', ...(agents ? ['agent'] : []), ...METRIC_FIELDS].join(',')];
  for (const { algo, agent, history } of runs) {
    for (const m of history) lines.push([cell(algo), ...(agents ? [cell(agent)] : []), ...METRIC_FIELDS.map((field) => cell(m[field]))].join(','));
  }
  return `${lines.join('\n')}\n`;
}
