/**
 * Checkpoint format shared by the CLI (--save/--load) and the Studio (download
 * and load): one JSON document holding the config, the progress, every GPU
 * state array needed to resume bit-exactly (network weights, optimizer moments,
 * env states, scalars) as base64 of little-endian float32, and the metric history.
 */
import { ConfigError, FIELDS, LATER_FIELDS, resolveConfig, type ResolvedConfig, type TrainConfig } from '../core/config';
import type { Algo } from '../core/algorithms';
import { LEGACY_METRICS_BLOCK_FLOATS, METRICS_BLOCK_FLOATS, METRIC_FIELDS, type IterationMetrics } from '../core/metrics';
import { envDefinition } from '../envs/registry';
import { ENV_SLOTS } from '../kernels/rollout';
import { adamControlFloats } from '../kernels/optim';
import { MOMENT_FIELDS } from '../kernels/normalize';
import { networkLayouts } from './networks';
import type { EnvSpec } from '../core/envSpecs';

/** The `format` field of every checkpoint document. */
export const CHECKPOINT_FORMAT = 'webgpu-rl-checkpoint';
/** The checkpoint format version this package writes and reads. */
export const CHECKPOINT_VERSION = 1;

/**
 * A run's state: config, progress, named float32 arrays and metric history
 * (`Trainer.checkpoint` makes one, `Trainer.restore` takes one).
 */
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
  /**
   * A population's checkpoint: every array of the layout holds `agents.length`
   * blocks, agent-major (agent k's block is what a single run's checkpoint holds),
   * `config` and `history` are agent 0's, and arrays named `population.*` hold the
   * population's own state (PBT's score windows, exploit count and resampling
   * prior). `extractAgent` makes one agent's
   * ordinary checkpoint.
   */
  population?: PopulationState;
}

/** What a population checkpoint holds beyond a single run's. */
export interface PopulationState {
  /** Each agent's config with its hyperparameters as they are now (PBT changes them). */
  agents: TrainConfig[];
  /** Each agent's metric history. */
  histories: IterationMetrics[][];
}

/** Arrays of a population checkpoint that are the population's own (not one block per agent). */
export const POPULATION_ARRAY_PREFIX = 'population.';

interface CheckpointJson extends Omit<Checkpoint, 'arrays'> {
  arrays: Record<string, { length: number; base64: string }>;
}

/** A checkpoint that does not hold what it should; the message is one line naming the file and the field. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** The GPU keys each iteration's random stream by its number as a u32. */
const MAX_ITERATION = 2 ** 32 - 1;

/** The networks each algorithm trains with Adam: its checkpoint holds `${network}.adam.m`, `.v` and `.control`. */
const ADAM_NETWORKS: Record<Algo, readonly ('policy' | 'value')[]> = {
  ppo: ['policy', 'value'],
  'ppo-kl': ['policy', 'value'],
  trpo: ['value'],
  reinforce: ['policy', 'value'],
};

/** Every array a checkpoint of `config` holds, with its length (what the trainer's checkpoint() writes). */
export function checkpointLayout(config: ResolvedConfig): Map<string, number> {
  const networks = networkLayouts(config);
  const N = config.numEnvs;
  const layout = new Map<string, number>([
    ['policy', networks.policy.paramCount],
    ['value', networks.value.paramCount],
    ['env.currentObs', N * config.derived.obsDim],
    ['env.slots', N * (ENV_SLOTS.length + envDefinition(config.env).spec.stateDim)],
    ['metrics', METRICS_BLOCK_FLOATS],
  ]);
  for (const network of ADAM_NETWORKS[config.algo]) {
    const count = networks[network].paramCount;
    layout.set(`${network}.adam.m`, count);
    layout.set(`${network}.adam.v`, count);
    layout.set(`${network}.adam.control`, adamControlFloats());
  }
  // Running moments ([components][mean, var, count]) and each env's discounted return.
  if (config.normObs) layout.set('normalize.obs', config.derived.obsDim * MOMENT_FIELDS);
  if (config.normReward) {
    layout.set('normalize.return', MOMENT_FIELDS);
    layout.set('normalize.discountedReturn', N);
  }
  return layout;
}

/**
 * Older checkpoints are read too: `metrics` blocks from before the finiteness
 * slot (LEGACY_METRICS_BLOCK_FLOATS; the trainer pads them), and
 * `env.slots` of checkpoints written before the env state moved into the slots:
 * the ENV_SLOTS rows alone. They are all CartPole's, whose state is its
 * observation; the trainer rebuilds the state rows from `env.currentObs`.
 */
function legacyEnvSlots(config: ResolvedConfig): number {
  return config.env === 'CartPole-v1' ? config.numEnvs * ENV_SLOTS.length : -1;
}

/**
 * The first array (by the layout's order) that is missing, of the wrong length or (unless `extrasAllowed`)
 * unexpected for `config`, as `field: problem`; a population of `agents` holds that many blocks of each.
 */
function layoutProblem(lengths: ReadonlyMap<string, number>, config: ResolvedConfig, extrasAllowed = false, agents = 1): string | null {
  const layout = checkpointLayout(config);
  const blocks = agents > 1 ? `${agents} agents × ` : '';
  for (const [name, length] of layout) {
    const got = lengths.get(name);
    if (got === undefined) return `arrays.${name}: missing (a ${config.algo} checkpoint holds ${[...layout.keys()].join(', ')})`;
    const legacy = agents === 1 && ((name === 'env.slots' && got === legacyEnvSlots(config)) || (name === 'metrics' && got === LEGACY_METRICS_BLOCK_FLOATS));
    if (got !== agents * length && !legacy) return `arrays.${name}: has ${got} values, this configuration needs ${blocks}${length}`;
  }
  if (!extrasAllowed) {
    for (const name of lengths.keys()) {
      if (!layout.has(name) && !(agents > 1 && name.startsWith(POPULATION_ARRAY_PREFIX))) return `arrays.${name}: not part of a ${config.algo} checkpoint`;
    }
  }
  return null;
}

/**
 * Agent `agent`'s ordinary checkpoint from a population checkpoint: its config
 * (hyperparameters as trained), its block of every array, its history. `eval`,
 * `--load` and the Studio take it like any single run's.
 */
export function extractAgent(c: Checkpoint, agent: number, source = 'checkpoint'): Checkpoint {
  const population = c.population;
  if (!population) throw new CheckpointError(`${source}: --agent ${agent}: not a population checkpoint (it holds one agent)`);
  const size = population.agents.length;
  if (!Number.isInteger(agent) || agent < 0 || agent >= size) {
    throw new CheckpointError(`${source}: --agent ${agent} is not allowed (must be an integer in [0, ${size - 1}]: the population has ${size} agents)`);
  }
  const config = resolveConfig({ ...LATER_FIELDS, ...population.agents[agent] });
  const arrays: Record<string, Float32Array> = {};
  for (const [name, length] of checkpointLayout(config)) arrays[name] = c.arrays[name].slice(agent * length, (agent + 1) * length);
  const { derived: _derived, ...plain } = config;
  return { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, config: plain, ...(c.env ? { env: c.env } : {}), iteration: c.iteration, envSteps: c.envSteps, arrays, history: population.histories[agent] };
}

/**
 * Refuses, before any GPU work, a checkpoint whose arrays do not fit `config`:
 * its own config with flags given on resume. Arrays that config does not use
 * are left alone (a PPO checkpoint's policy optimizer when resuming as TRPO).
 */
export function checkCheckpointFits(checkpoint: Checkpoint, config: ResolvedConfig, source = 'checkpoint'): void {
  const problem = layoutProblem(new Map(Object.entries(checkpoint.arrays).map(([name, a]) => [name, a.length])), config, true);
  if (problem) throw new CheckpointError(`${source}: ${problem}`);
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

/** The checkpoint as one JSON document (arrays as base64 of little-endian float32); `parseCheckpoint` reads it back. */
export function serializeCheckpoint(c: Checkpoint): string {
  const arrays: CheckpointJson['arrays'] = {};
  for (const [name, a] of Object.entries(c.arrays)) arrays[name] = { length: a.length, base64: toBase64(littleEndianBytes(a)) };
  const json: CheckpointJson = { ...c, arrays };
  return JSON.stringify(json);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A value as it appears in a message: numbers as JavaScript prints them (Infinity, not JSON's null), anything long cut short. */
function show(v: unknown): string {
  const text = typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** The config through the config resolver, every field present; errors name `config.<field>`. */
function checkConfig(value: unknown, fail: (field: string, problem: string) => never): ResolvedConfig {
  if (!isObject(value)) return fail('config', `${show(value)} is not an object of config fields`);
  for (const key of Object.keys(FIELDS)) if (!Object.hasOwn(value, key) && !Object.hasOwn(LATER_FIELDS, key)) fail(`config.${key}`, 'missing');
  for (const key of Object.keys(value)) if (!Object.hasOwn(FIELDS, key)) fail(`config.${key}`, 'not a config field');
  try {
    return resolveConfig({ ...LATER_FIELDS, ...(value as Partial<TrainConfig>) });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const match = /^--([a-z-]+): (.*)$/s.exec(error.message);
    const key = match && Object.entries(FIELDS).find(([, spec]) => spec.flag === match[1])?.[0];
    return key ? fail(`config.${key}`, match[2]) : fail('config', error.message);
  }
}

function checkCount(value: unknown, max: number, fail: (problem: string) => never): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) fail(`${show(value)} is not allowed (must be an integer in [0, ${max}])`);
  return value as number;
}

/** Metrics the trainer reports only for some algorithms (TRPO's line search). */
const OPTIONAL_METRICS: readonly string[] = ['cg_residual', 'step_frac', 'line_search_failed'];

function checkHistory(value: unknown, fail: (field: string, problem: string) => never): IterationMetrics[] {
  if (!Array.isArray(value)) return fail('history', `${show(value)} is not an array of iteration metrics`);
  value.forEach((m: unknown, i) => {
    const at = `history[${i}]`;
    if (!isObject(m)) fail(at, `${show(m)} is not an object of metrics`);
    for (const field of METRIC_FIELDS) if (!OPTIONAL_METRICS.includes(field) && !Object.hasOwn(m, field)) fail(`${at}.${field}`, 'missing');
    // Metrics a newer trainer may add are kept if they are plain values; NaN was written as null.
    for (const [field, v] of Object.entries(m)) {
      const ok = field === 'line_search_failed' ? typeof v === 'boolean' : v === null || (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'boolean' && !(METRIC_FIELDS as readonly string[]).includes(field));
      if (!ok) fail(`${at}.${field}`, `${show(v)} is not allowed (must be ${field === 'line_search_failed' ? 'true or false' : 'a finite number or null'})`);
    }
    for (const field of ['iter', 'env_steps'] as const) {
      if (typeof m[field] !== 'number' || !Number.isInteger(m[field]) || (m[field] as number) < 0) fail(`${at}.${field}`, `${show(m[field])} is not allowed (must be an integer ≥ 0)`);
    }
  });
  return value as IterationMetrics[];
}

/** The recorded env spec (newer checkpoints): its id is the config's env, its sizes positive integers. */
function checkEnvRecord(value: unknown, config: ResolvedConfig, fail: (field: string, problem: string) => never): EnvSpec {
  if (!isObject(value)) return fail('env', `${show(value)} is not an env spec`);
  if (value.id !== config.env) fail('env.id', `${show(value.id)} is not the config's env ${show(config.env)}`);
  for (const field of ['obsDim', 'stateDim', 'maxEpisodeSteps'] as const) {
    const v = value[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(`env.${field}`, `${show(v)} is not allowed (must be a positive integer)`);
  }
  const action = value.action;
  if (!isObject(action)) return fail('env.action', `${show(action)} is not an action spec`);
  if (action.kind === 'discrete') {
    if (typeof action.n !== 'number' || !Number.isInteger(action.n) || action.n < 1) fail('env.action.n', `${show(action.n)} is not allowed (must be a positive integer)`);
  } else if (action.kind === 'box') {
    if (typeof action.dim !== 'number' || !Number.isInteger(action.dim) || action.dim < 1) fail('env.action.dim', `${show(action.dim)} is not allowed (must be a positive integer)`);
    for (const bound of ['low', 'high'] as const) {
      const b = action[bound];
      if (!Array.isArray(b) || b.length !== action.dim || !b.every((x) => typeof x === 'number' && Number.isFinite(x))) fail(`env.action.${bound}`, `${show(b)} is not ${show(action.dim)} finite numbers`);
    }
  } else {
    fail('env.action.kind', `${show(action.kind)} is not allowed (discrete or box)`);
  }
  return value as unknown as EnvSpec;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** One array: its recorded length, base64 text of exactly that many little-endian floats, and every value finite. */
function decodeArray(name: string, entry: unknown, fail: (field: string, problem: string) => never): Float32Array {
  const at = `arrays.${name}`;
  if (!isObject(entry)) return fail(at, `${show(entry)} is not {length, base64}`);
  const { length, base64 } = entry;
  if (typeof base64 !== 'string' || base64.length % 4 !== 0 || !BASE64.test(base64)) return fail(`${at}.base64`, 'is not base64 text');
  const bytes = fromBase64(base64);
  if (bytes.length !== (length as number) * 4) return fail(at, `holds ${bytes.length} bytes for ${length} floats`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const a = new Float32Array(length as number);
  for (let i = 0; i < a.length; i++) {
    a[i] = view.getFloat32(i * 4, true);
    if (!Number.isFinite(a[i])) fail(`${at}[${i}]`, `${a[i]} is not finite`);
  }
  return a;
}

/**
 * Reads a checkpoint as untrusted input: the whole document is checked against
 * the schema above (format, version, every config field through the config
 * resolver, progress counters, the history's metrics, and each array's name,
 * length and finiteness against the config's layout) before anything reaches
 * a GPU. Throws a CheckpointError of one line: `<source>: <field>: <problem>`.
 */
export function parseCheckpoint(text: string, source = 'checkpoint'): Checkpoint {
  const fail = (field: string, problem: string): never => {
    throw new CheckpointError(`${source}: ${field}: ${problem}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CheckpointError(`${source}: not a checkpoint (not JSON)`);
  }
  if (!isObject(json) || json.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`${source}: not a webgpu-rl checkpoint (format field is ${show(isObject(json) ? json.format : json)})`);
  }
  if (json.version !== CHECKPOINT_VERSION) fail('version', `${show(json.version)} is not supported (expected ${CHECKPOINT_VERSION})`);
  const config = checkConfig(json.config, fail);
  const iteration = checkCount(json.iteration, MAX_ITERATION, (p) => fail('iteration', p));
  const envSteps = checkCount(json.envSteps, Number.MAX_SAFE_INTEGER, (p) => fail('envSteps', p));
  const history = checkHistory(json.history, fail);
  if (!isObject(json.arrays)) return fail('arrays', `${show(json.arrays)} is not an object of named arrays`);
  const lengths = new Map<string, number>();
  for (const [name, entry] of Object.entries(json.arrays)) {
    const length = isObject(entry) ? entry.length : undefined;
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) fail(`arrays.${name}.length`, `${show(length)} is not a length`);
    lengths.set(name, length as number);
  }
  const population = json.population === undefined ? undefined : checkPopulation(json.population, config, fail);
  const problem = layoutProblem(lengths, config, false, population?.agents.length ?? 1);
  if (problem) throw new CheckpointError(`${source}: ${problem}`);
  const arrays: Record<string, Float32Array> = {};
  for (const [name, entry] of Object.entries(json.arrays)) arrays[name] = decodeArray(name, entry, fail);
  const env = json.env === undefined ? undefined : checkEnvRecord(json.env, config, fail);
  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    config: { ...LATER_FIELDS, ...(json.config as TrainConfig) },
    ...(env ? { env } : {}),
    iteration,
    envSteps,
    arrays,
    history,
    ...(population ? { population } : {}),
  };
}

/** A population's agents (each a full config sharing agent 0's shapes) and their histories. */
function checkPopulation(value: unknown, config: ResolvedConfig, fail: (field: string, problem: string) => never): PopulationState {
  if (!isObject(value)) return fail('population', `${show(value)} is not {agents, histories}`);
  const { agents, histories } = value;
  if (!Array.isArray(agents) || agents.length < 2) return fail('population.agents', `${show(agents)} is not an array of 2 or more agent configs`);
  if (!Array.isArray(histories) || histories.length !== agents.length) return fail('population.histories', `is not one history per agent (${agents.length})`);
  const shared = checkpointLayout(config);
  agents.forEach((a: unknown, k) => {
    const own = checkConfig(a, (field, problem) => fail(`population.agents[${k}].${field.replace(/^config\.?/, '')}`, problem));
    const layout = checkpointLayout(own);
    if (own.algo !== config.algo || own.env !== config.env || layout.size !== shared.size || [...layout].some(([name, n]) => shared.get(name) !== n)) {
      fail(`population.agents[${k}]`, `does not share agent 0's algorithm, env and shapes`);
    }
  });
  histories.forEach((h: unknown, k) => checkHistory(h, (field, problem) => fail(`population.histories[${k}]${field.slice('history'.length)}`, problem)));
  return { agents: (agents as TrainConfig[]).map((a) => ({ ...LATER_FIELDS, ...a })), histories: histories as IterationMetrics[][] };
}
