// The Studio's form logic and CSV export, without a browser: exact comparisons (no tolerances involved).
import { describe, expect, it } from 'vitest';
import { FIELDS, parseTrainArgs, presetConfig, resolveConfig, type TrainConfig } from '../src/core/config';
import { METRIC_FIELDS, type IterationMetrics } from '../src/core/metrics';
import {
  FIELD_GROUPS,
  POPULATION_FIELDS,
  cliCommand,
  formatQuery,
  maxEnvs,
  parseQuery,
  selectionFromConfig,
  studioDefaults,
  validateSelection,
  type DeviceCapacity,
  type FieldKey,
  type Selection,
} from '../src/ui/studioConfig';
import { metricsCsv } from '../src/ui/csv';
import { ALGORITHMS, ALGOS, algorithmsReading } from '../src/core/algorithms';
import { PBT_DEFAULTS, PBT_PERTURB_DEFAULTS, parsePopulationArgs, resolvePopulation } from '../src/core/population';
import { parsePbtFlags } from '../src/cli/population';

const GPU: DeviceCapacity = { isFallback: false, maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 32, minUniformBufferOffsetAlignment: 256 };
const CPU: DeviceCapacity = { isFallback: true, maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28, minUniformBufferOffsetAlignment: 256 };

const select = (values: Selection['values'], algos: Selection['algos'] = ['ppo']): Selection => ({ algos, preset: 'fast', values });

describe('field groups', () => {
  it('give every config field except algo, preset and env (the picker beside them) exactly one control', () => {
    const shown = FIELD_GROUPS.flatMap((g) => g.keys).filter((k) => !(k in POPULATION_FIELDS));
    const expected = (Object.keys(FIELDS) as (keyof TrainConfig)[]).filter((k) => k !== 'algo' && k !== 'preset' && k !== 'env');
    expect([...shown].sort()).toEqual([...expected].sort());
  });

  it('group the hyperparameters by the algorithms that read them, as the algorithm registry lists them', () => {
    const group = (key: FieldKey) => FIELD_GROUPS.find((g) => g.keys.includes(key))!;
    expect(group('numEnvs').title).toBe('Run');
    expect(group('gamma')).toMatchObject({ title: 'Every algorithm', algos: ['ppo', 'ppo-kl', 'trpo', 'reinforce'] });
    expect(group('lr')).toMatchObject({ title: 'PPO · PPO-KL · REINFORCE', algos: ['ppo', 'ppo-kl', 'reinforce'] });
    expect(group('epochs').keys).toEqual(['epochs', 'minibatch', 'valueClip', 'entCoef', 'maxGradNorm', 'targetKl']);
    expect(group('clip')).toMatchObject({ title: 'PPO', keys: ['clip'] });
    expect(group('klCoef')).toMatchObject({ title: 'PPO-KL', keys: ['klTarget', 'klCoef'] });
    expect(group('valueSteps')).toMatchObject({ title: 'TRPO · REINFORCE', algos: ['trpo', 'reinforce'] });
    expect(FIELD_GROUPS[1]).toMatchObject({ title: 'Population', keys: ['population', 'pbt', 'pbtInterval', 'pbtBurnIn', 'pbtFraction', 'pbtPerturb', 'pbtResample', 'pbtEnvs', 'pbtSource'] });
    for (const g of FIELD_GROUPS.slice(2)) for (const key of g.keys as FieldKey[]) expect(algorithmsReading(key)).toEqual(g.algos);
  });

  it('refuse a minibatch larger than the batch only for the algorithms that take minibatches', () => {
    const big = { numEnvs: 4, stepsPerIter: 64, minibatch: 128 };
    for (const algo of ALGOS) {
      const resolve = () => resolveConfig({ ...big, algo });
      if (ALGORITHMS[algo].minibatches) expect(resolve).toThrow(/--minibatch: 128 is larger than the 64 samples/);
      else expect(resolve().derived.minibatches).toBe(1);
    }
  });
});

describe('defaults', () => {
  it('use thousands of envs on a GPU, fewer on a CPU fallback, and leave the seed preset as the article has it', () => {
    expect(studioDefaults('fast', GPU).numEnvs).toBe(4096);
    expect(studioDefaults('fast', CPU).numEnvs).toBeLessThan(4096);
    expect(studioDefaults('seed', GPU)).toEqual(presetConfig('seed'));
    expect(studioDefaults('seed', CPU)).toEqual(presetConfig('seed'));
    expect(studioDefaults('seed', GPU).stepsPerIter).toBe(10_000);
  });
});

describe('validateSelection', () => {
  it('resolves one config per selected algorithm, with the device defaults', () => {
    const { errors, configs } = validateSelection(select({ seed: '7' }, ['ppo', 'ppo-kl']), CPU);
    expect(errors).toEqual({});
    expect(configs.map((c) => c.algo)).toEqual(['ppo', 'ppo-kl']);
    expect(configs[0].numEnvs).toBe(studioDefaults('fast', CPU).numEnvs);
    expect(configs[0].seed).toBe(7);
  });

  it('puts a message next to each refused field, naming the value and the range', () => {
    const { errors, configs } = validateSelection(select({ lr: '2', numEnvs: 'many', epochs: '1.5' }), GPU);
    expect(configs).toEqual([]);
    expect(errors.lr).toMatch(/^2 is not allowed .*\(0, 1\]/);
    expect(errors.numEnvs).toMatch(/"many" is not a number/);
    expect(errors.epochs).toMatch(/integer/);
    expect(errors.seed).toBeUndefined();
  });

  it('attributes cross-field errors to the field the config names', () => {
    const { errors } = validateSelection(select({ numEnvs: '64', stepsPerIter: '1024', minibatch: '4096' }), GPU);
    expect(Object.keys(errors)).toEqual(['minibatch']);
    expect(errors.minibatch).toMatch(/larger than the 1024 samples/);
  });

  it('asks for an algorithm when none is selected', () => {
    expect(validateSelection(select({}, []), GPU).errors.algo).toMatch(/at least one algorithm/);
  });

  it("refuses runs whose buffers exceed the adapter's limits by the trainer's plan, and says what fits", () => {
    const small: DeviceCapacity = { isFallback: true, maxStorageBufferBindingSize: 2 ** 24, maxBufferSize: 2 ** 28, minUniformBufferOffsetAlignment: 256 };
    const fit = maxEnvs(small, 16, 64);
    expect(fit).toBeGreaterThan(0);
    expect(validateSelection(select({ numEnvs: String(fit), stepsPerIter: String(fit * 16) }), small).errors).toEqual({});
    expect(validateSelection(select({ numEnvs: String(fit + 1), stepsPerIter: String((fit + 1) * 16) }), small).errors).not.toEqual({});
    const { errors } = validateSelection(select({ numEnvs: '65536', stepsPerIter: String(65536 * 16) }, ['ppo', 'trpo']), small);
    expect(errors.stepsPerIter).toMatch(/^PPO: 1048576 needs buffer rollout\.obs of 18 MiB, over this adapter's 16 MiB storage-binding limit/);
    // Every selected algorithm's trainer is checked, and the message says which.
    expect(validateSelection(select({ numEnvs: '1024', stepsPerIter: String(1024 * 64) }, ['trpo']), small).errors.stepsPerIter).toMatch(/^TRPO: /);
  });
});

describe('URL query', () => {
  it('round-trips a selection and pins the device-dependent sizes', () => {
    const selection = select({ lr: '0.0005', lineSearchKlCheck: 'true', advantageNorm: 'none' }, ['ppo', 'trpo']);
    const query = formatQuery(selection, GPU);
    expect(query).toBe('?algo=ppo,trpo&preset=fast&envs=4096&steps-per-iter=65536&adv-norm=none&lr=0.0005&line-search-kl-check=true');
    const parsed = parseQuery(query);
    expect(parsed.ignored).toEqual([]);
    expect(parsed.selection).toEqual({ ...selection, values: { ...selection.values, numEnvs: '4096', stepsPerIter: '65536' } });
  });

  it('carries the env picked, to the URL and the CLI line; a continuous env is accepted', () => {
    const selection = select({ env: 'Acrobot-v1', numEnvs: '64', stepsPerIter: '1024' });
    const query = formatQuery(selection, GPU);
    expect(query).toBe('?algo=ppo&preset=fast&env=Acrobot-v1&envs=64&steps-per-iter=1024');
    expect(parseQuery(query).selection).toEqual(selection);
    const { errors, configs } = validateSelection(selection, GPU);
    expect(errors).toEqual({});
    expect(cliCommand(configs[0])).toBe('npm run train -- --algo ppo --preset fast --env Acrobot-v1 --envs 64 --steps-per-iter 1024');
    // Continuous envs train too (the Gaussian head).
    const box = validateSelection(select({ env: 'Pendulum-v1' }), GPU);
    expect(box.errors).toEqual({});
    expect(cliCommand(box.configs[0])).toMatch(/--env Pendulum-v1/);
  });

  it('reports unknown parameters and algorithms instead of applying them', () => {
    const { selection, ignored } = parseQuery('?algo=ppo,a2c&bogus=1&preset=huge&clip=0.1');
    expect(selection.algos).toEqual(['ppo']);
    expect(selection.preset).toBe('fast');
    expect(selection.values).toEqual({ clip: '0.1' });
    expect(ignored).toEqual(['algo=ppo,a2c', 'bogus', 'preset=huge']);
  });
});

describe('population settings', () => {
  const sweep = select({ population: '16', numEnvs: '16', stepsPerIter: '256', seed: '1..16', lr: 'log:1e-4..1e-2', pbt: 'true', pbtInterval: '5', pbtBurnIn: '3', pbtEnvs: 'copy', pbtSource: 'best' });

  it('round-trip through the URL in the CLI syntax', () => {
    const query = formatQuery(sweep, GPU);
    expect(query).toBe('?algo=ppo&preset=fast&population=16&envs=16&steps-per-iter=256&seed=1..16&lr=log:1e-4..1e-2&pbt=true&pbt-interval=5&pbt-burn-in=3&pbt-envs=copy&pbt-source=best');
    const parsed = parseQuery(query);
    expect(parsed.ignored).toEqual([]);
    expect(parsed.selection).toEqual(sweep);
  });

  it('resolve to the agents and PBT settings the CLI line resolves to', () => {
    const { errors, configs, population } = validateSelection(sweep, GPU);
    expect(errors).toEqual({});
    expect(population!.plan.agents.map((a) => a.seed)).toEqual(Array.from({ length: 16 }, (_, k) => k + 1));
    expect(population!.plan.agents[0].lr).toBeCloseTo(1e-4, 18);
    expect(population!.plan.agents[15].lr).toBeCloseTo(1e-2, 15);
    expect(population!.plan.swept).toEqual(['seed', 'lr']);
    expect(configs).toEqual([population!.plan.agents[0]]);
    expect(population!.pbt).toEqual({ interval: 5, burnIn: 3, fraction: PBT_DEFAULTS.fraction, perturb: PBT_PERTURB_DEFAULTS.ppo, resample: 0, envs: 'copy', source: 'best' });
    const line = cliCommand(configs[0], population);
    expect(line).toBe('npm run train -- --algo ppo --preset fast --env CartPole-v1 --population 16 --envs 16 --steps-per-iter 256 --seed 1..16 --lr log:1e-4..1e-2 --pbt --pbt-interval 5 --pbt-burn-in 3 --pbt-envs copy --pbt-source best');
    // The train command's own parsing of that line gives the same agents, exactly, and the same PBT.
    const argv = line.replace('npm run train -- ', '').split(' ');
    const cli = parsePopulationArgs(argv, { pbt: 'boolean', 'pbt-interval': 'value', 'pbt-burn-in': 'value', 'pbt-envs': 'value', 'pbt-source': 'value' });
    expect(resolvePopulation(cli.base, cli.sweeps, cli.population).agents).toEqual(population!.plan.agents);
    expect(parsePbtFlags(cli.extra, 'ppo', 16)).toEqual(population!.pbt);
  });

  it('write an unswept seed as agent 0 and leave default PBT flags out, as the CLI reads them', () => {
    const { configs, population } = validateSelection(select({ population: '4', seed: '7', clip: '0.1,0.3' }), CPU);
    expect(population!.plan.agents.map((a) => [a.seed, a.clip])).toEqual([[7, 0.1], [8, 0.3], [9, 0.1], [10, 0.3]]);
    const line = cliCommand(configs[0], population);
    expect(line).toMatch(/ --population 4 .*--seed 7 .*--clip 0\.1,0\.3$/);
    const cli = parsePopulationArgs(line.replace('npm run train -- ', '').split(' '));
    expect(resolvePopulation(cli.base, cli.sweeps, cli.population).agents).toEqual(population!.plan.agents);
    const pbt = validateSelection(select({ population: '8', pbt: 'true' }), CPU);
    expect(cliCommand(pbt.configs[0], pbt.population)).toMatch(/ --population 8.* --pbt$/);
  });

  it('carry the PBT fraction and explored fields through the URL and the CLI line', () => {
    const pbtSelection = select({ population: '16', pbt: 'true', pbtFraction: '0.125', pbtPerturb: 'lr,gamma', pbtResample: '0.25' });
    const query = formatQuery(pbtSelection, GPU);
    expect(query).toMatch(/&pbt=true&pbt-fraction=0\.125&pbt-perturb=lr,gamma&pbt-resample=0\.25$/);
    // (the URL also writes the envs and steps, always)
    expect(parseQuery(query).selection.values).toMatchObject(pbtSelection.values);
    const { errors, configs, population } = validateSelection(pbtSelection, GPU);
    expect(errors).toEqual({});
    expect(population!.pbt).toEqual({ interval: PBT_DEFAULTS.interval, burnIn: 0, fraction: 0.125, perturb: ['lr', 'gamma'], resample: 0.25, envs: 'own', source: 'top' });
    const line = cliCommand(configs[0], population);
    expect(line).toMatch(/ --pbt --pbt-fraction 0\.125 --pbt-perturb lr,gamma --pbt-resample 0\.25$/);
    const cli = parsePopulationArgs(line.replace('npm run train -- ', '').split(' '), { pbt: 'boolean', 'pbt-fraction': 'value', 'pbt-perturb': 'value', 'pbt-resample': 'value' });
    expect(parsePbtFlags(cli.extra, 'ppo', 16)).toEqual(population!.pbt);
  });

  it('carry exploit-only PBT (explored fields: none) through the URL and the CLI line', () => {
    const pbtSelection = select({ population: '16', pbt: 'true', pbtPerturb: 'none' });
    expect(parseQuery(formatQuery(pbtSelection, GPU)).selection.values).toMatchObject(pbtSelection.values);
    const { errors, configs, population } = validateSelection(pbtSelection, GPU);
    expect(errors).toEqual({});
    expect(population!.pbt!.perturb).toEqual([]);
    const line = cliCommand(configs[0], population);
    expect(line).toMatch(/ --pbt --pbt-perturb none$/);
    const cli = parsePopulationArgs(line.replace('npm run train -- ', '').split(' '), { pbt: 'boolean', 'pbt-perturb': 'value' });
    expect(parsePbtFlags(cli.extra, 'ppo', 16)).toEqual(population!.pbt);
  });

  it("use the CLI's PBT defaults for every algorithm", () => {
    for (const algo of ALGOS) expect(parsePbtFlags({ pbt: true }, algo, 16)).toEqual({ ...PBT_DEFAULTS, burnIn: 0, perturb: PBT_PERTURB_DEFAULTS[algo], resample: 0, envs: 'own', source: 'top' });
  });

  it('refuse bad population settings with one message on the field, before any GPU work', () => {
    const refuse = (values: Selection['values'], algos: Selection['algos'] = ['ppo']) => {
      const v = validateSelection(select(values, algos), CPU);
      expect(v.configs).toEqual([]);
      expect(v.population).toBeNull();
      return v.errors;
    };
    expect(refuse({ population: '0' })).toEqual({ population: '0 is not allowed (agents trained together (a population); must be an integer in [1, 4096])' });
    expect(refuse({ population: 'x' }).population).toMatch(/^"x" is not a number/);
    expect(refuse({ numEnvs: '64,128' }).numEnvs).toMatch(/^"64,128" is a sweep, but parallel environments is shared by every agent of a population \(sweepable: --seed, --lr/);
    expect(refuse({ lr: '1e-3,5' }).lr).toMatch(/^5 is not allowed .*\(0, 1\]/);
    expect(refuse({ lr: 'log:0..1e-2', population: '4' }).lr).toMatch(/a log: spread needs both ends > 0/);
    expect(refuse({ lr: 'log:1e-4..1e-2' }).lr).toMatch(/needs --population/);
    expect(refuse({ population: '3', seed: '1,2' }).population).toMatch(/^3 is not a multiple of the 2 grid points of --seed/);
    expect(refuse({ population: '4' }, ['ppo', 'trpo']).algo).toBe('A population trains one algorithm: pick one (or clear the agents and the sweeps).');
    expect(refuse({ pbt: 'true' }).pbt).toMatch(/needs a population/);
    expect(refuse({ population: '3', pbt: 'true' }).population).toBe('3 agents are too few for population-based training (at least 4, so that one is replaced per exploit)');
    expect(refuse({ population: '8', pbtInterval: '5' }).pbtInterval).toBe('only with population-based training on');
    // The PBT settings are read by the CLI's own parser: its messages, on the field.
    expect(refuse({ population: '8', pbt: 'true', pbtInterval: '0' }).pbtInterval).toMatch(/^0 is not allowed \(iterations between exploits; must be an integer in \[1, 1000000\]\)$/);
    expect(refuse({ population: '8', pbt: 'true', pbtFraction: '0.7' }).pbtFraction).toMatch(/^0\.7 is not allowed \(share of agents replaced per exploit; must be in \(0, 0\.5\]\)$/);
    expect(refuse({ population: '8', pbt: 'true', pbtPerturb: 'lr,seed' }).pbtPerturb).toMatch(/^"seed" is not allowed \(none, or a comma list of lr, value-lr, clip, /);
    expect(refuse({ population: '8', pbtFraction: '0.5' }).pbtFraction).toBe('only with population-based training on');
    expect(refuse({ population: '8', pbtPerturb: 'lr' }).pbtPerturb).toBe('only with population-based training on');
    // A larger fraction replaces one agent of fewer.
    expect(refuse({ population: '3', pbt: 'true', pbtFraction: '0.25' }).population).toBe('3 agents are too few for population-based training (at least 4, so that one is replaced per exploit)');
    expect(validateSelection(select({ population: '3', pbt: 'true', pbtFraction: '0.5' }), CPU).errors).toEqual({});
    expect(refuse({ pbt: 'maybe' }).pbt).toMatch(/^"maybe" is not allowed/);
    expect(refuse({ population: '8', pbtEnvs: 'copy' }).pbtEnvs).toBe('only with population-based training on');
    expect(refuse({ pbtEnvs: 'copy' }).pbtEnvs).toBe('only with population-based training on');
    expect(refuse({ population: '8', pbt: 'true', pbtEnvs: 'share' }).pbtEnvs).toBe(`"share" is not allowed (own: a replaced agent keeps its envs; copy: it takes its source's)`);
    expect(refuse({ population: '8', pbtSource: 'best' }).pbtSource).toBe('only with population-based training on');
    expect(refuse({ population: '8', pbt: 'true', pbtResample: '0.5', pbtPerturb: 'none' }).pbtResample).toBe('0.5 needs explored fields (--pbt-perturb none explores nothing)');
    expect(refuse({ population: '8', pbt: 'true', pbtBurnIn: '-2' }).pbtBurnIn).toBe('-2 is not allowed (iterations before the first score window; must be an integer in [0, 1000000])');
    expect(refuse({ population: '8', pbt: 'true', pbtSource: 'worst' }).pbtSource).toBe('"worst" is not allowed (top: one of the best fraction at random; best: the best agent)');
    // Buffers are planned for the whole population: what fits one agent may not fit 4096.
    const small: DeviceCapacity = { isFallback: true, maxStorageBufferBindingSize: 2 ** 24, maxBufferSize: 2 ** 28, minUniformBufferOffsetAlignment: 256 };
    expect(validateSelection(select({ numEnvs: '64', stepsPerIter: '1024' }), small).errors).toEqual({});
    expect(Object.values(validateSelection(select({ numEnvs: '64', stepsPerIter: '1024', population: '4096' }), small).errors)[0]).toMatch(/\(with 4096 agents, each holding its own buffers\)$/);
  });
});

describe('reproduction', () => {
  it('prints a CLI line that parses back to the same config', () => {
    const config = resolveConfig({ preset: 'fast', algo: 'trpo', numEnvs: 256, stepsPerIter: 8192, maxKl: 0.02, lineSearchKlCheck: true, seed: 3 });
    const line = cliCommand(config);
    expect(line.startsWith('npm run train -- --algo trpo --preset fast')).toBe(true);
    const argv = line.replace('npm run train -- ', '').split(' ');
    expect(resolveConfig(parseTrainArgs(argv).overrides)).toEqual(config);
  });

  it("turns a checkpoint's config back into a selection that resolves to it", () => {
    const config = resolveConfig({ preset: 'seed', algo: 'ppo-kl', numEnvs: 32, klTarget: 0.02, truncationAsTerminal: true });
    const { derived: _derived, ...plain } = config;
    const { configs } = validateSelection(selectionFromConfig(plain), GPU);
    expect(configs).toEqual([config]);
  });
});

describe('metricsCsv', () => {
  it('writes algo then the metric names as columns, empty cells for missing values', () => {
    const m = { iter: 0, env_steps: 1024, mean_return: null, episodes: 0, approx_kl: 0.5, sps: 1e3 } as unknown as IterationMetrics;
    const [header, row, end] = metricsCsv([{ algo: 'ppo', history: [m] }]).split('\n');
    expect(header).toBe(['algo', ...METRIC_FIELDS].join(','));
    const cells = row.split(',');
    expect(cells.length).toBe(METRIC_FIELDS.length + 1);
    expect(cells[0]).toBe('ppo');
    expect(cells[1 + METRIC_FIELDS.indexOf('env_steps')]).toBe('1024');
    expect(cells[1 + METRIC_FIELDS.indexOf('mean_return')]).toBe('');
    expect(cells[1 + METRIC_FIELDS.indexOf('approx_kl')]).toBe('0.5');
    expect(end).toBe('');
  });
});
