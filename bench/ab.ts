/**
 * Paired A/B of an MLP kernel shape or Dawn toggles against the adapter's defaults
 * (lib/ab.ts): both sides in one process, timed alternately, so the load of a
 * shared CPU cancels out of the ratio.
 *
 *   npx vite build --config vite.cli.config.ts && node dist-cli/bench/ab.js
 *     [--variant rows|tiles|single|serial|split|chain|layers|fused|separate|paired|alone|rollout-fused|rollout-steps|adam-step|adam-prepare|adam-per-N] [--variant-a V] [--toggles-b disable_robustness] [--adapter lavapipe|swiftshader]
 *     [--browser] [--pairs N] [training flags; default the target (--preset fast
 *      --envs 256 --steps-per-iter 8192 --epochs 4 --minibatch 2048), replaced by --preset X]
 *
 * B gets the shape (--variant) and/or the toggles; --browser runs it in headless Chromium
 * (variants only: Dawn toggles are browser-wide there). A variant may join
 * several with `+` (tiles+chain), and in Node --variant-a gives side A some too (A:
 * tiles+layers against B: tiles+chain compares two non-default settings). One
 * JSON object on stdout, progress on stderr.
 */
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeAdapter, requestGpu } from '../src/gpu/device';
import { ConfigError, parseTrainArgs, resolveConfig } from '../src/core/config';
import { abCompare } from './lib/ab';
import { withBenchPages } from './lib/browser';
import { TARGET_CONFIG } from './lib/trainingCases';
import { applyVariant, parseVariants } from './lib/variants';
import type { BenchPageApi } from './lib/types';
import { setCpuClock } from './lib/timing';
import { processCpuSeconds } from './lib/cpu';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function main(): Promise<number> {
  const { overrides, extra } = parseTrainArgs(process.argv.slice(2), { variant: 'value', 'variant-a': 'value', 'toggles-b': 'value', adapter: 'value', browser: 'boolean', pairs: 'value' });
  const variantsB = parseVariants('variant', extra.variant);
  const variantsA = parseVariants('variant-a', extra['variant-a']);
  const variant = variantsB.length ? variantsB.join('+') : null;
  const togglesB = typeof extra['toggles-b'] === 'string' ? extra['toggles-b'].split(',') : [];
  if (!variant && !togglesB.length) throw new ConfigError('nothing to compare: give --variant and/or --toggles-b');
  const pairs = extra.pairs === undefined ? 6 : Number(extra.pairs);
  if (!Number.isInteger(pairs) || pairs < 1) throw new ConfigError(`--pairs: "${extra.pairs}" is not a positive integer`);
  const adapter = extra.adapter === undefined ? undefined : (String(extra.adapter) as 'lavapipe' | 'swiftshader');
  // A preset named on the command line replaces the target configuration.
  const config = { ...(overrides.preset ? {} : TARGET_CONFIG), ...overrides };
  resolveConfig(config);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const loadStart = loadavg().map((x) => Number(x.toFixed(2)));

  let result: { adapter: string; items: Awaited<ReturnType<typeof abCompare>> };
  if (extra.browser) {
    if (togglesB.length || !variant) throw new ConfigError('--browser: compares a --variant only (Dawn toggles are browser-wide)');
    if (variantsA.length) throw new ConfigError('--browser: side B only (no --variant-a)');
    result = await withBenchPages([], repoRoot, log, async (openPage) => {
      const page = await openPage();
      return page.evaluate(([v, c, n]) => (window as unknown as { webgpuRlBench: BenchPageApi }).webgpuRlBench.ab([...v], c, n), [variantsB, config, pairs] as const);
    });
  } else {
    setCpuClock(processCpuSeconds);
    const sides = await Promise.all([requestGpu({ quiet: true, adapter }), requestGpu({ quiet: true, adapter, dawnToggles: togglesB })]);
    try {
      for (const v of variantsA) await applyVariant(sides[0], v);
      for (const v of variantsB) await applyVariant(sides[1], v);
      result = { adapter: describeAdapter(sides[0].adapter), items: await abCompare([sides[0], sides[1]], resolveConfig(config), pairs, log) };
    } finally {
      for (const gpu of sides) gpu.destroy();
    }
  }
  const summary = {
    runner: extra.browser ? 'browser' : 'node',
    adapter: result.adapter,
    a: { variant: variantsA.length ? variantsA.join('+') : null },
    b: { variant, toggles: togglesB },
    config,
    pairs,
    load_start: loadStart,
    load_end: loadavg().map((x) => Number(x.toFixed(2))),
    items: result.items,
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
  for (const i of result.items) log(`${i.what}: A ${i.a_median_s} s, B ${i.b_median_s} s, speedup ×${i.speedup} (pairs ${i.speedup_range.join('–')})`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`bench/ab: ${error.message}\n`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  },
);
