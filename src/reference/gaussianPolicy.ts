/**
 * Float64 references for a policy network with a diagonal Gaussian head
 * (MlpLayout head 'gaussian', shaders/gaussian_head.wgsl): the rows the
 * distribution reads, the per-sample losses of PPO, PPO-KL, TRPO's surrogate
 * and REINFORCE over those rows, a batch loss as a function of every parameter
 * (layers and log-stds, for finite differences), and the explicit Fisher
 * matrix in all parameters.
 */
import type { MlpLayout } from '../nn/mlp';
import { mlpForwardReference } from './mlp';
import { mlpJacobianReference } from './fvp';
import { gaussianEntropy64, gaussianKl64, gaussianLogProb64 } from './gaussian';

/** [rows][2D]: the network's means, then the log-stds params[headOffset ..] on every row. */
export function gaussianPolicyRows64(layout: MlpLayout, params: ArrayLike<number>, input: ArrayLike<number>, rows: number): Float64Array {
  const D = layout.outputDim;
  const activations = mlpForwardReference(layout, params, input, rows);
  const means = activations[activations.length - 1];
  const out = new Float64Array(rows * 2 * D);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < D; i++) {
      out[r * 2 * D + i] = means[r * D + i];
      out[r * 2 * D + D + i] = params[layout.headOffset + i];
    }
  }
  return out;
}

/** One Gaussian sample of a policy batch (D = action components). */
export interface GaussianSample {
  /** [D] the action as sampled (unclipped). */
  action: ArrayLike<number>;
  /** [2D] the behaviour policy's means and log-stds. */
  paramsOld: ArrayLike<number>;
  logProbOld: number;
  /** Already normalised. */
  advantage: number;
}

/**
 * The per-sample policy loss at a row's parameters, as the kernels define it:
 *   ppo        −min(r Â, clip(r, 1 ± clip) Â) − entCoef·H
 *   ppo-kl     −r Â + klCoef·KL(old ‖ new) − entCoef·H
 *   surrogate  −r Â (TRPO)
 *   reinforce  −log π(a) Â
 */
export type GaussianLossKind = { kind: 'ppo'; clip: number; entropyCoef: number } | { kind: 'ppo-kl'; klCoef: number; entropyCoef: number } | { kind: 'surrogate' } | { kind: 'reinforce' };

/** One sample's policy loss of kind `loss` at the row's parameters `rowParams[base ..]` (D = dim). */
export function gaussianPolicyLoss64(rowParams: ArrayLike<number>, base: number, dim: number, s: GaussianSample, loss: GaussianLossKind): number {
  const logP = gaussianLogProb64(rowParams, base, dim, s.action, 0);
  const ratio = Math.exp(logP - s.logProbOld);
  const entropy = () => gaussianEntropy64(rowParams, base, dim);
  switch (loss.kind) {
    case 'ppo':
      return -Math.min(ratio * s.advantage, Math.min(Math.max(ratio, 1 - loss.clip), 1 + loss.clip) * s.advantage) - loss.entropyCoef * entropy();
    case 'ppo-kl': {
      const newRow = Array.from({ length: 2 * dim }, (_, k) => rowParams[base + k]);
      return -ratio * s.advantage + loss.klCoef * gaussianKl64(s.paramsOld, newRow, 0, dim) - loss.entropyCoef * entropy();
    }
    case 'surrogate':
      return -ratio * s.advantage;
    case 'reinforce':
      return -logP * s.advantage;
  }
}

/** Mean per-sample loss over the rows of `input`, as a function of every parameter (layers and log-stds). */
export function gaussianBatchLoss64(layout: MlpLayout, params: ArrayLike<number>, input: ArrayLike<number>, samples: readonly GaussianSample[], loss: GaussianLossKind): number {
  const D = layout.outputDim;
  const rows = gaussianPolicyRows64(layout, params, input, samples.length);
  let total = 0;
  samples.forEach((s, r) => (total += gaussianPolicyLoss64(rows, r * 2 * D, D, s, loss)));
  return total / samples.length;
}

/** ∂/∂θ of gaussianBatchLoss64 by float64 central differences of step h. */
export function gaussianBatchLossGradient64(
  layout: MlpLayout,
  params: ArrayLike<number>,
  input: ArrayLike<number>,
  samples: readonly GaussianSample[],
  loss: GaussianLossKind,
  h = 1e-6,
): Float64Array {
  const theta = Float64Array.from(params);
  const grad = new Float64Array(layout.paramCount);
  for (let j = 0; j < layout.paramCount; j++) {
    const x = theta[j];
    theta[j] = x + h;
    const plus = gaussianBatchLoss64(layout, theta, input, samples, loss);
    theta[j] = x - h;
    const minus = gaussianBatchLoss64(layout, theta, input, samples, loss);
    theta[j] = x;
    grad[j] = (plus - minus) / (2 * h);
  }
  return grad;
}

/**
 * The explicit Fisher matrix in every parameter, [n][n] (no damping):
 * (1/R) Σ_r J_rᵀ diag(1/σ², 2) J_r with J_r = d(μ_r, ℓ)/dθ. The means' rows of
 * J_r come from the network's tangents; the log-stds' are unit rows (ℓ_i is
 * parameter headOffset + i), so the matrix is block-diagonal between the layers
 * and the log-stds, with 2 on the log-std diagonal.
 */
export function gaussianFisherMatrix64(layout: MlpLayout, params: ArrayLike<number>, input: ArrayLike<number>, rows: number): Float64Array {
  const n = layout.paramCount;
  const D = layout.outputDim;
  const jacobian = mlpJacobianReference(layout, params, input, rows);
  const inverseVariance = Array.from({ length: D }, (_, i) => Math.exp(-2 * params[layout.headOffset + i]));
  const F = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      let sum = 0;
      for (let r = 0; r < rows; r++) for (let i = 0; i < D; i++) sum += jacobian[a][r * D + i] * jacobian[b][r * D + i] * inverseVariance[i];
      F[a * n + b] = sum / rows;
    }
  }
  for (let i = 0; i < D; i++) F[(layout.headOffset + i) * n + layout.headOffset + i] += 2;
  return F;
}
