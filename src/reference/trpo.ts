/**
 * Float64 references for TRPO's solver and step (shaders/cg.wgsl,
 * shaders/linesearch.wgsl), written as the seed article's conjugate_gradient
 * and linesearch, formula for formula.
 */
import type { MlpLayout } from '../nn/mlp';
import { mlpForwardReference } from './mlp';

/** What `conjugateGradientReference` returns. */
export interface ConjugateGradientResult {
  /** The approximate solution of A x = b. */
  x: Float64Array;
  /** r·r when the loop ended (the seed's rdotr). */
  residual: number;
  /** Iterations run (fewer than asked when r·r fell below the tolerance). */
  iterations: number;
  /** r·r after each iteration. */
  residuals: number[];
}

/** The seed's conjugate_gradient(f_Ax, b, cg_iters, residual_tol). */
export function conjugateGradientReference(
  applyOperator: (v: Float64Array) => Float64Array,
  b: ArrayLike<number>,
  iterations: number,
  residualTol: number,
): ConjugateGradientResult {
  const n = b.length;
  const dot = (u: ArrayLike<number>, v: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += u[i] * v[i];
    return s;
  };
  const p = Float64Array.from(b);
  const r = Float64Array.from(b);
  const x = new Float64Array(n);
  let rdotr = dot(r, r);
  const residuals: number[] = [];
  let done = 0;
  for (let it = 0; it < iterations; it++) {
    const z = applyOperator(p);
    const v = rdotr / (dot(p, z) + 1e-8);
    for (let i = 0; i < n; i++) {
      x[i] += v * p[i];
      r[i] -= v * z[i];
    }
    const newrdotr = dot(r, r);
    const mu = newrdotr / (rdotr + 1e-8);
    for (let i = 0; i < n; i++) p[i] = r[i] + mu * p[i];
    rdotr = newrdotr;
    residuals.push(rdotr);
    done++;
    if (rdotr < residualTol) break;
  }
  return { x, residual: rdotr, iterations: done, residuals };
}

/** The batch a TRPO surrogate is evaluated on. */
export interface SurrogateBatch {
  layout: MlpLayout;
  rows: number;
  obs: ArrayLike<number>;
  actions: ArrayLike<number>;
  /** log π_old(a|s) of the taken actions. */
  logProbsOld: ArrayLike<number>;
  /** Advantages as the surrogate uses them (already normalised). */
  advantages: ArrayLike<number>;
  /** [rows][numActions] logits of π_old. */
  logitsOld: ArrayLike<number>;
}

function logSoftmax(logits: ArrayLike<number>, base: number, count: number): Float64Array {
  let max = -Infinity;
  for (let k = 0; k < count; k++) max = Math.max(max, logits[base + k]);
  let sum = 0;
  for (let k = 0; k < count; k++) sum += Math.exp(logits[base + k] - max);
  const logSum = max + Math.log(sum);
  return Float64Array.from({ length: count }, (_, k) => logits[base + k] - logSum);
}

/** −mean(exp(logp − logp_old)·Â) and mean KL(π_old ‖ π_θ) over the batch. */
export function surrogateAndKlReference(batch: SurrogateBatch, params: ArrayLike<number>): { surrogate: number; kl: number } {
  const { layout, rows } = batch;
  const A = layout.outputDim;
  const acts = mlpForwardReference(layout, params, batch.obs, rows);
  const logits = acts[acts.length - 1];
  let surrogate = 0;
  let kl = 0;
  for (let r = 0; r < rows; r++) {
    const logP = logSoftmax(logits, r * A, A);
    const logPOld = logSoftmax(batch.logitsOld, r * A, A);
    surrogate -= Math.exp(logP[batch.actions[r]] - batch.logProbsOld[r]) * batch.advantages[r];
    for (let k = 0; k < A; k++) kl += Math.exp(logPOld[k]) * (logPOld[k] - logP[k]);
  }
  return { surrogate: surrogate / rows, kl: kl / rows };
}

/** Inputs of `trustRegionStepReference`: the batch, θ and the CG results. */
export interface TrustRegionStepOptions {
  batch: SurrogateBatch;
  params: ArrayLike<number>;
  /** The CG solution x (the seed's stepdir). */
  stepDirection: ArrayLike<number>;
  /** xᵀ F x. */
  stepCurvature: number;
  /** −g·x (the seed's neggdotstepdir). */
  negGradDotStep: number;
  maxKl: number;
  backtracks: number;
  acceptRatio: number;
  /** Also require mean KL ≤ 1.5 maxKl. */
  klCheck: boolean;
}

/** The step `trustRegionStepReference` chose, and every candidate it scored. */
export interface TrustRegionStepResult {
  /** Index of the accepted fraction 0.5^k, or −1 when the search failed. */
  chosen: number;
  stepFraction: number;
  params: Float64Array;
  /** Surrogate at θ (the seed's fval). */
  baseSurrogate: number;
  expectedImproveRate: number;
  /** Surrogate and KL of every candidate θ + 0.5^k fullstep. */
  candidates: { surrogate: number; kl: number; ratio: number }[];
}

/** shs, lm, fullstep and the seed's backtracking linesearch (all candidates evaluated, for the tests). */
export function trustRegionStepReference(o: TrustRegionStepOptions): TrustRegionStepResult {
  const shs = 0.5 * o.stepCurvature;
  const lm = Math.sqrt(shs / o.maxKl);
  const fullstep = Float64Array.from(o.stepDirection, (x) => x / lm);
  const expectedImproveRate = o.negGradDotStep / lm;
  const fval = surrogateAndKlReference(o.batch, o.params).surrogate;
  const candidates = [];
  let chosen = -1;
  for (let k = 0; k < o.backtracks; k++) {
    const stepfrac = 0.5 ** k;
    const xnew = Float64Array.from(o.params, (p, i) => p + stepfrac * fullstep[i]);
    const { surrogate, kl } = surrogateAndKlReference(o.batch, xnew);
    const actualImprove = fval - surrogate;
    const ratio = actualImprove / (expectedImproveRate * stepfrac + 1e-8);
    candidates.push({ surrogate, kl, ratio });
    const klOk = !o.klCheck || kl <= 1.5 * o.maxKl;
    if (chosen < 0 && ratio > o.acceptRatio && actualImprove > 0 && klOk) chosen = k;
  }
  const stepFraction = chosen >= 0 ? 0.5 ** chosen : 0;
  return {
    chosen,
    stepFraction,
    params: Float64Array.from(o.params, (p, i) => p + stepFraction * fullstep[i]),
    baseSurrogate: fval,
    expectedImproveRate,
    candidates,
  };
}
