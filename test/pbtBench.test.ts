// `npm run pbt` (bench/lib/pbt.ts): its flags, and its core on tiny shapes (4
// agents, 2 iterations, an exploit after each). The bench itself trains 32
// agents for minutes and runs from `npm run pbt`, not in CI.
import { describe, expect, it } from 'vitest';
import { testGpu } from './helpers';
import { benchAgents, parsePbtBenchArgs, pbtTable, runPopulation, type PbtRunResult } from '../bench/lib/pbt';
import { makeTrainer } from '../src/train/trainer';
import { evaluatePolicy } from '../src/train/evaluate';
import { FIELDS } from '../src/core/config';

describe('npm run pbt flags', () => {
  it('reads the population, the PBT settings and the target, with training flags over the preset', () => {
    const o = parsePbtBenchArgs(['--env', 'CartPole-v1', '--envs', '8', '--steps-per-iter', '1024', '--iters', '40'])!;
    expect([o.population, o.target, o.evalEpisodes, o.runs]).toEqual([32, 475, 100, ['plain', 'pbt']]);
    expect(o.pbt).toEqual({ interval: 5, burnIn: 0, fraction: 0.25, perturb: ['lr', 'clip', 'lambda'], resample: 0, envs: 'own', source: 'top' });
    expect(o.overrides).toEqual({ env: 'CartPole-v1', numEnvs: 8, stepsPerIter: 1024, iters: 40 });
    expect(benchAgents(o).map((c) => c.seed)).toEqual(Array.from({ length: 32 }, (_, k) => k + 1));
    const p = parsePbtBenchArgs(['--env', 'Pendulum-v1', '--iters', '3', '--population', '8', '--seed', '11', '--pbt-interval', '2', '--pbt-perturb', 'gamma', '--runs', 'pbt', '--pbt-envs', 'copy', '--pbt-source', 'best', '--pbt-burn-in', '4'])!;
    expect([p.target, p.population, p.runs, p.pbt.interval, p.pbt.perturb, p.pbt.envs, p.pbt.source, p.pbt.burnIn]).toEqual([-200, 8, ['pbt'], 2, ['gamma'], 'copy', 'best', 4]);
    expect(benchAgents(p).map((c) => c.seed)).toEqual([11, 12, 13, 14, 15, 16, 17, 18]);
    expect(parsePbtBenchArgs(['--help'])).toBeNull();
  });

  it('refuses a missing or bad flag with one line naming it', () => {
    expect(() => parsePbtBenchArgs(['--iters', '5'])).toThrow(/^--env: required/);
    expect(() => parsePbtBenchArgs(['--env', 'CartPole-v1'])).toThrow(/^--iters: required/);
    expect(() => parsePbtBenchArgs(['--env', 'CartPole-v1', '--iters', '5', '--total-steps', '9'])).toThrow(/^--total-steps: not allowed/);
    expect(() => parsePbtBenchArgs(['--env', 'CartPole-v1', '--iters', '5', '--population', '1'])).toThrow(/^--population: 1 is not allowed/);
    expect(() => parsePbtBenchArgs(['--env', 'CartPole-v1', '--iters', '5', '--runs', 'pbt,pbt'])).toThrow(/^--runs:/);
    expect(() => parsePbtBenchArgs(['--env', 'CartPole-v1', '--iters', '5', '--pbt-fraction', '0.9'])).toThrow(/^--pbt-fraction: 0.9 is not allowed/);
    expect(() => parsePbtBenchArgs(['--env', 'CartPole-v1', '--iters', '5', '--pbt-perturb', 'seed'])).toThrow(/^--pbt-perturb: "seed" is not allowed/);
    expect(() => parsePbtBenchArgs(['--env', 'CartPole-v1', '--iters', '5', '--pbt-envs', 'share'])).toThrow(/^--pbt-envs: "share" is not allowed \(own: /);
    expect(() => parsePbtBenchArgs(['--env', 'CartPole-v1', '--iters', '5', '--pbt-source', 'all'])).toThrow(/^--pbt-source: "all" is not allowed \(top: /);
    expect(() => parsePbtBenchArgs(['--env', 'CartPole-v1', '--iters', '5', '--pbt-resample', '2'])).toThrow(/^--pbt-resample: 2 is not allowed \(probability that an explored field is resampled from the starting values; must be in \[0, 1\]\)/);
    expect(() => parsePbtBenchArgs(['--env', 'CartPole-v1', '--iters', '5', '--pbt-burn-in', '-1'])).toThrow(/^--pbt-burn-in: -1 is not allowed \(iterations before the first score window; must be an integer in \[0, 1000000\]\)/);
  });
});

describe('npm run pbt core', () => {
  it('trains a plain and a PBT population of 4 for 2 iterations and reports each agent deterministically evaluated', async () => {
    const gpu = await testGpu();
    const tiny = ['--env', 'CartPole-v1', '--population', '4', '--envs', '4', '--steps-per-iter', '64', '--minibatch', '32', '--epochs', '2', '--iters', '2'];
    // A target every agent's first iteration passes (random CartPole episodes last 10-40 steps).
    const options = parsePbtBenchArgs([...tiny, '--pbt-interval', '1', '--target', '5', '--eval-episodes', '4'])!;
    const quiet = () => undefined;
    const plain: PbtRunResult = JSON.parse(JSON.stringify(await runPopulation(gpu, options, 'plain', quiet)));
    const pbt: PbtRunResult = JSON.parse(JSON.stringify(await runPopulation(gpu, options, 'pbt', quiet)));

    for (const [r, run] of [[plain, 'plain'], [pbt, 'pbt']] as const) {
      expect(r).toMatchObject({ run, env: 'CartPole-v1', algo: 'ppo', population: 4, iters: 2, env_steps_per_agent: 128, target: 5, eval_episodes: 4, iters_to_target: 1 });
      expect(r.adapter).toBe(plain.adapter);
      expect(r.evals).toHaveLength(4);
      const sorted = [...r.evals].sort((a, b) => a - b);
      expect(r.median_eval).toBe((sorted[1] + sorted[2]) / 2);
      expect(r.best_eval).toBe(sorted[3]);
      expect(r.evals[r.best_eval_agent]).toBe(r.best_eval);
      expect(r.target_agent).toBeGreaterThanOrEqual(0);
      expect(r.target_agent).toBeLessThan(4);
      expect(r.final_train_best!).toBeGreaterThanOrEqual(r.final_train_median!);
    }
    expect([plain.exploits, plain.agents_replaced, plain.explored, plain.pbt]).toEqual([0, 0, undefined, undefined]);
    // An exploit after each iteration, replacing floor(0.25 × 4) = 1 agent.
    expect([pbt.exploits, pbt.agents_replaced]).toEqual([2, 2]);
    expect(pbt.pbt).toEqual({ interval: 1, burn_in: 0, fraction: 0.25, perturb: ['lr', 'clip', 'lambda'], resample: 0, envs: 'own', source: 'top' });
    for (const flag of ['lr', 'clip', 'lambda'] as const) {
      const range = FIELDS[flag].range!;
      for (const v of [pbt.explored![flag].median, pbt.explored![flag].best_agent]) {
        expect(v).toBeGreaterThan(range.min!);
        expect(v).toBeLessThanOrEqual(range.max!);
      }
    }
    // Same seeds, same episodes: an agent PBT never replaced trains and evaluates as in the plain run.
    expect(pbt.evals.filter((v, k) => v !== plain.evals[k]).length).toBeLessThanOrEqual(pbt.agents_replaced);

    // Agent 1's evaluation is that of a single run with its seed (extraction picks the right agent).
    const config = benchAgents(options)[1];
    const single = await makeTrainer(gpu, config);
    const history = [await single.step(), await single.step()];
    const own = await evaluatePolicy(gpu, await single.checkpoint(history), { episodes: 4, seed: 2000 + config.seed, greedy: true });
    single.destroy();
    expect(plain.evals[1]).toBe(own.mean);

    const table = pbtTable([plain, pbt]).split('\n');
    expect(table[0]).toContain(plain.adapter);
    expect(table.filter((l) => /^\| (plain|pbt) \|/.test(l))).toHaveLength(2);
  });
});
