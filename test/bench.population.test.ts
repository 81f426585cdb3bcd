/**
 * The population bench case: its flags, one quick run on tiny shapes (the
 * record's fields and how they relate), and a population over the adapter's
 * limits skipped with the reason rather than failing the case.
 */
import { describe, it, expect } from 'vitest';
import { requestGpu } from '../src/gpu/device';
import { MAX_POPULATION } from '../src/core/population';
import { parseBenchArgs } from '../bench/lib/options';
import { runCase } from '../bench/lib/cases';
import { QUICK_POPULATION_SIZES, largestPopulation } from '../bench/lib/populationCase';
import { resolveConfig } from '../src/core/config';
import { populationLimits } from '../src/train/trainer';
import { withinLimits } from '../src/train/limits';
import { testGpu } from './helpers';
import { consoleLines } from '../bench/lib/format';

const TINY = ['--preset', 'seed', '--envs', '4', '--steps-per-iter', '32', '--minibatch', '16', '--epochs', '1'];

describe('population case flags', () => {
  it('--population lists the sizes, --algo the algorithm (only with --cases population)', () => {
    const o = parseBenchArgs(['--cases', 'population', '--population', '1,64,1,64', '--algo', 'ppo-kl'], '')!;
    expect(o.cases).toEqual(['population']);
    expect(o.populations).toEqual([1, 64, 1, 64]);
    expect(o.populationAlgo).toBe('ppo-kl');
    expect(o.overrides.algo).toBeUndefined();
    const defaults = parseBenchArgs([], '')!;
    expect(defaults.populations).toBeNull();
    expect(defaults.populationAlgo).toBe('ppo');
    expect(defaults.cases).toContain('population');
  });

  it('names bad values', () => {
    expect(() => parseBenchArgs(['--algo', 'ppo', '--cases', 'ppo'], '')).toThrow(/--algo: choose algorithms with --cases/);
    expect(() => parseBenchArgs(['--algo', 'sac', '--cases', 'population'], '')).toThrow(/--algo: "sac" is not one of ppo/);
    expect(() => parseBenchArgs(['--population', '0'], '')).toThrow(/--population: "0" is not a positive integer/);
    expect(() => parseBenchArgs(['--population', `4,${MAX_POPULATION + 1}`], '')).toThrow(new RegExp(`--population: ${MAX_POPULATION + 1} is not allowed`));
  });
});

describe('population case', () => {
  it('--quick on tiny shapes: P = 1, 4, 16, aggregate sps, per-agent seconds, the same dispatches, P× the invocations', async () => {
    const options = parseBenchArgs(['--node', '--cases', 'population', '--quick', ...TINY], '')!;
    const record = await runCase('population', options, 'node', () => requestGpu({ quiet: true }), () => undefined);
    expect(record.error).toBeUndefined();
    expect(record.adapter).toMatch(/\S/);
    expect(record.unit).toBe('sps');
    const points = record.points;
    expect(points.map((p) => p.population)).toEqual([...QUICK_POPULATION_SIZES]);
    for (const p of points) {
      expect(p).toMatchObject({ config: 'seed', algo: 'ppo', num_envs: 4, steps_per_env: 8, batch_size: 32 });
      expect(p.skipped).toBeUndefined();
      const P = p.population as number;
      const seconds = p.iteration_s as number;
      expect(seconds).toBeGreaterThan(0);
      // Figures are rounded to 4 significant digits.
      expect(p.sps as number).toBeCloseTo((P * 32) / seconds, -Math.floor(Math.log10(p.sps as number)) + 2);
      // Each figure rounded to 4 significant digits is off by at most 5e-4 relative, so a ratio of two
      // by about 1e-3 (of three, the speedup against two rounded rates, 1.5e-3); a little margin over both.
      const within = (ratio: number, tolerance: number) => expect(Math.abs(ratio - 1)).toBeLessThanOrEqual(tolerance);
      within((p.agent_iteration_s as number) / (seconds / P), 1.1e-3);
      within((p.agent_sps as number) / (32 / seconds), 1.1e-3);
      within((p.speedup as number) / ((p.sps as number) / (points[0].sps as number)), 1.6e-3);
      expect(p.iterations_timed).toBeGreaterThanOrEqual(1);
      expect(p.iterations_timed).toBeLessThanOrEqual(2);
      expect(p.dispatches).toBe(points[0].dispatches);
      // Every dispatch covers the P agents along workgroup z, the within-agent grid unchanged.
      expect(p.invocations_per_iter).toBe(P * (points[0].invocations_per_iter as number));
    }
    expect(points[0].speedup).toBe(1);
    expect(points[0].dispatches as number).toBeGreaterThan(0);
    expect(record.sps).toBe(Math.max(...points.map((p) => p.sps as number)));
    expect(consoleLines(record)[1]).toMatch(/population=1: .*env-steps\/s; .* s\/iteration; .* s\/iteration per agent/);
  });

  it('a population over the adapter’s limits is a skipped point with the reason, and a note', async () => {
    // 2^20 steps per agent: the rollout alone needs 16 MiB per agent, 64 GiB for all.
    const options = parseBenchArgs(['--node', '--cases', 'population', '--population', String(MAX_POPULATION), '--preset', 'fast', '--envs', '16384', '--steps-per-iter', String(1 << 20), '--minibatch', '16384'], '')!;
    const record = await runCase('population', options, 'node', () => requestGpu({ quiet: true }), () => undefined);
    expect(record.error).toBeUndefined();
    expect(record.points).toHaveLength(1);
    expect(record.points[0]).toMatchObject({ population: MAX_POPULATION, num_envs: 16384 });
    expect(record.points[0].skipped).toMatch(/^over the adapter's limits: --.* \(each agent's share of the limit; at most \d+ agents of these shapes fit\)$/);
    expect(record.points[0].sps).toBeUndefined();
    expect(record.notes?.some((n) => n.startsWith(`ppo fast P=${MAX_POPULATION} skipped: over the adapter's limits`))).toBe(true);
    expect(record.headline).toBeNull();
  });

  it('largestPopulation: the most agents whose per-agent blocks fit the limits, as the trainer checks them', async () => {
    const gpu = await testGpu();
    const config = resolveConfig({ preset: 'seed' });
    const most = largestPopulation(config, gpu.limits);
    expect(most).toBeGreaterThanOrEqual(1);
    if (most < MAX_POPULATION) {
      expect(withinLimits(config, populationLimits(gpu.limits, most))).toBe(true);
      expect(withinLimits(config, populationLimits(gpu.limits, most + 1))).toBe(false);
    }
    // 16 MiB bindings hold 1/8 of what 128 MiB ones do, give or take the rounding of whole blocks.
    // The seed preset's largest per-agent buffer is a 10 000-row activation of 64 floats (2.44 MiB):
    // 128 MiB bindings hold 52 agents, 16 MiB ones 6 (other limits as large as the adapter's).
    const limits = (binding: number) => ({ maxBufferSize: gpu.limits.maxBufferSize, maxStorageBufferBindingSize: binding, minUniformBufferOffsetAlignment: gpu.limits.minUniformBufferOffsetAlignment });
    expect(largestPopulation(config, limits(128 << 20))).toBe(Math.floor((128 << 20) / (10_000 * 64 * 4)));
    expect(largestPopulation(config, limits(16 << 20))).toBe(Math.floor((16 << 20) / (10_000 * 64 * 4)));
    expect(largestPopulation(config, limits(1024))).toBe(0);
  });
});
