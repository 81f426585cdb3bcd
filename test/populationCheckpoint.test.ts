// Population checkpoints without a GPU: agent-major blocks of every array, each
// agent's config and history, checked on load like a single run's, and --agent K
// extraction giving exactly agent K's ordinary checkpoint.
import { describe, expect, it } from 'vitest';
import { CheckpointError, extractAgent, parseCheckpoint, serializeCheckpoint, type Checkpoint } from '../src/train/checkpoint';
import { syntheticCheckpoint } from './checkpointCorpus';

/** Three synthetic single-run checkpoints (different lr and seed, different values) joined into one population's. */
function population(): { joined: Checkpoint; singles: Checkpoint[] } {
  const singles = [0, 1, 2].map((k) => {
    const c = syntheticCheckpoint({ seed: 10 + k, lr: 1e-3 * (k + 1) });
    for (const a of Object.values(c.arrays)) a.forEach((x, i) => (a[i] = x + k));
    c.history = c.history.map((m) => ({ ...m, mean_return: m.mean_return === null ? null : m.mean_return + k }));
    return c;
  });
  const arrays: Record<string, Float32Array> = {};
  for (const name of Object.keys(singles[0].arrays)) {
    const n = singles[0].arrays[name].length;
    arrays[name] = new Float32Array(3 * n);
    singles.forEach((c, k) => arrays[name].set(c.arrays[name], k * n));
  }
  arrays['population.pbt.scoreWindow'] = new Float32Array(6).fill(1);
  const joined: Checkpoint = { ...singles[0], arrays, population: { agents: singles.map((c) => c.config), histories: singles.map((c) => c.history) } };
  return { joined, singles };
}

describe('population checkpoints', () => {
  it('round-trip through JSON and give each agent its own ordinary checkpoint', () => {
    const { joined, singles } = population();
    const read = parseCheckpoint(serializeCheckpoint(joined), 'pop.json');
    expect(read.population?.agents.map((a) => a.seed)).toEqual([10, 11, 12]);
    singles.forEach((single, k) => {
      const one = extractAgent(read, k, 'pop.json');
      expect(one.population).toBeUndefined();
      expect(one.config.seed).toBe(10 + k);
      expect(one.config.lr).toBe(single.config.lr);
      expect(one.history).toEqual(single.history);
      expect(Object.keys(one.arrays).sort()).toEqual(Object.keys(single.arrays).sort());
      for (const [name, a] of Object.entries(single.arrays)) expect(Array.from(one.arrays[name])).toEqual(Array.from(a));
      // The extracted checkpoint is a valid single-run document.
      expect(() => parseCheckpoint(serializeCheckpoint(one))).not.toThrow();
    });
  });

  it('refuses an agent out of range, a single run asked for an agent, and blocks that do not match the agents', () => {
    const { joined } = population();
    expect(() => extractAgent(joined, 3, 'pop.json')).toThrow(/pop.json: --agent 3 is not allowed \(must be an integer in \[0, 2\]: the population has 3 agents\)/);
    expect(() => extractAgent(syntheticCheckpoint(), 0, 'one.json')).toThrow(CheckpointError);
    const short = JSON.parse(serializeCheckpoint(joined));
    short.population.agents.pop();
    short.population.histories.pop();
    expect(() => parseCheckpoint(JSON.stringify(short), 'pop.json')).toThrow(/pop.json: arrays\.policy: has \d+ values, this configuration needs 2 agents × \d+/);
    const otherShape = JSON.parse(serializeCheckpoint(joined));
    otherShape.population.agents[1].hidden = 16;
    expect(() => parseCheckpoint(JSON.stringify(otherShape), 'pop.json')).toThrow(/population\.agents\[1\]: does not share agent 0's algorithm, env and shapes/);
    const badHistory = JSON.parse(serializeCheckpoint(joined));
    badHistory.population.histories[2][0].iter = -1;
    expect(() => parseCheckpoint(JSON.stringify(badHistory), 'pop.json')).toThrow(/population\.histories\[2\]\[0\]\.iter/);
    const badLr = JSON.parse(serializeCheckpoint(joined));
    badLr.population.agents[2].lr = 5;
    expect(() => parseCheckpoint(JSON.stringify(badLr), 'pop.json')).toThrow(/population\.agents\[2\]\.lr/);
  });
});
