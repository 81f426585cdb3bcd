/**
 * Time to the first iteration on a fresh machine: `train --iters 1` run as a
 * child process on an empty Mesa shader cache (MESA_SHADER_CACHE_DIR set to a
 * new temporary folder), then again on the cache that run filled. lavapipe
 * compiles a kernel on its first dispatch, so the cold run's first iteration
 * holds the compile; the warm run's is the same work without it.
 *
 *   node dist-cli/bench/coldstart.js [--algos ppo,trpo,reinforce] [--env CartPole-v1] [--preset seed] [--json]
 *
 * Prints, per algorithm, the process's wall seconds and the first iteration's
 * (cold and warm) with the adapter. Only Mesa's drivers read
 * MESA_SHADER_CACHE_DIR: on another adapter the cold figure may be warm.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALGOS, type Algo } from '../src/core/config';

interface Args {
  algos: Algo[];
  env: string;
  preset: string;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { algos: ['ppo', 'trpo', 'reinforce'], env: 'CartPole-v1', preset: 'seed', json: false };
  const algo = (a: string): Algo => {
    if (!(ALGOS as readonly string[]).includes(a)) throw new Error(`--algos: ${a} is not an algorithm (one of ${ALGOS.join(', ')})`);
    return a as Algo;
  };
  // The flags that take a value, and what each sets.
  const takes: Record<string, (v: string) => void> = {
    '--algos': (v) => (args.algos = v.split(',').map(algo)),
    '--env': (v) => (args.env = v),
    '--preset': (v) => (args.preset = v),
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--json') {
      args.json = true;
    } else if (takes[flag]) {
      if (i + 1 >= argv.length) throw new Error(`${flag} takes a value`);
      takes[flag](argv[++i]);
    } else {
      throw new Error(`unknown flag ${flag} (known: --algos, --env, --preset, --json)`);
    }
  }
  return args;
}

interface Run {
  process_s: number;
  first_iteration_s: number;
  adapter: string;
}

/** One `train --iters 1` on the shader cache in `cacheDir`. */
function runTrain(args: Args, algo: Algo, cacheDir: string): Run {
  const train = fileURLToPath(new URL('../train.js', import.meta.url));
  const argv = [train, '--algo', algo, '--env', args.env, '--preset', args.preset, '--iters', '1', '--seed', '1', '--json', '--quiet'];
  const start = performance.now();
  const child = spawnSync(process.execPath, argv, { env: { ...process.env, MESA_SHADER_CACHE_DIR: cacheDir }, encoding: 'utf8' });
  const processSeconds = (performance.now() - start) / 1000;
  if (child.status !== 0) throw new Error(`train ${algo} exited with ${child.status}: ${child.stderr.trim().split('\n').pop()}`);
  const lines = child.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const first = lines.find((l) => l.iter === 0);
  const done = lines.find((l) => l.done === true);
  if (!first || !done) throw new Error(`train ${algo} printed no iteration (stdout: ${child.stdout.slice(0, 200)})`);
  return { process_s: processSeconds, first_iteration_s: first.wall_s as number, adapter: done.adapter as string };
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  for (const algo of args.algos) {
    const cacheDir = mkdtempSync(join(tmpdir(), 'webgpu-rl-coldstart-'));
    try {
      const cold = runTrain(args, algo, cacheDir);
      const warm = runTrain(args, algo, cacheDir);
      const round = (x: number) => Number(x.toFixed(2));
      if (args.json) {
        console.log(
          JSON.stringify({
            case: 'coldstart',
            runner: 'node',
            adapter: cold.adapter,
            algo,
            env: args.env,
            preset: args.preset,
            cold_process_s: round(cold.process_s),
            cold_first_iteration_s: round(cold.first_iteration_s),
            warm_process_s: round(warm.process_s),
            warm_first_iteration_s: round(warm.first_iteration_s),
          }),
        );
      } else {
        console.log(
          `${algo} on ${args.env} (${args.preset}), ${cold.adapter}: first iteration ${cold.first_iteration_s.toFixed(1)} s cold, ` +
            `${warm.first_iteration_s.toFixed(1)} s warm; whole process ${cold.process_s.toFixed(1)} s cold, ${warm.process_s.toFixed(1)} s warm`,
        );
      }
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  }
}

try {
  main();
} catch (error) {
  console.error(`coldstart: ${(error as Error).message}`);
  process.exit(2);
}
