/**
 * Kernel-level cases: env stepping alone, rollout (env + policy), MLP
 * throughput, the adapter's peak, one Fisher-vector product and one CG solve.
 * Each builds what it measures once, times whole submits (median after a
 * warm-up) and reports figures per configuration point.
 */
import peakWgsl from '../shaders/peak.wgsl?raw';
import type { GpuContext } from '../../src/gpu/device';
import { ShaderFamily, type Kernel } from '../../src/gpu/kernel';
import { COMMON_WGSL, wgslConstants } from '../../src/gpu/wgsl';
import { storageBuffer, uniformBuffer } from '../../src/gpu/buffers';
import { VecEnv } from '../../src/envs/vecEnv';
import { envSpec } from '../../src/core/envSpecs';
import { envDefinition } from '../../src/envs/registry';
import { MlpLayout, initPyTorchDefault, type Activation } from '../../src/nn/mlp';
import { PARAM_REDUCTIONS, Mlp, MlpKernels } from '../../src/kernels/mlp';
import { Rollout } from '../../src/kernels/rollout';
import { FisherVectorProduct, parameterVectorBytes } from '../../src/kernels/fvp';
import { ConjugateGradient } from '../../src/kernels/cg';
import { resolveConfig, type ResolvedConfig } from '../../src/core/config';
import { initialWeights, networkLayouts, countDispatches } from '../../src/train/trainer';
import { backwardCost, fisherVectorProductCost, forwardCost, type LayerShape } from './cost';
import { profileKernels } from './profile';
import { fusedCase } from './fusedCase';
import { repeat, timeSubmit, type Samples } from './timing';
import { CEILING_PASSES_ROWS, CeilingProbe, ceilingRows, ceilingShapes } from './ceilingProbe';
import type { BenchCase, CaseContext, CaseOutcome, Point } from './types';

const WALL = (warmup: number, reps: number) => `wall time of one submit to onSubmittedWorkDone, median of ${reps} after ${warmup} warm-up`;

const round = (x: number, digits = 4) => Number(x.toPrecision(digits));

/** Median CPU seconds per timed repetition, where a CPU clock is set (see timing.ts). */
function cpuOf(t: Samples): Point {
  return t.cpuMedian === null ? {} : { cpu_s: round(t.cpuMedian) };
}

function reps(ctx: CaseContext, quick: number, full: number): number {
  return ctx.options.reps ?? (ctx.options.quick ? quick : full);
}

export interface EnvBenchOptions {
  /** A registered env id (default CartPole-v1). */
  id?: string;
  numEnvs: number;
  /** Steps recorded in one compute pass and submitted together. */
  stepsPerSubmit: number;
  /** Timed submits (after one warm-up submit). */
  repetitions: number;
  workgroupSize: number;
}

export interface EnvBenchResult extends EnvBenchOptions {
  /** Median seconds per submit. */
  medianSeconds: number;
  /** Env steps per second over the median submit. */
  sps: number;
  /** Env steps per second over the fastest submit. */
  bestSps: number;
  /** Median CPU seconds per submit (null without a CPU clock). */
  cpuSeconds: number | null;
}

/**
 * VecEnv.encodeStep on actions filled once (env i takes action i mod n, so
 * CartPole's poles fall and auto-resets happen all the time), many steps per submit.
 */
export async function benchEnvSteps(gpu: GpuContext, options: EnvBenchOptions): Promise<EnvBenchResult> {
  const { id = 'CartPole-v1', numEnvs, stepsPerSubmit, repetitions, workgroupSize } = options;
  const env = await VecEnv.create(gpu, { id, numEnvs, seed: 1, workgroupSize });
  const action = env.spec.action;
  // Discrete: env i takes action i mod n; box: component values spread over [low, high].
  const actions =
    action.kind === 'discrete'
      ? Int32Array.from({ length: numEnvs }, (_, i) => i % action.n)
      : Float32Array.from({ length: numEnvs * action.dim }, (_, i) => {
          const k = i % action.dim;
          return action.low[k] + ((i % 7) / 6) * (action.high[k] - action.low[k]);
        });
  gpu.device.queue.writeBuffer(env.buffers.actions, 0, actions);
  try {
    const t = await repeat(1, repetitions, () =>
      timeSubmit(gpu, `bench.env.${id}`, (pass) => {
        for (let s = 0; s < stepsPerSubmit; s++) env.encodeStep(pass);
      }),
    );
    const steps = numEnvs * stepsPerSubmit;
    return { ...options, id, medianSeconds: t.median, sps: steps / t.median, bestSps: steps / t.min, cpuSeconds: t.cpuMedian };
  } finally {
    env.destroy();
  }
}

/** The built-in envs the env case steps (registered user envs are left out). */
const BENCH_ENVS = ['CartPole-v1', 'Acrobot-v1', 'MountainCar-v0', 'MountainCarContinuous-v0', 'Pendulum-v1'] as const;

const envCase: BenchCase = {
  name: 'env',
  about: `each built-in env (${BENCH_ENVS.join(', ')}) stepping alone (no policy): env steps/s against the number of envs`,
  async run(ctx) {
    const { gpu, options } = ctx;
    const stepsPerSubmit = options.quick ? 20 : 100;
    const repetitions = reps(ctx, 3, 5);
    const points: Point[] = [];
    const notes: string[] = [];
    for (const id of BENCH_ENVS) {
      // --quick keeps CartPole's three-point curve and one N for the others.
      const quickCounts = id === 'CartPole-v1' ? [1024, 16384, 65536] : [16384];
      const counts = options.envCounts ?? (options.quick ? quickCounts : [1024, 4096, 16384, 65536, 262144]);
      const most = VecEnv.maxEnvs(gpu, envSpec(id));
      const fits = counts.filter((n) => n <= most);
      notes.push(...counts.filter((n) => !fits.includes(n)).map((n) => `${id} N=${n} left out: more envs than one buffer binding holds here (${most})`));
      for (const numEnvs of fits) {
        const r = await benchEnvSteps(gpu, { id, numEnvs, stepsPerSubmit, repetitions, workgroupSize: 64 });
        points.push({
          env: id,
          num_envs: numEnvs,
          steps_per_submit: stepsPerSubmit,
          sps: round(r.sps),
          best_sps: round(r.bestSps),
          us_per_step: round((r.medianSeconds / stepsPerSubmit) * 1e6),
          ...(r.cpuSeconds === null ? {} : { cpu_s: round(r.cpuSeconds) }),
        });
        ctx.log(`env ${id} N=${numEnvs}: ${(r.sps / 1e6).toFixed(2)} M env-steps/s`);
      }
    }
    return { unit: 'sps', points, timing: `${WALL(1, repetitions)}; ${stepsPerSubmit} env steps (one dispatch each) per submit`, notes };
  },
};

/** The trainer's networks with its initial weights (seed preset shapes unless a config is given). */
async function trainerNetworks(gpu: GpuContext, config: ResolvedConfig, label: string): Promise<{ policy: Mlp; value: Mlp }> {
  const kernels = await MlpKernels.create(gpu);
  const layouts = networkLayouts(config);
  const weights = initialWeights(config);
  const policy = Mlp.create(gpu, kernels, layouts.policy, `${label}.policy`);
  const value = Mlp.create(gpu, kernels, layouts.value, `${label}.value`);
  policy.setParams(weights.policy);
  value.setParams(weights.value);
  return { policy, value };
}

const rolloutCase: BenchCase = {
  name: 'rollout',
  about: 'env + policy forward + sampling (the trainer’s collect phase): env steps/s against the number of envs',
  async run(ctx) {
    const { gpu, options } = ctx;
    const counts = options.envCounts ?? (options.quick ? [256, 4096] : [256, 1024, 4096, 16384, 65536]);
    const repetitions = reps(ctx, 3, 5);
    const config = resolveConfig({ ...options.overrides });
    const { policy } = await trainerNetworks(gpu, config, 'bench.rollout');
    const points: Point[] = [];
    for (const numEnvs of counts) {
      // About the same work per submit at every N: fewer steps for more envs.
      const numSteps = Math.max(2, Math.min(32, Math.ceil((options.quick ? 1 << 16 : 1 << 18) / numEnvs)));
      const rollout = await Rollout.create(gpu, policy, { env: envDefinition(config.env), numEnvs, numSteps, seed: 1 }, `bench.rollout${numEnvs}`);
      rollout.reset();
      rollout.setIteration(0);
      const t = await repeat(1, repetitions, () => timeSubmit(gpu, 'bench.rollout', (pass) => rollout.encode(pass)));
      const steps = numEnvs * numSteps;
      points.push({
        num_envs: numEnvs,
        steps_per_submit: numSteps,
        hidden: config.hidden,
        sps: round(steps / t.median),
        best_sps: round(steps / t.min),
        ...cpuOf(t),
        dispatches_per_step: countDispatches((pass) => rollout.encode(pass)) / numSteps,
        gflops: round(forwardCost(layersOf(policy.layout), steps).flops / t.median / 1e9),
      });
      ctx.log(`rollout N=${numEnvs}: ${((steps / t.median) / 1e6).toFixed(3)} M env-steps/s`);
    }
    return { unit: 'sps', points, timing: `${WALL(1, repetitions)}; one submit = T steps of (policy forward, act-and-step); gflops counts the policy forward only` };
  },
};

function layersOf(layout: MlpLayout): LayerShape[] {
  return layout.layers.map((l) => ({ inDim: l.inDim, outDim: l.outDim }));
}

const mlpCase: BenchCase = {
  name: 'mlp',
  about: 'MLP kernels: 4→64→64→2 tanh forward and forward+backward, and one 64→64 layer, GFLOP/s against the batch',
  async run(ctx) {
    const { gpu, options } = ctx;
    const batches = options.batches ?? (options.quick ? [1024, 16384] : [1024, 4096, 16384, 65536]);
    const repetitions = reps(ctx, 3, 7);
    const kernels = await MlpKernels.create(gpu);
    const points: Point[] = [];
    const measure = async (network: string, sizes: number[], activations: Activation[], rows: number) => {
      const layout = new MlpLayout(sizes, activations);
      const mlp = Mlp.create(gpu, kernels, layout, `bench.${network}`);
      mlp.setParams(initPyTorchDefault(layout, 1));
      const input = storageBuffer(gpu, 'bench.mlp.input', new Float32Array(rows * layout.inputDim).map((_, k) => Math.sin(k)));
      const pass = mlp.prepare({ rows, input, label: `bench.${network}` });
      gpu.device.queue.writeBuffer(pass.gradOutput, 0, new Float32Array(rows * layout.outputDim).fill(1e-3));
      const layers = layersOf(layout);
      const forward = forwardCost(layers, rows).flops;
      const backward = backwardCost(layers, rows).flops;
      const modes: [string, number, (p: GPUComputePassEncoder) => void][] = [
        ['forward', forward, (p) => pass.encodeForward(p)],
        [
          'forward+backward',
          forward + backward,
          (p) => {
            pass.encodeForward(p);
            pass.encodeBackward(p);
          },
        ],
      ];
      for (const [mode, flops, encode] of modes) {
        const t = await repeat(2, repetitions, () => timeSubmit(gpu, `bench.mlp.${mode}`, encode));
        points.push({ network, rows, mode, gflops: round(flops / t.median / 1e9), best_gflops: round(flops / t.min / 1e9), median_ms: round(t.median * 1e3), ...cpuOf(t), flops, dispatches: countDispatches(encode) });
        ctx.log(`mlp ${network} ${rows} ${mode}: ${(flops / t.median / 1e9).toFixed(2)} GFLOP/s`);
      }
      pass.destroy();
      input.destroy();
    };
    for (const rows of batches) await measure('4-64-64-2', [4, 64, 64, 2], ['tanh', 'tanh', 'identity'], rows);
    await measure('64-64', [64, 64], ['tanh'], 16384);
    return {
      unit: 'gflops',
      points,
      timing: `${WALL(2, repetitions)}; FLOPs counted from the shapes: forward 2·in·out per row per layer, backward 2·in·out (weights) + 2·in·out (input, not for the first layer)`,
    };
  },
};

/** peak.wgsl's sources for `rowsPerInvocation` rows per `dense` invocation (ROWS sizes its register arrays). */
export function peakSources(rowsPerInvocation: number): string[] {
  return [COMMON_WGSL, wgslConstants({ ROWS: rowsPerInvocation }), peakWgsl];
}

const peakCase: BenchCase = {
  name: 'peak',
  about: 'adapter ceiling: the best 64-wide dense kernel (register-blocked over 1, 2, 4, 8 rows, or one invocation per output element of 4 rows), pure fma throughput, and the cost of a dispatch',
  async run(ctx) {
    const { gpu, options } = ctx;
    const repetitions = reps(ctx, 3, 5);
    // ROWS sizes the register arrays, so each variant is its own module (ROWS = 1 also serves alu and empty).
    const load = (rowsPerInvocation: number) => ShaderFamily.load(gpu, 'peak', peakSources(rowsPerInvocation));
    const family = await load(1);
    const argsView = family.struct('PeakArgs');
    const rows = options.quick ? 4096 : 65536;
    const aluInvocations = 16384;
    const aluIterations = options.quick ? 256 : 1024;
    const weights = storageBuffer(gpu, 'peak.weights', Float32Array.from({ length: 64 * 64 }, (_, k) => Math.sin(k) / 8));
    const input = storageBuffer(gpu, 'peak.input', Float32Array.from({ length: rows * 64 }, (_, k) => Math.cos(k)));
    const output = storageBuffer(gpu, 'peak.output', rows * 64 * 4);
    const args = uniformBuffer(gpu, 'peak.args', argsView.pack({ rows, aluIterations }));
    const smallRows = 128;
    const smallArgs = uniformBuffer(gpu, 'peak.smallArgs', argsView.pack({ rows: smallRows, aluIterations }));
    const points: Point[] = [];
    const dispatchesPerSubmit = 4;
    // Register-blocked variants cost LLVM seconds to minutes on a cold shader cache (lavapipe compiles at the first dispatch): --quick keeps one.
    const denseFamilies = new Map<number, ShaderFamily>([[1, family]]);
    for (const rowsPerInvocation of options.quick ? [4] : [1, 2, 4, 8]) {
      if (!denseFamilies.has(rowsPerInvocation)) denseFamilies.set(rowsPerInvocation, await load(rowsPerInvocation));
      const kernel = await denseFamilies.get(rowsPerInvocation)!.kernel('dense');
      const group = kernel.bind({ args, weights, input, output }, 'dense');
      const t = await repeat(1, repetitions, () =>
        timeSubmit(gpu, 'peak.dense', (pass) => {
          for (let k = 0; k < dispatchesPerSubmit; k++) kernel.dispatch(pass, group, Math.ceil(rows / rowsPerInvocation));
        }),
      );
      const flops = dispatchesPerSubmit * 2 * 64 * 64 * rows;
      points.push({ kernel: 'dense', rows_per_invocation: rowsPerInvocation, rows, gflops: round(flops / t.median / 1e9), best_gflops: round(flops / t.min / 1e9), ...cpuOf(t), first_submit_ms: round(t.warmup[0] * 1e3) });
      ctx.log(`peak dense ×${rowsPerInvocation}: ${(flops / t.median / 1e9).toFixed(2)} GFLOP/s (first submit, compilation included: ${(t.warmup[0] * 1e3).toFixed(0)} ms)`);
    }
    const cols = await family.kernel('dense_cols');
    const colsGroup = cols.bind({ args, weights, input, output }, 'denseCols');
    const colsTime = await repeat(1, repetitions, () =>
      timeSubmit(gpu, 'peak.denseCols', (pass) => {
        for (let k = 0; k < dispatchesPerSubmit; k++) cols.dispatch(pass, colsGroup, Math.ceil(rows / 4) * 64);
      }),
    );
    const colsFlops = dispatchesPerSubmit * 2 * 64 * 64 * rows;
    points.push({ kernel: 'dense_cols', rows, gflops: round(colsFlops / colsTime.median / 1e9), best_gflops: round(colsFlops / colsTime.min / 1e9), ...cpuOf(colsTime), first_submit_ms: round(colsTime.warmup[0] * 1e3) });
    ctx.log(`peak dense, per output element: ${(colsFlops / colsTime.median / 1e9).toFixed(2)} GFLOP/s`);
    const tiles = await family.kernel('dense_tiles');
    const tilesGroup = tiles.bind({ args, weights, input, output }, 'denseTiles');
    const tilesTime = await repeat(1, repetitions, () =>
      timeSubmit(gpu, 'peak.denseTiles', (pass) => {
        for (let k = 0; k < dispatchesPerSubmit; k++) tiles.dispatch(pass, tilesGroup, Math.ceil(rows / 4) * 16);
      }),
    );
    points.push({ kernel: 'dense_tiles', rows, gflops: round(colsFlops / tilesTime.median / 1e9), best_gflops: round(colsFlops / tilesTime.min / 1e9), ...cpuOf(tilesTime), first_submit_ms: round(tilesTime.warmup[0] * 1e3) });
    ctx.log(`peak dense, 4 rows × 4 outputs per invocation: ${(colsFlops / tilesTime.median / 1e9).toFixed(2)} GFLOP/s`);
    const alu = await family.kernel('alu');
    const aluGroup = alu.bind({ args: uniformBuffer(gpu, 'peak.aluArgs', argsView.pack({ rows: aluInvocations, aluIterations })), output }, 'alu');
    const aluTime = await repeat(1, repetitions, () => timeSubmit(gpu, 'peak.alu', (pass) => alu.dispatch(pass, aluGroup, aluInvocations)));
    const aluFlops = aluInvocations * aluIterations * 8 * 4 * 2;
    points.push({ kernel: 'alu', invocations: aluInvocations, iterations: aluIterations, gflops: round(aluFlops / aluTime.median / 1e9), best_gflops: round(aluFlops / aluTime.min / 1e9), ...cpuOf(aluTime) });

    // Dispatch cost: many empty dispatches, then many 128-row dense layers (a seed-preset minibatch).
    const dispatches = options.quick ? 200 : 1000;
    const empty = await family.kernel('empty');
    const emptyGroup = empty.bind({}, 'empty');
    const emptyTime = await repeat(1, repetitions, () =>
      timeSubmit(gpu, 'peak.empty', (pass) => {
        for (let k = 0; k < dispatches; k++) empty.dispatch(pass, emptyGroup, 1);
      }),
    );
    points.push({ kernel: 'empty', dispatches, us_per_dispatch: round((emptyTime.median / dispatches) * 1e6), ...cpuOf(emptyTime) });
    // The same dense layer at a seed-preset minibatch (128 rows), one dispatch each, in every register blocking
    // measured above: the best any per-layer kernel shape can do at that size, dispatch cost included. With
    // workgroups of 64 the blocked shapes put all 128 rows in one workgroup, so one CPU thread; workgroups of 8
    // (one lavapipe SIMD row) spread them over the driver's threads.
    for (const [rowsPerInvocation, rowFamily] of [...denseFamilies].sort((a, b) => a[0] - b[0])) {
      for (const workgroupSize of rowsPerInvocation >= 4 ? [64, 8] : [64]) {
        const kernel = await rowFamily.kernel('dense', { constants: { WG: workgroupSize } });
        const smallGroup = kernel.bind({ args: smallArgs, weights, input, output }, `dense128x${rowsPerInvocation}wg${workgroupSize}`);
        const smallTime = await repeat(1, repetitions, () =>
          timeSubmit(gpu, 'peak.dense128', (pass) => {
            for (let k = 0; k < dispatches; k++) kernel.dispatch(pass, smallGroup, Math.ceil(smallRows / rowsPerInvocation));
          }),
        );
        const gflops = (dispatches * 2 * 64 * 64 * smallRows) / smallTime.median / 1e9;
        points.push({
          kernel: 'dense',
          rows_per_invocation: rowsPerInvocation,
          workgroup_size: workgroupSize,
          rows: smallRows,
          dispatches,
          us_per_dispatch: round((smallTime.median / dispatches) * 1e6),
          gflops: round(gflops),
          best_gflops: round((dispatches * 2 * 64 * 64 * smallRows) / smallTime.min / 1e9),
          ...cpuOf(smallTime),
        });
        ctx.log(`peak dense ×${rowsPerInvocation} at ${smallRows} rows, workgroups of ${workgroupSize}, one dispatch each: ${gflops.toFixed(2)} GFLOP/s, ${((smallTime.median / dispatches) * 1e6).toFixed(1)} µs per dispatch`);
      }
    }
    const smallTilesGroup = tiles.bind({ args: smallArgs, weights, input, output }, 'denseTiles128');
    const smallTilesTime = await repeat(1, repetitions, () =>
      timeSubmit(gpu, 'peak.denseTiles128', (pass) => {
        for (let k = 0; k < dispatches; k++) tiles.dispatch(pass, smallTilesGroup, Math.ceil(smallRows / 4) * 16);
      }),
    );
    points.push({
      kernel: 'dense_tiles',
      rows: smallRows,
      dispatches,
      us_per_dispatch: round((smallTilesTime.median / dispatches) * 1e6),
      gflops: round((dispatches * 2 * 64 * 64 * smallRows) / smallTilesTime.median / 1e9),
      best_gflops: round((dispatches * 2 * 64 * 64 * smallRows) / smallTilesTime.min / 1e9),
      ...cpuOf(smallTilesTime),
    });
    ctx.log(`peak dense, 4 rows × 4 outputs per invocation at ${smallRows} rows, one dispatch each: ${((dispatches * 2 * 64 * 64 * smallRows) / smallTilesTime.median / 1e9).toFixed(2)} GFLOP/s`);
    ctx.log(`peak: alu ${(aluFlops / aluTime.median / 1e9).toFixed(2)} GFLOP/s, empty dispatch ${((emptyTime.median / dispatches) * 1e6).toFixed(1)} µs`);
    const best = points.filter((p) => String(p.kernel).startsWith('dense') && p.rows === rows).reduce((a, b) => ((b.gflops as number) > (a.gflops as number) ? b : a));
    points.push(...(await workloadCeiling(ctx, repetitions)));
    return {
      unit: 'gflops',
      points,
      headline: points.indexOf(best),
      timing: `${WALL(1, repetitions)}; dense: ${dispatchesPerSubmit} dispatches per submit; empty and 128-row dense: ${dispatches} dispatches per submit; ceiling: ${options.quick ? CEILING_PASSES_ROWS / 4 : CEILING_PASSES_ROWS} rows of forward+backward passes per submit`,
      notes: [
        'headline: the best dense kernel at full size',
        'ceiling: the workload\'s limit, a 64→64 tanh layer forward + backward (weights and input gradient) through the real MLP kernels at the minibatch sizes training uses, every shape and reduction; ceiling_best is the fastest per row count, what training cases are reported against (of_ceiling)',
      ],
    };
  },
};

/**
 * The ceiling of this workload on the adapter (bench/lib/ceilingProbe.ts): every
 * shape × reduction at the row counts training uses. The dispatch cost is part
 * of it, as it is of training.
 */
async function workloadCeiling(ctx: CaseContext, repetitions: number): Promise<Point[]> {
  const { gpu, options } = ctx;
  const points: Point[] = [];
  for (const rows of ceilingRows(options.quick)) {
    const measured: Point[] = [];
    for (const shape of ceilingShapes(options.quick)) {
      for (const reduction of PARAM_REDUCTIONS) {
        const probe = await CeilingProbe.create(gpu, rows, shape, reduction, options.quick);
        const t = await repeat(1, repetitions, () => probe.time());
        measured.push({ kernel: 'ceiling', rows, shape, reduction, passes: probe.passes, dispatches_per_pass: probe.dispatchesPerPass, gflops: round(probe.flops / t.median / 1e9), best_gflops: round(probe.flops / t.min / 1e9), ...cpuOf(t) });
        probe.destroy();
      }
    }
    const best = measured.reduce((a, b) => ((b.gflops as number) > (a.gflops as number) ? b : a));
    points.push(...measured, { ...best, kernel: 'ceiling_best' });
    ctx.log(`ceiling ${rows} rows: ${best.gflops} GFLOP/s (${best.shape}, ${best.reduction})`);
  }
  return points;
}

/** The configurations fvp, cg and the training cases run at: presets (or --preset), with the command line's training flags over them. */
export function presetConfigs(ctx: CaseContext, algo: ResolvedConfig['algo']): { name: string; config: ResolvedConfig }[] {
  const { options } = ctx;
  // The presets differ in batch size only, which --quick replaces by a small one: one configuration is enough there.
  const presets = options.quick ? options.presets.slice(0, 1) : options.presets;
  return presets.map((preset) => ({ name: preset, config: resolveConfig({ preset, ...options.overrides, algo }) }));
}

/** A policy network and a batch of CartPole-like observations for the TRPO kernels. */
async function fisherSetup(gpu: GpuContext, config: ResolvedConfig, rows: number) {
  const { policy } = await trainerNetworks(gpu, config, 'bench.fvp');
  const random = (n: number, scale: number) => {
    let s = 12345;
    return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5) * 2 * scale);
  };
  const obs = storageBuffer(gpu, 'bench.fvp.obs', random(rows * config.derived.obsDim, 0.2));
  const vectorBytes = parameterVectorBytes(policy.layout);
  const vector = new Float32Array(vectorBytes / 4);
  vector.set(random(policy.layout.paramCount, 1e-2));
  const direction = storageBuffer(gpu, 'bench.fvp.vector', vector);
  const result = storageBuffer(gpu, 'bench.fvp.result', vectorBytes);
  const fvp = await FisherVectorProduct.create(gpu, { policy, rows, obs, damping: config.damping, label: 'bench.fvp' });
  return { policy, obs, direction, result, fvp };
}

/** The rows fvp and cg use: the configuration's batch, or a small one with --quick. */
function fisherRows(ctx: CaseContext, config: ResolvedConfig): number {
  return ctx.options.quick && ctx.options.overrides.stepsPerIter === undefined ? 2048 : config.derived.batchSize;
}

const fvpCase: BenchCase = {
  name: 'fvp',
  about: 'one Fisher-vector product of the policy over the batch (TRPO’s inner operation): milliseconds',
  async run(ctx) {
    const { gpu } = ctx;
    const repetitions = reps(ctx, 3, 7);
    const points: Point[] = [];
    const profiles: CaseOutcome['profiles'] = [];
    for (const { name, config } of presetConfigs(ctx, 'trpo')) {
      const rows = fisherRows(ctx, config);
      const { policy, direction, result, fvp } = await fisherSetup(gpu, config, rows);
      await timeSubmit(gpu, 'bench.fvp.forward', (pass) => fvp.encodeForward(pass));
      const encode = (pass: GPUComputePassEncoder) => fvp.encode(pass, direction, result);
      const t = await repeat(2, repetitions, () => timeSubmit(gpu, 'bench.fvp', encode));
      const cost = fisherVectorProductCost(layersOf(policy.layout), rows);
      points.push({ config: name, rows, hidden: config.hidden, ms: round(t.median * 1e3), best_ms: round(t.min * 1e3), ...cpuOf(t), dispatches: countDispatches(encode), gflops: round(cost.flops / t.median / 1e9), flops: cost.flops });
      ctx.log(`fvp ${name} (${rows} rows): ${(t.median * 1e3).toFixed(2)} ms`);
      if (ctx.options.profile) {
        const profile = await profileKernels(gpu, encode);
        if (profile) profiles.push({ what: `fvp ${name}`, profile });
      }
      fvp.destroy();
    }
    return { unit: 'ms', points, profiles, timing: `${WALL(2, repetitions)}; the forward at θ is done once before (CG reuses it)` };
  },
};

const cgCase: BenchCase = {
  name: 'cg',
  about: 'one full conjugate-gradient solve F x = g (cgIters iterations, FVP inside, the forward at θ included): milliseconds',
  async run(ctx) {
    const { gpu } = ctx;
    const repetitions = reps(ctx, 2, 5);
    const points: Point[] = [];
    const profiles: CaseOutcome['profiles'] = [];
    for (const { name, config } of presetConfigs(ctx, 'trpo')) {
      const rows = fisherRows(ctx, config);
      const { policy, direction, fvp } = await fisherSetup(gpu, config, rows);
      const cg = await ConjugateGradient.create(gpu, {
        count: policy.layout.paramCount,
        rhs: direction,
        applyOperator: (pass, v, r) => fvp.encode(pass, v, r),
        iterations: config.cgIters,
        label: 'bench.cg',
      });
      const encode = (pass: GPUComputePassEncoder) => {
        fvp.encodeForward(pass);
        cg.encode(pass);
      };
      const t: Samples = await repeat(1, repetitions, () => timeSubmit(gpu, 'bench.cg', encode));
      const layers = layersOf(policy.layout);
      const flops = forwardCost(layers, rows).flops + config.cgIters * fisherVectorProductCost(layers, rows).flops;
      points.push({ config: name, rows, cg_iters: config.cgIters, ms: round(t.median * 1e3), best_ms: round(t.min * 1e3), ...cpuOf(t), dispatches: countDispatches(encode), gflops: round(flops / t.median / 1e9), flops });
      ctx.log(`cg ${name} (${rows} rows, ${config.cgIters} iterations): ${(t.median * 1e3).toFixed(1)} ms`);
      if (ctx.options.profile) {
        const profile = await profileKernels(gpu, encode);
        if (profile) profiles.push({ what: `cg ${name}`, profile });
      }
      cg.destroy();
      fvp.destroy();
    }
    return { unit: 'ms', points, profiles, timing: WALL(1, repetitions) };
  },
};

export const KERNEL_CASES: BenchCase[] = [envCase, rolloutCase, mlpCase, peakCase, fusedCase, fvpCase, cgCase];
