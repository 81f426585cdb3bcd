/**
 * The workload ceiling as a probe: a 64→64 tanh layer's forward and backward
 * (weights and input gradient: 6·64·64 FLOPs a row) through the real MLP
 * kernels, `passes` passes of `rows` rows recorded back to back in one submit,
 * as a trainer records its minibatches. The peak case measures it for every
 * shape × reduction; a training case runs the fastest one between its own
 * iterations (`pairedCeiling`), so that the fraction it reports compares two
 * measurements taken seconds apart: on a shared VM whose speed drifts by a
 * third over minutes, a ceiling measured minutes before the training it is
 * compared with moves the fraction by as much (bench/RESULTS.md).
 */
import type { GpuContext } from '../../src/gpu/device';
import { storageBuffer } from '../../src/gpu/buffers';
import { MlpLayout, initPyTorchDefault } from '../../src/nn/mlp';
import { MLP_KERNEL_SHAPES, PARAM_REDUCTIONS, Mlp, MlpKernels, type MlpKernelShape, type MlpPass, type ParamReduction } from '../../src/kernels/mlp';
import { median, repeat, timeSubmit } from './timing';

/** Rows of forward+backward passes per submit (several passes for small batches, so a submit is not all overhead); --quick: a quarter. */
export const CEILING_PASSES_ROWS = 16384;

/** The minibatch sizes of the presets (seed 128, fast 256, target 2 048) and a full batch; --quick: 128 and 2 048. */
export function ceilingRows(quick: boolean): number[] {
  return quick ? [128, 2048] : [128, 256, 2048, 8192];
}

/** The shapes the ceiling is measured in: all, or with quick all but `single` (always the slowest). */
export function ceilingShapes(quick: boolean): readonly MlpKernelShape[] {
  return quick ? MLP_KERNEL_SHAPES.filter((s) => s !== 'single') : MLP_KERNEL_SHAPES;
}

/** The ceiling's row count nearest `rows` on a log scale (the training update's rows → the ceiling it is held against). */
export function nearestCeilingRows(rows: number, quick: boolean): number {
  return ceilingRows(quick).reduce((a, b) => (Math.abs(Math.log(b / rows)) < Math.abs(Math.log(a / rows)) ? b : a));
}

/** FLOPs of a 64→64 layer's forward + backward (weights and input gradient) per row. */
const FLOPS_PER_ROW = 6 * 64 * 64;

export class CeilingProbe {
  private constructor(
    readonly rows: number,
    readonly shape: MlpKernelShape,
    readonly reduction: ParamReduction,
    readonly passes: number,
    private readonly gpu: GpuContext,
    private readonly input: GPUBuffer,
    private readonly mlp: Mlp,
    private readonly pass: MlpPass,
  ) {}

  /** A probe of `rows` rows a pass in `shape` and `reduction`, enough passes for CEILING_PASSES_ROWS rows a submit (a quarter with quick). */
  static async create(gpu: GpuContext, rows: number, shape: MlpKernelShape, reduction: ParamReduction, quick = false): Promise<CeilingProbe> {
    const layout = new MlpLayout([64, 64], ['tanh']);
    const input = storageBuffer(gpu, 'ceiling.input', Float32Array.from({ length: rows * 64 }, (_, k) => Math.cos(k)));
    const passes = Math.max(1, Math.round(CEILING_PASSES_ROWS / (quick ? 4 : 1) / rows));
    const mlp = Mlp.create(gpu, await MlpKernels.create(gpu, shape, reduction), layout, 'ceiling');
    mlp.setParams(initPyTorchDefault(layout, 1));
    const pass = mlp.prepare({ rows, input, label: 'ceiling', inputGradient: true });
    gpu.device.queue.writeBuffer(pass.gradOutput, 0, new Float32Array(rows * 64).fill(1e-3));
    return new CeilingProbe(rows, shape, reduction, passes, gpu, input, mlp, pass);
  }

  /** Useful FLOPs of one submit. */
  get flops(): number {
    return this.passes * this.rows * FLOPS_PER_ROW;
  }

  get dispatchesPerPass(): number {
    return this.pass.dispatchCount + this.pass.backwardDispatchCount;
  }

  /** Seconds of one submit of every pass (encoding excluded). */
  time(): Promise<number> {
    return timeSubmit(this.gpu, 'ceiling', (p) => {
      for (let k = 0; k < this.passes; k++) {
        this.pass.encodeForward(p);
        this.pass.encodeBackward(p);
      }
    });
  }

  destroy(): void {
    this.pass.destroy();
    this.mlp.destroy();
    this.input.destroy();
  }
}

/**
 * The probes at `rows` of every shape × reduction (`shapes`, default `ceilingShapes`) that
 * measure within `keep` of the fastest, fastest first: each timed `reps` times
 * after a warm-up, by median; the others are destroyed. One short selection on
 * a noisy machine can rank two close shapes either way, so `pairedCeiling`
 * times every kept one in each of its slots.
 */
export async function fastestProbes(gpu: GpuContext, rows: number, reps: number, quick = false, shapes: readonly MlpKernelShape[] = ceilingShapes(quick), keep = 0.8): Promise<CeilingProbe[]> {
  const measured: { probe: CeilingProbe; gflops: number }[] = [];
  for (const shape of shapes) {
    for (const reduction of PARAM_REDUCTIONS) {
      const probe = await CeilingProbe.create(gpu, rows, shape, reduction, quick);
      const t = await repeat(1, reps, () => probe.time());
      measured.push({ probe, gflops: probe.flops / t.median / 1e9 });
    }
  }
  measured.sort((a, b) => b.gflops - a.gflops);
  const kept = measured.filter((m) => m.gflops >= keep * measured[0].gflops);
  for (const m of measured) if (!kept.includes(m)) m.probe.destroy();
  return kept.map((m) => m.probe);
}

/** A training case's fraction of the ceiling from interleaved measurements. */
export interface PairedFraction {
  /** Median over the pairs of (iteration GFLOP/s) / (ceiling GFLOP/s around it). */
  fraction: number;
  /** The smallest and largest pair's fraction. */
  range: [number, number];
  /** Median of the ceiling's GFLOP/s over the probe slots. */
  ceilingGflops: number;
  /** Median seconds of the timed iterations. */
  iterationSeconds: number;
  pairs: number;
}

/**
 * Fractions of interleaved measurements: slot k of `probeSeconds` was timed just
 * before iteration k and slot k + 1 just after it, so iteration k (`iterationFlops`
 * in `iterationSeconds[k]`) is held against the ceiling's mean time over the two
 * slots around it.
 */
export function pairedFractions(iterationFlops: number, iterationSeconds: readonly number[], probeFlops: number, probeSeconds: readonly number[]): PairedFraction {
  const K = iterationSeconds.length;
  if (K < 1 || probeSeconds.length !== K + 1) throw new Error(`pairedFractions: ${K} iterations need ${K + 1} probe slots, got ${probeSeconds.length}`);
  const fractions = iterationSeconds.map((t, k) => {
    const probe = (probeSeconds[k] + probeSeconds[k + 1]) / 2;
    return (iterationFlops / t) / (probeFlops / probe);
  });
  return {
    fraction: median(fractions),
    range: [Math.min(...fractions), Math.max(...fractions)],
    ceilingGflops: median(probeSeconds.map((s) => probeFlops / s / 1e9)),
    iterationSeconds: median(iterationSeconds),
    pairs: K,
  };
}

/** Submits per probe and slot (their median is the probe's time there: one submit is short enough for a scheduler hiccup to double it). */
const SUBMITS_PER_SLOT = 3;

/** What `pairedCeiling` measured, with the probe that was fastest in most slots. */
export interface PairedCeiling extends PairedFraction {
  /** The probe fastest in most slots (ties: the earlier one in `probes`). */
  winner: CeilingProbe;
}

/**
 * `pairs` training iterations (`step`: one iteration, submitted alone and
 * awaited, returning its seconds from submit to metrics, encoding excluded as it
 * is from the probes') interleaved with probe slots: slot, iteration, slot, ...
 * A slot times every probe (same rows and FLOPs, different kernels) and takes
 * the fastest: the ceiling is the best kernel's at that moment.
 */
export async function pairedCeiling(probes: readonly CeilingProbe[], iterationFlops: number, pairs: number, step: () => Promise<number>): Promise<PairedCeiling> {
  if (!probes.length || probes.some((p) => p.flops !== probes[0].flops)) throw new Error('pairedCeiling: give one or more probes of the same rows and passes');
  const wins = probes.map(() => 0);
  const slot = async () => {
    const times: number[] = [];
    for (const probe of probes) times.push((await repeat(0, SUBMITS_PER_SLOT, () => probe.time())).median);
    const best = times.indexOf(Math.min(...times));
    wins[best]++;
    return times[best];
  };
  const probeSeconds = [await slot()];
  const iterationSeconds: number[] = [];
  for (let k = 0; k < pairs; k++) {
    iterationSeconds.push(await step());
    probeSeconds.push(await slot());
  }
  return { ...pairedFractions(iterationFlops, iterationSeconds, probes[0].flops, probeSeconds), winner: probes[wins.indexOf(Math.max(...wins))] };
}
