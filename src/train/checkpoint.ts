/**
 * Checkpoint format shared by the CLI (--save/--load) and the Studio (download
 * and load): one JSON document holding the config, the progress, every GPU
 * state array needed to resume bit-exactly (network weights, optimizer moments,
 * env states, scalars) as base64 of little-endian float32, and the metric history.
 */
import type { TrainConfig } from '../core/config';
import type { EnvSpec } from '../core/envSpecs';
import type { IterationMetrics } from '../core/metrics';

export const CHECKPOINT_FORMAT = 'webgpu-rl-checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  config: TrainConfig;
  /** The spec of the env it was trained on (`config.env` is its id); older checkpoints lack it. */
  env?: EnvSpec;
  iteration: number;
  envSteps: number;
  /** Named float32 arrays: 'policy', 'value', 'policy.adam.m', ... */
  arrays: Record<string, Float32Array>;
  history: IterationMetrics[];
}

interface CheckpointJson extends Omit<Checkpoint, 'arrays'> {
  arrays: Record<string, { length: number; base64: string }>;
}

function toBase64(bytes: Uint8Array): string {
  if (typeof Buffer !== 'undefined') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(text, 'base64'));
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function littleEndianBytes(a: Float32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const view = new DataView(out.buffer);
  a.forEach((x, i) => view.setFloat32(i * 4, x, true));
  return out;
}

/**
 * Refuses, with one line, to load a checkpoint into a run on another env (or
 * on an env of that id whose sizes differ from the recorded spec).
 */
export function checkCheckpointEnv(c: Checkpoint, spec: EnvSpec, source = 'checkpoint'): void {
  if (c.config.env !== spec.id) throw new Error(`${source}: trained on ${c.config.env}, cannot load it into ${spec.id}`);
  const recorded = c.env;
  const actions = (a: EnvSpec['action']) => (a.kind === 'discrete' ? `${a.n} actions` : `${a.dim} action components in [${a.low}], [${a.high}]`);
  if (recorded && (recorded.obsDim !== spec.obsDim || recorded.stateDim !== spec.stateDim || actions(recorded.action) !== actions(spec.action))) {
    throw new Error(
      `${source}: ${spec.id} was ${recorded.obsDim} observations, ${recorded.stateDim} state values, ${actions(recorded.action)} when trained; now ${spec.obsDim}, ${spec.stateDim}, ${actions(spec.action)}`,
    );
  }
}

export function serializeCheckpoint(c: Checkpoint): string {
  const arrays: CheckpointJson['arrays'] = {};
  for (const [name, a] of Object.entries(c.arrays)) arrays[name] = { length: a.length, base64: toBase64(littleEndianBytes(a)) };
  const json: CheckpointJson = { ...c, arrays };
  return JSON.stringify(json);
}

export function parseCheckpoint(text: string, source = 'checkpoint'): Checkpoint {
  let json: CheckpointJson;
  try {
    json = JSON.parse(text) as CheckpointJson;
  } catch {
    throw new Error(`${source}: not a checkpoint (not JSON)`);
  }
  if (json?.format !== CHECKPOINT_FORMAT) throw new Error(`${source}: not a webgpu-rl checkpoint (format field is ${JSON.stringify(json?.format)})`);
  if (json.version !== CHECKPOINT_VERSION) throw new Error(`${source}: checkpoint version ${json.version} is not supported (expected ${CHECKPOINT_VERSION})`);
  const arrays: Record<string, Float32Array> = {};
  for (const [name, { length, base64 }] of Object.entries(json.arrays)) {
    const bytes = fromBase64(base64);
    if (bytes.length !== length * 4) throw new Error(`${source}: array ${name} is truncated (${bytes.length} bytes for ${length} floats)`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const a = new Float32Array(length);
    for (let i = 0; i < length; i++) a[i] = view.getFloat32(i * 4, true);
    arrays[name] = a;
  }
  return { ...json, arrays };
}
