/**
 * The `fused` case: a fully fused dense chain in the manner of tiny-cuda-nn
 * (a workgroup keeps its row block's activations, and optionally the layer's
 * weights, in workgroup memory through every layer) against the forms the
 * engine ships, on one workload (bench/shaders/fused.wgsl): the forward pass
 * of 4 hidden 64 → 64 tanh layers at the row counts training uses. Every form
 * computes the same bits; the case reads each form's output back and says so.
 */
import fusedWgsl from '../shaders/fused.wgsl?raw';
import type { GpuContext } from '../../src/gpu/device';
import { ShaderFamily, type Kernel } from '../../src/gpu/kernel';
import { COMMON_WGSL, wgslConstants } from '../../src/gpu/wgsl';
import { readFloat32, storageBuffer, uniformBuffer } from '../../src/gpu/buffers';
import { repeat, timeSubmit } from './timing';
import type { BenchCase, Point } from './types';

/** Hidden 64 → 64 layers in the measured chain. */
export const FUSED_LAYERS = 4;

export type FusedForm = 'layer_tiles' | 'chain_storage' | 'chain_workgroup' | 'chain_workgroup_weights' | 'chain_own_rows' | 'chain_private';
export const FUSED_FORMS: readonly FusedForm[] = ['layer_tiles', 'chain_storage', 'chain_workgroup', 'chain_workgroup_weights', 'chain_own_rows', 'chain_private'];

/** Rows a chain workgroup owns (BLOCK_ROWS in the shader); chain_private's invocations own 4. */
const BLOCK_ROWS = 16;

/** Workgroup memory chain_workgroup_weights needs: two 16-row blocks and one layer's weights. */
export const WORKGROUP_WEIGHTS_BYTES = (2 * BLOCK_ROWS * 64 + 64 * 64) * 4;

export function fusedSources(layers = FUSED_LAYERS): string[] {
  return [COMMON_WGSL, wgslConstants({ LAYERS: layers }), fusedWgsl];
}

/** The buffers of one measured chain: weights [layers][64][64], activation blocks [layers + 1][rows][64] (block 0 the input). */
export interface FusedChain {
  rows: number;
  layers: number;
  weights: GPUBuffer;
  acts: GPUBuffer;
  /** layer_tiles' per-layer arguments (layer l in slot l); the chains use the first. */
  args: GPUBuffer[];
}

export function fusedChain(gpu: GpuContext, family: ShaderFamily, rows: number, weights: Float32Array, input: Float32Array, layers = FUSED_LAYERS): FusedChain {
  const acts = new Float32Array((layers + 1) * rows * 64);
  acts.set(input);
  const argsView = family.struct('FusedArgs');
  return {
    rows,
    layers,
    weights: storageBuffer(gpu, 'fused.weights', weights),
    acts: storageBuffer(gpu, 'fused.acts', acts),
    args: Array.from({ length: layers }, (_, layer) => uniformBuffer(gpu, `fused.args${layer}`, argsView.pack({ rows, layer }))),
  };
}

/** Dispatches of one pass of `form` (one per layer for layer_tiles, else one). */
export function fusedDispatches(form: FusedForm, layers = FUSED_LAYERS): number {
  return form === 'layer_tiles' ? layers : 1;
}

/** Records one forward pass of `form` over `chain`: bind groups made once, then `passes` passes. */
export function fusedEncoder(kernel: Kernel, form: FusedForm, chain: FusedChain): (pass: GPUComputePassEncoder) => void {
  const { rows, weights, acts, args } = chain;
  if (form === 'layer_tiles') {
    const groups = args.map((a, l) => kernel.bind({ args: a, weights, acts }, `layer${l}`));
    return (pass) => groups.forEach((group) => kernel.dispatch(pass, group, Math.ceil(rows / 4) * 16));
  }
  const group = kernel.bind({ args: args[0], weights, acts }, form);
  const invocations = form === 'chain_private' || form === 'chain_own_rows' ? Math.ceil(rows / 4) : Math.ceil(rows / BLOCK_ROWS) * 64;
  return (pass) => kernel.dispatch(pass, group, invocations);
}

/** The forms this device can compile: chain_workgroup_weights needs 24 KiB of workgroup memory. */
export function fusedFormsFor(gpu: GpuContext): FusedForm[] {
  return FUSED_FORMS.filter((form) => form !== 'chain_workgroup_weights' || gpu.limits.maxComputeWorkgroupStorageSize >= WORKGROUP_WEIGHTS_BYTES);
}

const round = (x: number, digits = 4) => Number(x.toPrecision(digits));

/** Seeded weights (|w| ≤ 1/8, so tanh stays off its flat ends) and inputs in [−1, 1]. */
export function fusedInputs(rows: number, layers = FUSED_LAYERS): { weights: Float32Array; input: Float32Array } {
  return {
    weights: Float32Array.from({ length: layers * 64 * 64 }, (_, k) => Math.sin(k * 0.37) / 8),
    input: Float32Array.from({ length: rows * 64 }, (_, k) => Math.cos(k * 0.11)),
  };
}

export const fusedCase: BenchCase = {
  name: 'fused',
  about: 'fully fused dense chains (tiny-cuda-nn style): 4 hidden 64→64 tanh layers per pass with activations (and weights) in workgroup memory, against per-layer dispatches, storage chains and register chains',
  async run(ctx) {
    const { gpu, options } = ctx;
    const repetitions = ctx.options.reps ?? (options.quick ? 3 : 5);
    const family = await ShaderFamily.load(gpu, 'fused', fusedSources());
    const forms = fusedFormsFor(gpu);
    const rowCounts = options.quick ? [128, 2048] : [128, 2048, 8192];
    // Rows of passes per submit, so a submit does the same work at every row count.
    const submitRows = options.quick ? 8192 : 32768;
    const points: Point[] = [];
    const notes: string[] = [];
    if (!forms.includes('chain_workgroup_weights')) notes.push(`chain_workgroup_weights skipped: it needs ${WORKGROUP_WEIGHTS_BYTES} bytes of workgroup memory, the device allows ${gpu.limits.maxComputeWorkgroupStorageSize}`);
    for (const rows of rowCounts) {
      const { weights, input } = fusedInputs(rows);
      const passes = Math.max(1, Math.round(submitRows / rows));
      const flops = passes * FUSED_LAYERS * 2 * 64 * 64 * rows;
      let reference: Float32Array | null = null;
      for (const form of forms) {
        for (const workgroupSize of form === 'chain_private' || form === 'chain_own_rows' ? [64, 8] : [64]) {
          const kernel = await family.kernel(form, workgroupSize === 64 ? {} : { constants: { WG: workgroupSize } });
          const chain = fusedChain(gpu, family, rows, weights, input);
          const encode = fusedEncoder(kernel, form, chain);
          const t = await repeat(1, repetitions, () =>
            timeSubmit(gpu, `fused.${form}`, (pass) => {
              for (let p = 0; p < passes; p++) encode(pass);
            }),
          );
          const output = await readFloat32(gpu, chain.acts, FUSED_LAYERS * rows * 64, rows * 64);
          reference ??= output;
          const sameBits = output.every((v, i) => Object.is(v, reference![i]));
          chain.weights.destroy();
          chain.acts.destroy();
          chain.args.forEach((b) => b.destroy());
          const gflops = flops / t.median / 1e9;
          points.push({
            kernel: form,
            rows,
            layers: FUSED_LAYERS,
            workgroup_size: workgroupSize,
            dispatches_per_pass: fusedDispatches(form),
            passes_per_submit: passes,
            us_per_pass: round((t.median / passes) * 1e6),
            gflops: round(gflops),
            best_gflops: round(flops / t.min / 1e9),
            ...(t.cpuMedian === null ? {} : { cpu_s: round(t.cpuMedian) }),
            same_bits_as_layer_tiles: sameBits,
          });
          ctx.log(`fused ${form}${workgroupSize !== 64 || form === 'chain_private' || form === 'chain_own_rows' ? ` (workgroups of ${workgroupSize})` : ''} at ${rows} rows: ${gflops.toFixed(2)} GFLOP/s, ${((t.median / passes) * 1e6).toFixed(0)} µs per pass${sameBits ? '' : ' (NOT the same bits as layer_tiles)'}`);
        }
      }
    }
    return {
      unit: 'gflops',
      points,
      timing: `wall time of one submit to onSubmittedWorkDone, median of ${repetitions} after 1 warm-up; ${submitRows} rows of passes per submit`,
      notes: [
        `each pass: ${FUSED_LAYERS} hidden 64→64 tanh layers forward, ${FUSED_LAYERS} · 2 · 64 · 64 FLOPs a row; every form computes each 4 × 4 tile in the same order, so same_bits_as_layer_tiles should hold everywhere`,
        ...notes,
      ],
    };
  },
};
