/**
 * A population's curves as the population view draws them, without the DOM:
 * every agent's mean return per iteration, the median and interquartile band
 * over the agents that reported a return (core/metrics' populationSummary, as
 * the CLI's summary lines), the best agent, the iterations at which PBT
 * replaced agents, and each agent's hyperparameter against its latest return.
 */
import { populationSummary } from '../core/metrics';
import type { ResolvedConfig } from '../core/config';
import type { AgentField } from '../core/population';
import type { AgentIterationMetrics } from '../train/trainer';

/** One PBT exploit: the iteration (its index in the columns) and the agents replaced. */
export interface ExploitEvent {
  index: number;
  iter: number;
  replaced: number[];
}

/** Agents' hyperparameter values (x, ascending) against their latest mean return (y). */
export interface ScatterPoints {
  x: number[];
  y: (number | null)[];
  agents: number[];
}

export class PopulationSeries {
  /** Env steps of each agent after each iteration reported. */
  readonly envSteps: number[] = [];
  /** Agent k's mean return per iteration at k (null: no episode ended). */
  readonly returns: (number | null)[][];
  readonly q1: (number | null)[] = [];
  readonly median: (number | null)[] = [];
  readonly q3: (number | null)[] = [];
  readonly exploits: ExploitEvent[] = [];
  /** The agent with the best return at the latest iteration (null until one reports a return). */
  bestAgent: number | null = null;
  /** Each agent's hyperparameters now: its config's, then what PBT's reports say its record holds. */
  private readonly values: Record<AgentField, number>[];
  /** Each agent's latest non-null mean return. */
  private readonly latest: (number | null)[];

  constructor(readonly configs: readonly ResolvedConfig[]) {
    this.returns = configs.map(() => []);
    this.values = configs.map((c) => ({ ...c }));
    this.latest = configs.map(() => null);
  }

  get size(): number {
    return this.configs.length;
  }

  /** Appends one iteration's report (agent k at k). */
  append(agents: readonly AgentIterationMetrics[]): void {
    if (agents.length !== this.size) throw new Error(`PopulationSeries: ${agents.length} agents reported, the population has ${this.size}`);
    const index = this.envSteps.length;
    this.envSteps.push(agents[0].env_steps);
    const summary = populationSummary(agents);
    this.q1.push(summary.q1);
    this.median.push(summary.median);
    this.q3.push(summary.q3);
    if (summary.best_agent !== null) this.bestAgent = summary.best_agent;
    const replaced: number[] = [];
    agents.forEach((m, k) => {
      this.returns[k].push(m.mean_return);
      if (m.mean_return !== null) this.latest[k] = m.mean_return;
      if (m.pbt_parent !== null && m.pbt_parent !== undefined) replaced.push(k);
      Object.assign(this.values[k], m.hyper);
    });
    if (replaced.length > 0) this.exploits.push({ index, iter: agents[0].iter, replaced });
  }

  /** Agent k's value of `field` now. */
  value(agent: number, field: AgentField): number {
    return this.values[agent][field];
  }

  /** Every agent's `field` against its latest return, ordered by the value (agents in order among equals). */
  scatter(field: AgentField): ScatterPoints {
    const order = this.configs.map((_, k) => k).sort((a, b) => this.values[a][field] - this.values[b][field] || a - b);
    return { x: order.map((k) => this.values[k][field]), y: order.map((k) => this.latest[k]), agents: order };
  }
}
