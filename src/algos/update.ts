/**
 * What every algorithm's update is to the trainer: host writes before an
 * iteration's submit, the whole update recorded into the iteration's pass, a
 * step after the update's KL is known, the optimizer states it owns (for
 * checkpoints), and the release of every GPU buffer it created.
 */
import type { FullBatch } from '../kernels/pg';

/** Inputs an update reads: the rollout's samples and the advantage phase's outputs (one layout for every algorithm). */
export type UpdateBatch = FullBatch;

/** Optimizer state saved in a checkpoint as one array per part (Adam: m, v, control). */
export interface CheckpointPart {
  readonly stateParts: readonly string[];
  /** The parts that each live whole in one GPU buffer (checked for NaN and ±inf every iteration). */
  readonly stateBuffers: Readonly<Record<string, GPUBuffer>>;
  /** Reads each part back (after queued work), by part name. */
  readState(): Promise<Record<string, Float32Array>>;
  /** Queues writes of every part; throws naming a part that is missing or of the wrong length. */
  writeState(state: Record<string, Float32Array>): void;
}

/** One algorithm's update step as the trainer drives it; `createUpdate` makes the one of `config.algo`. */
export interface Update {
  /** Host-side writes queued before this iteration's submit (the iteration keys permutations; the fraction scales learning rates). */
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
