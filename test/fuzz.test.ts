// Every input is untrusted: table-driven bad values and forms for each CLI flag
// of train and eval, a corpus of broken checkpoints (each field missing, null,
// of the wrong type or length, non-finite, huge), the Studio's URL query and
// checkpoint loading, and saves killed with SIGKILL. Each refusal is one line
// that names the field. The rejections call the parse and validate functions
// directly (no GPU); a handful run the built CLIs to prove exit code 2 before
// any GPU work (Vulkan is pointed at a missing driver, so a GPU start would fail differently).
import { AGENT_FIELDS, isSweepText } from '../src/core/population';
import { describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { FIELDS, LATER_FIELDS, F32_MIN_NORMAL, parseFlags, parseTrainArgs, presetConfig, resolveConfig, type TrainConfig } from '../src/core/config';
import { METRIC_FIELDS } from '../src/core/metrics';
import { checkCheckpointFits, checkpointLayout, parseCheckpoint, serializeCheckpoint } from '../src/train/checkpoint';
import { checkSavePath, saveCheckpoint } from '../src/train/checkpointFile';
import { readCheckpointFile } from '../src/ui/checkpointIO';
import { metricsCsv } from '../src/ui/csv';
import { parseQuery, validateSelection } from '../src/ui/studioConfig';
import { SMALL_CONFIG, checkpointJson, syntheticCheckpoint } from './checkpointCorpus';
import { bundleForNode, runNode } from './node-child';

/** The message of what `run` throws (failing the test when it throws nothing). */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('accepted');
}

function expectOneLine(message: string, pattern: RegExp): void {
  expect(message).toMatch(pattern);
  expect(message, message).not.toContain('\n');
}

type Spec = (typeof FIELDS)[keyof TrainConfig];

/** Bad values of one config field, as typed on a command line. */
function badValues(spec: Spec): string[] {
  if (spec.kind === 'enum') return ['', 'bogus', spec.values![0].toUpperCase(), ` ${spec.values![0]}`];
  if (spec.kind === 'boolean') return ['', 'maybe', 'yes', 'TRUE', '2'];
  const r = spec.range!;
  const forms = ['', ' ', ' 4 ', '+4', '0x4', '0b100', '0o7', '4_0', '4,0', '1/2', 'Infinity', '-Infinity', 'NaN', 'abc', '1e400', '-1e400', '٤', '4e', 'e4', '.'];
  // Below the range, above it, and a negative fraction where negatives are out of range.
  const range = [String(r.min! - 1), String(r.max! * 2 + 1), ...(r.min! >= 0 ? ['-0.5'] : [])];
  const precision = r.int ? ['1.5', String(r.min! + 0.25)] : ['5e-324', '1e-400', String(F32_MIN_NORMAL / 2)];
  return [...forms, ...range, ...precision];
}

const flagOf = (key: keyof TrainConfig) => FIELDS[key].flag;
const KEYS = Object.keys(FIELDS) as (keyof TrainConfig)[];
/** The train CLI's own flags (src/cli/train.ts). */
const TRAIN_EXTRAS = { save: 'value', load: 'value', json: 'boolean', help: 'boolean', quiet: 'boolean' } as const;
const trainRefusal = (argv: string[]) => refusal(() => resolveConfig(parseTrainArgs(argv, TRAIN_EXTRAS).overrides));

describe('train flags', () => {
  it.each(KEYS)('--%s: every bad value and form is refused in one line naming the flag', (key) => {
    const flag = flagOf(key);
    const spec = FIELDS[key];
    for (const value of badValues(spec)) {
      const forms = spec.kind === 'boolean' ? [[`--${flag}=${value}`]] : [[`--${flag}=${value}`], [`--${flag}`, value]];
      for (const argv of forms) expectOneLine(trainRefusal(argv), new RegExp(`^--${flag}: `));
    }
    // Missing value, and a flag given twice (the last would otherwise win silently).
    if (spec.kind !== 'boolean') expectOneLine(trainRefusal([`--${flag}`]), new RegExp(`^--${flag}: missing value`));
    if (spec.kind !== 'boolean') expectOneLine(trainRefusal([`--${flag}`, '--seed=1']), new RegExp(`^--${flag}: missing value`));
    const good = spec.kind === 'boolean' ? `--${flag}` : `--${flag}=${presetConfig('seed')[key]}`;
    expectOneLine(trainRefusal([good, good]), new RegExp(`^--${flag}: given more than once`));
  });

  it('a boolean flag never takes the next word: the flag and its allowed forms are named', () => {
    for (const key of KEYS.filter((k) => FIELDS[k].kind === 'boolean')) {
      const flag = flagOf(key);
      expectOneLine(trainRefusal([`--${flag}`, '0']), new RegExp(`^--${flag}: takes no separate value \\(got "0"; write --${flag}, --${flag}=true or --${flag}=false\\)`));
      expect(parseTrainArgs([`--${flag}=false`]).overrides[key]).toBe(false);
      expect(parseTrainArgs([`--${flag}`, '--seed', '2']).overrides).toEqual({ [key]: true, seed: 2 });
    }
    expectOneLine(trainRefusal(['--quiet', 'envs=8']), /^--quiet: takes no separate value \(got "envs=8"/);
    expectOneLine(trainRefusal(['--json', 'foo.txt']), /^--json: takes no separate value \(got "foo.txt"/);
    expect(parseTrainArgs(['--json', '--quiet', '--envs', '8'], TRAIN_EXTRAS)).toEqual({ overrides: { numEnvs: 8 }, extra: { json: true, quiet: true } });
  });

  it('numbers in plain decimal or exponent form are read exactly', () => {
    const read = (text: string) => parseTrainArgs([`--lr=${text}`]).overrides.lr;
    expect([read('0.001'), read('1e-3'), read('1E-3'), read('.001'), read('1.'), read('0001e-3')]).toEqual([0.001, 0.001, 0.001, 0.001, 1, 0.001]);
    expect(resolveConfig(parseTrainArgs(['--lr', '1.2e-38']).overrides).lr).toBe(1.2e-38);
    expect(trainRefusal(['--lr', '5e-324'])).toMatch(/^--lr: 5e-324 is not allowed \(policy learning rate; must be a number in \(0, 1\]; nonzero values below 1\.17\d*e-38 vanish in f32\)$/);
    expect(trainRefusal(['--lr', '1e-400'])).toBe('--lr: 1e-400 underflows to 0 (policy learning rate; must be a number in (0, 1])');
  });

  it('stray words and unknown flags are refused', () => {
    expectOneLine(trainRefusal(['envs=8']), /^unexpected argument "envs=8"/);
    expectOneLine(trainRefusal(['--']), /^unknown flag --/);
    expectOneLine(trainRefusal(['--envs', '8', '9']), /^unexpected argument "9"/);
    expectOneLine(trainRefusal(['--__proto__=1']), /^unknown flag --__proto__/);
    expectOneLine(trainRefusal(['--constructor']), /^unknown flag --constructor/);
  });
});

describe('eval flags (parsed by the same tokenizer)', () => {
  const EVAL = { load: 'value', episodes: 'value', seed: 'value', greedy: 'boolean', json: 'boolean', help: 'boolean' } as const;
  it.each([
    [['--greedy', '1'], /^--greedy: takes no separate value/],
    [['--json', 'out.txt'], /^--json: takes no separate value/],
    [['--seed', '1', '--seed', '2'], /^--seed: given more than once/],
    [['--load'], /^--load: missing value/],
    [['--episodes', '--greedy'], /^--episodes: missing value/],
    [['--bogus'], /^unknown flag --bogus/],
  ])('%j is refused', (argv, pattern) => {
    expectOneLine(refusal(() => parseFlags(argv, EVAL)), pattern);
  });
});

/** A checkpoint's text after `edit` changed its JSON (the `__INF__` marker becomes a literal that parses to Infinity). */
function broken(edit: (json: Record<string, any>) => void, overrides: Partial<TrainConfig> = {}): string {
  const json = checkpointJson(overrides);
  edit(json);
  return JSON.stringify(json).replaceAll('"__INF__"', '1e999');
}

/** A checkpoint whose array `name` holds `value` at `index`. */
function withValue(name: string, index: number, value: number): string {
  const c = syntheticCheckpoint();
  c.arrays[name][index] = value;
  return serializeCheckpoint(c);
}

const NON_VALUES: [string, unknown][] = [
  ['missing', undefined],
  ['null', null],
  ['a string', 'abc'],
  ['an object', {}],
  ['an array', []],
  ['a boolean', true],
  ['huge', 1e300],
  ['non-finite', '__INF__'],
];

/** [case, checkpoint text, the field its one line must name]. */
function corpus(): [string, string, string][] {
  const cases: [string, string, string][] = [
    ['not JSON', '{"format":', 'not a checkpoint \\(not JSON\\)'],
    ['empty file', '', 'not a checkpoint'],
    ['JSON null', 'null', 'not a webgpu-rl checkpoint'],
    ['another format', broken((j) => (j.format = 'other')), 'not a webgpu-rl checkpoint'],
    ['format missing', broken((j) => delete j.format), 'not a webgpu-rl checkpoint'],
    ['version 2', broken((j) => (j.version = 2)), 'version: 2 is not supported'],
    ['version missing', broken((j) => delete j.version), 'version: '],
    ['version as text', broken((j) => (j.version = '1')), 'version: '],
    ['iteration -5', broken((j) => (j.iteration = -5)), 'iteration: -5 is not allowed'],
    ['iteration 1.5', broken((j) => (j.iteration = 1.5)), 'iteration: 1.5 is not allowed'],
    ['iteration 2^32', broken((j) => (j.iteration = 2 ** 32)), 'iteration: 4294967296 is not allowed \\(must be an integer in \\[0, 4294967295\\]\\)'],
    ['envSteps "x"', broken((j) => (j.envSteps = 'x')), 'envSteps: "x" is not allowed'],
    ['envSteps 2^53', broken((j) => (j.envSteps = 2 ** 53)), 'envSteps: '],
    ['config.foo', broken((j) => (j.config.foo = 1)), 'config\\.foo: not a config field'],
    ['config.__proto__', broken((j) => (j.config.zz = 1)).replace('"zz"', '"__proto__"'), 'config\\.__proto__: not a config field'],
    ['config.algo dqn', broken((j) => (j.config.algo = 'dqn')), 'config\\.algo: "dqn" is not allowed'],
    ['config minibatch above batch', broken((j) => (j.config.minibatch = 65)), 'config\\.minibatch: 65 is larger than the 64 samples'],
    ['history entry null', broken((j) => (j.history[1] = null)), 'history\\[1\\]: null is not an object'],
    ['history entry a number', broken((j) => (j.history[0] = 5)), 'history\\[0\\]: 5 is not an object'],
    ['history iter negative', broken((j) => (j.history[0].iter = -1)), 'history\\[0\\]\\.iter: -1 is not allowed'],
    ['history iter fractional', broken((j) => (j.history[0].iter = 0.5)), 'history\\[0\\]\\.iter: 0\\.5 is not allowed'],
    ['history line_search_failed text', broken((j) => (j.history[1].line_search_failed = 'yes'), { algo: 'trpo' }), 'history\\[1\\]\\.line_search_failed: "yes" is not allowed \\(must be true or false\\)'],
    ['history formula text', broken((j) => (j.history[0].mean_return = '=HYPERLINK("http://x")')), 'history\\[0\\]\\.mean_return: "=HYPERLINK'],
    ['array unknown', broken((j) => (j.arrays.extra = j.arrays.metrics)), 'arrays\\.extra: not part of a ppo checkpoint'],
    ['array __proto__', broken((j) => (j.arrays.zz = j.arrays.metrics)).replace('"zz"', '"__proto__"'), 'arrays\\.__proto__: not part of'],
    ['a trpo checkpoint with a policy optimizer', broken((j) => (j.arrays['policy.adam.m'] = j.arrays.policy), { algo: 'trpo' }), 'arrays\\.policy\\.adam\\.m: not part of a trpo checkpoint'],
  ];
  for (const [what, value] of NON_VALUES) {
    const set = (target: Record<string, any>, field: string) => (value === undefined ? delete target[field] : (target[field] = value));
    for (const field of ['config', 'iteration', 'envSteps', 'history', 'arrays']) {
      // A history that is an empty array is a checkpoint before its first iteration: valid.
      if (field === 'history' && Array.isArray(value)) continue;
      // An empty object is reported by the first field it lacks.
      cases.push([`${field} ${what}`, broken((j) => set(j, field)), `${field}(: |\\.)`]);
    }
    for (const key of KEYS) {
      if (value === true && FIELDS[key].kind === 'boolean') continue;
      // Fields added after checkpoints were first written read as their LATER_FIELDS value when absent.
      if (value === undefined && Object.hasOwn(LATER_FIELDS, key)) continue;
      cases.push([`config.${key} ${what}`, broken((j) => set(j.config, key)), `config\\.${key}: `]);
    }
    for (const field of METRIC_FIELDS) {
      // Only the scalar kinds a metric may not take: null is a metric without a value, huge is a finite number.
      if (value === null || value === 1e300) continue;
      if (field === 'line_search_failed' && value === true) continue;
      const optional = ['cg_residual', 'step_frac', 'line_search_failed'].includes(field);
      if (value === undefined && optional) continue;
      cases.push([`history[1].${field} ${what}`, broken((j) => set(j.history[1], field), { algo: 'trpo' }), `history\\[1\\]\\.${field}: `]);
    }
    for (const name of checkpointLayout(resolveConfig(SMALL_CONFIG)).keys()) {
      const field = `arrays\\.${name.replaceAll('.', '\\.')}`;
      cases.push([`arrays.${name} ${what}`, broken((j) => set(j.arrays, name)), `${field}(: missing|\\.length: )`]);
      if (value !== undefined) {
        cases.push([`arrays.${name}.length ${what}`, broken((j) => set(j.arrays[name], 'length')), `${field}(\\.length: |: has )`]);
        cases.push([`arrays.${name}.base64 ${what}`, broken((j) => set(j.arrays[name], 'base64')), `${field}\\.base64: is not base64`]);
      }
    }
  }
  for (const name of checkpointLayout(resolveConfig(SMALL_CONFIG)).keys()) {
    const field = `arrays\\.${name.replaceAll('.', '\\.')}`;
    const length = checkpointLayout(resolveConfig(SMALL_CONFIG)).get(name)!;
    cases.push(
      [`arrays.${name} one value longer`, broken((j) => (j.arrays[name].length += 1)), `${field}: has ${length + 1} values, this configuration needs ${length}`],
      [`arrays.${name} length -1`, broken((j) => (j.arrays[name].length = -1)), `${field}\\.length: -1 is not a length`],
      [`arrays.${name} truncated base64`, broken((j) => (j.arrays[name].base64 = j.arrays[name].base64.slice(0, -4))), `${field}: holds \\d+ bytes for ${length} floats`],
      [`arrays.${name} base64 garbage`, broken((j) => (j.arrays[name].base64 = '!!!!' + j.arrays[name].base64.slice(4))), `${field}\\.base64: is not base64`],
      [`arrays.${name} base64 with a blank`, broken((j) => (j.arrays[name].base64 = ' ' + j.arrays[name].base64.slice(1))), `${field}\\.base64: is not base64`],
      [`arrays.${name}[0] NaN`, withValue(name, 0, NaN), `${field}\\[0\\]: NaN is not finite`],
      [`arrays.${name}[last] -Infinity`, withValue(name, length - 1, -Infinity), `${field}\\[${length - 1}\\]: -Infinity is not finite`],
    );
  }
  return cases;
}

describe('checkpoints are untrusted input', () => {
  const CASES = corpus();

  it('a valid checkpoint of every algorithm loads, and the corpus is large', () => {
    for (const algo of ['ppo', 'ppo-kl', 'trpo', 'reinforce'] as const) {
      const c = syntheticCheckpoint({ algo });
      const loaded = parseCheckpoint(serializeCheckpoint(c), 'ok.json');
      expect(loaded).toEqual(c);
    }
    expect(CASES.length).toBeGreaterThan(500);
  });

  it.each(CASES)('%s: refused in one line naming the file and the field', (_, text, field) => {
    expectOneLine(refusal(() => parseCheckpoint(text, 'ckpt.json')), new RegExp(`^ckpt\\.json: ${field}`));
  });

  it('base64 is checked before decoding: atob (the browser path) never sees garbage', () => {
    vi.stubGlobal('Buffer', undefined);
    try {
      for (const [, text, field] of CASES.filter(([what]) => /base64|truncated|NaN|Infinity/.test(what))) {
        expectOneLine(refusal(() => parseCheckpoint(text, 'ckpt.json')), new RegExp(`^ckpt\\.json: ${field}`));
      }
      expect(parseCheckpoint(serializeCheckpoint(syntheticCheckpoint()), 'ok.json').arrays.policy[1]).toBe(Math.fround(Math.sin(1)));
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('the Studio refuses the same files with the same line', async () => {
    for (const [, text, field] of CASES.filter((_, i) => i % 7 === 0)) {
      await expect(readCheckpointFile(new File([text], 'ckpt.json'))).rejects.toThrow(new RegExp(`^ckpt\\.json: ${field}`));
    }
    const ok = await readCheckpointFile(new File([serializeCheckpoint(syntheticCheckpoint())], 'ok.json'));
    expect(ok.config.numEnvs).toBe(SMALL_CONFIG.numEnvs);
  });

  it('flags given on resume must still fit the checkpoint\'s arrays', () => {
    const c = syntheticCheckpoint();
    expect(() => checkCheckpointFits(c, resolveConfig({ ...c.config, seed: 9 }), 'ok.json')).not.toThrow();
    expectOneLine(refusal(() => checkCheckpointFits(c, resolveConfig({ ...c.config, numEnvs: 8 }), 'ok.json')), /^ok\.json: arrays\.env\.currentObs: has 16 values, this configuration needs 32$/);
    expect(() => checkCheckpointFits(c, resolveConfig({ ...c.config, algo: 'trpo' }), 'ok.json')).not.toThrow();
    const trpo = syntheticCheckpoint({ algo: 'trpo' });
    expectOneLine(refusal(() => checkCheckpointFits(trpo, resolveConfig({ ...trpo.config, algo: 'ppo' }), 'ok.json')), /^ok\.json: arrays\.policy\.adam\.m: missing/);
  });
});

describe('saving', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webgpu-rl-save-'));

  it.each([
    ['', /^--save: empty file name$/],
    [join(dir, 'missing', 'run.json'), /^--save: directory .*missing does not exist$/],
    [dir, /^--save: .* exists and is not a file$/],
    [`${dir}/`, /^--save: .* names a directory, not a file$/],
    [join(dir, 'run.json', 'inner.json'), /^--save: directory .*run\.json does not exist$/],
  ])('--save %j is refused before training', async (path, pattern) => {
    await expect(checkSavePath(path)).rejects.toThrow(pattern);
  });

  it('a save killed at any moment leaves the old or the new checkpoint, and the next save removes its temp files', async () => {
    const script = await bundleForNode('test/fixtures/save-child.ts');
    const path = join(dir, 'killed.json');
    const temps = () => readdirSync(dir).filter((n) => n.startsWith('.killed.json.'));
    let strays = 0;
    let survived = 0;
    for (let trial = 0; trial < 10; trial++) {
      const r = await runNode(script, [path], { timeoutMs: 1000 + trial * 271 });
      expect(r.timedOut, r.stderr).toBe(true);
      strays += temps().length;
      // Killed during the first save: nothing under the checkpoint's name yet.
      if (!existsSync(path)) continue;
      // Whatever the kill interrupted, the file under the checkpoint's name is a whole checkpoint.
      expect(parseCheckpoint(readFileSync(path, 'utf8'), path).iteration).toBe(2);
      survived++;
    }
    writeFileSync(join(dir, '.killed.json.4194305.1.tmp'), 'left by a process that no longer exists (above Linux pid_max)');
    await saveCheckpoint(path, syntheticCheckpoint());
    expect(temps()).toEqual([]);
    expect(strays, 'some kill landed during a write').toBeGreaterThan(0);
    expect(survived, 'some kill landed after a first save').toBeGreaterThan(0);
  }, 120_000);
});

describe('Studio', () => {
  it('reports repeated URL keys and applies the first', () => {
    const { selection, ignored } = parseQuery('?envs=16&envs=32&algo=ppo&algo=trpo&lr=0.1');
    expect(selection.values.numEnvs).toBe('16');
    expect(selection.algos).toEqual(['ppo']);
    expect(ignored).toEqual(['envs=32 (repeated)', 'algo=trpo (repeated)']);
  });

  it('checks a minibatch (and an annealing schedule) against this configuration, not the preset', () => {
    const selection = (values: Record<string, string>) => ({ algos: ['ppo' as const], preset: 'fast' as const, values });
    expect(validateSelection(selection({ numEnvs: '64', stepsPerIter: '16384', minibatch: '10000' }), null).errors).toEqual({});
    expect(validateSelection(selection({ numEnvs: '64', stepsPerIter: '1024', minibatch: '10000' }), null).errors).toEqual({
      minibatch: '10000 is larger than the 1024 samples per iteration (must be in [1, 1024])',
    });
    expect(validateSelection(selection({ lrAnneal: 'true', iters: '10' }), null).errors).toEqual({});
    expect(validateSelection(selection({ lrAnneal: 'true' }), null).errors.lrAnneal).toMatch(/needs --iters or --total-steps/);
  });

  it.each(KEYS.filter((k) => k !== 'algo' && k !== 'preset'))('field %s refuses every bad value with a message of its own', (key) => {
    // The Studio trims what was typed, so surrounding blanks are not a bad form there; and in a field an
    // agent may hold for itself, a list such as "4,0" is a sweep (a population), not a bad value.
    const sweepable = (AGENT_FIELDS as readonly string[]).includes(key);
    for (const value of badValues(FIELDS[key]).filter((v) => (v.trim() === v || v.trim() === '') && !(sweepable && isSweepText(v)))) {
      const { errors, configs } = validateSelection({ algos: ['ppo'], preset: 'fast', values: { [key]: value } }, null);
      expect(configs, `${key}=${JSON.stringify(value)}`).toEqual([]);
      expect(Object.keys(errors), `${key}=${JSON.stringify(value)}`).toEqual([key]);
    }
  });

  it('CSV export holds numbers, and neutralises text a spreadsheet would run as a formula', () => {
    const m = syntheticCheckpoint().history[1];
    expect(metricsCsv([{ algo: 'ppo', history: [m] }]).split('\n')[1]).toMatch(/^ppo,1,128,20,/);
    expect(metricsCsv([{ algo: 'ppo', history: [{ ...m, mean_return: -5 }] }]).split('\n')[1]).toMatch(/^ppo,1,128,-5,/);
    for (const formula of ['=HYPERLINK("http://x","y")', '+1+1', '-1+1', '@SUM(A1)', '\t=1', '\r=1']) {
      const quoted = `"'${formula.replaceAll('"', '""')}"`;
      const row = metricsCsv([{ algo: formula, history: [{ ...m, mean_return: formula as never }] }]).slice(metricsCsv([]).length);
      expect(row.startsWith(`${quoted},1,128,${quoted},`), row).toBe(true);
    }
  });
});

describe('the CLIs refuse bad input with exit code 2, one line, and no GPU', () => {
  const NO_GPU = { VK_ICD_FILENAMES: '/nonexistent.json', WEBGPU_RL_ADAPTER: 'lavapipe' };
  const dir = mkdtempSync(join(tmpdir(), 'webgpu-rl-cli-'));
  const valid = join(dir, 'valid.json');
  const broken1 = join(dir, 'broken.json');
  writeFileSync(valid, serializeCheckpoint(syntheticCheckpoint()));
  writeFileSync(broken1, broken((j) => (j.iteration = 1e300)));
  mkdirSync(join(dir, 'adir'));

  const bundles = new Map<string, Promise<string>>();
  const run = async (entry: string, args: string[]) => {
    if (!bundles.has(entry)) bundles.set(entry, bundleForNode(entry));
    const r = await runNode(await bundles.get(entry)!, args, { env: NO_GPU });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).not.toMatch(/adapter/);
    return r.stderr.trim();
  };

  it('train', async () => {
    const cases: [string[], RegExp][] = [
      [['--quiet', 'envs=8'], /^train: --quiet: takes no separate value/],
      [['--json', 'foo.txt'], /^train: --json: takes no separate value/],
      [['--lr-anneal', '0'], /^train: --lr-anneal: takes no separate value/],
      [['--envs', '8', '--envs', '16'], /^train: --envs: given more than once/],
      [['--envs', '0x4'], /^train: --envs: "0x4" is not a number/],
      [['--lr', '5e-324'], /^train: --lr: 5e-324 is not allowed/],
      [['--save='], /^train: --save: empty file name/],
      [['--save', ''], /^train: --save: empty file name/],
      [['--save', join(dir, 'nowhere', 'x.json')], /^train: --save: directory .* does not exist/],
      [['--save', join(dir, 'adir')], /^train: --save: .* exists and is not a file/],
      [['--load', broken1], /^train: .*broken\.json: iteration: 1e\+300 is not allowed/],
      [['--load', valid, '--envs', '8'], /^train: .*valid\.json: arrays\.env\.currentObs: has 16 values, this configuration needs 32/],
      [['--load', join(dir, 'missing.json')], /^train: --load: cannot read .* \(ENOENT\)/],
    ];
    for (const [args, pattern] of cases) expect(await run('src/cli/train.ts', args)).toMatch(pattern);
  }, 120_000);

  it('eval', async () => {
    const cases: [string[], RegExp][] = [
      [['--load', valid, '--seed', ''], /^eval: --seed: "" is not a number/],
      [['--load', valid, '--episodes', '0x4'], /^eval: --episodes: "0x4" is not a number/],
      [['--load', valid, '--episodes', '4097'], /^eval: --episodes: 4097 is not allowed \(must be an integer in \[1, 4096\]\)/],
      [['--load', valid, '--greedy', '1'], /^eval: --greedy: takes no separate value/],
      [['--load', valid, '--json', 'out.txt'], /^eval: --json: takes no separate value/],
      [['--load', join(dir, 'missing.json')], /^eval: --load: cannot read .* \(ENOENT\)/],
      [['--load', broken1], /^eval: .*broken\.json: iteration: /],
      [['--load', ''], /^eval: --load: empty file name/],
    ];
    for (const [args, pattern] of cases) expect(await run('src/cli/eval.ts', args)).toMatch(pattern);
  }, 120_000);
});
