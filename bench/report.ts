/**
 * One HTML report from several saved runs (e.g. the Node and the browser run,
 * or before and after), so their curves share charts:
 *
 *   node dist-cli/bench/report.js bench/out/A.json bench/out/B.json --out bench/out/combined.html [--label TEXT]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { reportHtml, type ReportData } from './lib/report';

function main(): number {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const labelAt = args.indexOf('--label');
  const out = outAt >= 0 ? args[outAt + 1] : undefined;
  const inputs = args.filter((a, i) => !a.startsWith('--') && i !== outAt + 1 && (labelAt < 0 || i !== labelAt + 1));
  if (!out || !inputs.length) {
    process.stderr.write('usage: node dist-cli/bench/report.js RUN.json [RUN.json ...] --out REPORT.html [--label TEXT]\n');
    return 2;
  }
  const runs = inputs.map((file) => JSON.parse(readFileSync(file, 'utf8')) as ReportData);
  const first = runs[0].meta;
  const data: ReportData = {
    meta: {
      ...first,
      label: labelAt >= 0 ? (args[labelAt + 1] ?? '') : runs.map((r) => r.meta.label).filter(Boolean).join(' + '),
      commit: [...new Set(runs.map((r) => r.meta.commit))].join(', '),
      argv: runs.flatMap((r, k) => [...(k ? [';'] : []), ...r.meta.argv]),
    },
    records: runs.flatMap((r) => r.records),
  };
  writeFileSync(out, reportHtml(data));
  process.stderr.write(`wrote ${out} from ${inputs.length} runs (${data.records.length} records)\n`);
  return 0;
}

process.exit(main());
