import { describe, expect, it } from 'vitest';
import { Rollout } from '../src/kernels/rollout';
import { CARTPOLE } from '../src/envs/cartpole';
import { MLP_KERNEL_SHAPES, Mlp, MlpKernels, type MlpKernelShape } from '../src/kernels/mlp';
import { MlpLayout, initPyTorchDefault } from '../src/nn/mlp';
import { cartpoleStep64 } from '../src/reference/cartpole';
import { readFloat32, readInt32, readUint32, submitPass } from '../src/gpu/buffers';
import { testGpu, expectClose } from './helpers';

// N not a multiple of 4, so a row sits at different positions of the MLP kernels'
// row blocks in a step's forward (N rows) and in the batched one (T·N rows).
const N = 10;
const T = 40;
// A short time limit, so every env truncates several times in T steps, and terminations fall between.
const MAX_EPISODE_STEPS = 12;

/** A rollout of a 4→64→64→2 policy whose layers run in `shape` (default: the adapter's). */
async function makeRollout(shape?: MlpKernelShape) {
  const gpu = await testGpu();
  const layout = new MlpLayout([4, 64, 64, 2], ['tanh', 'tanh', 'identity']);
  const policy = Mlp.create(gpu, await MlpKernels.create(gpu, shape), layout, 'test.policy');
  // Full-size output layer: logits far from uniform, so both actions occur.
  policy.setParams(initPyTorchDefault(layout, 11));
  const rollout = await Rollout.create(gpu, policy, { env: CARTPOLE, numEnvs: N, numSteps: T, seed: 5, maxEpisodeSteps: MAX_EPISODE_STEPS }, 'test.rollout');
  rollout.reset();
  const run = async (iteration: number) => {
    rollout.setIteration(iteration);
    submitPass(gpu, `test.rollout${iteration}`, (pass) => rollout.encode(pass));
    const s = rollout.storage;
    return {
      obs: await readFloat32(gpu, s.obs),
      behaviourLogits: await readUint32(gpu, s.behaviourLogits),
      actions: await readInt32(gpu, s.actions),
      doneFlags: await readUint32(gpu, s.doneFlags),
    };
  };
  return { gpu, policy, rollout, run };
}

describe('rollout storage', () => {
  it.each(MLP_KERNEL_SHAPES)('%s MLP kernels: keeps the logits each step acted on, bit for bit those of one batched policy forward over the stored observations (0 ulp)', async (shape) => {
    const { gpu, policy, rollout, run } = await makeRollout(shape);
    const batch = policy.prepare({ rows: T * N, input: rollout.storage.obs, label: 'test.batchForward' });
    // Two iterations: the second starts from where the first left the envs.
    for (const iteration of [0, 1]) {
      const stored = await run(iteration);
      submitPass(gpu, 'test.batchForward', (pass) => batch.encodeForward(pass));
      const batched = await readUint32(gpu, batch.output);
      expect(batched.length).toBe(stored.behaviourLogits.length);
      const differing = stored.behaviourLogits.findIndex((bits, i) => bits !== batched[i]);
      expect(differing, `iteration ${iteration}: first logit whose bits differ`).toBe(-1);
      // Not trivially equal: the logits vary, and both actions were taken.
      expect(new Set(batched).size).toBeGreaterThan(T * N);
      expect(new Set(stored.actions).size).toBe(2);
    }
    batch.destroy();
    rollout.destroy();
    policy.destroy();
  });

  it('keeps the final observation of every truncated step in its slot (float64 CartPole step, rtol 1e-5, atol 1e-5)', async () => {
    const { policy, rollout, run } = await makeRollout();
    expect(rollout.finalObs).toEqual({ maxEpisodeSteps: MAX_EPISODE_STEPS, finalSlots: Math.ceil(T / MAX_EPISODE_STEPS), finalObsRow: (T + 1) * N });
    for (const iteration of [0, 1]) {
      const { obs, actions, doneFlags } = await run(iteration);
      expect(obs.length).toBe((T + 1 + rollout.finalObs.finalSlots) * N * 4);
      const truncations = new Uint32Array(N);
      const used = new Set<number>();
      let terminations = 0;
      for (let t = 0; t < T; t++) {
        for (let env = 0; env < N; env++) {
          const i = t * N + env;
          if (doneFlags[i] & 1) terminations++;
          if (!(doneFlags[i] & 2)) continue;
          truncations[env]++;
          const row = rollout.finalObsIndex(t, env);
          expect(used.has(row), `iteration ${iteration} step ${t} env ${env}: slot row ${row} already used`).toBe(false);
          used.add(row);
          const { next } = cartpoleStep64(obs.subarray(4 * i, 4 * i + 4), actions[i]);
          expectClose(obs.subarray(4 * row, 4 * row + 4), next, 1e-5, 1e-5, `iteration ${iteration} step ${t} env ${env} final observation`);
        }
      }
      expect(Math.max(...truncations), 'an env truncated several times').toBeGreaterThan(1);
      expect(terminations).toBeGreaterThan(0);
    }
    rollout.destroy();
    policy.destroy();
  });

  it('rejects a time limit that is not a positive integer', async () => {
    const gpu = await testGpu();
    const layout = new MlpLayout([4, 8, 2], ['tanh', 'identity']);
    const policy = Mlp.create(gpu, await MlpKernels.create(gpu), layout, 'test.policy');
    await expect(Rollout.create(gpu, policy, { env: CARTPOLE, numEnvs: 2, numSteps: 3, seed: 1, maxEpisodeSteps: 0 })).rejects.toThrow(/maxEpisodeSteps must be an integer/);
    policy.destroy();
  });
});
