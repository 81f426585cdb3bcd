import { describe, it, expect } from 'vitest';
import { VecEnv } from '../src/envs/vecEnv';
import { ENV_IDS, checkUserEnv, envDefinition } from '../src/envs/registry';
import { envSpec, registerEnvSpec } from '../src/core/envSpecs';
import { makeTrainer } from '../src/train/trainer';
import { ConfigError, POLICY_MAX_BOX_COMPONENTS, POLICY_MAX_DISCRETE_ACTIONS, resolveConfig } from '../src/core/config';
import { CATEGORICAL, GAUSSIAN } from '../src/kernels/distribution';
import { evaluatePolicy } from '../src/train/evaluate';
import { WALK_TO_TARGET } from '../examples/walkToTarget';
import { testGpu } from './helpers';
import { compare } from './populationHelpers';

describe("users' own envs", () => {
  it('are checked before any GPU work: spec fields, params against EnvParams, duplicate ids, each in one line', () => {
    const spec = WALK_TO_TARGET.spec;
    expect(() => checkUserEnv({ ...WALK_TO_TARGET, spec: { ...spec, obsDim: 0 } })).toThrow(/^env "WalkToTarget-v0": obsDim = 0 is out of range \(an integer in 1\.\.4096\)$/);
    expect(() => checkUserEnv({ ...WALK_TO_TARGET, spec: { ...spec, id: 'bad id' } })).toThrow(/^env id "bad id" is not allowed/);
    expect(() => checkUserEnv({ ...WALK_TO_TARGET, spec: { ...spec, id: 'CartPole-v1' } })).toThrow(/^env "CartPole-v1" is already registered$/);
    expect(() => checkUserEnv({ ...WALK_TO_TARGET, params: { ...WALK_TO_TARGET.params, reach: NaN } })).toThrow(/^env "WalkToTarget-v0": params\.reach = NaN is not a finite number$/);
    const { goalBonus: _bonus, ...missing } = WALK_TO_TARGET.params;
    expect(() => checkUserEnv({ ...WALK_TO_TARGET, params: missing })).toThrow(/^env "WalkToTarget-v0": params do not fit its EnvParams: .*goalBonus/);
    expect(() => checkUserEnv({ ...WALK_TO_TARGET, wgsl: '' })).toThrow(/wgsl is empty/);
    expect(ENV_IDS).not.toContain('WalkToTarget-v0');
  });

  it('an action space wider than the policy head holds is refused by resolveConfig, before any network is built', () => {
    // The limits config checks are the ones the WGSL distribution modules are sized to.
    expect(CATEGORICAL.maxParamsPerRow).toBe(POLICY_MAX_DISCRETE_ACTIONS);
    expect(GAUSSIAN.maxParamsPerRow).toBe(2 * POLICY_MAX_BOX_COMPONENTS);
    // Spec-only registrations: stepping them needs no policy head, so the env registry accepts up to 64 components.
    const box = (dim: number) => ({ id: `WideBox${dim}-v0`, obsDim: 2, stateDim: 2, action: { kind: 'box' as const, dim, low: Array(dim).fill(-1), high: Array(dim).fill(1) }, maxEpisodeSteps: 10 });
    registerEnvSpec(box(8));
    registerEnvSpec(box(9));
    registerEnvSpec({ id: 'WideDiscrete17-v0', obsDim: 2, stateDim: 2, action: { kind: 'discrete', n: 17 }, maxEpisodeSteps: 10 });
    expect(resolveConfig({ env: 'WideBox8-v0' }).derived).toMatchObject({ numActions: 16, actionWords: 8 });
    expect(() => resolveConfig({ env: 'WideBox9-v0' })).toThrow(ConfigError);
    expect(() => resolveConfig({ env: 'WideBox9-v0' })).toThrow(/^--env: WideBox9-v0 is not allowed \(9 box action components; the Gaussian policy head holds 1 to 8\)$/);
    expect(() => resolveConfig({ env: 'WideDiscrete17-v0', algo: 'trpo' })).toThrow(/^--env: WideDiscrete17-v0 is not allowed \(17 discrete actions; the softmax policy head holds 1 to 16\)$/);
  });

  it("a compile error names the user's env and the line in its own file", async () => {
    const gpu = await testGpu();
    // Line 3 of this module uses an undeclared name.
    const wgsl = WALK_TO_TARGET.wgsl.replace('  return abs(s[0] - s[1]) < p.reach;', '  return abs(s[0] - s[1]) < p.reach + missingName;');
    const line = wgsl.split('\n').findIndex((l) => l.includes('missingName')) + 1;
    const broken = { ...WALK_TO_TARGET, spec: { ...WALK_TO_TARGET.spec, id: 'Broken-v0' }, wgsl, source: 'my_env.wgsl' };
    await expect(VecEnv.define(gpu, broken)).rejects.toThrow(new RegExp(`my_env\\.wgsl \\(env Broken-v0\\):${line}:\\d+ .*missingName`));
    expect(ENV_IDS).not.toContain('Broken-v0');
  });

  it('VecEnv.define registers the example env; VecEnv.create steps it and PPO improves its return in a few iterations', async () => {
    const gpu = await testGpu();
    const definition = await VecEnv.define(gpu, WALK_TO_TARGET);
    expect(envDefinition('WalkToTarget-v0')).toBe(definition);
    expect(envSpec('WalkToTarget-v0')).toEqual(WALK_TO_TARGET.spec);
    await expect(VecEnv.define(gpu, WALK_TO_TARGET)).rejects.toThrow(/^env "WalkToTarget-v0" is already registered$/);

    // Stepping: walking right from (0, 0.5) covers 0.1 per step and reaches the target on the 5th.
    const env = await VecEnv.create(gpu, { id: 'WalkToTarget-v0', numEnvs: 1, seed: 1 });
    env.setState(Float32Array.of(0, 0.5));
    const rewards: number[] = [];
    for (let t = 0; t < 5; t++) {
      const r = await env.step(Int32Array.of(2));
      rewards.push(r.reward[0]);
      expect(r.terminated[0], `step ${t}`).toBe(t === 4 ? 1 : 0);
    }
    rewards.slice(0, 4).forEach((r) => expect(r).toBeCloseTo(0.1, 6));
    expect(rewards[4]).toBeCloseTo(1.1, 6);
    env.destroy();

    const trainer = await makeTrainer(
      gpu,
      resolveConfig({ env: 'WalkToTarget-v0', numEnvs: 64, stepsPerIter: 2048, epochs: 4, minibatch: 256, lr: 3e-3, valueLr: 3e-3, lambda: 0.95, seed: 1 }),
    );
    // The same 256 fresh episodes (sampled actions) before and after 6 iterations: a
    // training iteration's own mean return over-weights the episodes that end early.
    const evaluate = async () => (await evaluatePolicy(gpu, await trainer.checkpoint([]), { episodes: 256, seed: 5 })).mean;
    const before = await evaluate();
    for (let i = 0; i < 6; i++) await trainer.step();
    const after = await evaluate();
    trainer.destroy();
    // Walking straight, an episode returns its start distance (2/3 on average) plus the bonus 1, about 1.6;
    // a near-uniform random walker reaches the target within 50 steps far less often.
    expect(after, `mean return ${before.toFixed(3)} before, ${after.toFixed(3)} after`).toBeGreaterThan(before + 0.3);
    expect(after).toBeGreaterThan(1.2);
  });

  it("a population on the user's env: 3 agents (seeds, lr, clip) are their single runs bit for bit, in one agent's dispatches", async () => {
    if (!ENV_IDS.includes('WalkToTarget-v0')) await VecEnv.define(await testGpu(), WALK_TO_TARGET);
    const saved = await compare(
      { env: 'WalkToTarget-v0', numEnvs: 16, stepsPerIter: 512, epochs: 2, minibatch: 128, hidden: 16 },
      [{ seed: 1 }, { seed: 2, lr: 1e-3 }, { seed: 3, clip: 0.1, lambda: 0.9 }],
      2,
    );
    // Episodes ended (≤ 50 steps each), so the returns compared were real ones.
    for (const history of saved.population!.histories) expect(history.at(-1)!.episodes).toBeGreaterThan(0);
  }, 240_000);
});
