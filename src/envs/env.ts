/**
 * An env as the engine sees it: a WGSL module with the functions
 * shaders/auto_reset.wgsl steps through (its header states the contract), and
 * this TS definition with the sizes and constants the host needs. The
 * vectorized env (vecEnv.ts) and the rollout (kernels/rollout.ts) take a
 * definition; neither knows any particular env.
 */
import randomWgsl from '../../shaders/random.wgsl?raw';
import trigWgsl from '../../shaders/trig.wgsl?raw';
import autoResetWgsl from '../../shaders/auto_reset.wgsl?raw';
import { wgslConstants } from '../gpu/wgsl';
import type { WgslPart } from '../gpu/kernel';
import { assertAgents, type Agents } from '../gpu/agents';
import { AGENT_PARAMS_BYTES, agentParamOffset } from '../core/agentParams';
import { MAX_POPULATION } from '../core/population';
import type { EnvSpec } from '../core/envSpecs';
import type { GpuContext } from '../gpu/device';

export type { ActionSpec, BoxActions, DiscreteActions, EnvSpec } from '../core/envSpecs';
import type { ActionSpec } from '../core/envSpecs';

/**
 * An env as the GPU kernels take it: its spec, its WGSL module and the values of
 * its EnvParams uniform. The built-ins are `CARTPOLE`, `ACROBOT`, ...;
 * `VecEnv.define` makes one from a `UserEnv`.
 */
export interface EnvDefinition {
  /** Sizes, action space and time limit. */
  spec: EnvSpec;
  /** The env module (WGSL source): EnvParams and the env_* functions. */
  wgsl: string;
  /** A value for every field of the module's EnvParams struct. */
  params: Readonly<Record<string, number>>;
  /** Where compile errors in `wgsl` point (e.g. a user's file name); default the env's id. */
  source?: string;
}

/** WGSL's EnvAction for an action space (auto_reset.wgsl steps with it). */
function envActionWgsl(action: ActionSpec): string {
  if (action.kind === 'discrete') return 'alias EnvAction = i32;\n';
  return wgslConstants({ ENV_ACTION_DIM: action.dim }) + 'alias EnvAction = array<f32, ENV_ACTION_DIM>;\n';
}

/**
 * The WGSL type of a row of `dim` f32s: a vector where one is as dense as the
 * array (2 or 4: whole-row vector loads and stores, which SwiftShader runs
 * ~1.5× faster than scalar ones in the env step), else an array. Either way
 * `row[k]` and `Row(a, b, ...)` read and build it, and a storage array of rows
 * is dense ([N][dim] f32), so the host layout does not depend on the choice.
 */
export function wgslRowType(dim: number): string {
  return dim === 2 || dim === 4 ? `vec${dim}<f32>` : `array<f32, ${dim}>`;
}

/**
 * The WGSL an env kernel family starts with: random.wgsl, trig.wgsl, the
 * definition's dimensions as constants, its row types (EnvState, EnvObs) and
 * EnvAction, auto_reset.wgsl and the env module (labelled, so a compile error
 * in it names the env and its own line). Families add common.wgsl before and
 * their own source after.
 */
export function envSources(env: EnvDefinition): WgslPart[] {
  const { id, obsDim, stateDim, action } = env.spec;
  const label = env.source ? `${env.source} (env ${id})` : `env ${id}`;
  const types = `alias EnvState = ${wgslRowType(stateDim)};\nalias EnvObs = ${wgslRowType(obsDim)};\n` + envActionWgsl(action);
  const constants = wgslConstants({ ENV_STATE_DIM: stateDim, ENV_OBS_DIM: obsDim, AGENT_SEED_ROWS: MAX_POPULATION / 4 });
  return [randomWgsl, trigWgsl, constants, types, autoResetWgsl, { label, code: env.wgsl }];
}

/** Bytes of auto_reset.wgsl's AgentSeeds uniform: one u32 per agent of the largest population. */
export const AGENT_SEEDS_BYTES = MAX_POPULATION * 4;

/**
 * The AgentSeeds uniform of an env family (auto_reset.wgsl): agent a's seed at
 * u32 a. From `agents`, each record's seed is copied on the GPU (submitted now;
 * agents.params needs COPY_SRC usage, as agentsBuffer's has); else the one agent's
 * `seed` is written. `where` names the caller in errors.
 */
export function agentSeedsUniform(gpu: GpuContext, label: string, where: string, source: { agents: Agents } | { seed: number }): GPUBuffer {
  if ('agents' in source) {
    const { agents } = source;
    assertAgents(where, agents);
    if (agents.count > MAX_POPULATION) throw new Error(`${where}: agents.count = ${agents.count} is out of range (an integer in 1..${MAX_POPULATION})`);
    if (!(agents.params.usage & GPUBufferUsage.COPY_SRC)) throw new Error(`${where}: agents.params (${agents.params.label}) needs COPY_SRC usage, to copy the seeds from`);
  }
  const buffer = gpu.device.createBuffer({ label, size: AGENT_SEEDS_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
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
