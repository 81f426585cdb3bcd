/**
 * The self-contained HTML report: the run's records embedded as JSON, uPlot's
 * script and stylesheet inlined, and `renderReport` (below) drawing the charts
 * when the file is opened: env steps/s against the number of envs per adapter
 * (env, rollout), MLP GFLOP/s against the batch, and the phase split of every
 * training configuration, then tables (training summary with the fraction of
 * the adapter's peak, per-kernel GPU times, every point).
 */
import uplotScript from 'uplot/dist/uPlot.iife.min.js?raw';
import uplotStyle from 'uplot/dist/uPlot.min.css?raw';
import type uPlot from 'uplot';
import { FIGURE_KEYS, type RunMeta } from './format';
import type { BenchRecord } from './types';

export interface ReportData {
  meta: RunMeta;
  records: BenchRecord[];
}

/** What the page receives: the run, and which point fields are figures (the rest is configuration). */
interface PageData extends ReportData {
  figureKeys: readonly string[];
}

/** The report as one HTML string. */
export function reportHtml(data: ReportData): string {
  // Inside <script>, only "</script" could end the block early.
  const page: PageData = { ...data, figureKeys: FIGURE_KEYS };
  const json = JSON.stringify(page).replace(/<\/(script)/gi, '<\\/$1');
  const title = `webgpu-rl benchmarks — ${data.meta.date}${data.meta.label ? ` — ${data.meta.label}` : ''}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title.replace(/</g, '&lt;')}</title>
<style>${uplotStyle}</style>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1000px; color: #1d2330; padding: 0 16px; }
  h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #dde; padding-bottom: 4px; }
  table { border-collapse: collapse; margin: 8px 0 16px; font-size: 12.5px; }
  th, td { border: 1px solid #dde; padding: 3px 7px; text-align: left; vertical-align: top; }
  th { background: #f3f4f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .meta { color: #556; } .chart { margin: 12px 0 24px; } .note { color: #667; font-size: 12.5px; }
  .error { color: #b00020; }
</style>
</head>
<body>
<div id="report"></div>
<script>${uplotScript}</script>
<script>
const REPORT_DATA = ${json};
(${renderReport.toString()})(REPORT_DATA, uPlot, document.getElementById('report'));
</script>
</body>
</html>
`;
}

/**
 * Runs in the report page (serialised with toString): everything it uses is
 * defined inside it or passed in.
 */
function renderReport(data: PageData, plot: typeof uPlot, root: HTMLElement): void {
  const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
  const phaseColors: Record<string, string> = { collect: '#4c9be8', advantage: '#f2a93b', update: '#d9534f' };
  const el = <K extends keyof HTMLElementTagNameMap>(tag: K, parent: HTMLElement, text?: string, className?: string) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (className) e.className = className;
    parent.appendChild(e);
    return e;
  };
  const fmt = (x: unknown): string => {
    if (typeof x !== 'number') return x === null || x === undefined ? '' : typeof x === 'object' ? JSON.stringify(x) : String(x);
    const a = Math.abs(x);
    if (a >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
    if (a >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
    if (Number.isInteger(x) || a >= 100) return x.toFixed(0);
    if (a >= 1) return x.toFixed(2);
    return x.toPrecision(3);
  };
  const shortAdapter = (r: BenchRecord) => {
    const a = r.adapter_info;
    const name = a ? (a.backend && a.backend !== 'system' && a.backend !== 'browser' ? a.backend : a.architecture || a.vendor || a.description) : r.adapter;
    return [`${r.runner} · ${name}`, ...r.toggles, ...(r.variant ? [`variant ${r.variant}`] : [])].join(' · ');
  };
  const ok = (r: BenchRecord) => !r.error && !r.unavailable;
  const table = (parent: HTMLElement, head: string[], rows: unknown[][], numeric: boolean[] = []) => {
    const t = el('table', parent);
    const tr = el('tr', el('thead', t));
    for (const h of head) el('th', tr, h);
    const body = el('tbody', t);
    for (const row of rows) {
      const r = el('tr', body);
      row.forEach((v, i) => el('td', r, fmt(v), numeric[i] ? 'num' : undefined));
    }
  };

  const { meta, records } = data;
  el('h1', root, `webgpu-rl benchmarks${meta.label ? ` — ${meta.label}` : ''}`);
  el('p', root, `${meta.date} · commit ${meta.commit} · host ${meta.host} · npm run bench -- ${meta.argv.join(' ')}`, 'meta');

  el('h2', root, 'Adapters');
  const adapters = new Map<string, BenchRecord>();
  for (const r of records) if (r.adapter_info) adapters.set(shortAdapter(r), r);
  table(
    root,
    ['runner · adapter', 'description', 'fallback', 'per-kernel GPU time'],
    [...adapters].map(([key, r]) => [key, r.adapter, r.adapter_info?.isFallback ? 'yes (CPU)' : 'no', r.features.includes('timestamp-query') ? 'timestamp-query' : 'wall time only']),
  );

  // Lines of `y` against `x` per runner · adapter (log-log), for one case.
  const scaling = (caseName: string, x: string, y: string, yLabel: string, title: string, filter: (p: Record<string, unknown>) => boolean = () => true, seriesOf: (p: Record<string, unknown>) => string = () => '') => {
    const lines = new Map<string, Map<number, number>>();
    for (const r of records) {
      if (r.case !== caseName || !ok(r)) continue;
      for (const p of r.points) {
        if (!filter(p) || typeof p[x] !== 'number' || typeof p[y] !== 'number') continue;
        const key = `${shortAdapter(r)}${seriesOf(p) ? ` · ${seriesOf(p)}` : ''}`;
        if (!lines.has(key)) lines.set(key, new Map());
        lines.get(key)!.set(p[x] as number, p[y] as number);
      }
    }
    if (!lines.size) return;
    const xs = [...new Set([...lines.values()].flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
    const columns: (number | null)[][] = [xs, ...[...lines.values()].map((m) => xs.map((v) => m.get(v) ?? null))];
    el('h2', root, title);
    const box = el('div', root, undefined, 'chart');
    new plot(
      {
        width: 940,
        height: 340,
        scales: { x: { time: false, distr: 3 }, y: { distr: 3 } },
        axes: [
          { label: x.replace(/_/g, ' '), values: (_u, splits) => splits.map((v) => fmt(v)) },
          { label: yLabel, size: 70, values: (_u, splits) => splits.map((v) => fmt(v)) },
        ],
        series: [
          { label: x },
          ...[...lines.keys()].map((label, i) => ({ label, stroke: palette[i % palette.length], width: 2, spanGaps: true, points: { show: true, size: 7 }, value: (_u: uPlot, v: number | null) => fmt(v) })),
        ],
      },
      columns as uPlot.AlignedData,
      box,
    );
  };

  scaling('env', 'num_envs', 'sps', 'env steps / s', 'Env stepping alone: env steps/s against the number of envs', () => true, (p) => String(p.env ?? 'CartPole-v1'));
  scaling('rollout', 'num_envs', 'sps', 'env steps / s', 'Rollout (env + policy forward + sampling): env steps/s against the number of envs');
  scaling('population', 'population', 'sps', 'env steps / s, all agents', 'Populations: aggregate env steps/s against the number of agents P (one trainer, one submit per iteration)', () => true, (p) => `${p.algo} ${p.config}`);
  scaling('mlp', 'rows', 'gflops', 'GFLOP/s', 'MLP 4→64→64→2: GFLOP/s against the batch', (p) => p.network === '4-64-64-2', (p) => String(p.mode));

  const training = records.filter((r) => ['ppo', 'ppo-kl', 'trpo', 'reinforce'].includes(r.case) && ok(r) && r.points.length);
  const runners = [...new Set(training.map(shortAdapter))];
  if (runners.length) el('h2', root, 'Where a training iteration’s time goes: seconds per phase (trainer.timePhases)');
  for (const runner of runners) {
    const points = training.filter((r) => shortAdapter(r) === runner).flatMap((r) => r.points);
    const labels = points.map((p) => `${p.algo} ${p.config}`);
    const phase = (name: string) => points.map((p) => ((p.phases_s as Record<string, number> | undefined)?.[name] ?? 0));
    const collect = phase('collect');
    const advantage = phase('advantage');
    const update = phase('update');
    // Stacked by drawing cumulative bars, tallest first; the legend shows each phase's own value.
    const stacks = [
      { label: 'update', raw: update, top: collect.map((c, i) => c + advantage[i] + update[i]) },
      { label: 'advantage', raw: advantage, top: collect.map((c, i) => c + advantage[i]) },
      { label: 'collect', raw: collect, top: collect },
    ];
    const box = el('div', root, undefined, 'chart');
    el('p', box, runner, 'meta');
    const bars = plot.paths.bars!({ size: [0.6, 90] });
    const xs = points.map((_, i) => i);
    new plot(
      {
        width: 940,
        height: 300,
        scales: { x: { time: false, range: [-0.6, points.length - 0.4] }, y: { range: (_u, _min, max) => [0, max * 1.1] } },
        axes: [
          { splits: () => xs, values: (_u, splits) => splits.map((i) => labels[i] ?? ''), size: 40 },
          { label: 'seconds per iteration', size: 70, values: (_u, splits) => splits.map((v) => fmt(v)) },
        ],
        series: [
          { label: 'configuration', value: (_u, i) => labels[i] ?? '' },
          ...stacks.map((s) => ({
            label: s.label,
            fill: phaseColors[s.label],
            stroke: phaseColors[s.label],
            paths: bars,
            points: { show: false },
            value: (_u: uPlot, _v: number | null, _series: number, idx: number | null) => (idx === null ? '' : `${fmt(s.raw[idx])} s`),
          })),
        ],
      },
      [xs, ...stacks.map((s) => s.top)] as uPlot.AlignedData,
      box,
    );
  }

  if (training.length) {
    el('h2', root, 'Training iterations');
    const peaks = new Map<string, number>();
    // The ceiling: the fastest repetition of the best dense variant at full size.
    for (const r of records) {
      if (r.case !== 'peak' || !ok(r)) continue;
      const dense = r.points.filter((p) => String(p.kernel).startsWith('dense') && p.rows === r.headline?.rows).map((p) => p.best_gflops as number);
      if (dense.length) peaks.set(shortAdapter(r), Math.max(...dense));
    }
    const rows = training.flatMap((r) =>
      r.points.map((p) => {
        const peak = peaks.get(shortAdapter(r));
        const gflops = p.gflops as number;
        const phases = (p.phases_s ?? {}) as Record<string, number>;
        const paired = typeof p.of_ceiling_paired === 'number' ? `${(100 * p.of_ceiling_paired).toFixed(0)} % of ${p.ceiling_paired_gflops} at ${p.ceiling_paired_rows} rows` : '–';
        return [shortAdapter(r), p.algo, p.config, p.num_envs, p.batch_size, p.sps, p.iteration_s, p.iteration_cpu_s, phases.collect, phases.advantage, phases.update, p.dispatches, gflops, peak ? `${((100 * gflops) / peak).toFixed(1)} %` : 'no peak run', paired, r.load_start?.[0]];
      }),
    );
    table(
      root,
      ['runner · adapter', 'algo', 'config', 'envs', 'steps/iter', 'env steps/s', 's/iter', 'CPU-s/iter', 'collect s', 'advantage s', 'update s', 'dispatches', 'useful GFLOP/s', 'of peak dense', 'of the ceiling, paired', 'load'],
      rows,
      [false, false, false, true, true, true, true, true, true, true, true, true, true, true, false, true],
    );
    el(
      'p',
      root,
      'env steps/s and s/iter: pipelined iterations as the CLI runs them; CPU-s: CPU seconds of the process executing the GPU work (Node itself, or Chromium’s processes), which other load does not inflate. Phases: one submit per phase (GPU wall time, host encoding excluded). Useful GFLOP/s: dense-layer FLOPs per iteration (bench/lib/cost.ts) over s/iter; the peak is the fastest repetition of the peak case’s best dense kernel on the same adapter. Of the ceiling, paired: iterations submitted alone, each against the workload ceiling (GFLOP/s) timed just before and after it (bench/lib/ceilingProbe.ts), median over the pairs.',
      'note',
    );
  }

  const profiled = records.filter((r) => r.profiles?.length);
  if (profiled.length) {
    el('h2', root, 'Per-kernel GPU time (timestamp-query, one pass per dispatch)');
    for (const r of profiled) {
      for (const { what, profile } of r.profiles!) {
        el('p', root, `${shortAdapter(r)} — ${what}: ${fmt(profile.gpuMs)} ms GPU over ${profile.dispatches} dispatches (replay wall ${fmt(profile.replayWallMs)} ms)`, 'meta');
        table(
          root,
          ['kernel', 'dispatches', 'GPU ms', 'share', 'µs per dispatch'],
          profile.byKernel.slice(0, 10).map((k) => [k.name, k.dispatches, k.ms, `${(100 * k.share).toFixed(1)} %`, (1000 * k.ms) / k.dispatches]),
          [false, true, true, true, true],
        );
      }
    }
  }

  el('h2', root, 'Every measurement');
  const all = records.flatMap((r) =>
    r.error || r.unavailable
      ? [[r.case, shortAdapter(r), r.error ? `error: ${r.error}` : `unavailable: ${r.unavailable}`, '', r.load_start?.[0]]]
      : r.points.map((p) => {
          const entries = Object.entries(p);
          const figures = entries.filter(([k]) => data.figureKeys.includes(k));
          const config = entries.filter(([k]) => !data.figureKeys.includes(k));
          return [r.case, shortAdapter(r), config.map(([k, v]) => `${k}=${fmt(v)}`).join(' '), figures.map(([k, v]) => `${k}=${fmt(v)}`).join(' '), r.load_start?.[0]];
        }),
  );
  table(root, ['case', 'runner · adapter', 'configuration', 'figures', 'load'], all);
  for (const r of records) {
    if (r.error) el('p', root, `${r.case} (${r.runner}): ${r.error}`, 'error');
  }
}
