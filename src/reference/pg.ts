/** Float64 twins of shaders/pg.wgsl: the full-batch policy-gradient losses and the value fit. */
import type { MlpLayout } from '../nn/mlp';
import { mlpBackwardReference, mlpForwardReference } from './mlp';
import { AdamReference } from './adam';
import { softmaxReference } from './policy';
import type { SurrogateBatch } from './trpo';

/**
 * Loss and ∇θ of the policy loss over the batch: TRPO's surrogate
 * −mean(exp(logp − logp_old)·Â) (ratioWeighted) or REINFORCE's −mean(logp·Â).
 */
export function policyGradientReference(batch: SurrogateBatch, params: ArrayLike<number>, ratioWeighted: boolean): { loss: number; grads: Float64Array } {
  const { layout, rows, actions, advantages } = batch;
  const A = layout.outputDim;
  const acts = mlpForwardReference(layout, params, batch.obs, rows);
  const p = softmaxReference(acts[acts.length - 1], rows, A);
  const gradOutput = new Float64Array(rows * A);
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const logP = Math.log(p[r * A + actions[r]]);
    const rowLoss = ratioWeighted ? -Math.exp(logP - batch.logProbsOld[r]) * advantages[r] : -logP * advantages[r];
    const dLogP = ratioWeighted ? rowLoss : -advantages[r];
    loss += rowLoss / rows;
    for (let k = 0; k < A; k++) gradOutput[r * A + k] = (dLogP * ((k === actions[r] ? 1 : 0) - p[r * A + k])) / rows;
  }
  return { loss, grads: mlpBackwardReference(layout, params, batch.obs, acts, gradOutput, rows).grads };
}

/** `steps` full-batch Adam steps on mean (v − R)²; returns the parameters and the last step's loss (before its update). */
export function valueFitReference(
  layout: MlpLayout,
  params: ArrayLike<number>,
  obs: ArrayLike<number>,
  returns: ArrayLike<number>,
  rows: number,
  steps: number,
  adam: AdamReference,
): { params: Float64Array; lastLoss: number } {
  const theta = Float64Array.from(params);
  let lastLoss = 0;
  for (let s = 0; s < steps; s++) {
    const acts = mlpForwardReference(layout, theta, obs, rows);
    const v = acts[acts.length - 1];
    const grad = new Float64Array(rows);
    lastLoss = 0;
    for (let r = 0; r < rows; r++) {
      grad[r] = (2 * (v[r] - returns[r])) / rows;
      lastLoss += (v[r] - returns[r]) ** 2 / rows;
    }
    adam.update(theta, mlpBackwardReference(layout, theta, obs, acts, grad, rows).grads);
  }
  return { params: theta, lastLoss };
}
