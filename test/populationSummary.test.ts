// The population summary line: quantiles as numpy computes them (linear between
// order statistics), agents without a finished episode left out, the best agent named.
import { describe, expect, it } from 'vitest';
import { populationSummary, quantile, type IterationMetrics } from '../src/core/metrics';

const agent = (mean_return: number | null): IterationMetrics => ({
  iter: 4,
  env_steps: 1000,
  mean_return,
  episodes: mean_return === null ? 0 : 3,
  approx_kl: 0,
  entropy: 0,
  policy_loss: 0,
  value_loss: 0,
  clip_frac: 0,
  explained_variance: 0,
  kl_coef: 0,
  stopped_epoch: null,
  sps: 500,
  wall_s: 1,
});

describe('populationSummary', () => {
  it('matches numpy.quantile and names the best agent', () => {
    // numpy.quantile([1, 2, 4, 8, 16], [0.25, 0.5, 0.75]) = [2, 4, 8]; of [3, 1, 2, 10]: [1.75, 2.5, 4.75]
    expect([0.25, 0.5, 0.75].map((q) => quantile([1, 2, 4, 8, 16], q))).toEqual([2, 4, 8]);
    expect([0.25, 0.5, 0.75].map((q) => quantile([1, 2, 3, 10], q))).toEqual([1.75, 2.5, 4.75]);
    const s = populationSummary([agent(3), agent(null), agent(1), agent(2), agent(10)]);
    expect(s).toEqual({ population: 5, iter: 4, env_steps: 5000, reporting: 4, best: 10, best_agent: 4, q1: 1.75, median: 2.5, q3: 4.75, worst: 1, sps: 2500 });
  });

  it('reports nulls when no agent finished an episode, and the first agent on a tie', () => {
    expect(populationSummary([agent(null), agent(null)])).toMatchObject({ reporting: 0, best: null, best_agent: null, median: null });
    expect(populationSummary([agent(5), agent(5)])).toMatchObject({ best: 5, best_agent: 0 });
    expect(() => populationSummary([])).toThrow(/no agents/);
  });
});
