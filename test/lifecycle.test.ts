// Every GPU buffer a trainer creates is destroyed with it: building, stepping,
// checkpointing, restoring and destroying each algorithm's trainer, several
// times, leaves the device's live buffers exactly as they were. Exact counts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTrainer } from '../src/train/trainer';
import { ALGOS, type Algo } from '../src/core/algorithms';
import { resolveConfig } from '../src/core/config';
import { UPDATE_FACTORIES } from '../src/algos/registry';
import { evaluatePolicy } from '../src/train/evaluate';
import { PolicyKernels } from '../src/kernels/policy';
import { storageBuffer } from '../src/gpu/buffers';
import { testGpu } from './helpers';
import { trackLiveBuffers, type LiveBuffers } from './liveBuffers';

// Tiny but complete: every phase and every algorithm's whole update runs.
const TINY = { numEnvs: 16, stepsPerIter: 256, epochs: 2, minibatch: 64, hidden: 16, cgIters: 3, backtracks: 3, valueSteps: 2, seed: 4 } as const;
const CYCLES = 3;

const adam = (network: string) => ['m', 'v', 'control'].map((part) => `${network}.adam.${part}`);
const STATE = ['policy', 'value', 'env.currentObs', 'env.slots', 'metrics'];
const CHECKPOINT_ARRAYS: Record<Algo, string[]> = {
  ppo: [...STATE, ...adam('policy'), ...adam('value')].sort(),
  'ppo-kl': [...STATE, ...adam('policy'), ...adam('value')].sort(),
  // TRPO steps the policy without an optimizer.
  trpo: [...STATE, ...adam('value')].sort(),
  reinforce: [...STATE, ...adam('policy'), ...adam('value')].sort(),
};

let tracker: LiveBuffers | null = null;

beforeAll(async () => {
  await testGpu();
  tracker = trackLiveBuffers();
});

afterAll(() => tracker?.stop());

describe('trainer lifecycle', () => {
  it('the registry has an update for every algorithm config validation accepts', () => {
    expect(Object.keys(UPDATE_FACTORIES).sort()).toEqual([...ALGOS].sort());
  });

  for (const algo of ALGOS) {
    it(`${algo}: create, step, checkpoint, restore, destroy ×${CYCLES} leaves no GPU buffer behind`, async () => {
      const gpu = await testGpu();
      const config = resolveConfig({ ...TINY, algo });
      const before = tracker!.live();
      let created = 0;
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const trainer = await makeTrainer(gpu, config);
        created = tracker!.live().count - before.count;
        const metrics = await trainer.step();
        expect(Number.isFinite(metrics.approx_kl)).toBe(true);
        const checkpoint = await trainer.checkpoint([metrics]);
        // The array names checkpoints have always used, so older checkpoints still load.
        expect(Object.keys(checkpoint.arrays).sort()).toEqual(CHECKPOINT_ARRAYS[algo]);
        await trainer.restore(checkpoint);
        await trainer.step();
        trainer.destroy();
        await gpu.sync();
        expect(tracker!.leftSince(before), `cycle ${cycle}: buffers left alive`).toEqual([]);
        const after = tracker!.live();
        expect(after.count).toBe(before.count);
        expect(after.bytes).toBe(before.bytes);
      }
      // The counter saw the trainer's buffers, so the equality above means something.
      expect(created).toBeGreaterThan(20);
    });
  }

  it('evaluation and the policy operations release what they create', async () => {
    const gpu = await testGpu();
    const trainer = await makeTrainer(gpu, resolveConfig({ ...TINY, algo: 'ppo' }));
    const checkpoint = await trainer.checkpoint([await trainer.step()]);
    trainer.destroy();

    const before = tracker!.live();
    const result = await evaluatePolicy(gpu, checkpoint, { episodes: 4, seed: 1 });
    expect(result.returns.length).toBe(4);

    const rows = 8;
    const [logits, actions, logProb, entropy, kl] = [rows * 2, rows, rows, rows, rows].map((n) => storageBuffer(gpu, 'test.rows', n * 4));
    const kernels = await PolicyKernels.create(gpu);
    const shape = { rows, numActions: 2, label: 'test.policy' };
    const ops = [
      kernels.logProbEntropy({ ...shape, logits, actions, logProb, entropy }),
      kernels.kl({ ...shape, logitsOld: logits, logitsNew: logits, kl }),
      kernels.sampler({ ...shape, logits, actions, logProb, seed: 1, steps: 3 }),
    ];
    for (const op of ops) op.destroy();
    for (const b of [logits, actions, logProb, entropy, kl]) b.destroy();
    await gpu.sync();
    expect(tracker!.leftSince(before)).toEqual([]);
    expect(tracker!.live().bytes).toBe(before.bytes);
  });
});
