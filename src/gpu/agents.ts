/**
 * A population's agents as kernels bind them: how many, and the storage buffer
 * of their `AgentParams` records (src/core/agentParams.ts). Wrappers take an
 * `Agents` to run every agent in one dispatch; given scalar options instead,
 * they make a population of one from them, so the kernels have one path.
 * Kernels that cannot bind the records read the seeds from `agentSeedsUniform`.
 */
import agentSeedsWgsl from '../../shaders/agent_seeds.wgsl?raw';
import type { GpuContext } from './device';
import { storageBuffer, uniformBuffer } from './buffers';
import { wgslConstants } from './wgsl';
import { AGENT_PARAMS_BYTES, agentParamOffset, packAgentParams, type AgentParamValues } from '../core/agentParams';
import { MAX_POPULATION } from '../core/population';

/** The agents a dispatch covers: `count` records in `params` (a storage buffer). */
export interface Agents {
  readonly count: number;
  readonly params: GPUBuffer;
}

/** A storage buffer holding one AgentParams record per entry of `values` (agent k at record k). */
export function agentsBuffer(gpu: GpuContext, label: string, values: readonly AgentParamValues[]): Agents {
  const bytes = packAgentParams(values);
  const params = storageBuffer(gpu, label, new Uint32Array(bytes));
  return { count: values.length, params };
}

/** Checks that `agents.params` holds `agents.count` records; throws naming `what`. */
export function assertAgents(what: string, agents: Agents): void {
  if (!Number.isInteger(agents.count) || agents.count < 1) throw new Error(`${what}: agents.count must be a positive integer, got ${agents.count}`);
  if (agents.params.size < agents.count * AGENT_PARAMS_BYTES) {
    throw new Error(`${what}: agents.params holds ${Math.floor(agents.params.size / AGENT_PARAMS_BYTES)} AgentParams records, needs ${agents.count}`);
  }
}

/** shaders/agent_seeds.wgsl with its size constant: the AgentSeeds struct and `agent_seed(a)`, for a family binding `agentSeeds`. */
export const AGENT_SEEDS_WGSL: string = wgslConstants({ AGENT_SEED_ROWS: MAX_POPULATION / 4 }) + agentSeedsWgsl;

/** Bytes of the AgentSeeds uniform: one u32 per agent of the largest population. */
export const AGENT_SEEDS_BYTES = MAX_POPULATION * 4;

/**
 * The AgentSeeds uniform (shaders/agent_seeds.wgsl): agent a's seed at u32 a.
 * From `agents`, each record's seed is copied on the GPU (submitted now;
 * agents.params needs COPY_SRC usage, as agentsBuffer's has); else the one
 * agent's `seed` is written. `where` names the caller in errors. The caller
 * destroys the buffer.
 */
export function agentSeedsUniform(gpu: GpuContext, label: string, where: string, source: { agents: Agents } | { seed: number }): GPUBuffer {
  if ('agents' in source) {
    const { agents } = source;
    assertAgents(where, agents);
    if (agents.count > MAX_POPULATION) throw new Error(`${where}: agents.count = ${agents.count} is out of range (an integer in 1..${MAX_POPULATION})`);
    if (!(agents.params.usage & GPUBufferUsage.COPY_SRC)) throw new Error(`${where}: agents.params (${agents.params.label}) needs COPY_SRC usage, to copy the seeds from`);
  }
  const buffer = uniformBuffer(gpu, label, AGENT_SEEDS_BYTES);
  if ('seed' in source) {
    gpu.device.queue.writeBuffer(buffer, 0, new Uint32Array([source.seed]));
    return buffer;
  }
  const encoder = gpu.device.createCommandEncoder({ label: `${label}.copy` });
  const seedAt = agentParamOffset('seed');
  for (let a = 0; a < source.agents.count; a++) encoder.copyBufferToBuffer(source.agents.params, a * AGENT_PARAMS_BYTES + seedAt, buffer, 4 * a, 4);
  gpu.device.queue.submit([encoder.finish()]);
  return buffer;
}
