/**
 * Rollout on the GPU: N CartPoles × T steps with the policy acting, stored
 * time-major for the advantage and update phases. Per step: the policy's
 * forward pass on the current observations, then one fused act-and-step kernel
 * (shaders/rollout.wgsl) that also keeps the logits it acted on and, for
 * truncated steps, the final observation. Nothing is read back.
 */
import randomWgsl from '../../shaders/random.wgsl?raw';
import cartpoleWgsl from '../../shaders/cartpole.wgsl?raw';
import rolloutWgsl from '../../shaders/rollout.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, type Kernel } from '../gpu/kernel';
import { storageBuffer, uniformBuffer } from '../gpu/buffers';
import { CARTPOLE_V1 } from '../reference/cartpole';
import type { Mlp, MlpPass } from './mlp';
import { CATEGORICAL } from './distribution';

/** Rows of the per-env slot block (see rollout.wgsl). */
export const ENV_SLOTS = ['elapsed', 'episode', 'running_return', 'completed_return_sum', 'completed_count'] as const;

export interface RolloutOptions {
  numEnvs: number;
  numSteps: number;
  numActions: number;
  seed: number;
  /** Act by argmax instead of sampling (evaluation). */
  greedy?: boolean;
  /** Time limit: episodes are truncated after this many steps (default CartPole-v1's 500). */
  maxEpisodeSteps?: number;
}

/** Everything a rollout writes, time-major [T][N]. */
export interface RolloutStorage {
  /**
   * [T+1][N][4]: obs[t] acted on at step t, row T the bootstrap observation;
   * then, from row (T+1)·N, [K][N][4] final observations of truncated steps
   * (`Rollout.finalObs`, `Rollout.finalObsIndex`).
   */
  obs: GPUBuffer;
  /** [T][N][numActions]: the logits each step's action was drawn from. */
  behaviourLogits: GPUBuffer;
  actions: GPUBuffer;
  rewards: GPUBuffer;
  /** bit 0 terminated, bit 1 truncated */
  doneFlags: GPUBuffer;
  /** [N][4]: observation each env is in now (the policy's rollout input). */
  currentObs: GPUBuffer;
  /** [ENV_SLOTS][N] f32 */
  envSlots: GPUBuffer;
}

/** Where a rollout keeps the final observations of truncated steps (derived once from the options). */
export interface FinalObsLayout {
  maxEpisodeSteps: number;
  /** K = ceil(T / maxEpisodeSteps): the most truncations one env can have in a rollout. */
  finalSlots: number;
  /** Row of obs where they start: (T+1)·N. */
  finalObsRow: number;
}

function finalObsLayout(options: RolloutOptions): FinalObsLayout {
  const maxEpisodeSteps = options.maxEpisodeSteps ?? CARTPOLE_V1.maxEpisodeSteps;
  if (!Number.isInteger(maxEpisodeSteps) || maxEpisodeSteps < 1 || maxEpisodeSteps > 0xffffffff) {
    throw new Error(`rollout: maxEpisodeSteps must be an integer in [1, 4294967295], got ${maxEpisodeSteps}`);
  }
  return {
    maxEpisodeSteps,
    finalSlots: Math.ceil(options.numSteps / maxEpisodeSteps),
    finalObsRow: (options.numSteps + 1) * options.numEnvs,
  };
}

export class Rollout {
  private readonly stepArgsStride: number;

  private constructor(
    private readonly gpu: GpuContext,
    readonly options: RolloutOptions,
    readonly finalObs: FinalObsLayout,
    readonly storage: RolloutStorage,
    private readonly actAndStep: Kernel,
    private readonly resetEnvs: Kernel,
    private readonly actBindGroup: GPUBindGroup,
    private readonly resetBindGroup: GPUBindGroup,
    private readonly args: GPUBuffer,
    private readonly argsView: { pack(v: Record<string, number>): ArrayBuffer },
    private readonly policyStep: MlpPass,
  ) {
    this.stepArgsStride = gpu.limits.minUniformBufferOffsetAlignment;
  }

  /** The obs row holding the final observation of step t of env n, if that step was truncated. */
  finalObsIndex(t: number, env: number): number {
    const { finalObsRow, maxEpisodeSteps } = this.finalObs;
    return finalObsRow + Math.floor(t / maxEpisodeSteps) * this.options.numEnvs + env;
  }

  static async create(gpu: GpuContext, policy: Mlp, options: RolloutOptions, label = 'rollout'): Promise<Rollout> {
    const { numEnvs: N, numSteps: T, numActions: A } = options;
    const finalObs = finalObsLayout(options);
    const family = await ShaderFamily.load(gpu, 'rollout', [randomWgsl, CATEGORICAL.wgsl, cartpoleWgsl, rolloutWgsl]);
    const { act_and_step: actAndStep, reset_envs: resetEnvs } = await family.kernels({
      act_and_step: { dynamicOffsets: ['step'] },
      reset_envs: {},
    });
    const storage: RolloutStorage = {
      obs: storageBuffer(gpu, `${label}.obs`, (T + 1 + finalObs.finalSlots) * N * 16),
      behaviourLogits: storageBuffer(gpu, `${label}.behaviourLogits`, T * N * A * 4),
      actions: storageBuffer(gpu, `${label}.actions`, T * N * 4),
      rewards: storageBuffer(gpu, `${label}.rewards`, T * N * 4),
      doneFlags: storageBuffer(gpu, `${label}.doneFlags`, T * N * 4),
      currentObs: storageBuffer(gpu, `${label}.currentObs`, N * 16),
      envSlots: storageBuffer(gpu, `${label}.envSlots`, ENV_SLOTS.length * N * 4),
    };
    const argsView = family.struct('RolloutArgs');
    const args = uniformBuffer(gpu, `${label}.args`, argsView.pack({ numEnvs: N, numSteps: T, numActions: A, iteration: 0, greedy: options.greedy ? 1 : 0 }));
    // One StepArgs slot per step, selected by a dynamic offset: the step index never leaves the GPU timeline.
    const stride = gpu.limits.minUniformBufferOffsetAlignment;
    const stepView = family.struct('StepArgs');
    const stepBytes = new ArrayBuffer(T * stride);
    for (let t = 0; t < T; t++) stepView.write(new DataView(stepBytes), { t }, t * stride);
    const stepArgs = uniformBuffer(gpu, `${label}.stepArgs`, stepBytes);
    const cartpole = uniformBuffer(
      gpu,
      `${label}.cartpole`,
      family.struct('CartPoleParams').pack({ ...CARTPOLE_V1, maxEpisodeSteps: finalObs.maxEpisodeSteps, numEnvs: N, seed: options.seed }),
    );
    const policyStep = policy.prepare({ rows: N, input: storage.currentObs, label: `${label}.policy` });
    const actBindGroup = actAndStep.bind(
      {
        args,
        step: { buffer: stepArgs, offset: 0, size: stepView.paddedSize },
        cartpole,
        policyLogits: policyStep.output,
        currentObs: storage.currentObs,
        envSlots: storage.envSlots,
        obs: storage.obs,
        behaviourLogits: storage.behaviourLogits,
        actions: storage.actions,
        rewards: storage.rewards,
        doneFlags: storage.doneFlags,
      },
      'act',
    );
    const resetBindGroup = resetEnvs.bind({ args, cartpole, currentObs: storage.currentObs, envSlots: storage.envSlots }, 'reset');
    return new Rollout(gpu, options, finalObs, storage, actAndStep, resetEnvs, actBindGroup, resetBindGroup, args, argsView, policyStep);
  }

  /** Starts every env at episode 0 (submitted immediately). */
  reset(): void {
    const encoder = this.gpu.device.createCommandEncoder({ label: 'rollout.reset' });
    const pass = encoder.beginComputePass({ label: 'rollout.reset' });
    this.resetEnvs.dispatch(pass, this.resetBindGroup, this.options.numEnvs);
    pass.end();
    this.gpu.device.queue.submit([encoder.finish()]);
  }

  /** Queues the iteration number (it keys the action PRNG) ahead of the iteration's submit. */
  setIteration(iteration: number): void {
    const o = this.options;
    this.gpu.device.queue.writeBuffer(
      this.args,
      0,
      this.argsView.pack({ numEnvs: o.numEnvs, numSteps: o.numSteps, numActions: o.numActions, iteration, greedy: o.greedy ? 1 : 0 }),
    );
  }

  /** Records the T steps into `pass`. */
  encode(pass: GPUComputePassEncoder): void {
    for (let t = 0; t < this.options.numSteps; t++) {
      this.policyStep.encodeForward(pass);
      this.actAndStep.dispatch(pass, this.actBindGroup, this.options.numEnvs, [t * this.stepArgsStride]);
    }
  }

  /** Releases the rollout storage and the per-step policy pass. */
  destroy(): void {
    for (const buffer of Object.values(this.storage)) buffer.destroy();
    this.policyStep.destroy();
    this.args.destroy();
  }
}
