// The population view's series without a browser: every agent's curve, the
// median and interquartile band (numpy's linear quantiles over the agents that
// reported a return, as the CLI's summary line), the best agent, PBT's exploits
// and the hyperparameter scatter. Exact comparisons: the inputs are small
// integers and binary fractions, so every quantile is exact in float64.
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/core/config';
import type { IterationMetrics } from '../src/core/metrics';
import { PopulationSeries } from '../src/ui/populationSeries';
import type { AgentIterationMetrics } from '../src/train/trainer';

const report = (iter: number, mean_return: number | null, extra: Partial<AgentIterationMetrics> = {}): AgentIterationMetrics =>
  ({ iter, env_steps: (iter + 1) * 256, mean_return, episodes: mean_return === null ? 0 : 2, sps: 100, ...extra }) as IterationMetrics;

describe('PopulationSeries', () => {
  const configs = [0.1, 0.3, 0.2, 0.15, 0.25].map((clip, k) => resolveConfig({ preset: 'fast', clip, seed: k + 1 }));

  it('keeps every curve, and the band and best agent of each iteration', () => {
    const series = new PopulationSeries(configs);
    // Iteration 0: agent 1 has no episode yet; [3, 1, 2, 10] → q1 1.75, median 2.5, q3 4.75 (numpy.quantile).
    series.append([report(0, 3), report(0, null), report(0, 1), report(0, 2), report(0, 10)]);
    // Iteration 1: [1, 2, 4, 8, 16] → 2, 4, 8; agent 2 best.
    series.append([report(1, 4), report(1, 1), report(1, 16), report(1, 2), report(1, 8)]);
    // Iteration 2: nobody reports: the band has a gap, the best agent stays.
    series.append(configs.map(() => report(2, null)));
    expect(series.envSteps).toEqual([256, 512, 768]);
    expect(series.returns[1]).toEqual([null, 1, null]);
    expect(series.returns[4]).toEqual([10, 8, null]);
    expect(series.q1).toEqual([1.75, 2, null]);
    expect(series.median).toEqual([2.5, 4, null]);
    expect(series.q3).toEqual([4.75, 8, null]);
    expect(series.bestAgent).toBe(2);
    expect(series.exploits).toEqual([]);
    expect(() => series.append([report(3, 1)])).toThrow('PopulationSeries: 1 agents reported, the population has 5');
  });

  it("marks PBT's exploits and plots the values the agents' records hold now against their latest return", () => {
    const series = new PopulationSeries(configs);
    series.append([report(0, 5), report(0, 9), report(0, 7), report(0, null), report(0, 1)]);
    expect(series.scatter('clip')).toEqual({ x: [0.1, 0.15, 0.2, 0.25, 0.3], y: [5, null, 7, 1, 9], agents: [0, 3, 2, 4, 1] });
    // Agents 3 and 4 copy agents 1 and 2 and perturb their clip; the others report their record unchanged.
    series.append(
      configs.map((c, k) =>
        report(1, k === 3 ? null : 10 + k, { pbt_parent: k === 3 ? 1 : k === 4 ? 2 : null, hyper: { clip: k === 3 ? 0.375 : k === 4 ? 0.125 : Math.fround(c.clip) } }),
      ),
    );
    expect(series.exploits).toEqual([{ index: 1, iter: 1, replaced: [3, 4] }]);
    expect(series.value(3, 'clip')).toBe(0.375);
    expect(series.value(0, 'clip')).toBe(Math.fround(0.1));
    // Agent 3 still has no return; agent 4's latest is 14.
    expect(series.scatter('clip')).toEqual({ x: [Math.fround(0.1), 0.125, Math.fround(0.2), Math.fround(0.3), 0.375], y: [10, 14, 12, 11, null], agents: [0, 4, 2, 1, 3] });
    expect(series.scatter('seed').x).toEqual([1, 2, 3, 4, 5]);
  });
});
