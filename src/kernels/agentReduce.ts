/**
 * Reductions over every agent of a population in one pair of dispatches
 * (shaders/agent_reduce.wgsl): sum, sum of squares, dot and mean of each
 * agent's block, into each agent's slot of a small result buffer. Within an
 * agent the order is reduce.wgsl's, so agent a's value equals a `Reduction`
 * over its block bit for bit (a population of one is a single run).
 *
 * Its options are those of `Reduction` (src/kernels/reduce.ts) with the agent
 * strides, so call sites move to `Reduction` unchanged once reduce.ts has agents.
 */
import agentReduceWgsl from '../../shaders/agent_reduce.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type Kernel, type StructView, recordChecked } from '../gpu/kernel';
import { storageBuffer, uniformBuffer } from '../gpu/buffers';
import { COMMON_WGSL } from '../gpu/wgsl';
import { REDUCE_CONSTANTS, Reduction } from './reduce';
import type { Agents } from '../gpu/agents';

/** What an `AgentReduction` computes ('mean' divides the sum by count). */
export type AgentReduceOp = 'sum' | 'sumSquares' | 'dot' | 'mean';

const OP_CODE = { sum: 0, sumSquares: 1, dot: 2 } as const;

/** The per-agent reduction pipelines, compiled once per device. */
export interface AgentReduceKernels {
  partialSums: Record<keyof typeof OP_CODE, Kernel>;
  finishSums: Kernel;
  args: StructView;
}

/** agent_reduce.wgsl with what it is loaded after. */
export const AGENT_REDUCE_SOURCES: readonly string[] = [COMMON_WGSL, REDUCE_CONSTANTS, agentReduceWgsl];

/** Compiles agent_reduce.wgsl once per device. */
export function agentReduceKernels(gpu: GpuContext): Promise<AgentReduceKernels> {
  return perDevice(gpu, 'kernels:agent_reduce', async () => {
    const family = await ShaderFamily.load(gpu, 'agent_reduce', AGENT_REDUCE_SOURCES);
    const [sum, sumSquares, dot, finishSums] = await Promise.all([
      family.kernel('partial_sums', { constants: { OP: OP_CODE.sum } }),
      family.kernel('partial_sums', { constants: { OP: OP_CODE.sumSquares } }),
      family.kernel('partial_sums', { constants: { OP: OP_CODE.dot } }),
      family.kernel('finish_sums'),
    ]);
    return { partialSums: { sum, sumSquares, dot }, finishSums, args: family.struct('AgentReduceArgs') };
  });
}

/** What an `AgentReduction` reads and where it writes (all indices in f32 elements). */
export interface AgentReductionOptions {
  /** Agents reduced, one block each (only the count is used); default one. */
  agents?: Agents;
  /** Agent a reads input[a · inputStride + offset + k], k < count. */
  input: GPUBuffer;
  inputStride: number;
  count: number;
  op: AgentReduceOp;
  /** Agent a's result goes to output[a · outputStride + outputIndex]. */
  output: GPUBuffer;
  outputIndex: number;
  outputStride: number;
  offset?: number;
  /** Second operand of 'dot': inputB[a · inputBStride + offsetB + k]. */
  inputB?: GPUBuffer;
  inputBStride?: number;
  offsetB?: number;
  label?: string;
}

/** One per-agent reduction bound to its buffers; `encode` records two dispatches whatever the agent count. */
export class AgentReduction {
  private constructor(
    private readonly partialKernel: Kernel,
    private readonly finishKernel: Kernel,
    private readonly partialGroup: GPUBindGroup,
    private readonly finishGroup: GPUBindGroup,
    private readonly partialCount: number,
    private readonly agents: number,
    private readonly owned: GPUBuffer[],
  ) {}

  /** Binds the reduction; throws naming the buffer that is too short for the agents' blocks. */
  static create(gpu: GpuContext, kernels: AgentReduceKernels, options: AgentReductionOptions): AgentReduction {
    const { input, count, op, output, outputIndex, inputStride, outputStride } = options;
    const agents = options.agents?.count ?? 1;
    const label = options.label ?? `agentReduce.${op}`;
    const offset = options.offset ?? 0;
    const offsetB = options.offsetB ?? 0;
    const inputBStride = options.inputBStride ?? inputStride;
    if (!Number.isInteger(agents) || agents < 1) throw new Error(`${label}: agents.count must be a positive integer, got ${agents}`);
    if (!Number.isInteger(count) || count < 1) throw new Error(`${label}: count must be a positive integer, got ${count}`);
    if (!(op in OP_CODE) && op !== 'mean') throw new Error(`${label}: op "${op}" is not one of sum, sumSquares, dot, mean`);
    const fits = (buffer: GPUBuffer, name: string, stride: number, first: number, n: number) => {
      if (!Number.isInteger(stride) || stride < 0) throw new Error(`${label}: ${name} stride must be a non-negative integer, got ${stride}`);
      if (!Number.isInteger(first) || first < 0) throw new Error(`${label}: ${name} index must be a non-negative integer, got ${first}`);
      const need = (agents - 1) * stride + first + n;
      if (buffer.size < need * 4) {
        throw new Error(`${label}: ${name} buffer ${buffer.label} holds ${buffer.size / 4} floats, needs ${need} ([${agents}] blocks of ${stride}, from ${first}, ${n} values)`);
      }
    };
    fits(input, 'input', inputStride, offset, count);
    fits(output, 'output', outputStride, outputIndex, 1);
    if (op === 'dot') {
      if (!options.inputB) throw new Error(`${label}: op "dot" needs inputB`);
      fits(options.inputB, 'inputB', inputBStride, offsetB, count);
    }
    const partialCount = Reduction.partialCount(count);
    const partials = storageBuffer(gpu, `${label}.partials`, agents * partialCount * 4);
    const args = uniformBuffer(
      gpu,
      `${label}.args`,
      kernels.args.pack({ count, offset, offsetB, partialCount, outputIndex, divideByCount: op === 'mean' ? 1 : 0, inputStride, inputBStride, outputStride }),
    );
    const partialKernel = kernels.partialSums[op === 'mean' ? 'sum' : op];
    return new AgentReduction(
      partialKernel,
      kernels.finishSums,
      partialKernel.bind({ args, input, inputB: options.inputB ?? input, partials }, label),
      kernels.finishSums.bind({ args, partials, output }, label),
      partialCount,
      agents,
      [partials, args],
    );
  }

  /** Records the two dispatches (every agent's partial results, then every agent's finish). */
  encode(pass: GPUComputePassEncoder): void {
    recordChecked(this.partialKernel.gpu, 'AgentReduction.encode', pass, (pass) => {
      this.partialKernel.dispatch(pass, this.partialGroup, this.partialCount, undefined, this.agents);
      this.finishKernel.dispatch(pass, this.finishGroup, 1, undefined, this.agents);
    });
  }

  /** Releases the partials and the uniform (input and output belong to the caller). */
  destroy(): void {
    for (const b of this.owned) b.destroy();
  }
}
