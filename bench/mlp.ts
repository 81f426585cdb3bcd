/**
 * MLP kernel throughput alone: the `mlp` case of `npm run bench` in Node (the
 * policy network 4→64→64→2 forward and forward+backward at several batch
 * sizes, and one 64→64 tanh layer; FLOPs counted as in lib/cost.ts).
 *
 *   npx vite build --config vite.cli.config.ts && node dist-cli/bench/mlp.js [--reps N] [--batches 1024,16384]
 */
import { requestGpu } from '../src/gpu/device';
import { parseBenchArgs } from './lib/options';
import { runCase } from './lib/cases';
import { consoleLines } from './lib/format';

function flag(name: string): string[] {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? ['--iters', process.argv[at + 1]] : [];
}

const batches = process.argv.indexOf('--batches');
const options = parseBenchArgs(['--node', '--cases', 'mlp', '--no-save', ...flag('reps'), ...(batches >= 0 ? ['--batches', process.argv[batches + 1] ?? ''] : [])], '');
if (options) {
  const record = await runCase('mlp', options, 'node', () => requestGpu({ quiet: true }), () => undefined);
  console.log(consoleLines(record).join('\n'));
  if (record.error) process.exitCode = 1;
}
