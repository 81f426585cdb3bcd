/**
 * Every program in examples/ runs, against the source tree (vitest.config.ts
 * maps `webgpu-rl` and its subpaths to src/), and prints what it computed.
 * Each example checks its own results against the float64 references and
 * throws when they disagree, so running it is the test.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './node-child';

const EXAMPLES: Record<string, RegExp> = {
  'env-stepping.mjs': /first step: max \|obs - float64 reference\| = .*\n100 steps × 1024 envs: \d+ episodes ended/,
  'mlp-gradient-check.mjs': /131 parameters: forward error .*, gradient error /,
  'gae.mjs': /refused: gae: doneFlags must be u32 \[T\]\[N\] .* = \[32, 64\], got f32 \[32, 64\] "array"\nGAE 32 steps × 64 envs: max \|advantage - float64 reference\|/,
  'fvp-cg.mjs': /\(F \+ 0\.1·I\) x = g over 67 parameters, 10 CG iterations: relative error/,
  'train.mjs': /iter 0 {2}steps 2048 .*\niter 1 .*\niter 2 .*\ncheckpoint: \d+ kB of JSON/,
  'custom-env.mjs': /walked right: 5 steps, rewards 0\.10 0\.10 0\.10 0\.10 1\.10\nPPO, 6 iterations: mean return \d\.\d\d before, \d\.\d\d after/,
  'population.mjs': /8 agents, sweeping seed and lr: lr 1\.0e-4 .* 1\.0e-2\n(iter \d+ {2}median .* best .*\n){4}agent 3 = its single run, bit for bit\n(iter \d: exploit (\d←\d ?)+\n){2}best agent \d: lr \d\.\d\de-\d, an ordinary checkpoint of \d+ arrays/,
  'raw-wgsl.mjs': /gae.wgsl composed from 3 sources; entry points: gae\nown pipeline, 16 envs × 20 steps/,
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('examples/', () => {
  it('lists every example here', () => {
    expect(readdirSync(join(repoRoot, 'examples')).filter((f) => f.endsWith('.mjs')).sort()).toEqual(Object.keys(EXAMPLES).sort());
  });

  it.each(Object.entries(EXAMPLES))('%s runs and checks its results', async (file, printed) => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    await import(/* @vite-ignore */ join(repoRoot, 'examples', file));
    expect(lines.join('\n')).toMatch(printed);
  });
});
