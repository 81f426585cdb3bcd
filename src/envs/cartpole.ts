/**
 * CartPoleVec: N CartPole-v1 envs stepped on the GPU (shaders/cartpole_vec.wgsl
 * over the pure functions of shaders/cartpole.wgsl), with same-step auto-reset.
 *
 * Two paths: `encodeStep(pass)` steps on actions already in `buffers.actions`
 * (what rollouts and benchmarks use, no host traffic); `step(actions)` uploads
 * actions and reads every result back (tests and interop).
 */
import randomWgsl from '../../shaders/random.wgsl?raw';
import cartpoleWgsl from '../../shaders/cartpole.wgsl?raw';
import cartpoleVecWgsl from '../../shaders/cartpole_vec.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, type Kernel } from '../gpu/kernel';
import { storageBuffer, uniformBuffer, readFloat32, submitPass } from '../gpu/buffers';
import { CARTPOLE_V1, type CartPoleStepResult } from '../reference/cartpole';

export { CARTPOLE_V1 };

export interface CartPoleVecOptions {
  numEnvs: number;
  /** uint32; with the env index and episode it fixes every reset state. */
  seed: number;
  /** Steps after which an episode is truncated (default 500, CartPole-v1's time limit). */
  maxEpisodeSteps?: number;
  /** Invocations per workgroup for the env kernels (default 64). */
  workgroupSize?: number;
}

/** GPU buffers of the env, for kernels and copies that work on them directly. */
export interface CartPoleBuffers {
  params: GPUBuffer;
  /** numEnvs × vec4 (x, xDot, theta, thetaDot): the current observations. */
  state: GPUBuffer;
  elapsedSteps: GPUBuffer;
  episodeCount: GPUBuffer;
  /** numEnvs × i32, read by each step. */
  actions: GPUBuffer;
  reward: GPUBuffer;
  terminated: GPUBuffer;
  truncated: GPUBuffer;
  finalObs: GPUBuffer;
}

const UINT32_MAX = 0xffffffff;

function checkInteger(where: string, field: string, value: number, lo: number, hi: number): void {
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new Error(`${where}: ${field} = ${value} is out of range (an integer in ${lo}..${hi})`);
  }
}

export class CartPoleVec {
  readonly numEnvs: number;
  readonly seed: number;
  readonly maxEpisodeSteps: number;

  /** Staging buffers for `step` readbacks; a pool so overlapping calls never share one. */
  private readonly freeStaging: GPUBuffer[] = [];

  private constructor(
    readonly gpu: GpuContext,
    options: Required<CartPoleVecOptions>,
    readonly buffers: CartPoleBuffers,
    private readonly stepKernel: Kernel,
    private readonly stepBindGroup: GPUBindGroup,
  ) {
    this.numEnvs = options.numEnvs;
    this.seed = options.seed;
    this.maxEpisodeSteps = options.maxEpisodeSteps;
  }

  /** Most envs one buffer binding can hold (one vec4 of state each). */
  static maxEnvs(gpu: GpuContext): number {
    return Math.floor(Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize) / 16);
  }

  /** Validates the options, allocates the env and resets every env to its episode 0. */
  static async create(gpu: GpuContext, options: CartPoleVecOptions): Promise<CartPoleVec> {
    const where = 'CartPoleVec.create';
    const resolved: Required<CartPoleVecOptions> = {
      numEnvs: options.numEnvs,
      seed: options.seed,
      maxEpisodeSteps: options.maxEpisodeSteps ?? CARTPOLE_V1.maxEpisodeSteps,
      workgroupSize: options.workgroupSize ?? 64,
    };
    const { numEnvs, seed, maxEpisodeSteps, workgroupSize } = resolved;
    checkInteger(where, 'numEnvs', numEnvs, 1, CartPoleVec.maxEnvs(gpu));
    checkInteger(where, 'seed', seed, 0, UINT32_MAX);
    checkInteger(where, 'maxEpisodeSteps', maxEpisodeSteps, 1, UINT32_MAX);
    checkInteger(where, 'workgroupSize', workgroupSize, 1, gpu.limits.maxComputeInvocationsPerWorkgroup);

    const family = await ShaderFamily.load(gpu, 'cartpole', [randomWgsl, cartpoleWgsl, cartpoleVecWgsl]);
    const { reset_all: resetKernel, step: stepKernel } = await family.kernels({
      reset_all: { constants: { WG: workgroupSize } },
      step: { constants: { WG: workgroupSize } },
    });
    const params = uniformBuffer(
      gpu,
      'cartpole.params',
      family.struct('CartPoleParams').pack({
        gravity: CARTPOLE_V1.gravity,
        massCart: CARTPOLE_V1.massCart,
        massPole: CARTPOLE_V1.massPole,
        halfLength: CARTPOLE_V1.halfLength,
        forceMag: CARTPOLE_V1.forceMag,
        tau: CARTPOLE_V1.tau,
        xThreshold: CARTPOLE_V1.xThreshold,
        thetaThreshold: CARTPOLE_V1.thetaThreshold,
        maxEpisodeSteps,
        numEnvs,
        seed,
      }),
    );
    const perEnv = (role: string, bytes: number) => storageBuffer(gpu, `cartpole.step.${role}`, numEnvs * bytes);
    const buffers: CartPoleBuffers = {
      params,
      state: perEnv('state', 16),
      elapsedSteps: perEnv('elapsedSteps', 4),
      episodeCount: perEnv('episodeCount', 4),
      actions: perEnv('actions', 4),
      reward: perEnv('reward', 4),
      terminated: perEnv('terminated', 4),
      truncated: perEnv('truncated', 4),
      finalObs: perEnv('finalObs', 16),
    };
    const { state, elapsedSteps, episodeCount } = buffers;
    const resetBindGroup = resetKernel.bind({ params, state, elapsedSteps, episodeCount }, 'reset');
    const stepBindGroup = stepKernel.bind({ ...buffers }, 'step');
    submitPass(gpu, 'cartpole.reset_all', (pass) => resetKernel.dispatch(pass, resetBindGroup, numEnvs));
    return new CartPoleVec(gpu, resolved, buffers, stepKernel, stepBindGroup);
  }

  /** Replaces every env's state (numEnvs × 4 values) and zeroes its elapsed steps; episode indices stay. */
  setState(states: Float32Array): void {
    if (states.length !== 4 * this.numEnvs) {
      throw new Error(`CartPoleVec.setState: states.length = ${states.length}, expected numEnvs × 4 = ${4 * this.numEnvs}`);
    }
    const bad = states.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`CartPoleVec.setState: states[${bad}] = ${states[bad]} is not a finite number`);
    const queue = this.gpu.device.queue;
    queue.writeBuffer(this.buffers.state, 0, new Float32Array(states));
    queue.writeBuffer(this.buffers.elapsedSteps, 0, new Uint32Array(this.numEnvs));
  }

  /** Records one step of every env on the actions in `buffers.actions`. */
  encodeStep(pass: GPUComputePassEncoder): void {
    this.stepKernel.dispatch(pass, this.stepBindGroup, this.numEnvs);
  }

  /** Steps every env with `actions` (numEnvs values, each 0 or 1) and reads back the results. */
  async step(actions: Int32Array): Promise<CartPoleStepResult<Float32Array>> {
    const n = this.numEnvs;
    if (actions.length !== n) throw new Error(`CartPoleVec.step: actions.length = ${actions.length}, expected numEnvs = ${n}`);
    const bad = actions.findIndex((a) => a !== 0 && a !== 1);
    if (bad >= 0) throw new Error(`CartPoleVec.step: actions[${bad}] = ${actions[bad]} is out of range (0 or 1)`);

    const { device } = this.gpu;
    const b = this.buffers;
    // Readback layout: obs, reward, terminated, truncated, finalObs.
    const parts = [
      { source: b.state, bytes: 16 * n },
      { source: b.reward, bytes: 4 * n },
      { source: b.terminated, bytes: 4 * n },
      { source: b.truncated, bytes: 4 * n },
      { source: b.finalObs, bytes: 16 * n },
    ];
    const staging =
      this.freeStaging.pop() ??
      device.createBuffer({ label: 'cartpole.step.staging', size: 44 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(b.actions, 0, new Int32Array(actions));
    const encoder = device.createCommandEncoder({ label: 'cartpole.step' });
    const pass = encoder.beginComputePass({ label: 'cartpole.step' });
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
    const flags = (start: number) => Uint8Array.from(new Uint32Array(bytes, start, n));
    return {
      obs: new Float32Array(bytes, 0, 4 * n),
      reward: new Float32Array(bytes, 16 * n, n),
      terminated: flags(20 * n),
      truncated: flags(24 * n),
      finalObs: new Float32Array(bytes, 28 * n, 4 * n),
    };
  }

  /** The current observations (numEnvs × 4). */
  observations(): Promise<Float32Array> {
    return readFloat32(this.gpu, this.buffers.state, 0, 4 * this.numEnvs);
  }

  destroy(): void {
    for (const buffer of Object.values(this.buffers)) buffer.destroy();
    for (const buffer of this.freeStaging) buffer.destroy();
    this.freeStaging.length = 0;
  }
}
