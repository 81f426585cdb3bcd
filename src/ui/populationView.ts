/**
 * The population view (uPlot): every agent's mean return against its env
 * steps as thin lines, the median and the interquartile band over them, the
 * best agent (at the latest iteration) drawn thick, and PBT's exploits marked
 * on the median; beside it, a swept (or PBT-explored) hyperparameter of every
 * agent against its latest return, the best agent marked. Redrawn at most once
 * per animation frame.
 *
 * For tests: the returns chart carries `data-agents` (agent lines drawn),
 * `data-band` (the band's two series' labels), `data-best`, `data-exploits`
 * and `data-points` (returns plotted); the scatter carries `data-field` and
 * `data-points`.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { FIELDS } from '../core/config';
import type { AgentField } from '../core/population';
import type { AgentIterationMetrics } from '../train/trainer';
import { PopulationSeries } from './populationSeries';
import { compact } from './charts';
import { element } from './dom';

/** Most agents drawn as lines (the first ones); the band and the best agent cover them all. */
const MAX_LINES = 256;
const HEIGHT = 260;
const SCATTER_HEIGHT = 200;
const AGENT_COLOR = 'rgba(31, 119, 180, 0.35)';
const MEDIAN_COLOR = '#1f3f8f';
const BAND_FILL = 'rgba(31, 119, 180, 0.18)';
const BEST_COLOR = '#e8710a';
const EXPLOIT_COLOR = '#9467bd';
const SOLVED_COLOR = '#c62828';

/** A series drawn as points only. */
const pointsOnly = (stroke: string, size: number) => ({ stroke, fill: stroke, width: 0, paths: () => null, points: { show: true, size, space: 0, stroke, fill: stroke } });

export class PopulationView {
  private series: PopulationSeries | null = null;
  private fields: AgentField[] = [];
  private solved: number | null = null;
  private returnsPlot: uPlot | null = null;
  private scatterPlot: uPlot | null = null;
  private scatterLog = false;
  private frameRequested = false;
  private readonly returns: HTMLElement;
  private readonly scatter: HTMLElement;
  private readonly fieldSelect: HTMLSelectElement;
  private readonly key: HTMLElement;

  constructor(private readonly root: HTMLElement) {
    this.returns = element('figure', undefined, 'chart population-returns');
    this.returns.dataset.testid = 'population-returns';
    this.key = element('figcaption', undefined, 'caption');
    const scatterRow = element('div', undefined, 'view-row');
    this.fieldSelect = element('select');
    this.fieldSelect.id = 'scatter-field';
    const label = element('label', 'Hyperparameter ');
    label.append(this.fieldSelect);
    scatterRow.append(label);
    this.scatter = element('figure', undefined, 'chart population-scatter');
    this.scatter.dataset.testid = 'population-scatter';
    root.append(this.returns, this.key, scatterRow, this.scatter);
    this.fieldSelect.addEventListener('change', () => this.buildScatter());
    new ResizeObserver(() => {
      this.returnsPlot?.setSize({ width: this.width(this.returns), height: HEIGHT });
      this.scatterPlot?.setSize({ width: this.width(this.scatter), height: SCATTER_HEIGHT });
    }).observe(root);
  }

  /** The population in view now (null before a population run). */
  get current(): PopulationSeries | null {
    return this.series;
  }

  /**
   * Starts an empty view of `series`' population; `fields` are the swept or
   * explored hyperparameters the scatter offers (the first shown; seed when none).
   */
  start(series: PopulationSeries, fields: readonly AgentField[], solved: number | null): void {
    this.series = series;
    this.fields = fields.length > 0 ? [...fields] : ['seed'];
    this.solved = solved;
    this.fieldSelect.replaceChildren(...this.fields.map((f) => new Option(`${FIELDS[f].doc} (--${FIELDS[f].flag})`, f)));
    this.fieldSelect.disabled = this.fields.length < 2;
    this.buildReturns();
    this.buildScatter();
  }

  append(agents: readonly AgentIterationMetrics[]): void {
    if (!this.series) return;
    this.series.append(agents);
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => this.flush());
  }

  /** Draws the iterations appended since the last frame now. */
  flush(): void {
    if (!this.frameRequested) return;
    this.frameRequested = false;
    this.draw();
  }

  private width(container: HTMLElement): number {
    return Math.max(240, container.clientWidth || this.root.clientWidth);
  }

  private buildReturns(): void {
    const series = this.series!;
    this.returnsPlot?.destroy();
    const lines = Math.min(series.size, MAX_LINES);
    const text = getComputedStyle(this.root).color;
    const grid = { stroke: 'rgba(128, 128, 128, 0.25)', width: 1 };
    // Series: x, agents' lines, q1, median, q3, best agent, PBT exploits, solved (if any).
    const agentSeries = Array.from({ length: lines }, (_, k) => ({ label: `agent ${k}`, stroke: AGENT_COLOR, width: 1, spanGaps: true, points: { show: false } }));
    const q1 = lines + 1;
    const q3 = lines + 3;
    this.returnsPlot = new uPlot(
      {
        width: this.width(this.returns),
        height: HEIGHT,
        title: `Mean episode return of each of ${series.size} agents`,
        scales: {
          x: { time: false, range: (_, min, max) => (min === null || max === null || min === max ? [min ?? 0, (max ?? 0) + 1] : [min, max]) },
          y: { range: (_, min, max) => (min === null || max === null ? [0, 1] : uPlot.rangeNum(min, max, 0.1, true)) },
        },
        axes: [
          { label: 'env steps per agent', stroke: text, grid, values: (_, splits) => splits.map(compact) },
          { label: 'mean return', stroke: text, grid, size: 60 },
        ],
        series: [
          { label: 'env steps' },
          ...agentSeries,
          { label: 'q1', stroke: MEDIAN_COLOR, width: 0.5, dash: [3, 3], spanGaps: true, points: { show: false } },
          { label: 'median', stroke: MEDIAN_COLOR, width: 2, spanGaps: true, points: { show: false } },
          { label: 'q3', stroke: MEDIAN_COLOR, width: 0.5, dash: [3, 3], spanGaps: true, points: { show: false } },
          { label: 'best agent', stroke: BEST_COLOR, width: 3, spanGaps: true, points: { show: false } },
          { label: 'PBT exploit', ...pointsOnly(EXPLOIT_COLOR, 9) },
          ...(this.solved !== null ? [{ label: `solved (${this.solved})`, stroke: SOLVED_COLOR, dash: [6, 4], width: 1, points: { show: false } }] : []),
        ],
        bands: [{ series: [q3, q1], fill: BAND_FILL }],
        legend: { show: false },
      },
      [[], ...Array.from({ length: lines + 5 + (this.solved !== null ? 1 : 0) }, () => [])],
      this.returns,
    );
    Object.assign(this.returns.dataset, { agents: String(lines), band: 'q1-q3', best: '', exploits: '0', points: '0' });
    this.draw();
  }

  private buildScatter(): void {
    const series = this.series;
    if (!series) return;
    this.scatterPlot?.destroy();
    const field = this.fieldSelect.value as AgentField;
    const xs = series.scatter(field).x;
    // Values spread over decades (a log: sweep, PBT's products of 0.8 and 1.2) read on a log axis.
    this.scatterLog = xs.every((v) => v > 0) && Math.max(...xs) / Math.min(...xs) >= 10;
    const text = getComputedStyle(this.root).color;
    const grid = { stroke: 'rgba(128, 128, 128, 0.25)', width: 1 };
    this.scatterPlot = new uPlot(
      {
        width: this.width(this.scatter),
        height: SCATTER_HEIGHT,
        title: `Latest mean return against ${FIELDS[field].doc}`,
        scales: {
          x: {
            time: false,
            distr: this.scatterLog ? 3 : 1,
            range: (_, min, max) => (this.scatterLog ? uPlot.rangeLog(min, max, 10, true) : min === max ? [min - Math.abs(min || 1) * 0.1, max + Math.abs(max || 1) * 0.1] : uPlot.rangeNum(min, max, 0.05, true)),
          },
          y: { range: (_, min, max) => (min === null || max === null ? [0, 1] : uPlot.rangeNum(min, max, 0.1, true)) },
        },
        axes: [
          { label: `${FIELDS[field].flag}`, stroke: text, grid, values: (_, splits) => splits.map((v) => (v === null ? '' : compactValue(v))) },
          { label: 'mean return', stroke: text, grid, size: 60 },
        ],
        series: [{ label: FIELDS[field].flag }, { label: 'agents', ...pointsOnly(AGENT_COLOR.replace('0.35', '0.8'), 7) }, { label: 'best agent', ...pointsOnly(BEST_COLOR, 11) }],
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
      },
      [[], [], []],
      this.scatter,
    );
    this.scatter.dataset.field = field;
    this.scatter.dataset.points = '0';
    this.draw();
  }

  private draw(): void {
    const series = this.series;
    if (!series || !this.returnsPlot || !this.scatterPlot) return;
    const lines = Math.min(series.size, MAX_LINES);
    const best = series.bestAgent;
    const exploits: (number | null)[] = series.envSteps.map(() => null);
    for (const e of series.exploits) exploits[e.index] = series.median[e.index] ?? 0;
    const data = [
      series.envSteps,
      ...series.returns.slice(0, lines),
      series.q1,
      series.median,
      series.q3,
      best === null ? series.envSteps.map(() => null) : series.returns[best],
      exploits,
      ...(this.solved !== null ? [series.envSteps.map(() => this.solved)] : []),
    ];
    this.returnsPlot.setData(data as uPlot.AlignedData);
    const points = series.returns.slice(0, lines).reduce((n, r) => n + r.filter((v) => v !== null).length, 0);
    Object.assign(this.returns.dataset, { best: best === null ? '' : String(best), exploits: String(series.exploits.length), points: String(points) });
    this.key.textContent = `Thin lines: each agent${series.size > lines ? ` (the first ${lines})` : ''} · dark line and band: median and interquartile range · thick: the best agent now${best === null ? '' : ` (agent ${best})`}${series.exploits.length ? ` · dots on the median: PBT exploits (${series.exploits.length})` : ''}`;

    const scatter = series.scatter(this.fieldSelect.value as AgentField);
    const bestAt = scatter.agents.map((k) => k === best);
    this.scatterPlot.setData([scatter.x, scatter.y, scatter.y.map((y, i) => (bestAt[i] ? y : null))] as uPlot.AlignedData);
    this.scatter.dataset.points = String(scatter.y.filter((v) => v !== null).length);
  }
}

/** An axis value: 3 significant digits, exponent form for small ones. */
function compactValue(v: number): string {
  return Math.abs(v) !== 0 && Math.abs(v) < 1e-2 ? v.toExponential(1) : compact(v);
}
