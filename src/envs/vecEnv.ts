/**
 * VecEnv: N envs of one definition stepped on the GPU (shaders/vec_env.wgsl
 * over auto_reset.wgsl and the env's module), with same-step auto-reset.
 * CartPoleVec is CartPole-v1's name for it.
 *
 * Two paths: `encodeStep(pass)` steps on actions already in `buffers.actions`
 * (what benchmarks use, no host traffic); `step(actions)` uploads actions and
 * reads every result back (tests and interop).
 *
 * Populations: with `agents` (P agents), every buffer holds P blocks, agent-major,
 * agent a's block being what a single env of `numEnvs` envs with agent a's seed
 * holds, and each dispatch covers all P agents (src/gpu/agents.ts).
 */
import vecEnvWgsl from '../../shaders/vec_env.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, type Kernel, type WgslPart, recordChecked } from '../gpu/kernel';
import { storageBuffer, uniformBuffer, readFloat32, submitPass } from '../gpu/buffers';
import { GpuArray } from '../gpu/array';
import { COMMON_WGSL } from '../gpu/wgsl';
import { envSources, type EnvDefinition, type EnvSpec } from './env';
import { AGENT_SEEDS_WGSL, agentSeedsUniform, type Agents } from '../gpu/agents';
import { envDefinition, checkUserEnv, registerEnv, type UserEnv } from './registry';
import { CARTPOLE } from './cartpole';

/** Options of `VecEnv.create`; each is checked (one error naming the field) before any GPU work. */
export interface VecEnvOptions {
  /** A registered env id (src/envs/registry.ts), e.g. 'CartPole-v1'. */
  id: string;
  /** Envs per agent. */
  numEnvs: number;
  /** uint32; with the env index and episode it fixes every reset state. Required unless `agents` is given. */
  seed?: number;
  /**
   * A population: P = agents.count agents of numEnvs envs each, agent a's envs
   * keyed by its AgentParams seed (read once, here) exactly as a single env with
   * that seed; every buffer and array then holds [P][numEnvs]... blocks. Not with `seed`.
   */
  agents?: Agents;
  /** Steps after which an episode is truncated (default the env's time limit). */
  maxEpisodeSteps?: number;
  /** Invocations per workgroup for the env kernels (default 64). */
  workgroupSize?: number;
}

/** GPU buffers of the env, for kernels and copies that work on them directly. */
export interface VecEnvBuffers {
  /** VecEnvArgs: numEnvs, maxEpisodeSteps. */
  vecEnv: GPUBuffer;
  /** AgentSeeds (uniform, shaders/agent_seeds.wgsl): each agent's seed. */
  agentSeeds: GPUBuffer;
  /** The env's EnvParams. */
  envParams: GPUBuffer;
  /** numEnvs × stateDim, Gymnasium's state order. */
  state: GPUBuffer;
  /** numEnvs × obsDim: the current observations. */
  obs: GPUBuffer;
  elapsedSteps: GPUBuffer;
  episodeCount: GPUBuffer;
  /** Read by each step: numEnvs × i32 (discrete) or numEnvs × dim f32 (box). */
  actions: GPUBuffer;
  reward: GPUBuffer;
  /** bit 0 terminated, bit 1 truncated */
  doneFlags: GPUBuffer;
  /** numEnvs × obsDim: the observation each step reached, before any reset. */
  finalObs: GPUBuffer;
}

/** What `VecEnv.step` reads back: per-env rows, env-major (N = numEnvs; a population's P·N rows, agent-major). */
export interface VecEnvStepResult {
  /** numEnvs × obsDim: the observation after the step, the reset one for envs that just ended. */
  obs: Float32Array;
  /** Each env's reward for the step, f32 [N]. */
  reward: Float32Array;
  /** 1 where the env's episode ended in a terminal state, [N]. */
  terminated: Uint8Array;
  /** 1 where the env's episode hit the time limit (maxEpisodeSteps) without terminating, [N]. */
  truncated: Uint8Array;
  /** numEnvs × obsDim: the observation the step reached, before any reset. */
  finalObs: Float32Array;
}

/**
 * The env's per-env buffers as GpuArrays (N = numEnvs), to feed kernels: `mlp.prepare({ input: env.arrays.obs, ... })`.
 * For a population of P > 1 agents each shape has a leading [P] (obs is f32 [P][N][obsDim]).
 */
export interface VecEnvArrays {
  /** f32 [N][stateDim] */
  state: GpuArray<'f32'>;
  /** f32 [N][obsDim] */
  obs: GpuArray<'f32'>;
  /** i32 [N] (discrete) or f32 [N][dim] (box) */
  actions: GpuArray<'i32'> | GpuArray<'f32'>;
  /** f32 [N] */
  reward: GpuArray<'f32'>;
  /** u32 [N]: bit 0 terminated, bit 1 truncated */
  doneFlags: GpuArray<'u32'>;
  /** f32 [N][obsDim] */
  finalObs: GpuArray<'f32'>;
}

/** What `VecEnv.open` builds; the constructor keeps it. */
interface VecEnvParts {
  /** The class name, for messages. */
  name: string;
  spec: EnvSpec;
  numEnvs: number;
  seed: number | undefined;
  agentCount: number;
  buffers: VecEnvBuffers;
  step: { kernel: Kernel; bindGroup: GPUBindGroup };
  setState: { kernel: Kernel; bindGroup: GPUBindGroup };
}

const UINT32_MAX = 0xffffffff;

/** What a wrong argument is, in a message: its constructor name, or its type and value. */
function kindOf(value: unknown): string {
  if (value === null || typeof value !== 'object') return `${typeof value} ${String(value)}`;
  return (value as object).constructor?.name ?? 'an object';
}

function vecEnvSources(env: EnvDefinition): WgslPart[] {
  return [COMMON_WGSL, ...envSources(env), AGENT_SEEDS_WGSL, vecEnvWgsl];
}

function checkInteger(where: string, field: string, value: number, lo: number, hi: number): void {
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new Error(`${where}: ${field} = ${value} is out of range (an integer in ${lo}..${hi})`);
  }
}

/**
 * N copies of one env stepped together on the GPU, with Gymnasium's auto-reset:
 * `VecEnv.create(gpu, { id, numEnvs, seed })`, then `step(actions)` or the
 * buffers bound into your own kernels. Each env's reset states come from
 * (seed, env index, episode), so a run is reproducible.
 */
export class VecEnv {
  /** The env's spec, with the time limit this instance uses. */
  readonly spec: EnvSpec;
  /** Envs per agent. */
  readonly numEnvs: number;
  /** The seed option; undefined for a population (each agent's seed is in its AgentParams). */
  readonly seed: number | undefined;
  /** P, the agents stepped (1 without `agents`). */
  readonly agentCount: number;
  readonly buffers: VecEnvBuffers;
  /** The same buffers as GpuArrays, with dtype and shape. */
  readonly arrays: VecEnvArrays;
  private readonly name: string;

  /** Staging buffers for `step` readbacks; a pool so overlapping calls never share one. */
  private readonly freeStaging: GPUBuffer[] = [];
  private readonly stepDispatch: VecEnvParts['step'];
  private readonly setStateDispatch: VecEnvParts['setState'];

  protected constructor(
    readonly gpu: GpuContext,
    parts: VecEnvParts,
  ) {
    this.name = parts.name;
    this.spec = parts.spec;
    this.numEnvs = parts.numEnvs;
    this.seed = parts.seed;
    this.agentCount = parts.agentCount;
    this.buffers = parts.buffers;
    this.stepDispatch = parts.step;
    this.setStateDispatch = parts.setState;
    const { numEnvs: n, spec } = this;
    const b = this.buffers;
    // A population's arrays lead with the agent dimension; a single env's keep their [N]... shapes.
    const agentDims = this.agentCount > 1 ? [this.agentCount] : [];
    const f32 = (buffer: GPUBuffer, ...shape: number[]) => GpuArray.wrap(gpu, buffer, 'f32', [...agentDims, ...shape]);
    this.arrays = {
      state: f32(b.state, n, spec.stateDim),
      obs: f32(b.obs, n, spec.obsDim),
      actions: spec.action.kind === 'box' ? f32(b.actions, n, spec.action.dim) : GpuArray.wrap(gpu, b.actions, 'i32', [...agentDims, n]),
      reward: f32(b.reward, n),
      doneFlags: GpuArray.wrap(gpu, b.doneFlags, 'u32', [...agentDims, n]),
      finalObs: f32(b.finalObs, n, spec.obsDim),
    };
  }

  get maxEpisodeSteps(): number {
    return this.spec.maxEpisodeSteps;
  }

  /** Most envs one buffer binding can hold (a state or an observation row each): a population's P·numEnvs. */
  static maxEnvs(gpu: GpuContext, spec: Pick<EnvSpec, 'obsDim' | 'stateDim'>): number {
    const rowBytes = 4 * Math.max(spec.obsDim, spec.stateDim);
    return Math.floor(Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize) / rowBytes);
  }

  /** Validates the options, allocates the env and resets every env to its episode 0. */
  static async create(gpu: GpuContext, options: VecEnvOptions): Promise<VecEnv> {
    const { id, ...rest } = options;
    return new VecEnv(gpu, await VecEnv.open(gpu, envDefinition(id), rest, 'VecEnv'));
  }

  /**
   * Registers a user's env from its WGSL module (the contract is in
   * shaders/auto_reset.wgsl's header) so `create`, the rollout and the trainer
   * take its id. Checked before any GPU work, then compiled: a compile error
   * names the env (its `source`, e.g. the file name) and the line in its module.
   */
  static async define(gpu: GpuContext, env: UserEnv): Promise<EnvDefinition> {
    const definition = checkUserEnv(env);
    await ShaderFamily.load(gpu, 'vec_env', vecEnvSources(definition));
    return registerEnv(env);
  }

  protected static async open(gpu: GpuContext, env: EnvDefinition, options: Omit<VecEnvOptions, 'id'>, name: string): Promise<VecEnvParts> {
    const where = `${name}.create`;
    const { numEnvs, seed, agents } = options;
    const maxEpisodeSteps = options.maxEpisodeSteps ?? env.spec.maxEpisodeSteps;
    const workgroupSize = options.workgroupSize ?? 64;
    const { obsDim, stateDim } = env.spec;
    if (agents && seed !== undefined) throw new Error(`${where}: seed = ${seed} is not used with agents (each agent's seed is its AgentParams seed); leave it out`);
    const agentCount = agents?.count ?? 1;
    if (agents && (!Number.isInteger(agentCount) || agentCount < 1)) throw new Error(`${where}: agents.count = ${agentCount} is out of range (a positive integer)`);
    checkInteger(where, 'numEnvs', numEnvs, 1, Math.floor(VecEnv.maxEnvs(gpu, env.spec) / agentCount));
    if (!agents) checkInteger(where, 'seed', seed as number, 0, UINT32_MAX);
    checkInteger(where, 'maxEpisodeSteps', maxEpisodeSteps, 1, UINT32_MAX);
    checkInteger(where, 'workgroupSize', workgroupSize, 1, gpu.limits.maxComputeInvocationsPerWorkgroup);
    const label = `vec_env.${env.spec.id}`;
    const agentSeeds = agentSeedsUniform(gpu, `${label}.agentSeeds`, where, agents ? { agents } : { seed: seed as number });

    const family = await ShaderFamily.load(gpu, 'vec_env', vecEnvSources(env));
    const constants = { WG: workgroupSize };
    const kernels = await family.kernels({ reset_all: { constants }, set_state: { constants }, step: { constants } });
    const perEnv = (role: string, floats: number) => storageBuffer(gpu, `${label}.${role}`, agentCount * numEnvs * floats * 4);
    const buffers: VecEnvBuffers = {
      vecEnv: uniformBuffer(gpu, `${label}.vecEnv`, family.struct('VecEnvArgs').pack({ numEnvs, maxEpisodeSteps })),
      agentSeeds,
      envParams: uniformBuffer(gpu, `${label}.envParams`, family.struct('EnvParams').pack(env.params)),
      state: perEnv('state', stateDim),
      obs: perEnv('obs', obsDim),
      elapsedSteps: perEnv('elapsedSteps', 1),
      episodeCount: perEnv('episodeCount', 1),
      actions: perEnv('actions', env.spec.action.kind === 'box' ? env.spec.action.dim : 1),
      reward: perEnv('reward', 1),
      doneFlags: perEnv('doneFlags', 1),
      finalObs: perEnv('finalObs', obsDim),
    };
    const resources = { ...buffers };
    const resetBindGroup = kernels.reset_all.bindUsed(resources, 'reset');
    submitPass(gpu, `${label}.reset_all`, (pass) => kernels.reset_all.dispatch(pass, resetBindGroup, numEnvs, undefined, agentCount));
    return {
      name,
      spec: { ...env.spec, maxEpisodeSteps },
      numEnvs,
      seed,
      agentCount,
      buffers,
      step: { kernel: kernels.step, bindGroup: kernels.step.bindUsed(resources, 'step') },
      setState: { kernel: kernels.set_state, bindGroup: kernels.set_state.bindUsed(resources, 'setState') },
    };
  }

  /** `numEnvs`, or `P × numEnvs` for a population: how the host arrays' lengths are counted in messages. */
  private get rowsText(): string {
    return this.agentCount > 1 ? `agents × numEnvs = ${this.agentCount} × ${this.numEnvs}` : 'numEnvs';
  }

  /** Envs of every agent: the rows of every host array. */
  private get rows(): number {
    return this.agentCount * this.numEnvs;
  }

  /**
   * Replaces every env's state (numEnvs × stateDim, Gymnasium's order; a population's
   * P × numEnvs × stateDim, agent-major) and zeroes its elapsed steps; episode indices stay.
   */
  setState(states: Float32Array): void {
    const { stateDim } = this.spec;
    const given: unknown = states;
    if (!(given instanceof Float32Array) && !(given instanceof Float64Array)) {
      throw new Error(`${this.name}.setState: states must be a Float32Array (or Float64Array) of ${this.rowsText} × ${stateDim}, got ${kindOf(states)}`);
    }
    if (states.length !== stateDim * this.rows) {
      throw new Error(`${this.name}.setState: states.length = ${states.length}, expected ${this.rowsText} × ${stateDim} = ${stateDim * this.rows}`);
    }
    const bad = states.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${this.name}.setState: states[${bad}] = ${states[bad]} is not a finite number`);
    this.gpu.device.queue.writeBuffer(this.buffers.state, 0, new Float32Array(states));
    const { kernel, bindGroup } = this.setStateDispatch;
    submitPass(this.gpu, `vec_env.${this.spec.id}.set_state`, (pass) => kernel.dispatch(pass, bindGroup, this.numEnvs, undefined, this.agentCount));
  }

  /** Records one step of every env on the actions in `buffers.actions`. */
  encodeStep(pass: GPUComputePassEncoder): void {
    recordChecked(this.gpu, `${this.name}.encodeStep`, pass, (pass) => {
      this.stepDispatch.kernel.dispatch(pass, this.stepDispatch.bindGroup, this.numEnvs, undefined, this.agentCount);
    });
  }

  /**
   * Steps every env with `actions` and reads back the results: numEnvs action
   * indices (Int32Array) for discrete actions, numEnvs × dim floats
   * (Float32Array, any finite value: the env clips to its bounds) for a box;
   * a population's P × numEnvs rows of them, agent-major.
   */
  async step(actions: Int32Array | Float32Array): Promise<VecEnvStepResult> {
    const n = this.rows;
    const where = `${this.name}.step`;
    const action = this.spec.action;
    if (action.kind === 'discrete' && !(actions instanceof Int32Array)) {
      throw new Error(`${where}: actions must be an Int32Array of ${this.rowsText} action indices, got ${kindOf(actions)}`);
    }
    if (action.kind === 'box' && !(actions instanceof Float32Array)) {
      throw new Error(`${where}: actions must be a Float32Array of ${this.rowsText} × ${action.dim} values, got ${kindOf(actions)}`);
    }
    if (action.kind === 'discrete') {
      if (actions.length !== n) throw new Error(`${where}: actions.length = ${actions.length}, expected ${this.rowsText} = ${n}`);
      const bad = actions.findIndex((a) => !(a >= 0 && a < action.n));
      if (bad >= 0) throw new Error(`${where}: actions[${bad}] = ${actions[bad]} is out of range (an integer in 0..${action.n - 1})`);
    } else {
      if (actions.length !== n * action.dim) throw new Error(`${where}: actions.length = ${actions.length}, expected ${this.rowsText} × ${action.dim} = ${n * action.dim}`);
      const bad = actions.findIndex((a) => !Number.isFinite(a));
      if (bad >= 0) throw new Error(`${where}: actions[${bad}] = ${actions[bad]} is not a finite number`);
    }

    const { device } = this.gpu;
    const b = this.buffers;
    const obsFloats = this.spec.obsDim * n;
    // Readback layout: obs, reward, doneFlags, finalObs.
    const parts = [
      { source: b.obs, bytes: 4 * obsFloats },
      { source: b.reward, bytes: 4 * n },
      { source: b.doneFlags, bytes: 4 * n },
      { source: b.finalObs, bytes: 4 * obsFloats },
    ];
    const stagingBytes = parts.reduce((sum, part) => sum + part.bytes, 0);
    const staging =
      this.freeStaging.pop() ??
      device.createBuffer({ label: `vec_env.${this.spec.id}.staging`, size: stagingBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(b.actions, 0, action.kind === 'discrete' ? new Int32Array(actions) : new Float32Array(actions));
    const encoder = device.createCommandEncoder({ label: `vec_env.${this.spec.id}.step` });
    const pass = encoder.beginComputePass({ label: `vec_env.${this.spec.id}.step` });
    this.encodeStep(pass);
    pass.end();
    let offset = 0;
    for (const part of parts) {
      encoder.copyBufferToBuffer(part.source, 0, staging, offset, part.bytes);
      offset += part.bytes;
    }
    device.queue.submit([encoder.finish()]);
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (error) {
      this.gpu.throwIfFailed();
      throw error;
    }
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    this.freeStaging.push(staging);
    this.gpu.throwIfFailed();
    const doneFlags = new Uint32Array(bytes, 4 * (obsFloats + n), n);
    return {
      obs: new Float32Array(bytes, 0, obsFloats),
      reward: new Float32Array(bytes, 4 * obsFloats, n),
      terminated: Uint8Array.from(doneFlags, (f) => f & 1),
      truncated: Uint8Array.from(doneFlags, (f) => (f >> 1) & 1),
      finalObs: new Float32Array(bytes, 4 * (obsFloats + 2 * n), obsFloats),
    };
  }

  /** The current observations (numEnvs × obsDim; a population's P × numEnvs × obsDim). */
  observations(): Promise<Float32Array> {
    return readFloat32(this.gpu, this.buffers.obs, 0, this.spec.obsDim * this.rows);
  }

  /** Releases the env's buffers (and so its arrays). */
  destroy(): void {
    for (const array of Object.values(this.arrays)) array.destroy();
    for (const buffer of Object.values(this.buffers)) buffer.destroy();
    for (const buffer of this.freeStaging) buffer.destroy();
    this.freeStaging.length = 0;
  }
}

/** `VecEnvOptions` without the id: `CartPoleVec` is always 'CartPole-v1'. */
export type CartPoleVecOptions = Omit<VecEnvOptions, 'id'>;
/** CartPole's buffers: `VecEnvBuffers` (state is [N][4]: x, x_dot, theta, theta_dot). */
export type CartPoleBuffers = VecEnvBuffers;

/** N CartPole-v1 envs: VecEnv with `id: 'CartPole-v1'`. */
export class CartPoleVec extends VecEnv {
  static override maxEnvs(gpu: GpuContext): number {
    return VecEnv.maxEnvs(gpu, CARTPOLE.spec);
  }

  static override async create(gpu: GpuContext, options: CartPoleVecOptions): Promise<CartPoleVec> {
    return new CartPoleVec(gpu, await VecEnv.open(gpu, CARTPOLE, options, 'CartPoleVec'));
  }
}
