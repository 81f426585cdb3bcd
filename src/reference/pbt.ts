/**
 * CPU twin of shaders/pbt.wgsl's exploit and explore: the same ranking, Philox
 * draws and f32 arithmetic (products rounded to f32 as WGSL rounds them), so a
 * test can compare the GPU's sources, records and lineage bit for bit.
 */
import { philox4x32, uniform01 } from '../core/random';

/** The stream key word PBT's draws use (shaders/pbt.wgsl's STREAM_PBT). */
export const STREAM_PBT = 4;

/** Scores of an agent with no episode in its window (the most negative f32). */
const NO_EPISODE_SCORE = -3.4028234663852886e38;

export interface PbtExploitInput {
  /** [P][fields] raw u32 words of the AgentParams records. */
  agentWords: Uint32Array;
  fields: number;
  /** [fields][2] f32 bounds. */
  bounds: Float32Array;
  /** [P][2] f32: window sums and counts. */
  scoreWindow: Float32Array;
  exploit: number;
  bottom: number;
  top: number;
  seed: number;
  perturbMask: number;
  down: number;
  up: number;
  /** Probability that an explored field is resampled from `prior` (default 0). */
  resample?: number;
  /** [P][fields] words the population started from (needed where resample > 0). */
  prior?: Uint32Array;
}

export interface PbtExploitResult {
  /** The agent each agent copies (itself if kept). */
  source: number[];
  /** The records after explore. */
  agentWords: Uint32Array;
  /** The agents by rank, best first. */
  byRank: number[];
}

const f32 = Math.fround;

/** pbt_exploit on the CPU. */
export function pbtExploitReference(input: PbtExploitInput): PbtExploitResult {
  const { fields, bottom, top } = input;
  const p = input.scoreWindow.length / 2;
  const score = (a: number) => (input.scoreWindow[2 * a + 1] > 0 ? f32(input.scoreWindow[2 * a] / input.scoreWindow[2 * a + 1]) : NO_EPISODE_SCORE);
  const rank = Array.from({ length: p }, (_, a) => {
    let r = 0;
    for (let b = 0; b < p; b++) if (score(b) > score(a) || (score(b) === score(a) && b < a)) r++;
    return r;
  });
  const byRank: number[] = new Array(p);
  rank.forEach((r, a) => (byRank[r] = a));
  const words = input.agentWords.slice();
  const view = new DataView(words.buffer, words.byteOffset, words.byteLength);
  const key: [number, number] = [input.seed, STREAM_PBT];
  const source = rank.map((r, a) => {
    if (r < p - bottom) return a;
    const pick = philox4x32([a, input.exploit, 0, 0], key);
    const parent = byRank[Math.min(Math.floor(f32(uniform01(pick[0]) * top)), top - 1)];
    for (let i = 1; i < fields; i++) {
      let word = input.agentWords[parent * fields + i];
      if (input.perturbMask & (1 << i)) {
        const counter = (word3: number) => philox4x32([a, input.exploit, 1 + Math.floor(i / 4), word3], key)[i % 4];
        if (uniform01(counter(1)) < f32(input.resample ?? 0)) {
          word = input.prior![Math.min(Math.floor(f32(uniform01(counter(2)) * p)), p - 1) * fields + i];
        } else {
          const factor = uniform01(counter(0)) < 0.5 ? f32(input.down) : f32(input.up);
          const scratch = new DataView(new ArrayBuffer(4));
          scratch.setUint32(0, word, true);
          const moved = f32(scratch.getFloat32(0, true) * factor);
          scratch.setFloat32(0, Math.min(Math.max(moved, input.bounds[2 * i]), input.bounds[2 * i + 1]), true);
          word = scratch.getUint32(0, true);
        }
      }
      view.setUint32((a * fields + i) * 4, word, true);
    }
    return parent;
  });
  return { source, agentWords: words, byRank };
}
