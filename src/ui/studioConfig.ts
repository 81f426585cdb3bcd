/**
 * What the Studio's controls mean, without the DOM: which config fields are
 * shown in which group, the Studio's defaults on this device, validation of
 * what the user typed (messages per field, from the training config's own
 * checks), the URL query that reproduces a run, and the equivalent CLI line.
 * The query uses the CLI's flag names, so `?algo=ppo&envs=256` and
 * `npm run train -- --algo ppo --envs 256` describe the same run.
 */
import {
  ALGOS,
  FIELDS,
  PRESETS,
  ConfigError,
  parseTrainArgs,
  presetConfig,
  resolveConfig,
  type Algo,
  type Preset,
  type ResolvedConfig,
  type TrainConfig,
} from '../core/config';
import { algorithmInfo, algorithmsReading } from '../core/algorithms';
import { checkLimits, withinLimits, type DeviceLimits } from '../train/limits';

/** Config fields that have their own control (algorithm and preset are chosen separately). */
export type FieldKey = Exclude<keyof TrainConfig, 'algo' | 'preset'>;

export interface FieldGroup {
  title: string;
  /** Algorithms that read these fields (the group is dimmed when none is selected). */
  algos: readonly Algo[];
  keys: readonly FieldKey[];
}

/** The env has its own picker beside the algorithms; the run's other fields open the settings. */
const RUN_KEYS: readonly FieldKey[] = ['numEnvs', 'stepsPerIter', 'iters', 'totalSteps', 'stopAtReturn', 'seed'];

export const ALGO_LABELS = Object.fromEntries(ALGOS.map((algo) => [algo, algorithmInfo(algo).label])) as Record<Algo, string>;

/**
 * The run's shape first, then the hyperparameters grouped by the algorithms
 * that read them (from the algorithm registry), groups in field order.
 */
function fieldGroups(): FieldGroup[] {
  const groups: FieldGroup[] = [{ title: 'Run', algos: ALGOS, keys: RUN_KEYS }];
  const bySet = new Map<string, { title: string; algos: readonly Algo[]; keys: FieldKey[] }>();
  for (const key of Object.keys(FIELDS) as (keyof TrainConfig)[]) {
    if (key === 'algo' || key === 'preset' || key === 'env' || RUN_KEYS.includes(key)) continue;
    const algos = algorithmsReading(key);
    const id = algos.join(',');
    let group = bySet.get(id);
    if (!group) {
      const title = algos.length === ALGOS.length ? 'Every algorithm' : algos.map((a) => ALGO_LABELS[a]).join(' · ');
      group = { title, algos, keys: [] };
      bySet.set(id, group);
      groups.push(group);
    }
    group.keys.push(key);
  }
  return groups;
}

export const FIELD_GROUPS: readonly FieldGroup[] = fieldGroups();

/** What the user asked for: algorithms, preset, and the raw text of each field they set. */
export interface Selection {
  algos: Algo[];
  preset: Preset;
  values: Partial<Record<FieldKey, string>>;
}

/** The adapter facts the Studio's defaults and size checks depend on. */
export interface DeviceCapacity extends DeviceLimits {
  isFallback: boolean;
}

/**
 * Envs and rollout length of the 'fast' preset in the Studio: thousands of envs
 * on a GPU; on a CPU fallback fewer, so that an iteration takes seconds, not minutes.
 */
export function deviceScale(device: DeviceCapacity | null): { numEnvs: number; stepsPerEnv: number } {
  return device && !device.isFallback ? { numEnvs: 4096, stepsPerEnv: 16 } : { numEnvs: 256, stepsPerEnv: 32 };
}

/** The defaults a field shows for `preset` on this device. */
export function studioDefaults(preset: Preset, device: DeviceCapacity | null): TrainConfig {
  const config = presetConfig(preset);
  // The seed preset is the article's setting and stays as it is.
  if (preset !== 'fast') return config;
  const { numEnvs, stepsPerEnv } = deviceScale(device);
  return { ...config, numEnvs, stepsPerIter: numEnvs * stepsPerEnv };
}

/** How a default or a config value is written in a field and in the URL. */
export function formatValue(value: TrainConfig[keyof TrainConfig]): string {
  return String(value);
}

/** Most envs a `preset` run of `stepsPerEnv` steps per env fits on this adapter (0: none), by the trainer's own buffer plan. */
export function maxEnvs(device: DeviceCapacity, stepsPerEnv: number, hidden: number, preset: Preset = 'fast'): number {
  const fitsWith = (numEnvs: number) => {
    try {
      return withinLimits(resolveConfig({ preset, numEnvs, stepsPerIter: numEnvs * stepsPerEnv, hidden }), device);
    } catch (error) {
      if (error instanceof ConfigError) return false;
      throw error;
    }
  };
  // Buffers grow with the envs; configurations past the largest batch do not resolve.
  let [good, bad] = [0, (FIELDS.numEnvs.range!.max ?? 1 << 20) + 1];
  while (bad - good > 1) {
    const mid = Math.floor((good + bad) / 2);
    if (fitsWith(mid)) good = mid;
    else bad = mid;
  }
  return good;
}

export interface Validation {
  /** One message per field (or 'algo') that is refused. */
  errors: Partial<Record<FieldKey | 'algo', string>>;
  /** One resolved config per selected algorithm; empty when there are errors. */
  configs: ResolvedConfig[];
}

/** Fields other fields' limits depend on. */
const SHAPE_KEYS: readonly FieldKey[] = ['numEnvs', 'stepsPerIter', 'iters', 'totalSteps'];

const FLAG_TO_KEY = new Map(Object.entries(FIELDS).map(([key, spec]) => [spec.flag, key as keyof TrainConfig]));

/** The field a config error names ("--lr: ..."), and the message without the flag (the field's label shows it). */
function attribute(error: ConfigError): { key: keyof TrainConfig | null; message: string } {
  const match = /^--([a-z-]+): (.*)$/s.exec(error.message);
  if (!match) return { key: null, message: error.message };
  return { key: FLAG_TO_KEY.get(match[1]) ?? null, message: match[2] };
}

/** Checks every field the user set, then each selected algorithm's whole config, then the adapter's buffer limits. */
export function validateSelection(selection: Selection, device: DeviceCapacity | null): Validation {
  const errors: Validation['errors'] = {};
  if (selection.algos.length === 0) errors.algo = 'Pick at least one algorithm.';
  const defaults = studioDefaults(selection.preset, device);
  const overrides: Partial<TrainConfig> = { numEnvs: defaults.numEnvs, stepsPerIter: defaults.stepsPerIter };

  const parsed: Partial<Record<FieldKey, Partial<TrainConfig>>> = {};
  for (const [key, raw] of Object.entries(selection.values) as [FieldKey, string][]) {
    try {
      parsed[key] = parseTrainArgs([`--${FIELDS[key].flag}=${raw.trim()}`]).overrides;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      errors[key] = attribute(error).message;
    }
  }
  // The run's shape as given: a field's limits that depend on it (minibatch ≤ batch, an annealing schedule's end) are checked against it.
  const shape: Partial<TrainConfig> = { ...overrides };
  for (const key of SHAPE_KEYS) Object.assign(shape, parsed[key]);
  for (const [key, values] of Object.entries(parsed) as [FieldKey, Partial<TrainConfig>][]) {
    try {
      // The field on top of the preset and the shape: errors that name it are its own.
      resolveConfig({ ...shape, preset: selection.preset, ...values });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const { key: named, message } = attribute(error);
      if (named === key) errors[key] = message;
    }
    Object.assign(overrides, values);
  }
  if (Object.keys(errors).length > 0) return { errors, configs: [] };

  const configs: ResolvedConfig[] = [];
  for (const algo of selection.algos) {
    try {
      configs.push(resolveConfig({ ...overrides, preset: selection.preset, algo }));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const { key, message } = attribute(error);
      const field: FieldKey | 'algo' = key && key !== 'algo' && key !== 'preset' ? key : 'algo';
      errors[field] ??= message;
    }
  }
  if (device) {
    // Every algorithm's trainer, by the plan makeTrainer checks too; the fields the user set are named first.
    const given = Object.keys(selection.values) as FieldKey[];
    for (const config of configs) {
      const refusal = checkLimits(config, device, given);
      if (!refusal) continue;
      const { key, message } = attribute(new ConfigError(refusal));
      const field: FieldKey | 'algo' = key && key !== 'algo' && key !== 'preset' ? key : 'algo';
      errors[field] ??= `${ALGO_LABELS[config.algo]}: ${message}`;
    }
  }
  return Object.keys(errors).length > 0 ? { errors, configs: [] } : { errors, configs };
}

/** Reads `?algo=ppo,trpo&preset=fast&envs=256...`; unknown keys, and every repeat of a key after its first, are reported, not applied. */
export function parseQuery(search: string): { selection: Selection; ignored: string[] } {
  const params = new URLSearchParams(search);
  const ignored: string[] = [];
  const seen = new Set<string>();
  const selection: Selection = { algos: ['ppo'], preset: 'fast', values: {} };
  for (const [name, value] of params) {
    if (seen.has(name)) {
      ignored.push(`${name}=${value} (repeated)`);
      continue;
    }
    seen.add(name);
    if (name === 'algo') {
      const algos = value.split(',').filter((a): a is Algo => (ALGOS as readonly string[]).includes(a));
      if (algos.length !== value.split(',').length) ignored.push(`algo=${value}`);
      selection.algos = [...new Set(algos)];
    } else if (name === 'preset') {
      if ((PRESETS as readonly string[]).includes(value)) selection.preset = value as Preset;
      else ignored.push(`preset=${value}`);
    } else {
      const key = FLAG_TO_KEY.get(name);
      if (key && key !== 'algo' && key !== 'preset') selection.values[key] = value;
      else ignored.push(name);
    }
  }
  return { selection, ignored };
}

/**
 * The query for a selection, in field order. The device-dependent sizes are
 * always written, so the link reproduces the run on any adapter.
 */
export function formatQuery(selection: Selection, device: DeviceCapacity | null): string {
  const defaults = studioDefaults(selection.preset, device);
  const params = new URLSearchParams();
  params.set('algo', selection.algos.join(','));
  params.set('preset', selection.preset);
  for (const key of Object.keys(FIELDS) as (keyof TrainConfig)[]) {
    if (key === 'algo' || key === 'preset') continue;
    const raw = selection.values[key]?.trim();
    if (raw) params.set(FIELDS[key].flag, raw);
    else if (key === 'numEnvs' || key === 'stepsPerIter') params.set(FIELDS[key].flag, formatValue(defaults[key]));
  }
  return `?${params.toString().replaceAll('%2C', ',')}`;
}

/** `npm run train -- ...` for the same config: the algorithm, preset and env, then every field that differs from the preset. */
export function cliCommand(config: ResolvedConfig): string {
  const preset = presetConfig(config.preset);
  const args = [`--algo ${config.algo}`, `--preset ${config.preset}`, `--env ${config.env}`];
  for (const key of Object.keys(FIELDS) as (keyof TrainConfig)[]) {
    if (key === 'algo' || key === 'preset' || key === 'env' || config[key] === preset[key]) continue;
    const spec = FIELDS[key];
    args.push(spec.kind === 'boolean' ? (config[key] ? `--${spec.flag}` : `--${spec.flag}=false`) : `--${spec.flag} ${formatValue(config[key])}`);
  }
  return `npm run train -- ${args.join(' ')}`;
}

/** A selection that reproduces `config` (used when a checkpoint is loaded). */
export function selectionFromConfig(config: TrainConfig): Selection {
  const preset = presetConfig(config.preset);
  const values: Selection['values'] = {};
  for (const key of Object.keys(FIELDS) as (keyof TrainConfig)[]) {
    if (key === 'algo' || key === 'preset') continue;
    if (config[key] !== preset[key] || key === 'numEnvs' || key === 'stepsPerIter') values[key] = formatValue(config[key]);
  }
  return { algos: [config.algo], preset: config.preset, values };
}
