/**
 * Checkpoints in the browser: download one lane's state in the CLI's --save
 * format, and read a file chosen by the user (from the Studio or the CLI),
 * checked before it reaches the GPU.
 */
import { parseCheckpoint, serializeCheckpoint, type Checkpoint } from '../train/checkpoint';
import { resolveConfig, type ResolvedConfig } from '../core/config';
import { networkLayouts } from '../train/trainer';
import type { Lane } from './runner';
import { download } from './dom';

/** Downloads the lane's checkpoint; resolves to the file name. Call between iterations (paused or stopped). */
export async function downloadCheckpoint(lane: Lane): Promise<string> {
  const checkpoint = await lane.trainer.checkpoint(lane.history);
  const filename = `webgpu-rl-${lane.algo}-iter${checkpoint.iteration}.json`;
  download(filename, serializeCheckpoint(checkpoint), 'application/json');
  return filename;
}

export interface LoadedCheckpoint {
  checkpoint: Checkpoint;
  config: ResolvedConfig;
  filename: string;
}

/** Parses and checks a checkpoint file: a valid config, and policy weights that fit its network. */
export async function readCheckpointFile(file: File): Promise<LoadedCheckpoint> {
  const checkpoint = parseCheckpoint(await file.text(), file.name);
  const config = resolveConfig(checkpoint.config);
  const expected = networkLayouts(config).policy.paramCount;
  const weights = checkpoint.arrays.policy;
  if (weights?.length !== expected) {
    throw new Error(`${file.name}: policy weights have ${weights?.length ?? 0} values, its network needs ${expected}`);
  }
  return { checkpoint, config, filename: file.name };
}
