/**
 * Float64 categorical distribution over logits: the twin of
 * shaders/categorical.wgsl (and so of every kernel that uses it).
 */

/** log softmax of logits[base .. base + numActions). */
export function logSoftmax(logits: ArrayLike<number>, base: number, numActions: number): Float64Array {
  let m = -Infinity;
  for (let a = 0; a < numActions; a++) m = Math.max(m, logits[base + a]);
  let s = 0;
  for (let a = 0; a < numActions; a++) s += Math.exp(logits[base + a] - m);
  const lse = m + Math.log(s);
  return Float64Array.from({ length: numActions }, (_, a) => logits[base + a] - lse);
}

/** Row-wise softmax of [rows][numActions] logits. */
export function softmaxReference(logits: ArrayLike<number>, rows: number, numActions: number): Float64Array {
  const p = new Float64Array(rows * numActions);
  for (let r = 0; r < rows; r++) p.set(logSoftmax(logits, r * numActions, numActions).map(Math.exp), r * numActions);
  return p;
}

/** log π(action | row) and the entropy of every row of [rows][numActions] logits ([rows] each). */
export function logProbEntropyReference(
  logits: ArrayLike<number>,
  actions: ArrayLike<number>,
  rows: number,
  numActions: number,
): { logProb: Float64Array; entropy: Float64Array } {
  const logProb = new Float64Array(rows);
  const entropy = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const lp = logSoftmax(logits, r * numActions, numActions);
    logProb[r] = lp[actions[r]];
    for (const l of lp) entropy[r] -= Math.exp(l) * l;
  }
  return { logProb, entropy };
}

/** KL(π_old ‖ π_new) per row. */
export function klReference(logitsOld: ArrayLike<number>, logitsNew: ArrayLike<number>, rows: number, numActions: number): Float64Array {
  const kl = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const lpOld = logSoftmax(logitsOld, r * numActions, numActions);
    const lpNew = logSoftmax(logitsNew, r * numActions, numActions);
    for (let a = 0; a < numActions; a++) kl[r] += Math.exp(lpOld[a]) * (lpOld[a] - lpNew[a]);
  }
  return kl;
}

/**
 * The first action whose cumulative probability exceeds u (inverse CDF); past
 * the end (u at or above the total), the last action with nonzero probability.
 */
export function inverseCdf(logits: ArrayLike<number>, base: number, numActions: number, u: number): number {
  const lp = logSoftmax(logits, base, numActions);
  let cumulative = 0;
  let chosen = 0;
  for (let a = 0; a < numActions; a++) {
    const p = Math.exp(lp[a]);
    if (p > 0) chosen = a;
    cumulative += p;
    if (u < cumulative) return a;
  }
  return chosen;
}

/** ∂ log p_action / ∂logits = onehot(action) − p. */
export function gradLogProbReference(logits: ArrayLike<number>, base: number, numActions: number, action: number): Float64Array {
  const lp = logSoftmax(logits, base, numActions);
  return lp.map((l, k) => (k === action ? 1 : 0) - Math.exp(l));
}

/** The softmax Fisher matrix in the logits times u: (diag p − p pᵀ) u = p ⊙ u − p (p·u). */
export function fisherWeightsReference(logits: ArrayLike<number>, tangent: ArrayLike<number>, base: number, numActions: number): Float64Array {
  const p = logSoftmax(logits, base, numActions).map(Math.exp);
  let pu = 0;
  for (let k = 0; k < numActions; k++) pu += p[k] * tangent[base + k];
  return p.map((pk, k) => pk * (tangent[base + k] - pu));
}
