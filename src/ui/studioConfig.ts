/**
 * What the Studio's controls mean, without the DOM: which config fields are
 * shown in which group, the Studio's defaults on this device, validation of
 * what the user typed (messages per field, from the training config's own
 * checks), the URL query that reproduces a run, and the equivalent CLI line.
 * The query uses the CLI's flag names, so `?algo=ppo&envs=256` and
 * `npm run train -- --algo ppo --envs 256` describe the same run; so do
 * `?population=16&seed=1..16&lr=log:1e-4..1e-2&pbt=true` and
 * `--population 16 --seed 1..16 --lr log:1e-4..1e-2 --pbt` (a population:
 * the fields an agent may hold for itself take the CLI's sweep syntax).
 */
import {
  ALGOS,
  FIELDS,
  PRESETS,
  ConfigError,
  parseNumberText,
  parseTrainArgs,
  presetConfig,
  resolveConfig,
  type Algo,
  type Preset,
  type ResolvedConfig,
  type TrainConfig,
} from '../core/config';
import { algorithmInfo, algorithmsReading } from '../core/algorithms';
import {
  AGENT_FIELDS,
  MAX_POPULATION,
  PBT_DEFAULTS,
  PBT_PERTURB_DEFAULTS,
  isSweepText,
  parsePbtFlags,
  parseSweep,
  resolvePopulation,
  type AgentField,
  type PbtSettings,
  type PopulationPlan,
  type Sweep,
} from '../core/population';
import { checkLimits, withinLimits, type DeviceLimits } from '../train/limits';
import { populationLimits } from '../train/trainer';

/** Config fields that have their own control (algorithm and preset are chosen separately). */
export type FieldKey = Exclude<keyof TrainConfig, 'algo' | 'preset'>;

/** A control's flag, description and allowed values, as the config's FIELDS give them. */
export type SettingSpec = (typeof FIELDS)[FieldKey] | ListSpec;

/** A control taking a comma list of names (PBT's explored fields). */
export interface ListSpec {
  flag: string;
  doc: string;
  kind: 'list';
}

/** The population's settings: the train CLI's own flags for them, beside the config's fields. */
export const POPULATION_FIELDS = {
  population: { flag: 'population', doc: 'agents trained together (a population)', kind: 'number', range: { min: 1, max: MAX_POPULATION, int: true } },
  pbt: { flag: 'pbt', doc: 'population-based training: the worst agents copy the best and perturb', kind: 'boolean' },
  pbtInterval: { flag: 'pbt-interval', doc: 'iterations between PBT exploits', kind: 'number', range: { min: 1, max: 1_000_000, int: true } },
  pbtBurnIn: { flag: 'pbt-burn-in', doc: 'iterations before PBT scores and exploits (the first exploit comes this many plus the interval in)', kind: 'number', range: { min: 0, max: 1_000_000, int: true } },
  pbtFraction: { flag: 'pbt-fraction', doc: 'share of agents replaced per PBT exploit (the worst; they copy as many of the best)', kind: 'number', range: { min: 0, max: 0.5, exclusiveMin: true } },
  pbtPerturb: { flag: 'pbt-perturb', doc: 'fields each PBT copy multiplies by 0.8 or 1.2 (a comma list of flags, or none)', kind: 'list' },
  pbtResample: { flag: 'pbt-resample', doc: "probability that an explored field takes a random agent's starting value instead of the perturbed one", kind: 'number', range: { min: 0, max: 1 } },
  pbtEnvs: { flag: 'pbt-envs', doc: "a replaced agent's envs: its own, or a copy of its source's mid-episode", kind: 'enum', values: ['own', 'copy'] },
  pbtSource: { flag: 'pbt-source', doc: 'what a replaced agent copies: a random one of the best fraction (top), or the best agent (best)', kind: 'enum', values: ['top', 'best'] },
} as const satisfies Record<string, SettingSpec>;
export type PopulationKey = keyof typeof POPULATION_FIELDS;

/** Every control of the settings: a config field or a population setting. */
export type SettingKey = FieldKey | PopulationKey;

const POPULATION_KEYS = Object.keys(POPULATION_FIELDS) as PopulationKey[];
const isPopulationKey = (key: string): key is PopulationKey => key in POPULATION_FIELDS;

/** The flag, description and range of any control. */
export function settingSpec(key: SettingKey): SettingSpec {
  return isPopulationKey(key) ? POPULATION_FIELDS[key] : FIELDS[key];
}

/** Whether a field may differ between the agents of a population (and so take a sweep). */
export function isSweepable(key: SettingKey): key is AgentField {
  return (AGENT_FIELDS as readonly string[]).includes(key);
}

export interface FieldGroup {
  title: string;
  /** Algorithms that read these fields (the group is dimmed when none is selected). */
  algos: readonly Algo[];
  keys: readonly SettingKey[];
}

/** The env has its own picker beside the algorithms; the run's other fields open the settings. */
const RUN_KEYS: readonly FieldKey[] = ['numEnvs', 'stepsPerIter', 'iters', 'totalSteps', 'stopAtReturn', 'seed'];

export const ALGO_LABELS = Object.fromEntries(ALGOS.map((algo) => [algo, algorithmInfo(algo).label])) as Record<Algo, string>;

/**
 * The run's shape first, then the hyperparameters grouped by the algorithms
 * that read them (from the algorithm registry), groups in field order.
 */
function fieldGroups(): FieldGroup[] {
  const groups: FieldGroup[] = [
    { title: 'Run', algos: ALGOS, keys: RUN_KEYS },
    { title: 'Population', algos: ALGOS, keys: POPULATION_KEYS },
  ];
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

/** What the user asked for: algorithms, preset, and the raw text of each field and population setting they set. */
export interface Selection {
  algos: Algo[];
  preset: Preset;
  values: Partial<Record<SettingKey, string>>;
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

/** What an empty control means: the preset's value on this device, or the population's default. */
export function settingDefault(key: SettingKey, preset: Preset, device: DeviceCapacity | null): string | number | boolean {
  if (key === 'population') return 1;
  if (key === 'pbt') return false;
  if (key === 'pbtInterval') return PBT_DEFAULTS.interval;
  if (key === 'pbtBurnIn') return 0;
  if (key === 'pbtFraction') return PBT_DEFAULTS.fraction;
  if (key === 'pbtPerturb') return ALGOS.map((algo) => `${ALGO_LABELS[algo]} ${PBT_PERTURB_DEFAULTS[algo].map((f) => FIELDS[f].flag).join(',')}`).join('; ');
  if (key === 'pbtResample') return 0;
  if (key === 'pbtEnvs') return 'own';
  if (key === 'pbtSource') return 'top';
  return studioDefaults(preset, device)[key];
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

/** A population run: its agents, the sweep texts that gave them (for the CLI line), and PBT (null: off). */
export interface PopulationSetup {
  plan: PopulationPlan;
  sweeps: ReadonlyMap<AgentField, string>;
  pbt: PbtSettings | null;
}

export interface Validation {
  /** One message per field, population setting (or 'algo') that is refused. */
  errors: Partial<Record<SettingKey | 'algo', string>>;
  /** One resolved config per selected algorithm (for a population, its agent 0); empty when there are errors. */
  configs: ResolvedConfig[];
  /** Set when the selection is a population (agents given or a field swept). */
  population: PopulationSetup | null;
}

/** Fields other fields' limits depend on. */
const SHAPE_KEYS: readonly FieldKey[] = ['numEnvs', 'stepsPerIter', 'iters', 'totalSteps'];

const FLAG_TO_KEY = new Map<string, keyof TrainConfig | PopulationKey>([
  ...Object.entries(FIELDS).map(([key, spec]) => [spec.flag, key as keyof TrainConfig] as const),
  ...POPULATION_KEYS.map((key) => [POPULATION_FIELDS[key].flag, key] as const),
]);

/**
 * The field a config error names ("--lr: ...", "agent 3: --lr: ...", "--lr × --seed: ..."),
 * and the message without the flag (the field's label shows it), an agent's number kept.
 */
function attribute(error: ConfigError): { key: keyof TrainConfig | PopulationKey | null; message: string } {
  const match = /^(agent \d+: )?--([a-z-]+)((?: × --[a-z-]+)*): (.*)$/s.exec(error.message);
  if (!match) return { key: null, message: error.message };
  const [, agent, flag, axes, message] = match;
  return { key: FLAG_TO_KEY.get(flag) ?? null, message: `${agent ?? ''}${axes ? `--${flag}${axes}: ` : ''}${message}` };
}

/** The control an error belongs to: the field it names, else the algorithms' line. */
function errorField(key: keyof TrainConfig | PopulationKey | null): SettingKey | 'algo' {
  return key && key !== 'algo' && key !== 'preset' ? key : 'algo';
}

/** A sweep's values as single values to check: a list's items, a spread's two ends (every value between lies in the range if they do). */
function sweepValues(sweep: Sweep): number[] {
  return sweep.kind === 'list' ? sweep.values : [sweep.from, sweep.to];
}

/** The PBT settings beside --pbt, read with the CLI's own parser. */
const PBT_KEYS = ['pbtInterval', 'pbtBurnIn', 'pbtFraction', 'pbtPerturb', 'pbtResample', 'pbtEnvs', 'pbtSource'] as const;

/** Reads the population settings the user set (form and range); messages go to `errors`. */
function readPopulationSettings(values: Selection['values'], errors: Validation['errors']): { size?: number; pbt: boolean; pbtTexts: Record<string, string> } {
  let size: number | undefined;
  const raw = values.population?.trim();
  if (raw) {
    const { flag, doc, range } = POPULATION_FIELDS.population;
    const allowed = `${doc}; must be an integer in [${range.min}, ${range.max}]`;
    try {
      const v = parseNumberText(flag, raw, allowed);
      if (Number.isInteger(v) && v >= range.min && v <= range.max) size = v;
      else errors.population = `${v} is not allowed (${allowed})`;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      errors.population = attribute(error).message;
    }
  }
  const pbtText = values.pbt?.trim() ?? '';
  if (pbtText !== '' && pbtText !== 'true' && pbtText !== 'false') errors.pbt = `${JSON.stringify(pbtText)} is not allowed (${POPULATION_FIELDS.pbt.doc}; must be true or false)`;
  // As the CLI reads them: flag → text, only those set.
  const pbtTexts: Record<string, string> = {};
  for (const key of PBT_KEYS) {
    const text = values[key]?.trim();
    if (text) pbtTexts[POPULATION_FIELDS[key].flag] = text;
  }
  return { size, pbt: pbtText === 'true', pbtTexts };
}

/** Each PBT setting set while PBT is off: one message on its field. */
function pbtOnlyWithPbt(settings: { pbt: boolean; pbtTexts: Record<string, string> }, errors: Validation['errors']): void {
  if (settings.pbt) return;
  for (const key of PBT_KEYS) if (settings.pbtTexts[POPULATION_FIELDS[key].flag] !== undefined) errors[key] = 'only with population-based training on';
}

/**
 * Checks every field the user set, then each selected algorithm's whole config
 * (or the population's every agent), then the adapter's buffer limits.
 */
export function validateSelection(selection: Selection, device: DeviceCapacity | null): Validation {
  const errors: Validation['errors'] = {};
  const refused = (): Validation => ({ errors, configs: [], population: null });
  if (selection.algos.length === 0) errors.algo = 'Pick at least one algorithm.';
  const defaults = studioDefaults(selection.preset, device);
  const overrides: Partial<TrainConfig> = { numEnvs: defaults.numEnvs, stepsPerIter: defaults.stepsPerIter };

  const parsed: Partial<Record<FieldKey, Partial<TrainConfig>>> = {};
  const sweeps = new Map<AgentField, Sweep>();
  const sweepTexts = new Map<AgentField, string>();
  for (const [key, raw] of Object.entries(selection.values) as [SettingKey, string][]) {
    if (isPopulationKey(key)) continue;
    const text = raw.trim();
    try {
      if (FIELDS[key].kind === 'number' && isSweepText(text)) {
        const sweep = parseSweep(key, text);
        // A one-value list is just that value, as on the command line.
        if (sweep.kind === 'list' && sweep.values.length === 1) parsed[key] = { [key]: sweep.values[0] };
        else {
          sweeps.set(key as AgentField, sweep);
          sweepTexts.set(key as AgentField, text);
        }
      } else parsed[key] = parseTrainArgs([`--${FIELDS[key].flag}=${text}`]).overrides;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      errors[key] = attribute(error).message;
    }
  }
  const settings = readPopulationSettings(selection.values, errors);
  // The run's shape as given: a field's limits that depend on it (minibatch ≤ batch, an annealing schedule's end) are checked against it.
  const shape: Partial<TrainConfig> = { ...overrides };
  for (const key of SHAPE_KEYS) Object.assign(shape, parsed[key]);
  const candidates: [FieldKey, Partial<TrainConfig>][] = [
    ...(Object.entries(parsed) as [FieldKey, Partial<TrainConfig>][]),
    ...[...sweeps].flatMap(([key, sweep]) => sweepValues(sweep).map((v) => [key, { [key]: v }] as [FieldKey, Partial<TrainConfig>])),
  ];
  for (const [key, values] of candidates) {
    if (errors[key]) continue;
    try {
      // The field on top of the preset and the shape: errors that name it are its own.
      resolveConfig({ ...shape, preset: selection.preset, ...values });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const { key: named, message } = attribute(error);
      if (named === key) errors[key] = message;
    }
  }
  for (const values of Object.values(parsed)) Object.assign(overrides, values);
  if (Object.keys(errors).length > 0) return refused();

  const isPopulation = settings.size !== undefined || sweeps.size > 0;
  if (!isPopulation) {
    if (settings.pbt) errors.pbt = 'population-based training needs a population: set the agents (at least 4) or sweep a field';
    pbtOnlyWithPbt(settings, errors);
    if (Object.keys(errors).length > 0) return refused();
    return validateRuns(selection, device, overrides, errors);
  }
  if (selection.algos.length !== 1) {
    errors.algo = 'A population trains one algorithm: pick one (or clear the agents and the sweeps).';
    return refused();
  }
  const algo = selection.algos[0];
  let plan: PopulationPlan;
  try {
    plan = resolvePopulation({ ...overrides, preset: selection.preset, algo }, sweeps, settings.size);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const { key, message } = attribute(error);
    errors[errorField(key)] = message;
    return refused();
  }
  let pbt: PbtSettings | null = null;
  if (settings.pbt) {
    try {
      // The CLI's checks, one line naming the flag; the population's size is checked below, in the Studio's words.
      pbt = parsePbtFlags({ pbt: true, ...settings.pbtTexts }, algo, MAX_POPULATION);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const { key, message } = attribute(error);
      errors[errorField(key)] = message;
    }
    const least = Math.ceil(1 / (pbt?.fraction ?? PBT_DEFAULTS.fraction));
    if (pbt && Math.floor(pbt.fraction * plan.size) < 1) errors.population = `${plan.size} agents are too few for population-based training (at least ${least}, so that one is replaced per exploit)`;
  } else pbtOnlyWithPbt(settings, errors);
  const config = plan.agents[0];
  if (device && !errors.population) {
    const refusal = checkLimits(config, populationLimits(device, plan.size), Object.keys(selection.values) as (keyof TrainConfig)[]);
    if (refusal) {
      const { key, message } = attribute(new ConfigError(refusal));
      errors[errorField(key)] ??= `${message} (with ${plan.size} agents, each holding its own buffers)`;
    }
  }
  if (Object.keys(errors).length > 0) return refused();
  return { errors, configs: [config], population: { plan, sweeps: sweepTexts, pbt } };
}

/** One config per selected algorithm, each checked against the adapter's limits. */
function validateRuns(selection: Selection, device: DeviceCapacity | null, overrides: Partial<TrainConfig>, errors: Validation['errors']): Validation {
  const configs: ResolvedConfig[] = [];
  for (const algo of selection.algos) {
    try {
      configs.push(resolveConfig({ ...overrides, preset: selection.preset, algo }));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const { key, message } = attribute(error);
      errors[errorField(key)] ??= message;
    }
  }
  if (device) {
    // Every algorithm's trainer, by the plan makeTrainer checks too; the fields the user set are named first.
    const given = Object.keys(selection.values) as (keyof TrainConfig)[];
    for (const config of configs) {
      const refusal = checkLimits(config, device, given);
      if (!refusal) continue;
      const { key, message } = attribute(new ConfigError(refusal));
      errors[errorField(key)] ??= `${ALGO_LABELS[config.algo]}: ${message}`;
    }
  }
  return Object.keys(errors).length > 0 ? { errors, configs: [], population: null } : { errors, configs, population: null };
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
 * The query for a selection: the population's size after the preset, then
 * the fields in field order (sweeps as typed), then PBT. The device-dependent
 * sizes are always written, so the link reproduces the run on any adapter.
 */
export function formatQuery(selection: Selection, device: DeviceCapacity | null): string {
  const defaults = studioDefaults(selection.preset, device);
  const params = new URLSearchParams();
  params.set('algo', selection.algos.join(','));
  params.set('preset', selection.preset);
  const keys: SettingKey[] = ['population', ...(Object.keys(FIELDS) as (keyof TrainConfig)[]).filter((k): k is FieldKey => k !== 'algo' && k !== 'preset'), 'pbt', ...PBT_KEYS];
  for (const key of keys) {
    const raw = selection.values[key]?.trim();
    if (raw) params.set(settingSpec(key).flag, raw);
    else if (key === 'numEnvs' || key === 'stepsPerIter') params.set(FIELDS[key].flag, formatValue(defaults[key]));
  }
  return `?${params.toString().replaceAll('%2C', ',').replaceAll('%3A', ':')}`;
}

/**
 * `npm run train -- ...` for the same run: the algorithm, preset and env, then
 * every field that differs from the preset. For a population (agent 0's
 * config and the population's setup), --population and the swept fields as
 * typed, then the PBT flags.
 */
export function cliCommand(config: ResolvedConfig, population: PopulationSetup | null = null): string {
  const preset = presetConfig(config.preset);
  const args = [`--algo ${config.algo}`, `--preset ${config.preset}`, `--env ${config.env}`];
  if (population) args.push(`--population ${population.plan.size}`);
  for (const key of Object.keys(FIELDS) as (keyof TrainConfig)[]) {
    if (key === 'algo' || key === 'preset' || key === 'env') continue;
    const spec = FIELDS[key];
    const swept = isSweepable(key) ? population?.sweeps.get(key) : undefined;
    if (swept !== undefined) args.push(`--${spec.flag} ${swept}`);
    else if (config[key] === preset[key]) continue;
    else args.push(spec.kind === 'boolean' ? (config[key] ? `--${spec.flag}` : `--${spec.flag}=false`) : `--${spec.flag} ${formatValue(config[key])}`);
  }
  if (population?.pbt) {
    args.push('--pbt');
    if (population.pbt.interval !== PBT_DEFAULTS.interval) args.push(`--pbt-interval ${population.pbt.interval}`);
    if (population.pbt.burnIn) args.push(`--pbt-burn-in ${population.pbt.burnIn}`);
    if (population.pbt.fraction !== PBT_DEFAULTS.fraction) args.push(`--pbt-fraction ${population.pbt.fraction}`);
    const perturb = population.pbt.perturb.map((f) => FIELDS[f].flag).join(',') || 'none';
    if (perturb !== PBT_PERTURB_DEFAULTS[config.algo].map((f) => FIELDS[f].flag).join(',')) args.push(`--pbt-perturb ${perturb}`);
    if (population.pbt.resample) args.push(`--pbt-resample ${population.pbt.resample}`);
    if (population.pbt.envs === 'copy') args.push('--pbt-envs copy');
    if (population.pbt.source === 'best') args.push('--pbt-source best');
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
