// The population trainer end to end: P agents with different seeds and hyperparameters
// reproduce, agent by agent and bit for bit, P single runs of those configs (metrics,
// weights, optimizer and env state) — discrete and continuous envs, PPO, PPO-KL, TRPO and
// REINFORCE — with the same dispatches per iteration as one agent; and a population checkpoint
// resumes bit for bit and gives each agent's own checkpoint with --agent.
import { describe, expect, it } from 'vitest';
import { makePopulationTrainer, makeTrainer } from '../src/train/trainer';
import { resolveConfig, type TrainConfig } from '../src/core/config';
import { extractAgent } from '../src/train/checkpoint';
import type { IterationMetrics } from '../src/core/metrics';
import { AGENT_PARAMS_BYTES, agentParamOffset } from '../src/core/agentParams';
import { testGpu } from './helpers';
import { bits, compare, timeless } from './populationHelpers';

describe('population trainer', () => {
  it('PPO on CartPole-v1: 3 agents (seeds, lr, clip, entropy, gamma) are their single runs bit for bit', async () => {
    await compare(
      { env: 'CartPole-v1', algo: 'ppo', numEnvs: 8, stepsPerIter: 256, epochs: 2, minibatch: 64, hidden: 16 },
      [{ seed: 1 }, { seed: 7, lr: 1e-3, clip: 0.1 }, { seed: 4000000001, entCoef: 0.01, gamma: 0.95, lambda: 0.9 }],
      3,
    );
  }, 240_000);

  it('PPO-KL on Pendulum-v1 with normalisation: 3 agents are their single runs bit for bit', async () => {
    await compare(
      { env: 'Pendulum-v1', algo: 'ppo-kl', numEnvs: 4, stepsPerIter: 256, epochs: 2, minibatch: 64, hidden: 16, normObs: true, normReward: true, maxGradNorm: 0.5 },
      [{ seed: 3 }, { seed: 4, klTarget: 0.003, valueLr: 3e-3 }, { seed: 5, maxGradNorm: 2, gamma: 0.9 }],
      3,
    );
  }, 240_000);

  // TRPO: each agent's trust region, damping and acceptance ratio steer its own CG solve and line
  // search; its value fit steps with its own rate; the policy passes read each agent's block of obs.
  it('TRPO on Pendulum-v1: 3 agents (seeds, maxKl, damping, acceptRatio, valueLr, gamma) are their single runs bit for bit', async () => {
    await compare(
      { env: 'Pendulum-v1', algo: 'trpo', numEnvs: 4, stepsPerIter: 128, hidden: 16, cgIters: 4, backtracks: 4, valueSteps: 3 },
      [{ seed: 11 }, { seed: 12, maxKl: 0.002, damping: 0.3, valueLr: 3e-3 }, { seed: 13, acceptRatio: 0.5, gamma: 0.9, maxKl: 0.05 }],
      2,
    );
  }, 120_000);

  it('TRPO on CartPole-v1: 3 agents are their single runs bit for bit', async () => {
    await compare(
      { env: 'CartPole-v1', algo: 'trpo', numEnvs: 4, stepsPerIter: 128, hidden: 16, cgIters: 4, backtracks: 4, valueSteps: 3 },
      [{ seed: 21, damping: 0.05 }, { seed: 22, maxKl: 0.1, acceptRatio: 0.05 }, { seed: 23, valueLr: 1e-2, gamma: 0.95 }],
      2,
    );
  }, 120_000);

  it('REINFORCE on CartPole-v1: 3 agents (seeds, lr, valueLr, gamma) are their single runs bit for bit', async () => {
    await compare(
      { env: 'CartPole-v1', algo: 'reinforce', numEnvs: 4, stepsPerIter: 128, hidden: 16, valueSteps: 3 },
      [{ seed: 31 }, { seed: 32, lr: 3e-2, valueLr: 3e-3 }, { seed: 33, lr: 1e-3, gamma: 0.9 }],
      3,
    );
  }, 120_000);

  it('REINFORCE on MountainCarContinuous-v0: 3 agents are their single runs bit for bit', async () => {
    await compare(
      { env: 'MountainCarContinuous-v0', algo: 'reinforce', numEnvs: 4, stepsPerIter: 128, hidden: 16, valueSteps: 3 },
      [{ seed: 41, lr: 1e-2 }, { seed: 42, valueLr: 1e-2, gamma: 0.9 }, { seed: 43, lr: 2e-3, valueLr: 5e-4 }],
      2,
    );
  }, 120_000);

  // The optimizers read each agent's rates from its record on the GPU (as PBT rewrites them): an
  // agent created with one lr whose record is given another before the first iteration trains as
  // the single run created with the other, under --lr-anneal; agentConfigs and checkpoints report
  // it, and the checkpoint resumes bit for bit in a population created with the old rates.
  for (const algo of ['ppo', 'reinforce', 'trpo'] as const) {
    it(`${algo}: a learning rate changed in an agent's record on the GPU is the one it trains with`, async () => {
      const gpu = await testGpu();
      const base = { env: 'CartPole-v1', algo, numEnvs: 8, stepsPerIter: 128, epochs: 2, minibatch: 64, hidden: 16, valueSteps: 3, lrAnneal: true, totalSteps: 4 * 8 * 128 } as const;
      const configs = [1, 2].map((seed) => resolveConfig({ ...base, seed, lr: 1e-3, valueLr: 1e-3 }));
      const changed = { lr: 4e-3, valueLr: 2.5e-3 };
      const population = await makePopulationTrainer(gpu, configs);
      for (const [field, value] of Object.entries(changed) as [keyof typeof changed, number][]) {
        gpu.device.queue.writeBuffer(population.agents.params, AGENT_PARAMS_BYTES + agentParamOffset(field), Float32Array.of(value));
      }
      const histories: IterationMetrics[][] = [[], []];
      for (let i = 0; i < 2; i++) (await population.step()).forEach((m, k) => histories[k].push(m));
      expect((await population.agentConfigs()).map((c) => [c.lr, c.valueLr])).toEqual([[1e-3, 1e-3], [changed.lr, changed.valueLr]]);
      const saved = await population.checkpoint(histories);
      expect(saved.population!.agents[1]).toMatchObject(changed);
      const single = await makeTrainer(gpu, resolveConfig({ ...base, seed: 2, ...changed }));
      const history: IterationMetrics[] = [];
      for (let i = 0; i < 2; i++) history.push(await single.step());
      expect(histories[1].map(timeless)).toEqual(history.map(timeless));
      const own = await single.checkpoint(history);
      const extracted = extractAgent(saved, 1);
      for (const [name, a] of Object.entries(own.arrays)) expect(bits(extracted.arrays[name]), `agent 1 ${name}`).toEqual(bits(a));
      single.destroy();
      const after = (await population.step()).map(timeless);
      population.destroy();
      const resumed = await makePopulationTrainer(gpu, configs);
      await resumed.restore(saved);
      expect((await resumed.step()).map(timeless)).toEqual(after);
      resumed.destroy();
    }, 240_000);
  }

  it('resumes a population checkpoint bit for bit', async () => {
    const gpu = await testGpu();
    const configs = [1, 2].map((seed) => resolveConfig({ env: 'CartPole-v1', numEnvs: 8, stepsPerIter: 256, epochs: 2, minibatch: 64, hidden: 16, seed }));
    const straight = await makePopulationTrainer(gpu, configs);
    const histories: IterationMetrics[][] = [[], []];
    for (let i = 0; i < 2; i++) (await straight.step()).forEach((m, k) => histories[k].push(m));
    const saved = await straight.checkpoint(histories);
    const after = (await straight.step()).map(timeless);
    straight.destroy();
    const resumed = await makePopulationTrainer(gpu, configs);
    await resumed.restore(saved);
    expect((await resumed.step()).map(timeless)).toEqual(after);
    await expect(resumed.restore({ ...saved, population: undefined })).rejects.toThrow(/holds 1 agent, this run trains 2/);
    resumed.destroy();
  }, 240_000);
});
