/**
 * Float64 twin of shaders/normalize.wgsl, written as VecNormalize states it:
 * the batch's mean and (population) variance over all its rows, merged into
 * the running moments by Chan's formula; normalised values clipped; the
 * discounted return per env, reset after a step that ended the episode.
 */
export interface RunningMoments {
  mean: Float64Array;
  var: Float64Array;
  count: number;
}

/** Moments before any data: mean 0, variance 1, weight `count` (VecNormalize starts at 1e-4). */
export function initialRunningMoments(dim: number, count: number): RunningMoments {
  return { mean: new Float64Array(dim), var: new Float64Array(dim).fill(1), count };
}

/** Merges `rows` rows of `dim` values ([rows][dim]) into `m` (returns the new moments). */
export function updateMomentsReference(m: RunningMoments, samples: ArrayLike<number>, rows: number, dim: number): RunningMoments {
  const mean = new Float64Array(dim);
  const variance = new Float64Array(dim);
  for (let k = 0; k < dim; k++) {
    let sum = 0;
    for (let r = 0; r < rows; r++) sum += samples[r * dim + k];
    const batchMean = sum / rows;
    let sq = 0;
    for (let r = 0; r < rows; r++) sq += (samples[r * dim + k] - batchMean) ** 2;
    const batchVar = sq / rows;
    const total = m.count + rows;
    const delta = batchMean - m.mean[k];
    mean[k] = m.mean[k] + (delta * rows) / total;
    variance[k] = (m.var[k] * m.count + batchVar * rows + (delta * delta * m.count * rows) / total) / total;
  }
  return { mean, var: variance, count: m.count + rows };
}

/** clip((x − mean) / sqrt(var + epsilon), ±clip) per row of `dim`. */
export function normalizeReference(m: RunningMoments, samples: ArrayLike<number>, dim: number, clip: number, epsilon: number): Float64Array {
  const out = new Float64Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const k = i % dim;
    out[i] = Math.min(clip, Math.max(-clip, (samples[i] - m.mean[k]) / Math.sqrt(m.var[k] + epsilon)));
  }
  return out;
}

/**
 * Reward scaling over one rollout of [T][N] rewards and done flags: discounted
 * returns continuing `accumulator` (updated in place), their moments merged
 * into `moments`, then every reward divided by sqrt(var + epsilon) and clipped.
 */
export function scaleRewardsReference(o: {
  rewards: ArrayLike<number>;
  doneFlags: ArrayLike<number>;
  numEnvs: number;
  numSteps: number;
  gamma: number;
  accumulator: Float64Array;
  moments: RunningMoments;
  clip: number;
  epsilon: number;
}): { scaled: Float64Array; moments: RunningMoments; discounted: Float64Array } {
  const { numEnvs: N, numSteps: T } = o;
  const discounted = new Float64Array(T * N);
  for (let t = 0; t < T; t++) {
    for (let env = 0; env < N; env++) {
      const i = t * N + env;
      o.accumulator[env] = o.gamma * o.accumulator[env] + o.rewards[i];
      discounted[i] = o.accumulator[env];
      if (o.doneFlags[i] !== 0) o.accumulator[env] = 0;
    }
  }
  const moments = updateMomentsReference(o.moments, discounted, T * N, 1);
  const scale = Math.sqrt(moments.var[0] + o.epsilon);
  const scaled = Float64Array.from(o.rewards, (r) => Math.min(o.clip, Math.max(-o.clip, r / scale)));
  return { scaled, moments, discounted };
}
