/**
 * A float64 env model (one env's reset, step and observation, as Gymnasium
 * computes them) and N of them with the time limit and same-step auto-reset of
 * shaders/auto_reset.wgsl, so a whole vectorized GPU run can be replayed on the
 * CPU and compared.
 */
export interface EnvModel64 {
  stateDim: number;
  obsDim: number;
  maxEpisodeSteps: number;
  /** The start state of episode `episode` of env `env` (the same Philox draws as the env's WGSL). */
  reset(seed: number, env: number, episode: number): number[];
  /** One step from `state` under `action`: the next state, whether it is terminal, and the reward. */
  step(state: ArrayLike<number>, action: number): { next: number[]; terminated: boolean; reward: number };
  /** The observation of `state`. */
  obs(state: ArrayLike<number>): number[];
}

/** What `VecEnvRef.step` returns: per-env rows, env-major. */
export interface VecEnvStep64 {
  /** numEnvs × obsDim: the observation after the step, the reset one for envs that just ended. */
  obs: Float64Array;
  /** Each env's reward for the step, [numEnvs]. */
  reward: Float64Array;
  /** 1 where the env's episode ended in a terminal state, [numEnvs]. */
  terminated: Uint8Array;
  /** 1 where the env's episode hit the time limit without terminating, [numEnvs]. */
  truncated: Uint8Array;
  /** numEnvs × obsDim: the observation the step reached, before any reset. */
  finalObs: Float64Array;
}

/**
 * N float64 envs of one model with the GPU's time limit and same-step auto-reset, drawing the same reset
 * states, so a `VecEnv` run can be replayed on the CPU step by step.
 */
export class VecEnvRef {
  /** numEnvs × stateDim. */
  readonly state: Float64Array;
  readonly elapsedSteps: Uint32Array;
  /** Index of each env's current episode (0 after construction). */
  readonly episodeCount: Uint32Array;

  constructor(
    readonly model: EnvModel64,
    readonly numEnvs: number,
    readonly seed: number,
    readonly maxEpisodeSteps = model.maxEpisodeSteps,
  ) {
    this.state = new Float64Array(model.stateDim * numEnvs);
    this.elapsedSteps = new Uint32Array(numEnvs);
    this.episodeCount = new Uint32Array(numEnvs);
    for (let env = 0; env < numEnvs; env++) this.state.set(model.reset(seed, env, 0), model.stateDim * env);
  }

  /** Replaces every env's state and zeroes its elapsed steps (episode indices stay). */
  setState(states: ArrayLike<number>): void {
    this.state.set(Array.from(states));
    this.elapsedSteps.fill(0);
  }

  /** Steps every env with its action (an index per env), resetting those that ended. */
  step(actions: ArrayLike<number>): VecEnvStep64 {
    const { numEnvs: n, model } = this;
    const { stateDim: S, obsDim: O } = model;
    const result: VecEnvStep64 = {
      obs: new Float64Array(O * n),
      reward: new Float64Array(n),
      terminated: new Uint8Array(n),
      truncated: new Uint8Array(n),
      finalObs: new Float64Array(O * n),
    };
    for (let env = 0; env < n; env++) {
      const { next, terminated, reward } = model.step(this.state.subarray(S * env, S * env + S), actions[env]);
      const elapsed = this.elapsedSteps[env] + 1;
      const truncated = elapsed >= this.maxEpisodeSteps;
      result.finalObs.set(model.obs(next), O * env);
      result.reward[env] = reward;
      result.terminated[env] = terminated ? 1 : 0;
      result.truncated[env] = truncated ? 1 : 0;
      if (terminated || truncated) {
        this.episodeCount[env] += 1;
        this.elapsedSteps[env] = 0;
        this.state.set(model.reset(this.seed, env, this.episodeCount[env]), S * env);
      } else {
        this.elapsedSteps[env] = elapsed;
        this.state.set(next, S * env);
      }
      result.obs.set(model.obs(this.state.subarray(S * env, S * env + S)), O * env);
    }
    return result;
  }
}
