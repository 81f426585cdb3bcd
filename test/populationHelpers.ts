// Agent k of a population against its single run: metrics, checkpoint arrays and
// dispatch counts, bit for bit (test/population.train.test.ts, test/userEnv.test.ts).
import { expect } from 'vitest';
import { makePopulationTrainer, makeTrainer } from '../src/train/trainer';
import { resolveConfig, type TrainConfig } from '../src/core/config';
import { extractAgent } from '../src/train/checkpoint';
import type { IterationMetrics } from '../src/core/metrics';
import { testGpu } from './helpers';

/** A metrics line without its wall-clock fields. */
export const timeless = (m: IterationMetrics) => ({ ...m, sps: 0, wall_s: 0 });
/** A float array's bit patterns, so -0, NaN payloads and ulps compare exactly. */
export const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Trains `agents` (each over `base`) as one population and each alone for `iters` iterations; returns the population's checkpoint. */
export async function compare(base: Partial<TrainConfig>, agents: Partial<TrainConfig>[], iters: number) {
  const gpu = await testGpu();
  const configs = agents.map((a) => resolveConfig({ ...base, ...a }));
  const population = await makePopulationTrainer(gpu, configs);
  const histories: IterationMetrics[][] = configs.map(() => []);
  for (let i = 0; i < iters; i++) (await population.step()).forEach((m, k) => histories[k].push(m));
  const saved = await population.checkpoint(histories);
  for (const [k, config] of configs.entries()) {
    const single = await makeTrainer(gpu, config);
    expect(single.dispatchesPerIteration).toBe(population.dispatchesPerIteration);
    const history: IterationMetrics[] = [];
    for (let i = 0; i < iters; i++) history.push(await single.step());
    expect(histories[k].map(timeless)).toEqual(history.map(timeless));
    const own = await single.checkpoint(history);
    const extracted = extractAgent(saved, k);
    expect(Object.keys(extracted.arrays).sort()).toEqual(Object.keys(own.arrays).sort());
    for (const [name, a] of Object.entries(own.arrays)) expect(bits(extracted.arrays[name]), `agent ${k} ${name}`).toEqual(bits(a));
    single.destroy();
  }
  population.destroy();
  return saved;
}
