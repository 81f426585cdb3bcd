/**
 * Each algorithm's update, by the names src/core/algorithms.ts declares. The
 * Record over every name is the compile-time check that no declared algorithm
 * lacks a factory (and that none is built here that config validation does not know).
 */
import type { GpuContext } from '../gpu/device';
import type { Mlp } from '../kernels/mlp';
import type { Algo } from '../core/algorithms';
import type { ResolvedConfig } from '../core/config';
import type { Agents } from '../gpu/agents';
import type { Update, UpdateBatch } from './update';
import { PpoUpdate } from './ppo';
import { TrpoUpdate } from './trpo';
import { ReinforceUpdate } from './reinforce';

/**
 * A population's update: the agents' records and configs (agent k's at k) and the rows
 * between agents' blocks of the batch's observations.
 */
export interface UpdatePopulation {
  agents: Agents;
  configs: readonly ResolvedConfig[];
  obsRows: number;
}

/** Makes an algorithm's `Update` bound to the networks and the batch (for every agent of `population` when given). */
export type UpdateFactory = (gpu: GpuContext, config: ResolvedConfig, policy: Mlp, value: Mlp, batch: UpdateBatch, population?: UpdatePopulation) => Promise<Update>;

const ppo: UpdateFactory = (gpu, config, policy, value, batch, population) =>
  PpoUpdate.create(
    gpu,
    config,
    policy,
    value,
    batch,
    population && { agents: population.agents, lr: population.configs.map((c) => c.lr), valueLr: population.configs.map((c) => c.valueLr), obsRows: population.obsRows },
  );

/** Algorithms whose update does not train populations yet: refused before any GPU work. */
export const SINGLE_AGENT_ALGOS: readonly Algo[] = ['trpo', 'reinforce'];

const singleAgent =
  (create: (gpu: GpuContext, config: ResolvedConfig, policy: Mlp, value: Mlp, batch: UpdateBatch) => Promise<Update>): UpdateFactory =>
  (gpu, config, policy, value, batch, population) => {
    if (population && population.agents.count > 1) throw new Error(`${config.algo}: populations train with ppo and ppo-kl so far`);
    return create(gpu, config, policy, value, batch);
  };

/** The update factory of every algorithm, by config name. */
export const UPDATE_FACTORIES: Record<Algo, UpdateFactory> = {
  // PPO-KL is PPO's update with the penalty in place of the clip (PpoUpdate reads config.algo).
  ppo,
  'ppo-kl': ppo,
  trpo: singleAgent(TrpoUpdate.create),
  reinforce: singleAgent(ReinforceUpdate.create),
};

/** The update of `config.algo`, bound to the networks and the batch (and a population's agents). */
export function createUpdate(gpu: GpuContext, config: ResolvedConfig, policy: Mlp, value: Mlp, batch: UpdateBatch, population?: UpdatePopulation): Promise<Update> {
  return UPDATE_FACTORIES[config.algo](gpu, config, policy, value, batch, population);
}
