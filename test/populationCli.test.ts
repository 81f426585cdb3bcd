// The train command with a population: the issue's `--population P --seed a..b` form,
// one JSON line per agent per iteration (agent, seed, swept values) and a summary line
// whose quantiles are the agents', each agent's lines equal to its own single run,
// --save of the whole population, --agent K extraction, resume, PBT lines, and refusals
// of bad population flags before any GPU work.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseCheckpoint } from '../src/train/checkpoint';
import { quantile } from '../src/core/metrics';
import { shortestF32 } from '../src/core/agentParams';
import { bundleForNode, runNode } from './node-child';

const SHAPE = ['--envs', '8', '--steps-per-iter', '256', '--minibatch', '64', '--epochs', '2', '--hidden', '16', '--json'];
const lines = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
const timeless = (m: Record<string, unknown>) => ({ ...m, sps: 0, wall_s: 0 });

describe('train CLI with a population', () => {
  it('--population 3 --seed 5 --clip 0.1,0.2,0.3: agent lines equal single runs, summary quantiles, save, extract, resume', async () => {
    const script = await bundleForNode('src/cli/train.ts');
    const dir = mkdtempSync(join(tmpdir(), 'webgpu-rl-pop-'));
    const file = join(dir, 'pop.json');
    const pop = await runNode(script, [...SHAPE, '--iters', '2', '--population', '3', '--seed', '5', '--clip', '0.1,0.2,0.3', '--save', file], { timeoutMs: 180_000 });
    expect(pop.code, pop.stderr).toBe(0);
    const out = lines(pop.stdout);
    // Per iteration: 3 agent lines, then the summary; the last line says done.
    expect(out).toHaveLength(2 * 4 + 1);
    const agentLines = out.filter((l) => 'agent' in l);
    expect(agentLines.map((l) => [l.iter, l.agent, l.seed])).toEqual([0, 1].flatMap((iter) => [0, 1, 2].map((k) => [iter, k, 5 + k])));
    expect(agentLines.map((l) => l.clip)).toEqual([0.1, 0.2, 0.3, 0.1, 0.2, 0.3]);
    for (const iter of [0, 1]) {
      const summary = out[iter * 4 + 3];
      const returns = out.slice(iter * 4, iter * 4 + 3).map((l) => l.mean_return).filter((r) => r !== null).sort((a, b) => a - b);
      expect(summary).toMatchObject({ population: 3, iter, env_steps: 3 * 256 * (iter + 1), reporting: returns.length, median: quantile(returns, 0.5), q1: quantile(returns, 0.25) });
    }
    expect(out[out.length - 1]).toMatchObject({ done: true, population: 3, iterations: 2, env_steps: 3 * 2 * 256 });
    expect(pop.stderr).toMatch(/population of 3 agents/);
    // Agent 1 is the single run with its seed and clip.
    const single = await runNode(script, [...SHAPE, '--iters', '2', '--seed', '6', '--clip', '0.2'], { timeoutMs: 120_000 });
    expect(single.code, single.stderr).toBe(0);
    const own = lines(single.stdout).slice(0, 2);
    const agent1 = agentLines.filter((l) => l.agent === 1).map(({ agent: _a, seed: _s, clip: _c, ...m }) => m);
    expect(agent1.map(timeless)).toEqual(own.map(timeless));
    // The population file holds 3 agents; --agent 1 writes agent 1's own checkpoint.
    expect(parseCheckpoint(readFileSync(file, 'utf8')).population?.agents.map((a) => a.clip)).toEqual([0.1, 0.2, 0.3]);
    const one = join(dir, 'agent1.json');
    const extract = await runNode(script, ['--load', file, '--agent', '1', '--save', one], { timeoutMs: 60_000 });
    expect(extract.code, extract.stderr).toBe(0);
    const extracted = parseCheckpoint(readFileSync(one, 'utf8'));
    expect(extracted.population).toBeUndefined();
    expect(extracted.config).toMatchObject({ seed: 6, clip: 0.2 });
    // Resuming the population continues every agent (seeds and clips kept).
    const more = await runNode(script, ['--load', file, '--iters', '1', '--json'], { timeoutMs: 120_000 });
    expect(more.code, more.stderr).toBe(0);
    expect(lines(more.stdout).filter((l) => 'agent' in l).map((l) => [l.iter, l.seed, l.clip])).toEqual([
      [2, 5, 0.1],
      [2, 6, 0.2],
      [2, 7, 0.3],
    ]);
  }, 600_000);

  it('--pbt: exploit lines name the parent and carry the explored values, learning rates included; --save keeps them', async () => {
    const script = await bundleForNode('src/cli/train.ts');
    const file = join(mkdtempSync(join(tmpdir(), 'webgpu-rl-pbt-')), 'pbt.json');
    const explore = ['--lr', '0.001', '--value-lr', '0.002', '--pbt-perturb', 'lr,value-lr,clip'];
    const run = await runNode(script, [...SHAPE, '--iters', '2', '--population', '4', '--pbt', '--pbt-interval', '2', '--pbt-fraction', '0.25', ...explore, '--save', file], { timeoutMs: 180_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/PBT every 2 iterations \(lr, value-lr, clip\)/);
    const agentLines = lines(run.stdout).filter((l) => 'agent' in l);
    expect(agentLines).toHaveLength(8);
    // No exploit after iteration 0; after iteration 1 exactly one agent (a quarter) took a parent.
    expect(agentLines.slice(0, 4).every((l) => l.pbt_parent === null && l.clip === 0.2 && l.lr === 0.001 && l.value_lr === 0.002)).toBe(true);
    const replaced = agentLines.slice(4).filter((l) => l.pbt_parent !== null);
    expect(replaced).toHaveLength(1);
    // The parent's values times 0.8 or 1.2, in f32 as the GPU multiplies.
    const f = Math.fround;
    const explored = (value: number) => [0.8, 1.2].map((x) => shortestF32(f(f(value) * f(x))));
    expect(explored(0.2)).toContain(replaced[0].clip);
    expect(explored(0.001)).toContain(replaced[0].lr);
    expect(explored(0.002)).toContain(replaced[0].value_lr);
    expect(replaced[0].pbt_parent).not.toBe(replaced[0].agent);
    // The saved population holds the explored rates, which a resume writes back into the records.
    const saved = parseCheckpoint(readFileSync(file, 'utf8')).population!.agents[replaced[0].agent];
    expect([saved.lr, saved.valueLr, saved.clip]).toEqual([replaced[0].lr, replaced[0].value_lr, replaced[0].clip]);
  }, 300_000);

  it('refuses bad population flags with one line before any GPU work', async () => {
    const script = await bundleForNode('src/cli/train.ts');
    const cases: [string[], RegExp][] = [
      [['--population', '0'], /--population: 0 is not allowed/],
      [['--population', '3', '--seed', '1..4'], /--population: 3 is not a multiple of the 4 grid points of --seed/],
      [['--lr', 'log:1e-4..1e-2'], /a log:\/lin: spread needs --population/],
      [['--envs', '2,4'], /--envs: "2,4" is a sweep, but parallel environments is shared by every agent/],
      [['--pbt'], /--pbt: population-based training needs a population/],
      [['--population', '8', '--pbt', '--pbt-fraction', '0.7'], /--pbt-fraction: 0.7 is not allowed/],
      [['--population', '8', '--pbt-interval', '3'], /--pbt-interval: only with --pbt/],
      [['--population', '8', '--pbt-envs', 'copy'], /--pbt-envs: only with --pbt/],
      [['--population', '8', '--pbt', '--pbt-envs', 'all'], /--pbt-envs: "all" is not allowed \(own: a replaced agent keeps its envs; copy: it takes its source's\)/],
      [['--pbt-envs', 'copy'], /--pbt: population-based training needs a population/],
      [['--population', '8', '--pbt-source', 'best'], /--pbt-source: only with --pbt/],
      [['--population', '8', '--pbt', '--pbt-resample', '1.5'], /--pbt-resample: 1.5 is not allowed \(probability that an explored field is resampled from the starting values; must be in \[0, 1\]\)/],
      [['--population', '8', '--pbt', '--pbt-burn-in', '2.5'], /--pbt-burn-in: 2.5 is not allowed \(iterations before the first score window; must be an integer in \[0, 1000000\]\)/],
      [['--population', '8', '--pbt', '--pbt-source', 'worst'], /--pbt-source: "worst" is not allowed \(top: one of the best fraction at random; best: the best agent\)/],
      [['--population', '8', '--pbt', '--pbt-perturb', 'lr,seed'], /--pbt-perturb: "seed" is not allowed \(none, or a comma list of lr, value-lr, clip, /],
      [['--population', '8', '--pbt', '--pbt-perturb', 'none,lr'], /--pbt-perturb: "none,lr" is not allowed \(none stands alone: exploit only, nothing explored\)/],
      [['--agent', '1'], /--agent: needs --load/],
    ];
    for (const [args, message] of cases) {
      const r = await runNode(script, args, { timeoutMs: 30_000 });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  }, 300_000);
});
