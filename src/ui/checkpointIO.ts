/**
 * Checkpoints in the browser: download one lane's state in the CLI's --save
 * format, and read a file chosen by the user (from the Studio or the CLI),
 * checked as a whole before it reaches the GPU.
 */
import { parseCheckpoint, serializeCheckpoint, type Checkpoint } from '../train/checkpoint';
import { resolveConfig, type ResolvedConfig } from '../core/config';
import type { Lane } from './runner';
import { download } from './dom';

/** Downloads the lane's checkpoint (a population's: every agent); resolves to the file name. Call between iterations (paused or stopped). */
export async function downloadCheckpoint(lane: Lane): Promise<string> {
  const checkpoint = lane.kind === 'run' ? await lane.trainer.checkpoint(lane.history) : await lane.trainer.checkpoint(lane.histories);
  const agents = lane.kind === 'run' ? '' : `-population${lane.histories.length}`;
  const filename = `webgpu-rl-${lane.algo}${agents}-iter${checkpoint.iteration}.json`;
  download(filename, serializeCheckpoint(checkpoint), 'application/json');
  return filename;
}

export interface LoadedCheckpoint {
  checkpoint: Checkpoint;
  config: ResolvedConfig;
  filename: string;
}

/**
 * Reads a checkpoint file as untrusted input: parseCheckpoint checks the whole
 * document (the CLI's --load uses the same check), so a bad file is refused
 * with one line naming the file and the field, and nothing reaches the GPU or the charts.
 */
export async function readCheckpointFile(file: File): Promise<LoadedCheckpoint> {
  const checkpoint = parseCheckpoint(await file.text(), file.name);
  if (checkpoint.population) {
    const size = checkpoint.population.agents.length;
    throw new Error(`${file.name} holds a population of ${size} agents; the Studio resumes one run: take an agent out with npm run train -- --load ${file.name} --agent K --save agent.json`);
  }
  return { checkpoint, config: resolveConfig(checkpoint.config), filename: file.name };
}
