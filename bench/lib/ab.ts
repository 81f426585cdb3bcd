/**
 * Paired A/B comparison for a shared, noisy CPU: two GPU contexts in one
 * process (A: as shipped; B: a kernel variant and/or Dawn toggles), the same
 * work built on both, timed alternately (A B, then B A, ...) so both see the
 * same load. Reported: each side's median and the median of the per-pair
 * ratios A/B (> 1: B is faster), which drifting load cancels out of.
 */
import type { GpuContext } from '../../src/gpu/device';
import { storageBuffer } from '../../src/gpu/buffers';
import { Mlp, MlpKernels } from '../../src/kernels/mlp';
import { makeTrainer } from '../../src/train/trainer';
import { networkLayouts, initialWeights } from '../../src/train/trainer';
import type { ResolvedConfig } from '../../src/core/config';
import { cpuNow, median, timeSubmit } from './timing';

export interface AbItem {
  what: string;
  /** Seconds per repetition on A and on B, pair by pair. */
  a_s: number[];
  b_s: number[];
  a_median_s: number;
  b_median_s: number;
  /** Median over pairs of A's time over B's (> 1: B is faster). */
  speedup: number;
  /** Smallest and largest pair ratio. */
  speedup_range: [number, number];
  /** The same from CPU seconds (where a CPU clock is set): insensitive to other processes' load. */
  a_cpu_s?: number[];
  b_cpu_s?: number[];
  cpu_speedup?: number;
  cpu_speedup_range?: [number, number];
}

interface Side {
  wall: number[];
  cpu: number[];
}

const r4 = (x: number) => Number(x.toPrecision(4));

function ratios(a: number[], b: number[]): { median: number; range: [number, number] } {
  const q = a.map((x, i) => x / b[i]);
  return { median: r4(median(q)), range: [r4(Math.min(...q)), r4(Math.max(...q))] };
}

function item(what: string, [a, b]: [Side, Side]): AbItem {
  const wall = ratios(a.wall, b.wall);
  const out: AbItem = { what, a_s: a.wall.map(r4), b_s: b.wall.map(r4), a_median_s: r4(median(a.wall)), b_median_s: r4(median(b.wall)), speedup: wall.median, speedup_range: wall.range };
  if (a.cpu.length === a.wall.length && b.cpu.length === b.wall.length) {
    const cpu = ratios(a.cpu, b.cpu);
    Object.assign(out, { a_cpu_s: a.cpu.map(r4), b_cpu_s: b.cpu.map(r4), cpu_speedup: cpu.median, cpu_speedup_range: cpu.range });
  }
  return out;
}

/** Runs `measure(side)` (wall seconds) for `pairs` pairs, alternating which side goes first; CPU seconds beside. */
async function alternate(pairs: number, measure: (side: 0 | 1) => Promise<number>): Promise<[Side, Side]> {
  const sides: [Side, Side] = [
    { wall: [], cpu: [] },
    { wall: [], cpu: [] },
  ];
  for (let p = 0; p < pairs; p++) {
    const order: (0 | 1)[] = p % 2 ? [1, 0] : [0, 1];
    for (const side of order) {
      const c0 = await cpuNow();
      sides[side].wall.push(await measure(side));
      const c1 = await cpuNow();
      if (c0 !== null && c1 !== null) sides[side].cpu.push(c1 - c0);
    }
  }
  return sides;
}

/**
 * One training iteration (step(): encode, submit, metrics back) of `config`
 * on each side, and the policy MLP's forward+backward at the minibatch and the
 * whole batch, alternately.
 */
export async function abCompare(sides: [GpuContext, GpuContext], config: ResolvedConfig, pairs: number, log: (line: string) => void): Promise<AbItem[]> {
  const items: AbItem[] = [];
  const trainers = await Promise.all(sides.map((gpu) => makeTrainer(gpu, config)));
  try {
    for (const t of trainers) await t.step();
    const times = await alternate(pairs, async (side) => {
      const start = performance.now();
      await trainers[side].step();
      return (performance.now() - start) / 1000;
    });
    items.push(item(`${config.algo} iteration (${config.numEnvs} envs × ${config.derived.stepsPerEnv} steps)`, times));
    log(`A/B ${items[items.length - 1].what}: speedup ${items[items.length - 1].speedup} (CPU ${items[items.length - 1].cpu_speedup ?? 'n/a'})`);
  } finally {
    for (const t of trainers) t.destroy();
  }

  const rowsList = [...new Set([config.algo === 'ppo' || config.algo === 'ppo-kl' ? config.minibatch : 0, config.derived.batchSize].filter((r) => r > 0))];
  for (const rows of rowsList) {
    const passes = await Promise.all(
      sides.map(async (gpu) => {
        const layout = networkLayouts(config).policy;
        const mlp = Mlp.create(gpu, await MlpKernels.create(gpu), layout, 'ab.policy');
        mlp.setParams(initialWeights(config).policy);
        const input = storageBuffer(gpu, 'ab.input', Float32Array.from({ length: rows * layout.inputDim }, (_, k) => 0.1 * Math.sin(k)));
        const pass = mlp.prepare({ rows, input, label: 'ab.policy' });
        gpu.device.queue.writeBuffer(pass.gradOutput, 0, new Float32Array(rows * layout.outputDim).fill(1e-3));
        return pass;
      }),
    );
    // Several network passes per submit so the small batches are not all dispatch overhead.
    const repeats = Math.max(1, Math.min(16, Math.round(16384 / rows)));
    const encode = (side: 0 | 1) => (pass: GPUComputePassEncoder) => {
      for (let k = 0; k < repeats; k++) {
        passes[side].encodeForward(pass);
        passes[side].encodeBackward(pass);
      }
    };
    for (const side of [0, 1] as const) await timeSubmit(sides[side], 'ab.warmup', encode(side));
    const times = await alternate(pairs, (side) => timeSubmit(sides[side], 'ab.mlp', encode(side)));
    items.push(item(`policy MLP forward+backward, ${rows} rows ×${repeats} per submit`, times));
    log(`A/B ${items[items.length - 1].what}: speedup ${items[items.length - 1].speedup} (CPU ${items[items.length - 1].cpu_speedup ?? 'n/a'})`);
  }
  return items;
}
