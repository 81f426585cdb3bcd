/**
 * `npm run bench -- [flags]` (see BENCH_HELP in lib/options.ts): the same cases
 * (lib/cases.ts) in Node on Dawn and in headless Chromium via Playwright.
 * Prints a table, or with --json one JSON object per case and runner on stdout;
 * progress goes to stderr. Saves <stamp>.json and <stamp>.html (a self-contained
 * report with uPlot charts) under bench/out/ (ignored by git) and appends a
 * markdown table to bench/out/runs.md (lib/save.ts). Exits 1 if a case failed,
 * 2 on bad flags.
 */
import { execFileSync } from 'node:child_process';
import { hostname, loadavg, cpus } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestGpu } from '../src/gpu/device';
import { ConfigError } from '../src/core/config';
import { BENCH_HELP, parseBenchArgs, type BenchOptions } from './lib/options';
import { CASES, runCase } from './lib/cases';
import { BrowserUnavailable, runInBrowser } from './lib/browser';
import { consoleLines, type RunMeta } from './lib/format';
import { ceilingsOf, withCeilingFractions, type Ceiling } from './lib/ceiling';
import { BENCH_OUT_DIR, saveRun } from './lib/save';
import type { BenchRecord } from './lib/types';
import { setCpuClock } from './lib/timing';
import { processCpuSeconds } from './lib/cpu';

// This file runs as dist-cli/bench/run.js; the repository is two levels up.
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const load = () => loadavg().map((x) => Number(x.toFixed(2)));

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

async function runNode(options: BenchOptions, emit: (r: BenchRecord) => void, log: (line: string) => void): Promise<void> {
  setCpuClock(processCpuSeconds);
  for (const name of options.cases) {
    log(`[node] ${name} …`);
    const loadStart = load();
    const record = await runCase(
      name,
      options,
      'node',
      () =>
        requestGpu({ quiet: true, adapter: options.adapter ?? undefined, dawnToggles: options.toggles, maxStorageBuffersPerShaderStage: options.storageBuffers ?? undefined }),
      (line) => log(`[node] ${line}`),
    );
    emit({ ...record, load_start: loadStart, load_end: load() });
  }
}

async function main(): Promise<number> {
  let options: BenchOptions | null;
  const argv = process.argv.slice(2);
  try {
    options = parseBenchArgs(argv, resolve(repoRoot, BENCH_OUT_DIR));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`bench: ${error.message}\n`);
    return 2;
  }
  if (!options) {
    process.stdout.write(`${BENCH_HELP}\n\nCases:\n${CASES.map((c) => `  ${c.name.padEnd(10)} ${c.about}`).join('\n')}\n`);
    return 0;
  }
  const opts = options;
  const started = performance.now();
  const log = (line: string) => process.stderr.write(`${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s  ${line}\n`);
  const records: BenchRecord[] = [];
  // Each runner's workload ceiling (the peak case runs before the training cases).
  const ceilings = new Map<string, Ceiling[]>();
  const emit = (measured: BenchRecord) => {
    if (measured.case === 'peak') ceilings.set(measured.runner, ceilingsOf(measured));
    const record = withCeilingFractions(measured, ceilings.get(measured.runner) ?? []);
    records.push(record);
    const lines = opts.json ? [JSON.stringify(record)] : consoleLines(record);
    process.stdout.write(lines.join('\n') + '\n');
  };
  log(`bench: cases ${opts.cases.join(', ')} on ${opts.runners.join(' and ')}${opts.quick ? ' (quick)' : ''}; load ${load().join(' ')} on ${cpus().length} cores`);

  for (const runner of opts.runners) {
    if (runner === 'node') {
      await runNode(opts, emit, log);
      continue;
    }
    try {
      await runInBrowser(opts, repoRoot, emit, log);
    } catch (error) {
      if (error instanceof BrowserUnavailable && !opts.runnersExplicit) log(`bench: browser runner skipped: ${error.message}`);
      else throw error;
    }
  }

  if (opts.outDir && records.length) {
    const date = new Date();
    const stamp = date.toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
    const meta: RunMeta = { date: date.toISOString().replace('T', ' ').replace(/\..*$/, ' UTC'), label: opts.label, commit: gitCommit(), argv, host: `${hostname()}, ${cpus().length} cores` };
    const saved = saveRun(opts.outDir, stamp, meta, records);
    log(`bench: wrote ${[saved.json, saved.html].map((p) => relative(process.cwd(), p)).join(', ')} and a table in ${relative(process.cwd(), saved.log)}`);
  }
  const failed = records.filter((r) => r.error);
  if (failed.length) log(`bench: ${failed.length} case(s) failed: ${failed.map((r) => `${r.case} (${r.runner})`).join(', ')}`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(1);
  },
);
