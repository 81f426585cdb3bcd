/** Text forms of records: the console table, and the markdown table appended to the run log (lib/save.ts). */
import type { BenchRecord, Point } from './types';

/** Point fields that are measured figures; every other field describes the configuration. */
export const FIGURE_KEYS: readonly string[] = [
  'sps',
  'best_sps',
  'gflops',
  'best_gflops',
  'ms',
  'best_ms',
  'median_ms',
  'us_per_step',
  'us_per_dispatch',
  'iteration_s',
  'agent_iteration_s',
  'agent_sps',
  'speedup',
  'warmup_s',
  'skipped',
  'invocations_per_iter',
  'iterations_timed',
  'phases_s',
  'encode_ms',
  'phase_gflops',
  'flops',
  'flops_per_iter',
  'bytes_per_iter',
  'dispatches',
  'dispatches_per_step',
  'mean_return_last',
  'wall_s',
  'env_steps',
  'iterations',
  'final_mean_return',
  'solved',
  'first_submit_ms',
  'cpu_s',
  'iteration_cpu_s',
  'phases_cpu_s',
  'ceiling_gflops',
  'of_ceiling',
  'of_ceiling_paired',
  'of_ceiling_paired_range',
  'ceiling_paired_gflops',
  'ceiling_paired_rows',
  'ceiling_paired_kernel',
  'paired_iteration_s',
  'below_4096',
  'median_invocations',
  'min_invocations',
  'max_invocations',
  'small_kernels',
];
const FIGURES = new Set(FIGURE_KEYS);

export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1e6) return `${(x / 1e6).toFixed(a >= 1e8 ? 0 : 2)}M`;
  if (a >= 1e4) return `${(x / 1e3).toFixed(a >= 1e5 ? 0 : 1)}k`;
  if (Number.isInteger(x) || a >= 100) return x.toFixed(0);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

/** The runner, adapter, toggles and variant of a record, in one short line. */
export function setupOf(r: BenchRecord): string {
  const a = r.adapter_info;
  const adapter = a ? `${a.vendor} / ${a.architecture}${a.isFallback ? ' (CPU)' : ''}` : r.adapter;
  return [adapter, ...r.toggles, ...(r.variant ? [`variant ${r.variant}`] : [])].join(', ');
}

function formatValue(v: unknown): string {
  if (typeof v === 'number') return formatNumber(v);
  if (v && typeof v === 'object') {
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k} ${formatValue(x)}`)
      .join(', ');
  }
  return String(v);
}

export function describePoint(p: Point): string {
  return Object.entries(p)
    .filter(([k]) => !FIGURES.has(k))
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(' ');
}

/** The figures of a point in words, the case's unit first. */
export function pointFigures(p: Point, unit: string | null): string {
  const parts: string[] = [];
  const put = (key: string, label: string, suffix = '') => {
    const v = p[key];
    if (v !== undefined && v !== null) parts.push(`${label} ${formatValue(v)}${suffix}`);
  };
  if (unit === 'sps') put('sps', '', ' env-steps/s');
  if (unit === 'gflops') put('gflops', '', ' GFLOP/s');
  if (unit === 'ms') put('ms', '', ' ms');
  if (unit === 'wall_s') put('wall_s', '', ' s');
  put('iteration_s', '', ' s/iteration');
  put('agent_iteration_s', '', ' s/iteration per agent');
  if (typeof p.speedup === 'number') parts.push(`${formatNumber(p.speedup)}× the P = 1 env-steps/s`);
  put('skipped', 'skipped:');
  put('iteration_cpu_s', '', ' CPU-s/iteration');
  put('cpu_s', '', ' CPU-s');
  put('phases_s', 'phases (s):');
  put('encode_ms', 'host encoding (ms):');
  put('dispatches', 'dispatches');
  if (unit !== 'gflops') put('gflops', '', ' GFLOP/s');
  if (typeof p.of_ceiling === 'number') parts.push(`${(100 * p.of_ceiling).toFixed(0)}% of the ${formatNumber(p.ceiling_gflops as number)} GFLOP/s ceiling`);
  if (typeof p.of_ceiling_paired === 'number') {
    const [lo, hi] = p.of_ceiling_paired_range as number[];
    parts.push(`${(100 * p.of_ceiling_paired).toFixed(0)}% of the ceiling paired (${(100 * lo).toFixed(0)}–${(100 * hi).toFixed(0)}%, ${formatNumber(p.ceiling_paired_gflops as number)} GFLOP/s at ${p.ceiling_paired_rows} rows, ${p.ceiling_paired_kernel})`);
  }
  put('below_4096', 'dispatches below 4096 invocations:');
  put('median_invocations', 'median invocations');
  put('invocations_per_iter', 'invocations per iteration');
  put('us_per_dispatch', '', ' µs/dispatch');
  put('us_per_step', '', ' µs/step');
  put('env_steps', 'env steps');
  put('solved', 'solved');
  return parts.map((s) => s.trim()).join('; ');
}

export function consoleLines(r: BenchRecord): string[] {
  const extras = [...(r.toggles.length ? [`toggles ${r.toggles.join(',')}`] : []), ...(r.variant ? [`variant ${r.variant}`] : [])];
  const head = `[${r.runner}] ${r.case} — ${r.adapter}${extras.length ? ` (${extras.join('; ')})` : ''} (${r.case_s} s)`;
  if (r.error) return [head, `  ERROR: ${r.error}`];
  if (r.unavailable) return [head, `  unavailable: ${r.unavailable}`];
  const lines = [head, ...r.points.map((p) => `  ${describePoint(p)}: ${pointFigures(p, r.unit)}`)];
  for (const { what, profile } of r.profiles ?? []) {
    const top = profile.byKernel.slice(0, 4).map((k) => `${k.name} ${(100 * k.share).toFixed(0)}%`);
    lines.push(`  GPU time ${what}: ${profile.gpuMs.toFixed(1)} ms over ${profile.dispatches} dispatches (${top.join(', ')})`);
  }
  return lines;
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** One markdown section: a heading with the run's context and a row per point. */
export function markdownSection(records: BenchRecord[], meta: RunMeta): string {
  const rows = records.flatMap((r) => {
    const adapter = setupOf(r);
    const load = r.load_start ? r.load_start[0].toFixed(1) : '';
    if (r.error || r.unavailable) return [`| ${r.case} | ${r.runner} | ${cell(adapter)} | | ${cell(r.error ? `error: ${r.error}` : `unavailable: ${r.unavailable}`)} | ${load} |`];
    return r.points.map((p) => `| ${r.case} | ${r.runner} | ${cell(adapter)} | ${cell(describePoint(p))} | ${cell(pointFigures(p, r.unit))} | ${load} |`);
  });
  return [
    `### ${meta.date}${meta.label ? ` — ${meta.label}` : ''}`,
    '',
    `Commit ${meta.commit}, \`npm run bench -- ${meta.argv.join(' ')}\`, host ${meta.host}; medians after warm-up (see each case's timing in the JSON). Load is the 1-minute load average when the case started (2 cores: above 2 means other work shared the CPU).`,
    '',
    '| case | runner | adapter | configuration | figures | load |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

export interface RunMeta {
  date: string;
  label: string;
  commit: string;
  argv: string[];
  host: string;
}
