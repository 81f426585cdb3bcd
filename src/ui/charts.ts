/**
 * Live uPlot charts of the training metrics against env steps, one series per
 * algorithm. Metrics are appended to per-algorithm columns as they arrive; the
 * charts are redrawn at most once per animation frame, with one setData each.
 * Each chart's element carries `data-points` (values plotted so far) for tests.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ALGOS, type Algo } from '../core/config';
import { SPS_WINDOW, type IterationMetrics } from '../core/metrics';
import { ALGO_LABELS } from './studioConfig';
import { element } from './dom';
import { tickLabels } from './ticks';

type ChartedMetric = 'mean_return' | 'approx_kl' | 'entropy' | 'sps';

/** A horizontal line drawn as its own series, so the legend names it. */
interface ReferenceLine {
  label: string;
  value: number;
}

interface ChartSpec {
  testId: string;
  title: string;
  metric: ChartedMetric;
  yLabel: string;
  /** Legend values. */
  format: (v: number) => string;
  /** Y-axis tick labels: `tickLabels` (as many digits as the spacing needs) unless given. */
  axisFormat?: (v: number) => string;
}


const CHARTS: readonly ChartSpec[] = [
  { testId: 'chart-return', title: 'Mean episode return', metric: 'mean_return', yLabel: 'mean return', format: (v) => v.toFixed(1) },
  { testId: 'chart-kl', title: 'KL(old ‖ new) per update', metric: 'approx_kl', yLabel: 'KL (nats)', format: (v) => v.toExponential(2) },
  { testId: 'chart-entropy', title: 'Policy entropy', metric: 'entropy', yLabel: 'entropy (nats)', format: (v) => v.toFixed(3) },
  { testId: 'chart-sps', title: `Throughput (last ${SPS_WINDOW} iterations)`, metric: 'sps', yLabel: 'env steps / s', format: (v) => compact(v), axisFormat: compact },
];

/** One colour per algorithm, in registry order. */
const ALGO_PALETTE = ['#1f77b4', '#9467bd', '#e8710a', '#2ca02c', '#8c564b', '#17becf', '#bcbd22', '#e377c2'];
const algoColor = (algo: Algo) => ALGO_PALETTE[ALGOS.indexOf(algo) % ALGO_PALETTE.length];
const REFERENCE_COLOR = '#c62828';
/** Plot height in pixels: four charts in two rows beside the env view on a 1280 × 800 screen. */
const CHART_HEIGHT = 150;

/** 12 345 678 → "12.3M" (three significant digits), for axes and throughput. */
export function compact(v: number): string {
  return Intl.NumberFormat('en-US', { notation: 'compact', maximumSignificantDigits: 3 }).format(v);
}

/** One algorithm's metric columns. */
interface Columns {
  envSteps: number[];
  values: Record<ChartedMetric, (number | null)[]>;
}

class Chart {
  private plot: uPlot | null = null;
  private series: { algo: Algo }[] = [];
  private references: ReferenceLine[] = [];

  constructor(
    readonly spec: ChartSpec,
    readonly container: HTMLElement,
  ) {}

  rebuild(algos: readonly Algo[], references: ReferenceLine[]): void {
    this.plot?.destroy();
    this.series = algos.map((algo) => ({ algo }));
    this.references = references;
    const text = getComputedStyle(this.container).color;
    const grid = { stroke: 'rgba(128, 128, 128, 0.25)', width: 1 };
    const format = (_: uPlot, v: number | null) => (v === null || v === undefined ? '–' : this.spec.format(v));
    this.plot = new uPlot(
      {
        width: this.width(),
        height: CHART_HEIGHT,
        title: this.spec.title,
        // Before the first point, ranges that let the axes show.
        scales: {
          x: { time: false, range: (_, min, max) => (min === null || max === null || min === max ? [min ?? 0, (max ?? 0) + 1] : [min, max]) },
          y: { range: (_, min, max) => (min === null || max === null ? [0, 1] : uPlot.rangeNum(min, max, 0.1, true)) },
        },
        axes: [
          { label: 'env steps', stroke: text, grid, values: (_, splits) => splits.map(compact) },
          // Ticks 20 px apart at least (uPlot's 30 left a 150-px chart with one tick, a lone "0" on the KL axis).
          { label: this.spec.yLabel, stroke: text, grid, size: 60, space: 20, values: (_: uPlot, splits: number[]) => (this.spec.axisFormat ? splits.map(this.spec.axisFormat) : tickLabels(splits)) },
        ],
        series: [
          { label: 'env steps', value: (_, v) => (v === null ? '–' : Math.round(v).toLocaleString('en-US')) },
          ...algos.map((algo) => ({ label: ALGO_LABELS[algo], stroke: algoColor(algo), width: 2, spanGaps: true, value: format })),
          ...references.map((r) => ({ label: r.label, stroke: REFERENCE_COLOR, dash: [6, 4], width: 1, points: { show: false }, value: format })),
        ],
        legend: { live: true },
      },
      [[], ...algos.map(() => []), ...references.map(() => [])],
      this.container,
    );
    this.container.dataset.points = '0';
  }

  /** Aligns every algorithm's columns on the union of their env-step values. */
  draw(columns: ReadonlyMap<Algo, Columns>): void {
    if (!this.plot) return;
    const metric = this.spec.metric;
    const xs = new Set<number>();
    for (const { algo } of this.series) for (const x of columns.get(algo)?.envSteps ?? []) xs.add(x);
    const x = [...xs].sort((a, b) => a - b);
    let points = 0;
    const ys = this.series.map(({ algo }) => {
      const column = columns.get(algo);
      const y: (number | null)[] = new Array(x.length).fill(null);
      if (!column) return y;
      let j = 0;
      column.envSteps.forEach((steps, i) => {
        while (x[j] < steps) j++;
        y[j] = column.values[metric][i];
        if (y[j] !== null) points++;
      });
      return y;
    });
    const lines = this.references.map((r) => x.map(() => r.value));
    this.plot.setData([x, ...ys, ...lines] as uPlot.AlignedData);
    this.container.dataset.points = String(points);
  }

  resize(): void {
    this.plot?.setSize({ width: this.width(), height: CHART_HEIGHT });
  }

  private width(): number {
    return Math.max(240, this.container.clientWidth);
  }
}

export class Charts {
  private readonly charts: Chart[];
  private readonly columns = new Map<Algo, Columns>();
  private frameRequested = false;

  constructor(root: HTMLElement) {
    this.charts = CHARTS.map((spec) => {
      const container = element('figure', undefined, 'chart');
      container.dataset.testid = spec.testId;
      root.append(container);
      return new Chart(spec, container);
    });
    new ResizeObserver(() => {
      for (const chart of this.charts) chart.resize();
    }).observe(root);
  }

  /** Empties the charts and sets their series: one per algorithm, plus the env's solved line where it has one and, with TRPO, its δ. */
  start(algos: readonly Algo[], trpoMaxKl: number | null, solved: number | null): void {
    this.columns.clear();
    for (const algo of algos) {
      this.columns.set(algo, { envSteps: [], values: { mean_return: [], approx_kl: [], entropy: [], sps: [] } });
    }
    for (const chart of this.charts) {
      const references: ReferenceLine[] = [];
      if (chart.spec.metric === 'mean_return' && solved !== null) references.push({ label: `solved (${solved})`, value: solved });
      if (chart.spec.metric === 'approx_kl' && trpoMaxKl !== null) references.push({ label: `TRPO δ (${trpoMaxKl})`, value: trpoMaxKl });
      chart.rebuild(algos, references);
    }
  }

  append(algo: Algo, metrics: IterationMetrics): void {
    const column = this.columns.get(algo);
    if (!column) return;
    column.envSteps.push(metrics.env_steps);
    column.values.mean_return.push(metrics.mean_return);
    column.values.approx_kl.push(metrics.approx_kl);
    column.values.entropy.push(metrics.entropy);
    column.values.sps.push(metrics.sps);
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => this.flush());
  }

  /** Draws the values appended since the last frame now (a run that settles shows all it reported at once). */
  flush(): void {
    if (!this.frameRequested) return;
    this.frameRequested = false;
    for (const chart of this.charts) chart.draw(this.columns);
  }
}
