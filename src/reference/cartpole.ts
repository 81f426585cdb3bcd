/**
 * CartPole-v1 in float64, as Gymnasium computes it (classic_control/cartpole.py
 * with Euler integration, plus the TimeLimit wrapper's truncation), and the
 * same Philox-drawn resets as shaders/cartpole.wgsl, so a whole vectorized GPU
 * run can be replayed on the CPU and compared.
 */
import { resetUniform4 } from '../core/random';
import { envSpec } from '../core/envSpecs';

export interface CartPolePhysics {
  gravity: number;
  massCart: number;
  massPole: number;
  /** Half the pole's length (Gymnasium's `length`). */
  halfLength: number;
  forceMag: number;
  /** Seconds per step. */
  tau: number;
  xThreshold: number;
  /** Radians. */
  thetaThreshold: number;
  maxEpisodeSteps: number;
}

/** Gymnasium's CartPole-v1 defaults: the single source of these numbers for the GPU and the CPU. */
export const CARTPOLE_V1: Readonly<CartPolePhysics> = Object.freeze({
  gravity: 9.8,
  massCart: 1.0,
  massPole: 0.1,
  halfLength: 0.5,
  forceMag: 10.0,
  tau: 0.02,
  xThreshold: 2.4,
  thetaThreshold: (12 * 2 * Math.PI) / 360,
  maxEpisodeSteps: envSpec('CartPole-v1').maxEpisodeSteps,
});

export type CartPoleState = [x: number, xDot: number, theta: number, thetaDot: number];

/** |x| or |theta| past its threshold, strictly (a state exactly at the threshold goes on). */
export function cartpoleTerminated64(s: ArrayLike<number>, p: CartPolePhysics = CARTPOLE_V1): boolean {
  return s[0] < -p.xThreshold || s[0] > p.xThreshold || s[2] < -p.thetaThreshold || s[2] > p.thetaThreshold;
}

/** One Euler step from `state` under `action` (1 pushes right, 0 left); every update uses the old state. */
export function cartpoleStep64(
  state: ArrayLike<number>,
  action: number,
  p: CartPolePhysics = CARTPOLE_V1,
): { next: CartPoleState; terminated: boolean } {
  const [x, xDot, theta, thetaDot] = [state[0], state[1], state[2], state[3]];
  const totalMass = p.massCart + p.massPole;
  const poleMassLength = p.massPole * p.halfLength;
  const force = action === 1 ? p.forceMag : -p.forceMag;
  const cosTheta = Math.cos(theta);
  const sinTheta = Math.sin(theta);
  const temp = (force + poleMassLength * thetaDot * thetaDot * sinTheta) / totalMass;
  const thetaAcc =
    (p.gravity * sinTheta - cosTheta * temp) / (p.halfLength * (4.0 / 3.0 - (p.massPole * cosTheta * cosTheta) / totalMass));
  const xAcc = temp - (poleMassLength * thetaAcc * cosTheta) / totalMass;
  const next: CartPoleState = [x + p.tau * xDot, xDot + p.tau * xAcc, theta + p.tau * thetaDot, thetaDot + p.tau * thetaAcc];
  return { next, terminated: cartpoleTerminated64(next, p) };
}

/**
 * The start state of episode `episode` of env `env`: each component uniform in
 * [-0.05, 0.05), from philox4x32((env, episode, 0, 0), (seed, STREAM_RESET)).
 * Written 0.1 * (u - 0.5) as the shader does (one rounding there).
 */
export function cartpoleResetState64(seed: number, env: number, episode: number): CartPoleState {
  return resetUniform4(seed, env, episode, 0.1);
}

export interface CartPoleStepResult<F extends Float32Array | Float64Array = Float64Array> {
  /** numEnvs × 4: the observation after the step, the reset one for envs that just ended. */
  obs: F;
  reward: F;
  terminated: Uint8Array;
  truncated: Uint8Array;
  /** numEnvs × 4: the observation the step reached, before any reset. */
  finalObs: F;
}

/** N CartPoles in float64 with elapsed steps, truncation and same-step auto-reset, like CartPoleVec. */
export class CartPoleRef {
  readonly state: Float64Array;
  readonly elapsedSteps: Uint32Array;
  /** Index of each env's current episode (0 after construction). */
  readonly episodeCount: Uint32Array;

  constructor(
    readonly numEnvs: number,
    readonly seed: number,
    readonly physics: CartPolePhysics = CARTPOLE_V1,
  ) {
    this.state = new Float64Array(4 * numEnvs);
    this.elapsedSteps = new Uint32Array(numEnvs);
    this.episodeCount = new Uint32Array(numEnvs);
    for (let env = 0; env < numEnvs; env++) this.state.set(cartpoleResetState64(seed, env, 0), 4 * env);
  }

  /** Replaces every env's state and zeroes its elapsed steps (episode indices stay). */
  setState(states: ArrayLike<number>): void {
    this.state.set(Array.from(states));
    this.elapsedSteps.fill(0);
  }

  /** Steps every env with its action (0 push left, 1 push right), resetting those that ended. */
  step(actions: ArrayLike<number>): CartPoleStepResult {
    const n = this.numEnvs;
    const result: CartPoleStepResult = {
      obs: new Float64Array(4 * n),
      reward: new Float64Array(n).fill(1),
      terminated: new Uint8Array(n),
      truncated: new Uint8Array(n),
      finalObs: new Float64Array(4 * n),
    };
    for (let env = 0; env < n; env++) {
      const { next, terminated } = cartpoleStep64(this.state.subarray(4 * env, 4 * env + 4), actions[env], this.physics);
      const elapsed = this.elapsedSteps[env] + 1;
      const truncated = elapsed >= this.physics.maxEpisodeSteps;
      result.finalObs.set(next, 4 * env);
      result.terminated[env] = terminated ? 1 : 0;
      result.truncated[env] = truncated ? 1 : 0;
      if (terminated || truncated) {
        this.episodeCount[env] += 1;
        this.elapsedSteps[env] = 0;
        this.state.set(cartpoleResetState64(this.seed, env, this.episodeCount[env]), 4 * env);
      } else {
        this.elapsedSteps[env] = elapsed;
        this.state.set(next, 4 * env);
      }
      result.obs.set(this.state.subarray(4 * env, 4 * env + 4), 4 * env);
    }
    return result;
  }
}
