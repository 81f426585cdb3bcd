/**
 * MLP layout over one flat f32 parameter buffer, and seeded initialisers.
 *
 * Parameters are stored layer after layer as W_0, b_0, W_1, b_1, ... with W_l
 * row-major [outDim][inDim] (PyTorch's nn.Linear layout and
 * `parameters_to_vector` order). Gradients, Adam moments and TRPO vectors use
 * the same layout, so optimizers are plain vector kernels over `paramCount`.
 */
import { mulberry32, normalSampler } from '../core/prng';

export type Activation = 'tanh' | 'identity';

export interface DenseLayer {
  readonly inDim: number;
  readonly outDim: number;
  /** Index of W_l[0][0] in the flat parameter vector. */
  readonly weightOffset: number;
  /** Index of b_l[0] in the flat parameter vector. */
  readonly biasOffset: number;
  /** Applied to this layer's output. */
  readonly activation: Activation;
}

/**
 * What follows the network's output: nothing (the output is the distribution's
 * parameters, e.g. logits), or a diagonal Gaussian whose means are the output
 * and whose state-independent log standard deviations are `outputDim` more
 * parameters after the layers' (so optimizers, CG, checkpoints and the NaN
 * check treat them as weights); shaders/gaussian_head.wgsl joins the two.
 */
export type PolicyHeadKind = 'none' | 'gaussian';

export class MlpLayout {
  readonly layers: readonly DenseLayer[];
  /** The layers' parameters, then the head's (the Gaussian log-stds). */
  readonly paramCount: number;
  /** Index of the first head parameter (= the layers' parameter count). */
  readonly headOffset: number;

  /** `sizes` = [input, hidden..., output]; one activation per layer (sizes.length − 1). */
  constructor(
    readonly sizes: readonly number[],
    readonly activations: readonly Activation[],
    readonly head: PolicyHeadKind = 'none',
  ) {
    if (sizes.length < 2) throw new Error(`MlpLayout: sizes needs at least 2 entries (input and output), got [${sizes.join(', ')}]`);
    for (const s of sizes) {
      if (!Number.isInteger(s) || s < 1) throw new Error(`MlpLayout: sizes must be positive integers, got ${s} in [${sizes.join(', ')}]`);
    }
    if (activations.length !== sizes.length - 1) {
      throw new Error(`MlpLayout: ${sizes.length - 1} layers need ${sizes.length - 1} activations, got ${activations.length}`);
    }
    for (const a of activations) {
      if (a !== 'tanh' && a !== 'identity') throw new Error(`MlpLayout: activation "${a}" is not one of tanh, identity`);
    }
    const layers: DenseLayer[] = [];
    let offset = 0;
    for (let l = 0; l + 1 < sizes.length; l++) {
      const inDim = sizes[l];
      const outDim = sizes[l + 1];
      layers.push({ inDim, outDim, weightOffset: offset, biasOffset: offset + inDim * outDim, activation: activations[l] });
      offset += (inDim + 1) * outDim;
    }
    if (head !== 'none' && head !== 'gaussian') throw new Error(`MlpLayout: head "${head}" is not one of none, gaussian`);
    this.layers = layers;
    this.headOffset = offset;
    this.paramCount = offset + (head === 'gaussian' ? sizes[sizes.length - 1] : 0);
  }

  get inputDim(): number {
    return this.sizes[0];
  }

  /** The last layer's width (the Gaussian's means). */
  get outputDim(): number {
    return this.sizes[this.sizes.length - 1];
  }

  /** Values per row the action distribution reads: the output, and with a Gaussian head the log-stds after the means. */
  get distParamsPerRow(): number {
    return this.head === 'gaussian' ? 2 * this.outputDim : this.outputDim;
  }
}

/**
 * PyTorch's nn.Linear default: W and b uniform(−1/√inDim, 1/√inDim). The last
 * layer's W and b are multiplied by `lastLayerScale` (the seed article uses 0.1
 * for the policy head, so the initial policy is close to uniform).
 */
export function initPyTorchDefault(layout: MlpLayout, seed: number, options: { lastLayerScale?: number } = {}): Float32Array {
  const uniform = mulberry32(seed);
  const params = new Float32Array(layout.paramCount);
  layout.layers.forEach((layer, l) => {
    const bound = 1 / Math.sqrt(layer.inDim);
    const scale = l === layout.layers.length - 1 ? (options.lastLayerScale ?? 1) : 1;
    const end = layer.biasOffset + layer.outDim;
    for (let k = layer.weightOffset; k < end; k++) params[k] = scale * bound * (2 * uniform() - 1);
  });
  return params;
}

/**
 * Orthogonal weights (as torch.nn.init.orthogonal_: QR of a Gaussian matrix,
 * here by modified Gram–Schmidt in float64, which gives R a positive diagonal)
 * times a per-layer gain; zero biases. Typical gains: √2 hidden, 0.01 policy
 * head, 1 value head.
 */
export function initOrthogonal(layout: MlpLayout, seed: number, options: { gains: readonly number[] }): Float32Array {
  if (options.gains.length !== layout.layers.length) {
    throw new Error(`initOrthogonal: ${layout.layers.length} layers need ${layout.layers.length} gains, got ${options.gains.length}`);
  }
  const normal = normalSampler(mulberry32(seed));
  const params = new Float32Array(layout.paramCount);
  layout.layers.forEach((layer, l) => {
    const { inDim, outDim } = layer;
    const q = orthonormalColumns(Math.max(inDim, outDim), Math.min(inDim, outDim), normal);
    const columns = Math.min(inDim, outDim);
    for (let o = 0; o < outDim; o++) {
      for (let i = 0; i < inDim; i++) {
        // Tall W has orthonormal columns; wide W is the transpose of a tall Q (orthonormal rows).
        const value = outDim >= inDim ? q[o * columns + i] : q[i * columns + o];
        params[layer.weightOffset + o * inDim + i] = options.gains[l] * value;
      }
    }
  });
  return params;
}

/** A rows×cols (rows ≥ cols) row-major matrix with orthonormal columns, from Gaussian samples. */
function orthonormalColumns(rows: number, cols: number, normal: () => number): Float64Array {
  const a = new Float64Array(rows * cols);
  for (let k = 0; k < a.length; k++) a[k] = normal();
  for (let c = 0; c < cols; c++) {
    for (let prev = 0; prev < c; prev++) {
      let dot = 0;
      for (let r = 0; r < rows; r++) dot += a[r * cols + prev] * a[r * cols + c];
      for (let r = 0; r < rows; r++) a[r * cols + c] -= dot * a[r * cols + prev];
    }
    let norm = 0;
    for (let r = 0; r < rows; r++) norm += a[r * cols + c] ** 2;
    norm = Math.sqrt(norm);
    for (let r = 0; r < rows; r++) a[r * cols + c] /= norm;
  }
  return a;
}
