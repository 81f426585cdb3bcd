/**
 * A population's agents as kernels bind them: how many, and the storage buffer
 * of their `AgentParams` records (src/core/agentParams.ts). Wrappers take an
 * `Agents` to run every agent in one dispatch; given scalar options instead,
 * they make a population of one from them, so the kernels have one path.
 */
import type { GpuContext } from './device';
import { storageBuffer } from './buffers';
import { AGENT_PARAMS_BYTES, packAgentParams, type AgentParamValues } from '../core/agentParams';

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
