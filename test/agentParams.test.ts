import { describe, expect, it } from 'vitest';
import { WgslSource } from '../src/gpu/kernel';
import { AGENT_FIELDS } from '../src/core/population';
import { AGENT_PARAMS_BYTES, agentParamOffset, agentParamsWgsl, packAgentParams } from '../src/core/agentParams';

describe('AgentParams records', () => {
  it('the generated WGSL struct has the packing offsets the host writes', () => {
    const struct = new WgslSource('agents', [agentParamsWgsl(), '@group(0) @binding(0) var<storage, read> agents: array<AgentParams>;\n@compute @workgroup_size(1) fn main() { _ = agents[0].seed; }']).struct('AgentParams');
    expect(struct.size).toBe(AGENT_PARAMS_BYTES);
    for (const field of AGENT_FIELDS) expect(struct.offsetOf(field)).toBe(agentParamOffset(field));
  });

  it('packs each agent at its record, seeds as u32 and the rest as f32, missing fields 0', () => {
    const bytes = packAgentParams([{ seed: 7, lr: 3e-4, gamma: 0.99 }, { seed: 4294967295, clip: 0.2 }]);
    const view = new DataView(bytes);
    expect(bytes.byteLength).toBe(2 * AGENT_PARAMS_BYTES);
    expect(view.getUint32(agentParamOffset('seed'), true)).toBe(7);
    expect(view.getFloat32(agentParamOffset('lr'), true)).toBe(Math.fround(3e-4));
    expect(view.getFloat32(agentParamOffset('gamma'), true)).toBe(Math.fround(0.99));
    expect(view.getFloat32(agentParamOffset('clip'), true)).toBe(0);
    expect(view.getUint32(AGENT_PARAMS_BYTES + agentParamOffset('seed'), true)).toBe(4294967295);
    expect(view.getFloat32(AGENT_PARAMS_BYTES + agentParamOffset('clip'), true)).toBe(Math.fround(0.2));
  });

  it('refuses an empty population and a seed that is not a u32', () => {
    expect(() => packAgentParams([])).toThrow(/at least one agent/);
    expect(() => packAgentParams([{ seed: -1 }])).toThrow(/agent 0 seed -1 is not a u32/);
    expect(() => packAgentParams([{ seed: 1 }, { seed: 1.5 }])).toThrow(/agent 1 seed 1.5/);
  });
});
