// The targets script's flags (bench/lib/targets.ts): the script itself trains
// for minutes and runs from `npm run targets`, not in CI.
import { describe, expect, it } from 'vitest';
import { parseTargetArgs } from '../bench/lib/targets';

describe('npm run targets flags', () => {
  it('reads env, algorithm, seeds, budget and target, with training flags over the preset', () => {
    const o = parseTargetArgs(['--env', 'Acrobot-v1', '--algo', 'trpo', '--target', '-80', '--budget', '500000', '--seeds', '2', '--lr', '5e-4', '--no-save'])!;
    expect(o.seeds).toEqual([1, 2]);
    expect([o.budget, o.target, o.evalEvery, o.evalEpisodes, o.finalEpisodes, o.stopAtTarget, o.outDir]).toEqual([500000, -80, 25000, 20, 100, false, null]);
    expect(o.overrides).toEqual({ env: 'Acrobot-v1', algo: 'trpo', lr: 5e-4 });
    const p = parseTargetArgs(['--env', 'MountainCar-v0', '--target=-115', '--budget', '1000', '--seed-list', '4,9', '--stop-at-target', '--eval-every', '256'])!;
    expect([p.seeds, p.stopAtTarget, p.evalEvery, p.outDir]).toEqual([[4, 9], true, 256, 'bench/out']);
    expect(parseTargetArgs(['--help'])).toBeNull();
  });

  it('refuses a missing or bad flag with one line naming it', () => {
    expect(() => parseTargetArgs(['--target', '1', '--budget', '10'])).toThrow(/^--env: required/);
    expect(() => parseTargetArgs(['--env', 'Acrobot-v1', '--budget', '10'])).toThrow(/^--target: required/);
    expect(() => parseTargetArgs(['--env', 'Acrobot-v1', '--target', '1', '--budget', '0'])).toThrow(/^--budget: 0 is not allowed/);
    expect(() => parseTargetArgs(['--env', 'Acrobot-v1', '--target', '1', '--budget', '9', '--seeds', '2', '--seed-list', '1'])).toThrow(/^--seeds: give --seeds or --seed-list/);
    expect(() => parseTargetArgs(['--env', 'Acrobot-v1', '--target', '1', '--budget', '9', '--seed', '2'])).toThrow(/^--seed: use --seeds/);
  });
});
