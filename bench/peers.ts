/**
 * `npm run bench:peers -- [flags]`: our PPO trainer against TF.js (WebGL and
 * WebGPU backends) on one configuration, in one headless Chromium page on this
 * machine (bench/peers/). Runners alternate (ours, webgl, webgpu, ours, ...)
 * for `--rounds` rounds so that a change of machine load reaches every runner
 * alike; medians are over every measured iteration. Prints a table (or with
 * --json one JSON object) and writes bench/out/peers-<stamp>.json.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseFlags, parseNumberText } from '../src/core/config';
import { BrowserUnavailable, withBenchPages } from './lib/browser';
import { BENCH_OUT_DIR } from './lib/save';
import { median } from './lib/timing';
import type { PeerRun, PeersPageApi } from './peers/main';
import type { PeerConfig } from './peers/tfjsPpo';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUNNERS = ['ours', 'webgl', 'webgpu'] as const;
type Runner = (typeof RUNNERS)[number];

const HELP = `Usage: npm run bench:peers -- [flags]

PPO on CartPole-v1, ours (WebGPU) against TF.js 4.22 (WebGL and WebGPU backends),
in one headless Chromium page, same configuration; env steps per second.

  --runners LIST    comma-separated, of ${RUNNERS.join(', ')} (default all)
  --envs N          parallel envs (default 256)
  --steps N         steps per env per iteration (default 32)
  --epochs N        PPO epochs (default 4)
  --minibatch N     minibatch size (default 2048)
  --hidden N        hidden width of both 2-layer tanh networks (default 64)
  --warmup N        iterations not measured, per round (default 1)
  --iters N         measured iterations per round (default 3)
  --rounds N        alternating rounds (default 2)
  --json            one JSON object on stdout`;

const INTS: Record<string, [number, number, number]> = {
  envs: [256, 1, 65536],
  steps: [32, 1, 4096],
  epochs: [4, 1, 100],
  minibatch: [2048, 1, 1 << 20],
  hidden: [64, 1, 1024],
  warmup: [1, 0, 100],
  iters: [3, 1, 1000],
  rounds: [2, 1, 100],
};

function parse(argv: string[]) {
  const flags = parseFlags(argv, { ...Object.fromEntries(Object.keys(INTS).map((k) => [k, 'value' as const])), runners: 'value', json: 'boolean', help: 'boolean' });
  if (flags.get('help')) return null;
  const ints: Record<string, number> = {};
  for (const [name, [fallback, min, max]] of Object.entries(INTS)) {
    const raw = flags.get(name);
    const allowed = `an integer in [${min}, ${max}]`;
    const v = raw === undefined ? fallback : parseNumberText(name, raw as string, allowed);
    if (!Number.isInteger(v) || v < min || v > max) throw new ConfigError(`--${name}: ${v} is not allowed (must be ${allowed})`);
    ints[name] = v;
  }
  const runners = ((flags.get('runners') as string | undefined) ?? RUNNERS.join(',')).split(',');
  for (const r of runners) if (!(RUNNERS as readonly string[]).includes(r)) throw new ConfigError(`--runners: ${JSON.stringify(r)} is not allowed (must be ${RUNNERS.join(', ')})`);
  if (ints.minibatch > ints.envs * ints.steps) {
    throw new ConfigError(`--minibatch: ${ints.minibatch} is larger than the ${ints.envs * ints.steps} samples per iteration`);
  }
  const config: PeerConfig = {
    numEnvs: ints.envs,
    stepsPerEnv: ints.steps,
    epochs: ints.epochs,
    minibatch: ints.minibatch,
    hidden: ints.hidden,
    lr: 3e-4,
    valueLr: 1e-3,
    gamma: 0.99,
    lambda: 0.95,
    clip: 0.2,
    seed: 1,
  };
  return { config, runners: runners as Runner[], warmup: ints.warmup, iters: ints.iters, rounds: ints.rounds, json: flags.get('json') === true };
}

async function main(): Promise<void> {
  let options;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`bench:peers: ${error.message}\n`);
    process.exit(2);
  }
  if (!options) {
    process.stdout.write(HELP + '\n');
    return;
  }
  const { config, runners, warmup, iters, rounds } = options;
  const log = (line: string) => process.stderr.write(line + '\n');
  const runs = new Map<Runner, PeerRun[]>();
  const loadStart = loadavg()[0];
  await withBenchPages(
    [],
    repoRoot,
    log,
    async (openPage) => {
      const page = await openPage();
      for (let round = 0; round < rounds; round++) {
        for (const runner of runners) {
          const run = await page.evaluate(
            ([r, c, w, n]) => (window as unknown as { webgpuRlPeers: PeersPageApi }).webgpuRlPeers.run(r, c, w, n),
            [runner, config, warmup, iters] as const,
          );
          runs.set(runner, [...(runs.get(runner) ?? []), run]);
        }
      }
    },
    { page: 'bench/peers/index.html', prebundle: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-core/dist/register_all_gradients', '@tensorflow/tfjs-backend-webgl', '@tensorflow/tfjs-backend-webgpu'] },
  );
  const batch = config.numEnvs * config.stepsPerEnv;
  const rows = [...runs].map(([runner, list]) => {
    const seconds = list.flatMap((r) => r.seconds);
    const s = median(seconds);
    return { runner: list[0].runner, device: list[0].device, seconds_per_iteration: s, sps: batch / s, iterations: seconds.length, last_mean_return: list.at(-1)!.lastMeanReturn };
  });
  const ours = rows.find((r) => r.runner === 'ours');
  const result = {
    config,
    warmup,
    iters,
    rounds,
    load: [loadStart, loadavg()[0]].map((x) => Number(x.toFixed(2))),
    rows: rows.map((r) => ({ ...r, ours_speedup: ours ? ours.sps / r.sps : null })),
  };
  mkdirSync(resolve(repoRoot, BENCH_OUT_DIR), { recursive: true });
  const file = resolve(repoRoot, BENCH_OUT_DIR, `peers-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file + '.tmp', JSON.stringify(result, null, 2) + '\n');
  renameSync(file + '.tmp', file);
  if (options.json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  process.stdout.write(
    `PPO, CartPole-v1, ${config.numEnvs} envs × ${config.stepsPerEnv} steps, ${config.epochs} epochs × ${Math.floor(batch / config.minibatch)} minibatches of ${config.minibatch}, hidden ${config.hidden}; load ${result.load.join(' → ')}\n`,
  );
  for (const r of result.rows) {
    process.stdout.write(
      `${r.runner.padEnd(12)} ${r.sps.toFixed(0).padStart(8)} env steps/s  ${r.seconds_per_iteration.toFixed(3)} s/iteration  ours ×${r.ours_speedup?.toFixed(2) ?? '–'}  (${r.device})\n`,
    );
  }
  process.stdout.write(`saved ${file}\n`);
}

main().catch((error) => {
  if (error instanceof BrowserUnavailable) {
    process.stderr.write(`bench:peers: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`bench:peers: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
