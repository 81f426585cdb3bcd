/**
 * Where a run's output goes: <stamp>[-label].json, a self-contained HTML report
 * beside it, and a table appended to the run log, all in one folder that git
 * ignores (bench/out/ by default). Curated figures are copied by hand into
 * bench/RESULTS.md, which holds the analysis.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { markdownSection, type RunMeta } from './format';
import { reportHtml } from './report';
import type { BenchRecord } from './types';

/** The output folder, relative to the repository root (listed in .gitignore). */
export const BENCH_OUT_DIR = 'bench/out';
/** The run log's name inside the output folder. */
export const RUN_LOG = 'runs.md';

export interface SavedRun {
  json: string;
  html: string;
  log: string;
}

/** Writes the run's JSON and HTML report into `outDir` and appends its table to the run log there. */
export function saveRun(outDir: string, stamp: string, meta: RunMeta, records: BenchRecord[]): SavedRun {
  mkdirSync(outDir, { recursive: true });
  const name = `${stamp}${meta.label ? `-${meta.label.replace(/[^\w.-]+/g, '_')}` : ''}`;
  const saved = { json: resolve(outDir, `${name}.json`), html: resolve(outDir, `${name}.html`), log: resolve(outDir, RUN_LOG) };
  writeFileSync(saved.json, JSON.stringify({ meta, records }, null, 1) + '\n');
  writeFileSync(saved.html, reportHtml({ meta, records }));
  appendFileSync(saved.log, `\n${markdownSection(records, meta)}\nFiles: \`${name}.json\`, report \`${name}.html\`.\n`);
  return saved;
}
