/**
 * Deterministic parallel reductions (shaders/reduce.wgsl): sum, sum of squares,
 * dot, mean, and mean with population standard deviation, written into a slot
 * of a small result buffer on the GPU. A Reduction is bound once to its input
 * and output; `encode` records two dispatches into the caller's pass. Given
 * `agents`, the same two dispatches reduce every agent's block of an
 * agent-major input into that agent's block of the output, each agent's result
 * bit for bit the single-agent one.
 */
import reduceWgsl from '../../shaders/reduce.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type Kernel, type StructView, recordChecked } from '../gpu/kernel';
import { storageBuffer, uniformBuffer } from '../gpu/buffers';
import { COMMON_WGSL, wgslConstants } from '../gpu/wgsl';
import type { Agents } from '../gpu/agents';

/** What a `Reduction` computes: 'meanStd' writes the mean and the population standard deviation in two slots. */
export type ReduceOp = 'sum' | 'sumSquares' | 'dot' | 'mean' | 'meanStd';

const OP_CODE = { sum: 0, sumSquares: 1, dot: 2 } as const;

/** Most partial results pass 1 writes; each covers at least MIN_PER_PARTIAL elements. */
const MAX_PARTIALS = 4096;
const MIN_PER_PARTIAL = 256;
/** Partials combined per block in the finish. */
export const FINISH_BLOCK = 64;

/** The constants reduce.wgsl reads: the op codes of partial_sums and FINISH_BLOCK. */
export const REDUCE_CONSTANTS = wgslConstants({ OP_SUM: OP_CODE.sum, OP_SUM_SQUARES: OP_CODE.sumSquares, OP_DOT: OP_CODE.dot, FINISH_BLOCK });

/** The reduction pipelines, compiled once per device. */
export class ReduceKernels {
  private constructor(
    readonly partialSums: Record<keyof typeof OP_CODE, Kernel>,
    readonly finishSums: Kernel,
    readonly partialMoments: Kernel,
    readonly finishMoments: Kernel,
    readonly args: StructView,
  ) {}

  /** Compiles reduce.wgsl once per device. */
  static create(gpu: GpuContext): Promise<ReduceKernels> {
    return perDevice(gpu, 'kernels:reduce', async () => {
      const family = await ShaderFamily.load(gpu, 'reduce', [COMMON_WGSL, REDUCE_CONSTANTS, reduceWgsl]);
      const [sum, sumSquares, dot, finishSums, partialMoments, finishMoments] = await Promise.all([
        family.kernel('partial_sums', { constants: { OP: OP_CODE.sum } }),
        family.kernel('partial_sums', { constants: { OP: OP_CODE.sumSquares } }),
        family.kernel('partial_sums', { constants: { OP: OP_CODE.dot } }),
        family.kernel('finish_sums'),
        family.kernel('partial_moments'),
        family.kernel('finish_moments'),
      ]);
      return new ReduceKernels({ sum, sumSquares, dot }, finishSums, partialMoments, finishMoments, family.struct('ReduceArgs'));
    });
  }
}

/** What a `Reduction` reads and where it writes. */
export interface ReductionOptions {
  /** f32 values; the reduction reads input[offset .. offset + count). */
  input: GPUBuffer;
  /** Elements to reduce. */
  count: number;
  /** The reduction. */
  op: ReduceOp;
  /** f32 result buffer: output[outputIndex] (meanStd: mean there, std at outputIndex + 1). */
  output: GPUBuffer;
  /** Slot of `output` the result goes to. */
  outputIndex: number;
  /** First element of input to read (default 0). */
  offset?: number;
  /** Second operand of 'dot', read from offsetB (default 0). */
  inputB?: GPUBuffer;
  /** First element of `inputB` to read (default 0). */
  offsetB?: number;
  /** Label of its buffers (default 'reduce.<op>'). */
  label?: string;
  /**
   * A population: every agent a reduces its own block of `input` (and
   * `inputB`) into its own block of `output`. Only `agents.count` is used
   * (a reduction has no hyperparameters). Default: one agent.
   */
  agents?: Agents;
  /** Floats between agents' blocks of `input` (default offset + count: the range is the whole block). */
  inputStride?: number;
  /** Floats between agents' blocks of `inputB` (default offsetB + count). */
  inputBStride?: number;
  /** Floats between agents' blocks of `output`, e.g. METRICS_BLOCK_FLOATS; required with `agents`. */
  outputStride?: number;
}

/** One reduction bound to its buffers: partials, uniform and bind groups made once. */
export class Reduction {
  private constructor(
    private readonly partialKernel: Kernel,
    private readonly finishKernel: Kernel,
    private readonly partialGroup: GPUBindGroup,
    private readonly finishGroup: GPUBindGroup,
    /** Partial results pass 1 writes (invocations of the first dispatch). */
    readonly partialCount: number,
    private readonly partials: GPUBuffer,
    private readonly args: GPUBuffer,
    /** Agents each dispatch covers. */
    readonly agentCount: number,
  ) {}

  /** How many partial results a reduction over `count` elements uses. */
  static partialCount(count: number): number {
    return Math.max(1, Math.min(MAX_PARTIALS, Math.floor(count / MIN_PER_PARTIAL)));
  }

  /** Binds a reduction to its buffers; throws when `input` (or `inputB`) is shorter than offset + count or `output` lacks the slot. */
  static create(gpu: GpuContext, kernels: ReduceKernels, options: ReductionOptions): Reduction {
    const { input, count, op, output, outputIndex } = options;
    const label = options.label ?? `reduce.${op}`;
    const offset = options.offset ?? 0;
    const offsetB = options.offsetB ?? 0;
    if (!Number.isInteger(count) || count < 1) throw new Error(`${label}: count must be a positive integer, got ${count}`);
    if (!(op in OP_CODE) && op !== 'mean' && op !== 'meanStd') {
      throw new Error(`${label}: op "${op}" is not one of sum, sumSquares, dot, mean, meanStd`);
    }
    const agentCount = options.agents?.count ?? 1;
    if (!Number.isInteger(agentCount) || agentCount < 1) throw new Error(`${label}: agents.count must be a positive integer, got ${agentCount}`);
    const slots = op === 'meanStd' ? 2 : 1;
    if (options.agents && options.outputStride === undefined) {
      throw new Error(`${label}: outputStride (floats between agents' output blocks) is required with agents`);
    }
    const strides = {
      input: options.inputStride ?? offset + count,
      inputB: options.inputBStride ?? offsetB + count,
      output: options.outputStride ?? outputIndex + slots,
    };
    const fits = (buffer: GPUBuffer, name: 'input' | 'inputB' | 'output', first: number, n: number) => {
      if (!Number.isInteger(first) || first < 0) throw new Error(`${label}: ${name} index must be a non-negative integer, got ${first}`);
      const stride = strides[name];
      if (!Number.isInteger(stride) || stride < first + n) {
        throw new Error(`${label}: ${name}Stride must be an integer ≥ ${first + n} (the block's ${n} values from ${first}), got ${stride}`);
      }
      const floats = (agentCount - 1) * stride + first + n;
      if (buffer.size < floats * 4) {
        const shape = agentCount > 1 ? `[${agentCount}][${stride}] ` : '';
        throw new Error(`${label}: ${name} buffer ${buffer.label} holds ${buffer.size / 4} floats, needs ${shape}${floats} (from ${first}, ${n} values)`);
      }
    };
    fits(input, 'input', offset, count);
    fits(output, 'output', outputIndex, slots);
    if (op === 'dot') {
      if (!options.inputB) throw new Error(`${label}: op "dot" needs inputB`);
      fits(options.inputB, 'inputB', offsetB, count);
    }
    const partialCount = Reduction.partialCount(count);
    const partials = storageBuffer(gpu, `${label}.partials`, agentCount * partialCount * 8);
    const args = uniformBuffer(
      gpu,
      `${label}.args`,
      kernels.args.pack({
        count,
        offset,
        offsetB,
        partialCount,
        outputIndex,
        divideByCount: op === 'mean' ? 1 : 0,
        inputStride: strides.input,
        inputBStride: strides.inputB,
        outputStride: strides.output,
      }),
    );
    const moments = op === 'meanStd';
    const partialKernel = moments ? kernels.partialMoments : kernels.partialSums[op === 'mean' ? 'sum' : op];
    const finishKernel = moments ? kernels.finishMoments : kernels.finishSums;
    const partialResources: Record<string, GPUBuffer> = { args, input, partials };
    if (!moments) partialResources.inputB = options.inputB ?? input;
    return new Reduction(
      partialKernel,
      finishKernel,
      partialKernel.bind(partialResources, label),
      finishKernel.bind({ args, partials, output }, label),
      partialCount,
      partials,
      args,
      agentCount,
    );
  }

  /** Records the two dispatches (partial results, then the finish) into `pass`. */
  encode(pass: GPUComputePassEncoder): void {
    recordChecked(this.partialKernel.gpu, 'Reduction.encode', pass, (pass) => {
      this.partialKernel.dispatch(pass, this.partialGroup, this.partialCount, undefined, this.agentCount);
      this.finishKernel.dispatch(pass, this.finishGroup, 1, undefined, this.agentCount);
    });
  }

  /** Releases the partials and the uniform (input and output belong to the caller). */
  destroy(): void {
    this.partials.destroy();
    this.args.destroy();
  }
}
