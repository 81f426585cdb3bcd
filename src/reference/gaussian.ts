/**
 * Float64 diagonal Gaussian over continuous actions: the twin of
 * shaders/gaussian.wgsl. A row's parameters are D means then D log standard
 * deviations (`params[base .. base + 2D)`), an action D floats.
 */
import { philox4x32, uniform01 } from '../core/random';

const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/** One row's means and log-stds. */
function row(params: ArrayLike<number>, base: number, dim: number): { mean: number[]; logStd: number[] } {
  return {
    mean: Array.from({ length: dim }, (_, i) => params[base + i]),
    logStd: Array.from({ length: dim }, (_, i) => params[base + dim + i]),
  };
}

/** log π(action | row): the log-density of the D floats `action[actionBase ..]` under the row's Gaussian at `params[base ..]`. */
export function gaussianLogProb64(params: ArrayLike<number>, base: number, dim: number, action: ArrayLike<number>, actionBase: number): number {
  const { mean, logStd } = row(params, base, dim);
  let lp = 0;
  for (let i = 0; i < dim; i++) {
    const z = (action[actionBase + i] - mean[i]) / Math.exp(logStd[i]);
    lp -= 0.5 * z * z + logStd[i] + HALF_LOG_TWO_PI;
  }
  return lp;
}

/** Entropy of the row's Gaussian (nats): Σ log σ_i + ½ + ½ log 2π. */
export function gaussianEntropy64(params: ArrayLike<number>, base: number, dim: number): number {
  const { logStd } = row(params, base, dim);
  return logStd.reduce((h, l) => h + l + 0.5 + HALF_LOG_TWO_PI, 0);
}

/** KL(old ‖ new) in the textbook form ℓn − ℓo + (σo² + (μo − μn)²) / 2σn² − ½ per component. */
export function gaussianKl64(paramsOld: ArrayLike<number>, paramsNew: ArrayLike<number>, base: number, dim: number): number {
  const old = row(paramsOld, base, dim);
  const updated = row(paramsNew, base, dim);
  let kl = 0;
  for (let i = 0; i < dim; i++) {
    const varianceNew = Math.exp(2 * updated.logStd[i]);
    kl += updated.logStd[i] - old.logStd[i] + (Math.exp(2 * old.logStd[i]) + (old.mean[i] - updated.mean[i]) ** 2) / (2 * varianceNew) - 0.5;
  }
  return kl;
}

/**
 * The sample the module draws: component i = μ_i + σ_i z_i, where draw j of
 * the row is philox4x32(counter + (0, 0, 0, j), key) and its words (x, y), (z, w)
 * give z_{4j .. 4j+3} by Box–Muller, r = sqrt(−2 log(1 − u_first)),
 * φ = 2π u_second − π, (r cos φ, r sin φ).
 */
export function gaussianSample64(
  params: ArrayLike<number>,
  base: number,
  dim: number,
  counter: readonly [number, number, number, number],
  key: readonly [number, number],
): Float64Array {
  const { mean, logStd } = row(params, base, dim);
  const normals: number[] = [];
  for (let j = 0; 4 * j < dim; j++) {
    const bits = philox4x32([counter[0], counter[1], counter[2], counter[3] + j], key);
    for (const [first, second] of [
      [bits[0], bits[1]],
      [bits[2], bits[3]],
    ]) {
      const r = Math.sqrt(-2 * Math.log(1 - uniform01(first)));
      const phi = 2 * Math.PI * uniform01(second) - Math.PI;
      normals.push(r * Math.cos(phi), r * Math.sin(phi));
    }
  }
  return Float64Array.from({ length: dim }, (_, i) => mean[i] + Math.exp(logStd[i]) * normals[i]);
}

/** ∂ log π(a) / ∂(μ, ℓ) = ((a − μ) / σ², z² − 1). */
export function gaussianGradLogProb64(params: ArrayLike<number>, base: number, dim: number, action: ArrayLike<number>, actionBase: number): Float64Array {
  const { mean, logStd } = row(params, base, dim);
  const g = new Float64Array(2 * dim);
  for (let i = 0; i < dim; i++) {
    const variance = Math.exp(2 * logStd[i]);
    const deviation = action[actionBase + i] - mean[i];
    g[i] = deviation / variance;
    g[dim + i] = (deviation * deviation) / variance - 1;
  }
  return g;
}

/** The Fisher matrix of π in (μ, ℓ), diag(1/σ², 2), times the tangent `u[base .. base + 2D)`. */
export function gaussianFisherWeights64(params: ArrayLike<number>, tangent: ArrayLike<number>, base: number, dim: number): Float64Array {
  const { logStd } = row(params, base, dim);
  const w = new Float64Array(2 * dim);
  for (let i = 0; i < dim; i++) {
    w[i] = tangent[base + i] / Math.exp(2 * logStd[i]);
    w[dim + i] = 2 * tangent[base + dim + i];
  }
  return w;
}

/**
 * The explicit Fisher matrix E_a[∇ log π ∇ log πᵀ] of one row by Monte Carlo
 * over `draws` standard normal vectors from `normal`: what the closed form
 * above must approach (a check of the closed form itself, not of the kernel).
 */
export function gaussianFisherMonteCarlo64(params: ArrayLike<number>, base: number, dim: number, draws: number, normal: () => number): Float64Array {
  const { mean, logStd } = row(params, base, dim);
  const n = 2 * dim;
  const fisher = new Float64Array(n * n);
  const action = new Float64Array(dim);
  for (let s = 0; s < draws; s++) {
    for (let i = 0; i < dim; i++) action[i] = mean[i] + Math.exp(logStd[i]) * normal();
    const g = gaussianGradLogProb64(params, base, dim, action, 0);
    for (let p = 0; p < n; p++) for (let q = 0; q < n; q++) fisher[p * n + q] += (g[p] * g[q]) / draws;
  }
  return fisher;
}
