/** Float64 linear algebra the tests check GPU results against: dense solve, products, norms, f32 rounding. */

/** The values rounded to f32, held in float64 (inputs both the GPU and a float64 reference see exactly). */
export const f32 = (a: ArrayLike<number>) => Float64Array.from(Float32Array.from(a));

export const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, x) => Math.max(m, Math.abs(x)), 0);

export const dot = (u: ArrayLike<number>, v: ArrayLike<number>) => Array.from(u).reduce((s, x, i) => s + x * v[i], 0);

/** (M + damping·I) v for a row-major n×n matrix M. */
export function matVec(M: Float64Array, v: ArrayLike<number>, damping = 0): Float64Array {
  const n = v.length;
  const out = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    let s = damping * v[a];
    for (let b = 0; b < n; b++) s += M[a * n + b] * v[b];
    out[a] = s;
  }
  return out;
}

/** x with A x = b: Gaussian elimination with partial pivoting, float64 (A row-major n×n, left unchanged). */
export function solveDense(A: Float64Array, b: ArrayLike<number>): Float64Array {
  const n = b.length;
  const M = Float64Array.from(A);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r * n + c]) > Math.abs(M[pivot * n + c])) pivot = r;
    for (let k = 0; k < n; k++) [M[c * n + k], M[pivot * n + k]] = [M[pivot * n + k], M[c * n + k]];
    [x[c], x[pivot]] = [x[pivot], x[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r * n + c] / M[c * n + c];
      for (let k = c; k < n; k++) M[r * n + k] -= f * M[c * n + k];
      x[r] -= f * x[c];
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    for (let k = c + 1; k < n; k++) x[c] -= M[c * n + k] * x[k];
    x[c] /= M[c * n + c];
  }
  return x;
}
