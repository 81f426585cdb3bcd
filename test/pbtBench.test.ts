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

  it('starts the pbt and sweep runs from --pbt-start spreads, the plain run from the preset, agent k with seed S + k in every run', () => {
    const o = parsePbtBenchArgs(['--env', 'CartPole-v1', '--iters', '9', '--population', '8', '--pbt-start', 'lr=log:5e-4..4e-3;clip=0.1,0.2', '--runs', 'plain,sweep,pbt'])!;
    expect([o.runs, o.startText, [...o.start.keys()]]).toEqual([['plain', 'sweep', 'pbt'], 'lr=log:5e-4..4e-3;clip=0.1,0.2', ['lr', 'clip']]);
    const plain = benchAgents(o, 'plain');
    const sweep = benchAgents(o, 'sweep');
    expect(benchAgents(o, 'pbt')).toEqual(sweep);
    expect(plain.map((c) => c.seed)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(sweep.map((c) => c.seed)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Set(plain.map((c) => c.lr))).toEqual(new Set([1e-3]));
    expect(sweep[0].lr).toBeCloseTo(5e-4, 12);
    expect(sweep[7].lr).toBeCloseTo(4e-3, 12);
    expect(sweep.map((c) => c.clip)).toEqual([0.1, 0.2, 0.1, 0.2, 0.1, 0.2, 0.1, 0.2]);
    // Everything else is the preset's, as in the plain run.
    expect(sweep.map((c) => ({ ...c, lr: 0, clip: 0 }))).toEqual(plain.map((c) => ({ ...c, lr: 0, clip: 0 })));
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
    const start = (text: string, ...more: string[]) => () => parsePbtBenchArgs(['--env', 'CartPole-v1', '--iters', '5', '--population', '8', '--pbt-start', text, ...more]);
    expect(start('seed=1..8')).toThrow(/^--pbt-start: "seed=1..8" is not allowed \(field=sweep items joined by ';'/);
    expect(start('epochs=lin:1..4')).toThrow(/^--pbt-start: "epochs=lin:1..4" is not allowed .*fields: lr, /);
    expect(start('lr=log:1e-3..2e-3;lr=lin:1e-3..2e-3')).toThrow(/^--pbt-start: lr given more than once/);
    expect(start('lr=2e-3')).toThrow(/^--pbt-start: "lr=2e-3" is one value, not a spread/);
    expect(start('lr=log:0..1')).toThrow(/^--pbt-start: --lr: "log:0..1" is not allowed \(a log: spread needs both ends > 0\)/);
    expect(start('clip=0.1,0.2,0.3')).toThrow(/^--pbt-start: --population: 8 is not a multiple of the 3 grid points of --clip/);
    expect(start('lr=lin:1e-3..2')).toThrow(/^--pbt-start: agent 4: --lr: 1\.14\d* is not allowed \(policy learning rate; must be a number in \(0, 1\]\)$/);
    expect(() => parsePbtBenchArgs(['--env', 'CartPole-v1', '--iters', '5', '--runs', 'plain,sweep'])).toThrow(/^--runs: sweep needs --pbt-start/);
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

    // The sweep run: the starting spread without PBT. Agent 0 starts at the preset's rate, so it trains as in the plain run.
    const spread = parsePbtBenchArgs([...tiny, '--target', '5', '--eval-episodes', '4', '--pbt-start', 'lr=lin:1e-3..4e-3'])!;
    const sweep: PbtRunResult = JSON.parse(JSON.stringify(await runPopulation(gpu, spread, 'sweep', quiet)));
    expect(sweep).toMatchObject({ run: 'sweep', start: 'lr=lin:1e-3..4e-3', exploits: 0, agents_replaced: 0 });
    expect(sweep.evals[0]).toBe(plain.evals[0]);
    expect(sweep.pbt).toBeUndefined();
    expect(plain.start).toBeUndefined();

    const table = pbtTable([plain, pbt, sweep]).split('\n');
    expect(table[0]).toContain(plain.adapter);
    expect(table.filter((l) => /^\| (plain|pbt|sweep) \|/.test(l))).toHaveLength(3);
  });
});
