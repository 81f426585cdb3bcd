/**
 * `npm run eval -- --load FILE --episodes N [--seed S] [--greedy] [--json]`:
 * runs the checkpoint's policy for N fresh episodes (one per env, in parallel
 * on the GPU) with sampled actions and again with the distribution's mode
 * (deterministic), and prints the mean and std of their returns; `--greedy`
 * makes the human line report the deterministic figures. With --json, one
 * object: `mean_return` and `std_return` (sampled), `mean_return_deterministic`
 * and `std_return_deterministic`, `episodes`, `env`, `greedy`.
 */
import { parseFlags, parseNumberText } from '../core/config';
import { requestGpu, describeAdapter } from '../gpu/device';
import { loadCheckpoint } from '../train/checkpointFile';
import type { Checkpoint } from '../train/checkpoint';
import { evaluatePolicy } from '../train/evaluate';

const USAGE = 'usage: npm run eval -- --load FILE [--episodes N (1..4096, default 100)] [--seed S] [--greedy] [--json] (each flag once)';

interface EvalArgs {
  checkpoint: Checkpoint;
  episodes: number;
  seed: number;
  greedy: boolean;
  json: boolean;
}

function integer(flags: Map<string, string | boolean>, flag: string, lo: number, hi: number, fallback: number): number {
  const raw = flags.get(flag);
  if (raw === undefined) return fallback;
  const allowed = `must be an integer in [${lo}, ${hi}]`;
  const v = parseNumberText(flag, raw as string, allowed);
  if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`--${flag}: ${raw} is not allowed (${allowed})`);
  return v;
}

/** Flags, then the checkpoint (read and checked): every refusal happens here, before the GPU starts. */
async function parse(argv: string[]): Promise<EvalArgs | null> {
  const flags = parseFlags(argv, { load: 'value', episodes: 'value', seed: 'value', greedy: 'boolean', json: 'boolean', help: 'boolean' });
  if (flags.get('help') === true) {
    process.stdout.write(USAGE + '\n');
    return null;
  }
  const episodes = integer(flags, 'episodes', 1, 4096, 100);
  const seed = integer(flags, 'seed', 0, 4294967295, 12345);
  const load = flags.get('load');
  if (load === undefined) throw new Error(`--load: a checkpoint file is required (${USAGE})`);
  const checkpoint = await loadCheckpoint(load as string);
  return { checkpoint, episodes, seed, greedy: flags.get('greedy') === true, json: flags.get('json') === true };
}

async function main(): Promise<number> {
  let args: EvalArgs | null;
  try {
    args = await parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`eval: ${(error as Error).message}\n`);
    return 2;
  }
  if (!args) return 0;
  const gpu = await requestGpu();
  process.stderr.write(`adapter: ${describeAdapter(gpu.adapter)}\n`);
  const sampled = await evaluatePolicy(gpu, args.checkpoint, { episodes: args.episodes, seed: args.seed, greedy: false });
  const deterministic = await evaluatePolicy(gpu, args.checkpoint, { episodes: args.episodes, seed: args.seed, greedy: true });
  gpu.destroy();
  if (args.json) {
    process.stdout.write(
      JSON.stringify({
        episodes: args.episodes,
        env: args.checkpoint.config.env,
        mean_return: sampled.mean,
        std_return: sampled.std,
        mean_return_deterministic: deterministic.mean,
        std_return_deterministic: deterministic.std,
        greedy: args.greedy,
      }) + '\n',
    );
  }
  const shown = args.greedy ? deterministic : sampled;
  process.stdout.write(
    `${args.episodes} episodes (${args.greedy ? 'greedy' : 'sampled'} actions): mean return ${shown.mean.toFixed(2)} ± ${shown.std.toFixed(2)} (std)\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`eval: ${error.message}\n`);
    process.exit(1);
  },
);
