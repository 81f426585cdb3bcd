// Population-based training's GPU steps against the CPU twin (src/reference/pbt.ts),
// bit for bit: the score window, the ranking (ties to the lower index, agents with no
// episode last), the Philox picks among the best, the explored records (f32 products,
// clamped, seeds kept; lr and valueLr among the explored fields), lineage in the
// metrics blocks, and the tensor copies. Scores are chosen so that every GPU division
// is exact (counts and episodes are powers of 2).
import { describe, expect, it } from 'vitest';
import { Pbt } from '../src/kernels/pbt';
import { pbtExploitReference } from '../src/reference/pbt';
import { agentsBuffer } from '../src/gpu/agents';
import { readFloat32, readUint32, storageBuffer, submitPass } from '../src/gpu/buffers';
import { AGENT_FIELDS, type PbtSettings } from '../src/core/population';
import { agentParamOffset, packAgentParams } from '../src/core/agentParams';
import { METRICS_BLOCK_FLOATS, metricSlot } from '../src/core/metrics';
import { seededRandom, testGpu } from './helpers';
import { makePopulationTrainer } from '../src/train/trainer';
import { resolveConfig } from '../src/core/config';

const P = 11;
// lr and valueLr as the CLI bounds them (their flags' range, (0, 1]); valueLr's upper bound is tight so clamping shows.
const BOUNDS = { lr: [0, 1], valueLr: [1e-4, 2e-3], clip: [0.05, 0.5], entCoef: [0, 0.1] } as const;

function population(rand: () => number) {
  return Array.from({ length: P }, (_, k) => ({ seed: 100 + k, lr: 1e-3 * (0.5 + rand()), valueLr: 2e-3 * (0.8 + 0.2 * rand()), clip: 0.1 + 0.3 * rand(), entCoef: 0.01 * rand(), gamma: 0.99, lambda: 0.95 }));
}

describe('Pbt', () => {
  it('records windows, ranks, exploits, explores and copies exactly as the CPU twin', async () => {
    const gpu = await testGpu();
    const rand = seededRandom(21);
    const values = population(rand);
    const agents = agentsBuffer(gpu, 'pbt.test.agents', values);
    // Metrics blocks: agent 3 and 8 finish no episode; 2 and 6 tie.
    const blocks = new Float32Array(P * METRICS_BLOCK_FLOATS);
    const means = [12, 30, 55, 7, 90, 41, 55, 18, 0, 63, 25];
    for (let a = 0; a < P; a++) {
      const episodes = a === 3 || a === 8 ? 0 : [1, 2, 4, 8][a % 4];
      blocks[a * METRICS_BLOCK_FLOATS + metricSlot('episodes')] = episodes;
      blocks[a * METRICS_BLOCK_FLOATS + metricSlot('completed_return_sum')] = means[a] * episodes;
    }
    const metrics = storageBuffer(gpu, 'pbt.test.metrics', blocks);
    const weightsHost = Float32Array.from({ length: P * 37 }, () => rand() - 0.5);
    const momentsHost = Float32Array.from({ length: P * 5 }, () => rand());
    const weights = storageBuffer(gpu, 'pbt.test.weights', weightsHost);
    const moments = storageBuffer(gpu, 'pbt.test.moments', momentsHost);
    const pbt = await Pbt.create(gpu, {
      agents,
      metrics,
      tensors: [
        { name: 'weights', buffer: weights, count: 37 },
        { name: 'moments', buffer: moments, count: 5 },
      ],
      bottom: 3,
      top: 3,
      perturb: ['lr', 'valueLr', 'clip', 'entCoef'],
      bounds: BOUNDS,
      seed: 77,
    });
    // Two iterations recorded into the window, then an exploit, then one more of each.
    const mask = (['lr', 'valueLr', 'clip', 'entCoef'] as const).reduce((m, f) => m | (1 << AGENT_FIELDS.indexOf(f)), 0);
    let words: Uint32Array = new Uint32Array(packAgentParams(values));
    let weightsRef: Float32Array = weightsHost.slice();
    let momentsRef: Float32Array = momentsHost.slice();
    let clamped = 0;
    for (let exploit = 0; exploit < 2; exploit++) {
      submitPass(gpu, 'pbt.test', (pass) => {
        pbt.encodeRecord(pass);
        pbt.encodeRecord(pass);
      });
      const windowGpu = await readFloat32(gpu, pbt.scoreWindow);
      const windowRef = new Float32Array(2 * P);
      for (let a = 0; a < P; a++) if (a !== 3 && a !== 8) windowRef.set([2 * means[a], 2], 2 * a);
      expect(Array.from(windowGpu)).toEqual(Array.from(windowRef));
      submitPass(gpu, 'pbt.test', (pass) => pbt.encodeExploit(pass));
      const ref = pbtExploitReference({
        agentWords: words,
        fields: AGENT_FIELDS.length,
        bounds: Float32Array.from(AGENT_FIELDS.flatMap((f) => (f in BOUNDS ? [...BOUNDS[f as keyof typeof BOUNDS]] : [0, 0]))),
        scoreWindow: windowRef,
        exploit,
        bottom: 3,
        top: 3,
        seed: 77,
        perturbMask: mask,
        down: 0.8,
        up: 1.2,
      });
      // The worst three are 3 and 8 (no episode) and 0 (12); the best three 4, 9, then 2 (tie with 6, lower index).
      expect(ref.byRank.slice(0, 3)).toEqual([4, 9, 2]);
      expect(ref.byRank.slice(-3).sort()).toEqual([0, 3, 8]);
      expect(Array.from(await readUint32(gpu, pbt.source))).toEqual(ref.source);
      expect(Array.from(await readUint32(gpu, agents.params))).toEqual(Array.from(ref.agentWords));
      const after = await readFloat32(gpu, metrics);
      for (let a = 0; a < P; a++) {
        expect(after[a * METRICS_BLOCK_FLOATS + metricSlot('pbt_parent')]).toBe(ref.source[a] === a ? -1 : ref.source[a]);
      }
      weightsRef = copied(weightsRef, ref.source, 37);
      momentsRef = copied(momentsRef, ref.source, 5);
      expect(Array.from(await readFloat32(gpu, weights))).toEqual(Array.from(weightsRef));
      expect(Array.from(await readFloat32(gpu, moments))).toEqual(Array.from(momentsRef));
      expect(Array.from(await readFloat32(gpu, pbt.scoreWindow))).toEqual(new Array(2 * P).fill(0));
      // Replaced agents keep their seeds and take perturbed copies within bounds.
      const view = new DataView(ref.agentWords.buffer);
      for (const a of [0, 3, 8]) {
        expect(view.getUint32(a * AGENT_FIELDS.length * 4 + agentParamOffset('seed'), true)).toBe(100 + a);
        const parent = ref.source[a];
        const lr = view.getFloat32(a * AGENT_FIELDS.length * 4 + agentParamOffset('lr'), true);
        const parentLr = new DataView(words.buffer).getFloat32(parent * AGENT_FIELDS.length * 4 + agentParamOffset('lr'), true);
        expect([Math.fround(parentLr * Math.fround(0.8)), Math.fround(parentLr * Math.fround(1.2))]).toContain(lr);
        const valueLr = view.getFloat32(a * AGENT_FIELDS.length * 4 + agentParamOffset('valueLr'), true);
        const parentValueLr = new DataView(words.buffer).getFloat32(parent * AGENT_FIELDS.length * 4 + agentParamOffset('valueLr'), true);
        const within = (x: number) => Math.min(Math.max(x, Math.fround(BOUNDS.valueLr[0])), Math.fround(BOUNDS.valueLr[1]));
        expect([0.8, 1.2].map((x) => within(Math.fround(parentValueLr * Math.fround(x))))).toContain(valueLr);
        if (valueLr === Math.fround(BOUNDS.valueLr[1])) clamped++;
      }
      words = ref.agentWords;
    }
    // valueLr's tight upper bound did clamp some explored values.
    expect(clamped).toBeGreaterThan(0);
    pbt.destroy();
  });

  it('resamples explored fields from the prior records with probability `resample`, else perturbs them, exactly as the CPU twin', async () => {
    const gpu = await testGpu();
    const rand = seededRandom(5);
    const values = population(rand);
    // The prior: a different population (as a sweep's starting values would be), so a resampled value shows.
    const priorValues = population(rand);
    const prior = new Uint32Array(packAgentParams(priorValues));
    const agents = agentsBuffer(gpu, 'pbt.test.agents', values);
    const blocks = new Float32Array(P * METRICS_BLOCK_FLOATS);
    for (let a = 0; a < P; a++) {
      blocks[a * METRICS_BLOCK_FLOATS + metricSlot('episodes')] = 1;
      blocks[a * METRICS_BLOCK_FLOATS + metricSlot('completed_return_sum')] = 4 * a;
    }
    const metrics = storageBuffer(gpu, 'pbt.test.metrics', blocks);
    const explored = ['lr', 'valueLr', 'clip', 'entCoef'] as const;
    const pbt = await Pbt.create(gpu, { agents, metrics, tensors: [], bottom: 4, top: 4, perturb: explored, bounds: BOUNDS, seed: 9, resample: 0.5, prior });
    submitPass(gpu, 'pbt.test', (pass) => {
      pbt.encodeRecord(pass);
      pbt.encodeExploit(pass);
    });
    const scoreWindow = new Float32Array(2 * P);
    for (let a = 0; a < P; a++) scoreWindow.set([4 * a, 1], 2 * a);
    const words = new Uint32Array(packAgentParams(values));
    const mask = explored.reduce((m, f) => m | (1 << AGENT_FIELDS.indexOf(f)), 0);
    const bounds = Float32Array.from(AGENT_FIELDS.flatMap((f) => (f in BOUNDS ? [...BOUNDS[f as keyof typeof BOUNDS]] : [0, 0])));
    const ref = pbtExploitReference({ agentWords: words, fields: AGENT_FIELDS.length, bounds, scoreWindow, exploit: 0, bottom: 4, top: 4, seed: 9, perturbMask: mask, down: 0.8, up: 1.2, resample: 0.5, prior });
    expect(Array.from(await readUint32(gpu, pbt.source))).toEqual(ref.source);
    expect(Array.from(await readUint32(gpu, agents.params))).toEqual(Array.from(ref.agentWords));
    // Of the 4 × 4 explored values, some came from the prior and some were perturbed.
    let resampled = 0;
    let perturbed = 0;
    for (let a = 0; a < 4; a++) {
      const parent = ref.source[a];
      expect(parent).not.toBe(a);
      for (const f of explored) {
        const at = a * AGENT_FIELDS.length + AGENT_FIELDS.indexOf(f);
        const fromPrior = Array.from({ length: P }, (_, j) => prior[j * AGENT_FIELDS.length + AGENT_FIELDS.indexOf(f)]).includes(ref.agentWords[at]);
        if (fromPrior) resampled++;
        else perturbed++;
      }
    }
    expect(resampled).toBeGreaterThan(0);
    expect(perturbed).toBeGreaterThan(0);
    pbt.destroy();
  });

  it('refuses overlapping bottom and top, a seed to perturb, missing bounds and short tensors', async () => {
    const gpu = await testGpu();
    const agents = agentsBuffer(gpu, 'pbt.test.agents', population(seededRandom(1)));
    const metrics = storageBuffer(gpu, 'pbt.test.metrics', P * METRICS_BLOCK_FLOATS * 4);
    const base = { agents, metrics, tensors: [], bottom: 3, top: 3, perturb: ['lr'] as const, bounds: BOUNDS, seed: 1 };
    await expect(Pbt.create(gpu, { ...base, bottom: 6, top: 6 })).rejects.toThrow(/bottom 6 and top 6 .* ≤ 11 agents/);
    await expect(Pbt.create(gpu, { ...base, perturb: ['seed'] })).rejects.toThrow(/cannot perturb "seed"/);
    await expect(Pbt.create(gpu, { ...base, perturb: ['gamma'] })).rejects.toThrow(/gamma needs bounds/);
    await expect(Pbt.create(gpu, { ...base, resample: 1.5 })).rejects.toThrow(/resample 1\.5 must be a probability in \[0, 1\]/);
    await expect(Pbt.create(gpu, { ...base, prior: new Uint32Array(3) })).rejects.toThrow(/prior needs 11 records of/);
    const short = storageBuffer(gpu, 'pbt.test.short', 10 * 4);
    await expect(Pbt.create(gpu, { ...base, tensors: [{ name: 'short', buffer: short, count: 1 }] })).rejects.toThrow(/tensor short must hold 11 blocks/);
  });
});

function copied(host: Float32Array, source: number[], count: number): Float32Array {
  const out = host.slice();
  source.forEach((from, a) => out.set(host.subarray(from * count, (from + 1) * count), a * count));
  return out;
}

/** Agent a's block of an agent-major checkpoint array of P agents, as raw words (for bit-for-bit comparisons). */
function agentWords(all: Float32Array, a: number, P: number): number[] {
  const n = all.length / P;
  return Array.from(new Uint32Array(all.buffer, all.byteOffset + a * n * 4, n));
}

/** Eight learning rates, none 0.8 or 1.2 times another, so a perturbed copy cannot pass for a resampled one. */
const SPREAD_LRS = [1, 1.3, 1.7, 2.3, 2.9, 3.7, 4.1, 5.3].map((x) => x * 1e-3);

/** Eight small CartPole agents, seeds 1..8, with SPREAD_LRS. */
function spreadPopulation() {
  return SPREAD_LRS.map((lr, k) => resolveConfig({ env: 'CartPole-v1', preset: 'seed', numEnvs: 4, stepsPerIter: 64, minibatch: 16, epochs: 1, seed: 1 + k, lr }));
}

describe('PBT in the population trainer', () => {
  it("an exploited agent takes its parent's weights and whole optimizer state: moments, step count and bias corrections", async () => {
    const gpu = await testGpu();
    // Early stopping after the first epoch for odd seeds only makes the agents' Adam step counts differ, so copying them shows.
    const configs = [1, 2, 3, 4].map((seed) => resolveConfig({ env: 'CartPole-v1', preset: 'seed', numEnvs: 4, stepsPerIter: 64, minibatch: 16, epochs: 3, seed, targetKl: seed % 2 ? 1e-6 : 10 }));
    const trainer = await makePopulationTrainer(gpu, configs, { pbt: { interval: 1, fraction: 0.25, perturb: ['lr', 'clip'] } });
    try {
      const metrics = await trainer.step();
      // Agent k's metrics are at k.
      const replaced = metrics.flatMap((m, k) => (m.pbt_parent !== null ? [k] : []));
      expect(replaced).toHaveLength(1);
      const child = replaced[0];
      const parent = metrics[child].pbt_parent!;
      const { arrays } = await trainer.checkpoint(configs.map(() => []));
      const block = (name: string, a: number) => agentWords(arrays[name], a, 4);
      const names = ['policy', 'value', 'policy.adam.m', 'policy.adam.v', 'policy.adam.control', 'value.adam.m', 'value.adam.v', 'value.adam.control'];
      for (const name of names) expect(block(name, child), `${name} of agent ${child}, copied from ${parent}`).toEqual(block(name, parent));
      // The step counts differ between some agents, so the control blocks compared something.
      const steps = [0, 1, 2, 3].map((a) => block('policy.adam.control', a)[0]);
      expect(new Set(steps).size).toBeGreaterThan(1);
    } finally {
      trainer.destroy();
    }
  });

  it("exploit only (perturb none, `--pbt-perturb none`): a replaced agent takes its parent's weights and every hyperparameter unchanged, its own seed", async () => {
    const gpu = await testGpu();
    const configs = [1, 2, 3, 4].map((seed) => resolveConfig({ env: 'CartPole-v1', preset: 'seed', numEnvs: 4, stepsPerIter: 64, minibatch: 16, epochs: 2, seed, lr: 1e-3 * seed, clip: 0.0625 * (seed + 1) }));
    const trainer = await makePopulationTrainer(gpu, configs, { pbt: { interval: 1, fraction: 0.25, perturb: [] } });
    try {
      const metrics = await trainer.step();
      const child = metrics.findIndex((m) => m.pbt_parent !== null);
      expect(child).toBeGreaterThanOrEqual(0);
      const parent = metrics[child].pbt_parent!;
      const saved = await trainer.checkpoint(configs.map(() => []));
      for (const name of ['policy', 'value', 'policy.adam.m']) expect(agentWords(saved.arrays[name], child, 4), name).toEqual(agentWords(saved.arrays[name], parent, 4));
      const records = saved.population!.agents;
      const { seed, ...rest } = records[child];
      expect(seed).toBe(configs[child].seed);
      const { seed: parentSeed, ...parentRest } = records[parent];
      expect(parentSeed).toBe(configs[parent].seed);
      expect(rest).toEqual(parentRest);
      expect([rest.lr, rest.clip]).toEqual([configs[parent].lr, configs[parent].clip]);
    } finally {
      trainer.destroy();
    }
  });

  it("sources best (`--pbt-source best`): every replaced agent copies the best agent; top (the default): one of the best quarter", async () => {
    const gpu = await testGpu();
    const configs = Array.from({ length: 16 }, (_, k) => resolveConfig({ env: 'CartPole-v1', preset: 'seed', numEnvs: 4, stepsPerIter: 64, minibatch: 16, epochs: 1, seed: 1 + k }));
    for (const source of ['best', 'top'] as const) {
      const trainer = await makePopulationTrainer(gpu, configs, { pbt: { interval: 1, fraction: 0.25, perturb: [], source } });
      try {
        const metrics = await trainer.step();
        // The score window of one iteration is its mean completed return (every agent finishes episodes in 64 steps of 4 envs).
        const scores = metrics.map((m) => m.mean_return!);
        expect(scores.every((r) => r !== null)).toBe(true);
        const replaced = metrics.flatMap((m, k) => (m.pbt_parent !== null ? [k] : []));
        expect(replaced, source).toHaveLength(4);
        const parents = replaced.map((k) => metrics[k].pbt_parent!);
        const ranked = [...scores.keys()].sort((a, b) => scores[b] - scores[a] || a - b);
        if (source === 'best') expect(parents).toEqual(parents.map(() => ranked[0]));
        else {
          for (const p of parents) expect(ranked.slice(0, 4)).toContain(p);
          // So the check of `best` above is not met by chance: here the picks differ.
          expect(new Set(parents).size).toBeGreaterThan(1);
        }
        // The worst quarter is what was replaced.
        expect([...replaced].sort((a, b) => a - b)).toEqual(ranked.slice(-4).sort((a, b) => a - b));
      } finally {
        trainer.destroy();
      }
    }
  });

  it('burn-in (`--pbt-burn-in 2`): no exploit in the first 2 iterations, then windows of `interval` iterations scored from there', async () => {
    const gpu = await testGpu();
    const configs = Array.from({ length: 8 }, (_, k) => resolveConfig({ env: 'CartPole-v1', preset: 'seed', numEnvs: 4, stepsPerIter: 64, minibatch: 16, epochs: 1, seed: 1 + k }));
    const trainer = await makePopulationTrainer(gpu, configs, { pbt: { interval: 2, burnIn: 2, fraction: 0.25, perturb: [] } });
    try {
      const iterations: Awaited<ReturnType<typeof trainer.step>>[] = [];
      for (let i = 0; i < 6; i++) iterations.push(await trainer.step());
      const exploited = iterations.map((metrics) => metrics.some((m) => m.pbt_parent !== null));
      // Exploits after iterations 2 + 2 and 2 + 4 (1-based): k = 3 and 5.
      expect(exploited).toEqual([false, false, false, true, false, true]);
      // The first window is iterations 2 and 3 only (0-based): the burn-in's scores are not in it.
      const windowScore = (a: number) => (iterations[2][a].mean_return! + iterations[3][a].mean_return!) / 2;
      const scores = configs.map((_, a) => windowScore(a));
      expect(scores.every((r) => Number.isFinite(r))).toBe(true);
      const ranked = [...scores.keys()].sort((a, b) => scores[b] - scores[a] || a - b);
      const replaced = iterations[3].flatMap((m, k) => (m.pbt_parent !== null ? [k] : []));
      expect([...replaced].sort((a, b) => a - b)).toEqual(ranked.slice(-2).sort((a, b) => a - b));
      // Scored over all four iterations the worst two differ, so the check above tells the windows apart.
      const all = configs.map((_, a) => iterations.slice(0, 4).reduce((sum, m) => sum + m[a].mean_return!, 0) / 4);
      const rankedAll = [...all.keys()].sort((a, b) => all[b] - all[a] || a - b);
      expect(rankedAll.slice(-2).sort((a, b) => a - b)).not.toEqual(ranked.slice(-2).sort((a, b) => a - b));
    } finally {
      trainer.destroy();
    }
  });

  it("resample 1 (`--pbt-resample 1`): a replaced agent's explored fields are starting values of the population, not perturbed ones", async () => {
    const gpu = await testGpu();
    const lrs = SPREAD_LRS;
    const configs = spreadPopulation();
    const trainer = await makePopulationTrainer(gpu, configs, { pbt: { interval: 1, fraction: 0.25, perturb: ['lr'], resample: 1 } });
    try {
      const metrics = await trainer.step();
      const replaced = metrics.flatMap((m, k) => (m.pbt_parent !== null ? [k] : []));
      expect(replaced).toHaveLength(2);
      const records = (await trainer.checkpoint(configs.map(() => []))).population!.agents;
      const near = (x: number, y: number) => Math.abs(x - y) <= 1e-7 * y;
      for (const k of replaced) {
        expect(lrs.some((lr) => near(records[k].lr, lr)), `agent ${k}'s lr ${records[k].lr}`).toBe(true);
        const parentLr = lrs[metrics[k].pbt_parent!];
        expect(near(records[k].lr, 0.8 * parentLr) || near(records[k].lr, 1.2 * parentLr)).toBe(false);
      }
    } finally {
      trainer.destroy();
    }
  });

  it('a checkpoint mid-window resumes as the uninterrupted run: score windows, exploit draws and the prior resampling draws from', async () => {
    const gpu = await testGpu();
    // A draw from the wrong prior, or a repeated exploit draw, changes the records (SPREAD_LRS).
    const lrs = SPREAD_LRS;
    const configs = spreadPopulation();
    const settings: PbtSettings = { interval: 2, fraction: 0.25, perturb: ['lr'], resample: 0.5 };
    const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
    const state = async (trainer: Awaited<ReturnType<typeof makePopulationTrainer>>) => {
      const c = await trainer.checkpoint(configs.map(() => []));
      return { arrays: Object.fromEntries(Object.entries(c.arrays).map(([name, a]) => [name, bits(a)])), agents: c.population!.agents };
    };
    // Exploits after iterations 2, 4 and 6; the checkpoint after 3, one iteration into a window.
    const whole = await makePopulationTrainer(gpu, configs, { pbt: settings });
    const parents: (number | null)[][] = [];
    let end;
    try {
      for (let k = 0; k < 6; k++) parents.push((await whole.step()).map((m) => m.pbt_parent ?? null));
      end = await state(whole);
    } finally {
      whole.destroy();
    }
    const first = await makePopulationTrainer(gpu, configs, { pbt: settings });
    let saved;
    try {
      for (let k = 0; k < 3; k++) await first.step();
      saved = await first.checkpoint(configs.map(() => []));
    } finally {
      first.destroy();
    }
    expect(saved.arrays['population.pbt.exploits']).toEqual(Float32Array.of(1));
    // As the CLI resumes a population: each agent from its saved config (PBT moved some lrs).
    const resumed = await makePopulationTrainer(gpu, saved.population!.agents.map((a) => resolveConfig(a)), { pbt: settings });
    try {
      await resumed.restore(saved);
      const after: (number | null)[][] = [];
      for (let k = 3; k < 6; k++) after.push((await resumed.step()).map((m) => m.pbt_parent ?? null));
      expect(after).toEqual(parents.slice(3));
      expect(await state(resumed)).toEqual(end);
    } finally {
      resumed.destroy();
    }
    // Both exploits after the checkpoint replaced agents, and some lr was resampled or perturbed: the comparison compares something.
    expect(parents[3].some((p) => p !== null) && parents[5].some((p) => p !== null)).toBe(true);
    expect(end.agents.map((a) => a.lr)).not.toEqual(lrs);
  });

  it('refuses a checkpoint whose PBT state could not be one, naming the array, before writing anything', async () => {
    const gpu = await testGpu();
    const configs = [1, 2, 3, 4].map((seed) => resolveConfig({ env: 'CartPole-v1', preset: 'seed', numEnvs: 4, stepsPerIter: 64, minibatch: 16, epochs: 1, seed }));
    const trainer = await makePopulationTrainer(gpu, configs, { pbt: { interval: 1, fraction: 0.25, perturb: ['lr'] } });
    try {
      const good = await trainer.checkpoint(configs.map(() => []));
      const bad = (name: string, value: Float32Array) => ({ ...good, arrays: { ...good.arrays, [name]: value } });
      await expect(trainer.restore(bad('population.pbt.exploits', Float32Array.of(1.5)))).rejects.toThrow(/checkpoint: pbt: exploits 1\.5 is not a count of exploits/);
      await expect(trainer.restore(bad('population.pbt.prior', new Float32Array(3)))).rejects.toThrow(/checkpoint: pbt: prior has 3 values, 4 agents need/);
      const nan = new Float32Array(good.arrays['population.pbt.prior']);
      nan[5] = NaN;
      await expect(trainer.restore(bad('population.pbt.prior', nan))).rejects.toThrow(/checkpoint: pbt: prior holds NaN at index 5/);
    } finally {
      trainer.destroy();
    }
  });

  it('refuses bad settings given in code with one line naming the field, before any GPU work', async () => {
    const gpu = await testGpu();
    const configs = [1, 2, 3, 4].map((seed) => resolveConfig({ env: 'CartPole-v1', preset: 'seed', numEnvs: 4, stepsPerIter: 64, minibatch: 16, epochs: 1, seed }));
    const base = { interval: 2, fraction: 0.25, perturb: [] } as const;
    const cases: [Partial<PbtSettings>, RegExp][] = [
      [{ interval: undefined }, /^pbt\.interval: undefined is not allowed \(iterations between exploits; /],
      [{ interval: 0 }, /^pbt\.interval: 0 is not allowed \(iterations between exploits; must be an integer in \[1, 1000000\]\)$/],
      [{ burnIn: 1.5 }, /^pbt\.burnIn: 1\.5 is not allowed \(iterations before the first score window; /],
      [{ fraction: 0.6 }, /^pbt\.fraction: 0\.6 is not allowed \(share of agents replaced per exploit; must be in \(0, 0\.5\]\)$/],
      [{ fraction: 0.2 }, /^pbt\.fraction: 0\.2 replaces no agent of 4 \(at least 5 agents\)$/],
      [{ perturb: ['seed'] }, /^pbt\.perturb: "seed" is not allowed \(a list of lr, /],
      [{ source: 'worst' as PbtSettings['source'] }, /^pbt\.source: "worst" is not allowed \(top or best\)$/],
      [{ perturb: ['lr'], resample: -0.1 }, /^pbt\.resample: -0\.1 is not allowed \(probability that an explored field is resampled from the starting values; must be in \[0, 1\]\)$/],
    ];
    for (const [change, message] of cases) {
      await expect(makePopulationTrainer(gpu, configs, { pbt: { ...base, ...change } }), JSON.stringify(change)).rejects.toThrow(message);
    }
  });

  // With normalisation the networks were trained on inputs and rewards scaled by the
  // source's running moments, so those travel with the weights; the envs (their states,
  // observations, episode slots and the reward normaliser's running returns) stay the
  // agent's own unless envs: 'copy'.
  for (const envs of ['own', 'copy'] as const) {
    it(`with normalisation, an exploited agent takes its parent's moments; envs ${envs}: ${envs === 'own' ? 'keeps its own' : "takes its parent's"}`, async () => {
      const gpu = await testGpu();
      const configs = [1, 2, 3, 4].map((seed) => resolveConfig({ env: 'CartPole-v1', preset: 'seed', numEnvs: 4, stepsPerIter: 64, minibatch: 16, epochs: 2, seed, normObs: true, normReward: true }));
      const trainer = await makePopulationTrainer(gpu, configs, { pbt: { interval: 1, fraction: 0.25, perturb: ['lr'], envs } });
      try {
        const metrics = await trainer.step();
        const child = metrics.findIndex((m) => m.pbt_parent !== null);
        const parent = metrics[child].pbt_parent!;
        const { arrays } = await trainer.checkpoint(configs.map(() => []));
        const block = (name: string, a: number) => agentWords(arrays[name], a, 4);
        for (const name of ['policy', 'value', 'normalize.obs', 'normalize.return']) expect(block(name, child), `${name} of agent ${child}, copied from ${parent}`).toEqual(block(name, parent));
        for (const name of ['env.currentObs', 'env.slots', 'normalize.discountedReturn']) {
          if (envs === 'copy') expect(block(name, child), `${name} of agent ${child}, copied from ${parent}`).toEqual(block(name, parent));
          // Different seeds: after an iteration of 64 steps the agents' envs differ.
          else expect(block(name, child), `${name} of agent ${child}, its own`).not.toEqual(block(name, parent));
        }
        if (envs === 'copy') {
          // The copy continues the parent's episodes with its own sampling streams: one iteration on, they differ.
          await trainer.step();
          const after = (await trainer.checkpoint(configs.map(() => []))).arrays['env.slots'];
          expect(agentWords(after, child, 4)).not.toEqual(agentWords(after, parent, 4));
        }
      } finally {
        trainer.destroy();
      }
    });
  }
});
