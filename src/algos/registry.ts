/**
 * Each algorithm's update, by the names src/core/algorithms.ts declares. The
 * Record over every name is the compile-time check that no declared algorithm
 * lacks a factory (and that none is built here that config validation does not know).
 */
import type { GpuContext } from '../gpu/device';
import type { Mlp } from '../kernels/mlp';
import type { Algo } from '../core/algorithms';
import type { ResolvedConfig } from '../core/config';
import { populationOptions, type Update, type UpdateBatch, type UpdatePopulation } from './update';
import { PpoUpdate } from './ppo';
import { TrpoUpdate } from './trpo';
import { ReinforceUpdate } from './reinforce';

/** Makes an algorithm's `Update` bound to the networks and the batch (for every agent of `population` when given). */
export type UpdateFactory = (gpu: GpuContext, config: ResolvedConfig, policy: Mlp, value: Mlp, batch: UpdateBatch, population?: UpdatePopulation) => Promise<Update>;

const ppo: UpdateFactory = (gpu, config, policy, value, batch, population) =>
  PpoUpdate.create(
    gpu,
    config,
    policy,
    value,
    batch,
    population && populationOptions('ppo', config, population),
  );

/** The update factory of every algorithm, by config name. */
export const UPDATE_FACTORIES: Record<Algo, UpdateFactory> = {
  // PPO-KL is PPO's update with the penalty in place of the clip (PpoUpdate reads config.algo).
  ppo,
  'ppo-kl': ppo,
  trpo: TrpoUpdate.create,
  reinforce: ReinforceUpdate.create,
};

/** The update of `config.algo`, bound to the networks and the batch (and a population's agents). */
export function createUpdate(gpu: GpuContext, config: ResolvedConfig, policy: Mlp, value: Mlp, batch: UpdateBatch, population?: UpdatePopulation): Promise<Update> {
  return UPDATE_FACTORIES[config.algo](gpu, config, policy, value, batch, population);
}
