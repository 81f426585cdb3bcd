/**
 * Evaluation of a checkpoint's policy: `episodes` envs start fresh episodes in
 * parallel and run for one episode-length limit on the GPU; each env's first
 * episode return is read back (evaluation is not the training hot path).
 * With --norm-obs the policy sees observations normalised by the checkpoint's
 * running moments, frozen; returns are in the env's raw rewards.
 */
import type { GpuContext } from '../gpu/device';
import { readFloat32, readUint32 } from '../gpu/buffers';
import { Mlp, MlpKernels } from '../kernels/mlp';
import { Rollout } from '../kernels/rollout';
import { NormalizeKernels, normalizedPolicyInput } from '../kernels/normalize';
import { storageBuffer } from '../gpu/buffers';
import { envDefinition } from '../envs/registry';
import { checkpointLayout, type Checkpoint } from './checkpoint';
import { resolveConfig } from '../core/config';
import { networkLayouts } from './trainer';

/** Returns of the evaluation episodes, in the env's raw rewards. */
export interface EvaluationResult {
  /** Each episode's undiscounted return, [episodes]. */
  returns: Float64Array;
  /** Mean of `returns`. */
  mean: number;
  /** Population standard deviation of `returns`. */
  std: number;
}

/**
 * Runs `episodes` fresh episodes of the checkpoint's policy in parallel on the GPU (actions sampled from `seed`,
 * or the most likely with `greedy`) and returns their returns. Throws naming the array when the checkpoint's
 * weights do not fit its config's network.
 */
export async function evaluatePolicy(
  gpu: GpuContext,
  checkpoint: Checkpoint,
  options: { episodes: number; seed: number; greedy?: boolean },
): Promise<EvaluationResult> {
  // Evaluation trains nothing: no step plan, no learning-rate schedule.
  const config = resolveConfig({ ...checkpoint.config, iters: 0, totalSteps: 0, lrAnneal: false });
  const layout = networkLayouts(config).policy;
  const weights = checkpoint.arrays.policy;
  if (!weights || weights.length !== layout.paramCount) {
    throw new Error(`checkpoint: policy weights have ${weights?.length ?? 0} values, the checkpoint's network needs ${layout.paramCount}`);
  }
  const policy = Mlp.create(gpu, await MlpKernels.create(gpu), layout, 'eval.policy');
  policy.setParams(weights);
  const env = envDefinition(config.env);
  const N = options.episodes;
  const T = env.spec.maxEpisodeSteps;
  const moments = config.normObs ? checkpoint.arrays['normalize.obs'] : undefined;
  if (config.normObs && moments?.length !== checkpointLayout(config).get('normalize.obs')) {
    policy.destroy();
    throw new Error(`checkpoint: array "normalize.obs" has ${moments?.length ?? 0} values, a --norm-obs checkpoint of ${config.env} needs ${checkpointLayout(config).get('normalize.obs')}`);
  }
  const obsMoments = moments ? storageBuffer(gpu, 'eval.obsMoments', new Float32Array(moments)) : null;
  const policyInput = obsMoments ? normalizedPolicyInput(await NormalizeKernels.create(gpu), obsMoments) : undefined;
  const rollout = await Rollout.create(gpu, policy, { env, numEnvs: N, numSteps: T, seed: options.seed, greedy: options.greedy, policyInput }, 'eval');
  let rewards: Float32Array;
  let doneFlags: Uint32Array;
  try {
    rollout.reset();
    rollout.setIteration(0);
    const encoder = gpu.device.createCommandEncoder({ label: 'eval' });
    const pass = encoder.beginComputePass({ label: 'eval' });
    rollout.encode(pass);
    pass.end();
    gpu.device.queue.submit([encoder.finish()]);
    rewards = await readFloat32(gpu, rollout.storage.rewards);
    doneFlags = await readUint32(gpu, rollout.storage.doneFlags);
  } finally {
    rollout.destroy();
    policy.destroy();
    obsMoments?.destroy();
  }
  // Every episode ends within T steps (truncation), so each env finishes its first one.
  const returns = new Float64Array(N);
  for (let env = 0; env < N; env++) {
    let total = 0;
    for (let t = 0; t < T; t++) {
      total += rewards[t * N + env];
      if (doneFlags[t * N + env] !== 0) break;
    }
    returns[env] = total;
  }
  const mean = returns.reduce((a, b) => a + b, 0) / N;
  const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / N);
  return { returns, mean, std };
}
