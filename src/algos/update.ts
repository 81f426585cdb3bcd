/**
 * What every algorithm's update is to the trainer: host writes before an
 * iteration's submit, the whole update recorded into the iteration's pass, a
 * step after the update's KL is known, the optimizer states it owns (for
 * checkpoints), and the release of every GPU buffer it created.
 */
import type { FullBatch } from '../kernels/pg';
import type { Agents } from '../gpu/agents';
import type { ResolvedConfig } from '../core/config';

/** Inputs an update reads: the rollout's samples and the advantage phase's outputs (one layout for every algorithm). */
export type UpdateBatch = FullBatch;

/**
 * A population's update: the agents' records and configs (agent k's at k) and the rows
 * between agents' blocks of the batch's observations.
 */
export interface UpdatePopulation {
  agents: Agents;
  configs: readonly ResolvedConfig[];
  obsRows: number;
}

/**
 * What an update takes from `population`, checked before any GPU work: the
 * agents and the rows of each agent's block of batch.obs. Without a population:
 * no agents (the update makes a one-agent record from the config) and batchSize
 * rows. Learning rates are the records' (lr, valueLr), which PBT may change on
 * the GPU; the host only scales them by the schedule's fraction.
 */
export function populationOptions(algo: string, config: ResolvedConfig, population?: UpdatePopulation): { agents?: Agents; obsRows: number } {
  const { batchSize } = config.derived;
  if (!population) return { obsRows: batchSize };
  const { agents, configs, obsRows } = population;
  if (configs.length !== agents.count) throw new Error(`${algo}: population.configs lists ${configs.length} agents, agents.count is ${agents.count}`);
  if (!Number.isInteger(obsRows) || obsRows < batchSize) throw new Error(`${algo}: population.obsRows must be an integer ≥ batchSize ${batchSize}, got ${obsRows}`);
  return { agents, obsRows };
}

/** Optimizer state saved in a checkpoint as one array per part (Adam: m, v, control). */
export interface CheckpointPart {
  readonly stateParts: readonly string[];
  /** The parts that each live whole in one GPU buffer (checked for NaN and ±inf every iteration). */
  readonly stateBuffers: Readonly<Record<string, GPUBuffer>>;
  /**
   * Every buffer of per-agent state, agent-major with the same floats per agent
   * (stateBuffers and what alternates beside them, e.g. Adam's two control copies):
   * what population-based training's exploit copies from agent to agent.
   */
  readonly agentStateBuffers: Readonly<Record<string, GPUBuffer>>;
  /** Reads each part back (after queued work), by part name. */
  readState(): Promise<Record<string, Float32Array>>;
  /** Queues writes of every part; throws naming a part that is missing or of the wrong length. */
  writeState(state: Record<string, Float32Array>): void;
}

/** One algorithm's update step as the trainer drives it; `createUpdate` makes the one of `config.algo`. */
export interface Update {
  /** Host-side writes queued before this iteration's submit (the iteration keys permutations; the fraction scales the records' learning rates). */
  prepareIteration(iteration: number, learningRateFraction: number): void;
  /** Records the whole update (after the advantages exist). */
  encode(pass: GPUComputePassEncoder): void;
  /** Records what adapts to the update's KL (after approx_kl is in the metrics block). */
  encodeAfterKl(pass: GPUComputePassEncoder): void;
  /** The optimizer states this update owns, by checkpoint name: array `${name}.${part}` holds each part. */
  readonly checkpointParts: Readonly<Record<string, CheckpointPart>>;
  /** Releases every GPU buffer the update created (the batch and the networks belong to the caller). */
  destroy(): void;
}
