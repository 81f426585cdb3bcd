/**
 * `npm run eval -- --load FILE --episodes N [--seed S] [--greedy] [--json]`:
 * runs the checkpoint's policy for N fresh episodes (one per env, in parallel
 * on the GPU) and prints the mean and std of their returns.
 */
import { requestGpu, describeAdapter } from '../gpu/device';
import { loadCheckpoint } from '../train/checkpointFile';
import { evaluatePolicy } from '../train/evaluate';

const USAGE = 'usage: npm run eval -- --load FILE [--episodes N (1..4096, default 100)] [--seed S] [--greedy] [--json]';

interface EvalArgs {
  load: string;
  episodes: number;
  seed: number;
  greedy: boolean;
  json: boolean;
}

function parse(argv: string[]): EvalArgs | null {
  const args: Partial<EvalArgs> = { episodes: 100, seed: 12345, greedy: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag}: missing value`);
      return v;
    };
    const integer = (name: string, lo: number, hi: number) => {
      const raw = value();
      const v = Number(raw);
      if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`${name}: "${raw}" is not allowed (must be an integer in [${lo}, ${hi}])`);
      return v;
    };
    switch (flag) {
      case '--help':
        process.stdout.write(USAGE + '\n');
        return null;
      case '--load':
        args.load = value();
        break;
      case '--episodes':
        args.episodes = integer('--episodes', 1, 4096);
        break;
      case '--seed':
        args.seed = integer('--seed', 0, 4294967295);
        break;
      case '--greedy':
        args.greedy = true;
        break;
      case '--json':
        args.json = true;
        break;
      default:
        throw new Error(`unknown flag ${flag} (${USAGE})`);
    }
  }
  if (!args.load) throw new Error(`--load: a checkpoint file is required (${USAGE})`);
  return args as EvalArgs;
}

async function main(): Promise<number> {
  let args: EvalArgs | null;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`eval: ${(error as Error).message}\n`);
    return 2;
  }
  if (!args) return 0;
  const checkpoint = await loadCheckpoint(args.load);
  const gpu = await requestGpu();
  process.stderr.write(`adapter: ${describeAdapter(gpu.adapter)}\n`);
  const result = await evaluatePolicy(gpu, checkpoint, { episodes: args.episodes, seed: args.seed, greedy: args.greedy });
  gpu.destroy();
  if (args.json) process.stdout.write(JSON.stringify({ episodes: args.episodes, mean_return: result.mean, std_return: result.std, greedy: args.greedy }) + '\n');
  process.stdout.write(
    `${args.episodes} episodes (${args.greedy ? 'greedy' : 'sampled'} actions): mean return ${result.mean.toFixed(2)} ± ${result.std.toFixed(2)} (std)\n`,
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
