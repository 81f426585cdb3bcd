/**
 * Per-agent hyperparameters as the GPU sees them. A population keeps one
 * `AgentParams` record per agent in one storage buffer (agent-major), and every
 * kernel that uses one of these values reads `agents[agent].<field>` where
 * `agent` is its workgroup id along z. A single run is a population of one:
 * the same kernels, one record. PBT changes these records on the GPU.
 *
 * The record's fields are `AGENT_FIELDS` (src/core/population.ts), in order:
 * `seed` is u32, every other field f32. The WGSL struct is generated from that
 * list, so the host packing and the shaders cannot drift.
 */
import { AGENT_FIELDS, type AgentField } from './population';

/** Bytes of one AgentParams record (every field 4 bytes, struct alignment 4). */
export const AGENT_PARAMS_BYTES = AGENT_FIELDS.length * 4;

/** WGSL: `struct AgentParams { seed: u32, lr: f32, ... }`, for families that bind `agents`. */
export function agentParamsWgsl(): string {
  const fields = AGENT_FIELDS.map((name) => `  ${name}: ${name === 'seed' ? 'u32' : 'f32'},`).join('\n');
  return `// One agent's hyperparameters (src/core/agentParams.ts); agents[agent] with agent = workgroup id z.\nstruct AgentParams {\n${fields}\n}\n`;
}

/** The values of one agent's record; a field not given is written as 0. */
export type AgentParamValues = Partial<Record<AgentField, number>>;

/**
 * The records of `agents` packed for a storage buffer: record k at byte
 * k · AGENT_PARAMS_BYTES. Seeds must be u32 integers; other values are
 * rounded to f32 as a uniform would round them.
 */
export function packAgentParams(agents: readonly AgentParamValues[]): ArrayBuffer {
  if (agents.length < 1) throw new Error('packAgentParams: at least one agent is needed');
  const bytes = new ArrayBuffer(agents.length * AGENT_PARAMS_BYTES);
  const view = new DataView(bytes);
  agents.forEach((values, k) => {
    AGENT_FIELDS.forEach((field, i) => {
      const at = k * AGENT_PARAMS_BYTES + 4 * i;
      const v = values[field] ?? 0;
      if (field === 'seed') {
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`packAgentParams: agent ${k} seed ${v} is not a u32`);
        view.setUint32(at, v, true);
      } else view.setFloat32(at, v, true);
    });
  });
  return bytes;
}

/** Byte offset of `field` inside a record. */
export function agentParamOffset(field: AgentField): number {
  return AGENT_FIELDS.indexOf(field) * 4;
}

/**
 * The shortest decimal that is the same f32 as `value` (an f32 a record holds, e.g.
 * after PBT multiplied it): 0.16 rather than 0.1599999964237213.
 */
export function shortestF32(value: number): number {
  const f = Math.fround(value);
  if (!Number.isFinite(f)) return f;
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(f.toPrecision(digits));
    if (Math.fround(candidate) === f) return candidate;
  }
  return Number(f.toPrecision(9));
}
