/** Population flags: sweeps, grids, spreads and seeds, resolved per agent before any GPU work. No GPU. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/config';
import { MAX_POPULATION, parsePopulationArgs, resolvePopulation } from '../src/core/population';

const plan = (...argv: string[]) => {
  const { base, sweeps, population } = parsePopulationArgs(argv);
  return resolvePopulation(base, sweeps, population);
};
const refused = (argv: string[]) => {
  try {
    plan(...argv);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
};

describe('population flags', () => {
  it('--population 32 --seed 1..32: agent k gets seed 1+k, everything else shared', () => {
    const p = plan('--population', '32', '--seed', '1..32', '--lr', '3e-4');
    expect(p.size).toBe(32);
    expect(p.agents.map((a) => a.seed)).toEqual(Array.from({ length: 32 }, (_, k) => 1 + k));
    expect(new Set(p.agents.map((a) => a.lr))).toEqual(new Set([3e-4]));
    expect(p.swept).toEqual(['seed']);
  });

  it('an unswept seed S gives agent k the seed S + k; the default seed too', () => {
    expect(plan('--population', '4', '--seed', '7').agents.map((a) => a.seed)).toEqual([7, 8, 9, 10]);
    expect(plan('--population', '3').agents.map((a) => a.seed)).toEqual([1, 2, 3]);
    expect(plan().size).toBe(1);
  });

  it('lists form a grid, the first flag slowest; the population repeats it', () => {
    const p = plan('--lr', '3e-4,1e-3,3e-3', '--clip', '0.1,0.2');
    expect(p.size).toBe(6);
    expect(p.agents.map((a) => [a.lr, a.clip])).toEqual([
      [3e-4, 0.1],
      [3e-4, 0.2],
      [1e-3, 0.1],
      [1e-3, 0.2],
      [3e-3, 0.1],
      [3e-3, 0.2],
    ]);
    expect(p.swept).toEqual(['lr', 'clip', 'seed']);
    const repeated = plan('--population', '12', '--lr', '3e-4,1e-3,3e-3', '--clip', '0.1,0.2', '--seed', '5');
    expect(repeated.agents.map((a) => a.clip)).toEqual([0.1, 0.2, 0.1, 0.2, 0.1, 0.2, 0.1, 0.2, 0.1, 0.2, 0.1, 0.2]);
    expect(repeated.agents.map((a) => a.seed)).toEqual(Array.from({ length: 12 }, (_, k) => 5 + k));
  });

  it('log: and lin: spread P values from..to over the agents, ends included', () => {
    const p = plan('--population', '5', '--lr', 'log:1e-4..1e-2', '--ent-coef', 'lin:0..0.02');
    const lr = p.agents.map((a) => a.lr);
    [1e-4, 10 ** -3.5, 1e-3, 10 ** -2.5, 1e-2].forEach((want, k) => expect(lr[k]).toBeCloseTo(want, 15));
    expect(p.agents.map((a) => a.entCoef)).toEqual([0, 0.005, 0.01, 0.015, 0.02]);
    // Grid and seed list together: seeds × grid, as nested loops.
    const q = plan('--seed', '1..2', '--gamma', '0.99,0.999');
    expect(q.agents.map((a) => [a.seed, a.gamma])).toEqual([
      [1, 0.99],
      [1, 0.999],
      [2, 0.99],
      [2, 0.999],
    ]);
  });

  it('every agent is validated, and the error names the agent, the flag and the allowed range', () => {
    expect(refused(['--lr', '1e-3,2'])).toMatch(/^agent 1: --lr: 2 is not allowed \(policy learning rate; must be a number in \(0, 1\]\)$/);
    expect(refused(['--population', '3', '--gamma', 'lin:0.9..1.1'])).toMatch(/^agent 2: --gamma: 1.1 is not allowed/);
  });

  it('refuses shared fields, bad forms and bad sizes with one line each', () => {
    expect(refused(['--hidden', '64,128'])).toMatch(/^--hidden: "64,128" is a sweep, but hidden width .* is shared by every agent .*sweepable: --seed, --lr/);
    expect(refused(['--envs', 'log:8..64'])).toMatch(/^--envs: .* shared by every agent/);
    expect(refused(['--lr', '1e-3..1e-2'])).toMatch(/^--lr: "1e-3..1e-2" is not allowed \(a..b is for seeds; .* write log:a..b or lin:a..b\)$/);
    expect(refused(['--seed', 'log:1..8'])).toMatch(/^--seed: .*seeds are integers/);
    expect(refused(['--seed', '5..2'])).toMatch(/^--seed: "5..2" is not allowed \(a..b needs integers with a <= b\)$/);
    expect(refused(['--seed', '1.5..3'])).toMatch(/^--seed: .*needs integers/);
    expect(refused(['--lr', 'log:0..1e-2', '--population', '4'])).toMatch(/^--lr: .*both ends > 0/);
    expect(refused(['--lr', '1e-3,,2e-3'])).toMatch(/^--lr: .*empty item/);
    expect(refused(['--lr', '1e-3,1e-3'])).toMatch(/^--lr: .*repeats a value/);
    expect(refused(['--lr', '1e-3,abc'])).toMatch(/^--lr: "abc" is not a number/);
    expect(refused(['--lr', 'log:1e-4..1e-2'])).toMatch(/^--lr: a log:\/lin: spread needs --population/);
    expect(refused(['--population', '0'])).toMatch(/^--population: 0 is not allowed .*\[1, 4096\]/);
    expect(refused(['--population', `${MAX_POPULATION + 1}`])).toMatch(/^--population: 4097 is not allowed/);
    expect(refused(['--population', '2.5'])).toMatch(/^--population: 2.5 is not allowed/);
    expect(refused(['--population', '5', '--lr', '1e-3,2e-3'])).toMatch(/^--population: 5 is not a multiple of the 2 grid points of --lr$/);
    expect(refused(['--population', '8', '--seed', '1..4'])).toMatch(/^--population: 8 agents, but the seeds and grid give 4/);
    expect(refused(['--seed', '1..5000'])).toMatch(/^--seed: .*5000 seeds; at most 4096 agents/);
    expect(refused(['--lr', '1e-4,2e-4,3e-4,4e-4,5e-4,6e-4,7e-4,8e-4', '--clip', Array.from({ length: 600 }, (_, i) => `${(i + 1) / 1000}`).join(',')])).toMatch(
      /^--lr × --clip: the grid has 4800 points; at most 4096 agents$/,
    );
  });

  it('a one-value list is that value; plain flags resolve as in parseTrainArgs', () => {
    const p = plan('--seed', '3..3', '--population', '2', '--lr', '5e-4');
    expect(p.agents.map((a) => [a.seed, a.lr])).toEqual([
      [3, 5e-4],
      [4, 5e-4],
    ]);
    expect(p.swept).toEqual(['seed']);
  });
});
