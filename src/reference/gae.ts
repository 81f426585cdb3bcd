/** Float64 reverse-loop GAE, the obviously-right twin of shaders/gae.wgsl. */
export interface GaeInputs {
  numEnvs: number;
  numSteps: number;
  /** [T][N] */
  rewards: ArrayLike<number>;
  /** bit 0 terminated, bit 1 truncated */
  doneFlags: ArrayLike<number>;
  /** [T+1][N] */
  values: ArrayLike<number>;
  /** [T][N] */
  finalValues: ArrayLike<number>;
  gamma: number;
  lambda: number;
  truncationAsTerminal: boolean;
}

/** Advantages and returns ([T][N] each, returns = advantages + values) by the plain reverse loop over t. */
export function gaeReference(x: GaeInputs): { advantages: Float64Array; returns: Float64Array } {
  const { numEnvs: n, numSteps: T } = x;
  const advantages = new Float64Array(T * n);
  const returns = new Float64Array(T * n);
  for (let env = 0; env < n; env++) {
    let next = 0;
    for (let t = T - 1; t >= 0; t--) {
      const i = t * n + env;
      const terminated = (x.doneFlags[i] & 1) !== 0;
      const truncated = (x.doneFlags[i] & 2) !== 0;
      let nextValue: number;
      if (terminated || (truncated && x.truncationAsTerminal)) nextValue = 0;
      else if (truncated) nextValue = x.finalValues[i];
      else nextValue = x.values[i + n];
      if (terminated || truncated) next = 0;
      const delta = x.rewards[i] + x.gamma * nextValue - x.values[i];
      next = delta + x.gamma * x.lambda * next;
      advantages[i] = next;
      returns[i] = next + x.values[i];
    }
  }
  return { advantages, returns };
}
