/**
 * Float64 references for the Fisher-vector product of a softmax policy MLP
 * (shaders/fvp.wgsl, with mlp.wgsl's tangent kernels): forward-mode tangents, the matrix-free product, the
 * explicit Fisher matrix, and the gradient of the mean KL whose Jacobian (by
 * finite differences) is the same matrix at θ = θ_old.
 */
import type { MlpLayout } from '../nn/mlp';
import { mlpBackwardReference, mlpForwardReference } from './mlp';
import { softmaxReference } from './policy';

/** J v: the tangent of the network output along the parameter direction `vector`, [rows][outputDim]. */
export function mlpTangentReference(layout: MlpLayout, params: ArrayLike<number>, vector: ArrayLike<number>, input: ArrayLike<number>, rows: number): Float64Array {
  const activations = mlpForwardReference(layout, params, input, rows);
  let tangentIn = new Float64Array(rows * layout.inputDim);
  layout.layers.forEach((layer, l) => {
    const { inDim, outDim, weightOffset, biasOffset } = layer;
    const x = l === 0 ? input : activations[l - 1];
    const y = activations[l];
    const tangentOut = new Float64Array(rows * outDim);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < outDim; o++) {
        let s = vector[biasOffset + o];
        for (let i = 0; i < inDim; i++) {
          const at = weightOffset + o * inDim + i;
          s += vector[at] * x[r * inDim + i] + params[at] * tangentIn[r * inDim + i];
        }
        const a = y[r * outDim + o];
        tangentOut[r * outDim + o] = layer.activation === 'tanh' ? (1 - a * a) * s : s;
      }
    }
    tangentIn = tangentOut;
  });
  return tangentIn;
}

/** F v + damping v without the matrix: tangents, (diag p − p pᵀ)/R at the logits, backward. */
export function fisherVectorProductReference(
  layout: MlpLayout,
  params: ArrayLike<number>,
  input: ArrayLike<number>,
  rows: number,
  vector: ArrayLike<number>,
  damping: number,
): Float64Array {
  const A = layout.outputDim;
  const activations = mlpForwardReference(layout, params, input, rows);
  const p = softmaxReference(activations[activations.length - 1], rows, A);
  const u = mlpTangentReference(layout, params, vector, input, rows);
  const w = new Float64Array(rows * A);
  for (let r = 0; r < rows; r++) {
    let pu = 0;
    for (let k = 0; k < A; k++) pu += p[r * A + k] * u[r * A + k];
    for (let k = 0; k < A; k++) w[r * A + k] = (p[r * A + k] * (u[r * A + k] - pu)) / rows;
  }
  const { grads } = mlpBackwardReference(layout, params, input, activations, w, rows);
  for (let j = 0; j < grads.length; j++) grads[j] += damping * vector[j];
  return grads;
}

/**
 * The network's output Jacobian, one column per parameter: entry j is
 * d output / dθ_j, [rows][outputDim], from one forward-mode pass per basis vector.
 */
export function mlpJacobianReference(layout: MlpLayout, params: ArrayLike<number>, input: ArrayLike<number>, rows: number): Float64Array[] {
  const jacobian: Float64Array[] = [];
  const basis = new Float64Array(layout.paramCount);
  for (let j = 0; j < layout.paramCount; j++) {
    basis[j] = 1;
    jacobian.push(mlpTangentReference(layout, params, basis, input, rows));
    basis[j] = 0;
  }
  return jacobian;
}

/** The explicit Fisher matrix (1/R) Σ_i J_iᵀ (diag p_i − p_i p_iᵀ) J_i, [n][n] row-major (no damping). */
export function fisherMatrixReference(layout: MlpLayout, params: ArrayLike<number>, input: ArrayLike<number>, rows: number): Float64Array {
  const n = layout.paramCount;
  const A = layout.outputDim;
  const activations = mlpForwardReference(layout, params, input, rows);
  const p = softmaxReference(activations[activations.length - 1], rows, A);
  const jacobian = mlpJacobianReference(layout, params, input, rows);
  const F = new Float64Array(n * n);
  for (let r = 0; r < rows; r++) {
    for (let a = 0; a < n; a++) {
      const ja = jacobian[a];
      for (let b = 0; b <= a; b++) {
        const jb = jacobian[b];
        // J_aᵀ (diag p − p pᵀ) J_b = Σ_k p_k ja_k jb_k − (p·ja)(p·jb)
        let diag = 0;
        let pa = 0;
        let pb = 0;
        for (let k = 0; k < A; k++) {
          const pk = p[r * A + k];
          diag += pk * ja[r * A + k] * jb[r * A + k];
          pa += pk * ja[r * A + k];
          pb += pk * jb[r * A + k];
        }
        F[a * n + b] += (diag - pa * pb) / rows;
      }
    }
  }
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) F[a * n + b] = F[b * n + a];
  return F;
}

/** ∇θ of the mean KL(π_old ‖ π_θ) over the rows, with π_old from `paramsOld`. */
export function meanKlGradientReference(
  layout: MlpLayout,
  params: ArrayLike<number>,
  paramsOld: ArrayLike<number>,
  input: ArrayLike<number>,
  rows: number,
): Float64Array {
  const A = layout.outputDim;
  const old = mlpForwardReference(layout, paramsOld, input, rows);
  const pOld = softmaxReference(old[old.length - 1], rows, A);
  const activations = mlpForwardReference(layout, params, input, rows);
  const p = softmaxReference(activations[activations.length - 1], rows, A);
  // d KL_i / d logit_k = p_k − p_old,k
  const g = new Float64Array(rows * A);
  for (let k = 0; k < g.length; k++) g[k] = (p[k] - pOld[k]) / rows;
  return mlpBackwardReference(layout, params, input, activations, g, rows).grads;
}
