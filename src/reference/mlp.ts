/** Float64 MLP forward and backward, the obviously-right twin of shaders/mlp.wgsl. */
import type { MlpLayout, Activation } from '../nn/mlp';

function activate(a: Activation, x: number): number {
  return a === 'tanh' ? Math.tanh(x) : x;
}

/** d act / d pre-activation, written in terms of the activation's output y. */
function activationSlope(a: Activation, y: number): number {
  return a === 'tanh' ? 1 - y * y : 1;
}

/** Post-activation outputs of every layer, [rows][outDim_l] each; the last is the network output. */
export function mlpForwardReference(layout: MlpLayout, params: ArrayLike<number>, input: ArrayLike<number>, rows: number): Float64Array[] {
  const activations: Float64Array[] = [];
  let x: ArrayLike<number> = input;
  for (const layer of layout.layers) {
    const { inDim, outDim, weightOffset, biasOffset } = layer;
    const y = new Float64Array(rows * outDim);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < outDim; o++) {
        let s = params[biasOffset + o];
        for (let i = 0; i < inDim; i++) s += params[weightOffset + o * inDim + i] * x[r * inDim + i];
        y[r * outDim + o] = activate(layer.activation, s);
      }
    }
    activations.push(y);
    x = y;
  }
  return activations;
}

/** What `mlpBackwardReference` returns (float64). */
export interface MlpBackwardReference {
  /** dLoss/dθ in the flat parameter layout. */
  grads: Float64Array;
  /** dLoss/d(pre-activation) of every layer, [rows][outDim_l]; the last is gradOutput itself. */
  gradPreActivations: Float64Array[];
  /** dLoss/d input, [rows][inputDim]. */
  gradInput: Float64Array;
}

/** Backpropagates `gradOutput` (dLoss/d last pre-activation, [rows][outputDim]) through the network. */
export function mlpBackwardReference(
  layout: MlpLayout,
  params: ArrayLike<number>,
  input: ArrayLike<number>,
  activations: readonly Float64Array[],
  gradOutput: ArrayLike<number>,
  rows: number,
): MlpBackwardReference {
  const grads = new Float64Array(layout.paramCount);
  const layers = layout.layers;
  const gradPreActivations: Float64Array[] = new Array(layers.length);
  gradPreActivations[layers.length - 1] = Float64Array.from(gradOutput);
  let gradInput = new Float64Array(0);
  for (let l = layers.length - 1; l >= 0; l--) {
    const { inDim, outDim, weightOffset, biasOffset } = layers[l];
    const g = gradPreActivations[l];
    const x = l === 0 ? input : activations[l - 1];
    const slope = (i: number) => (l === 0 ? 1 : activationSlope(layers[l - 1].activation, x[i]));
    const gradX = new Float64Array(rows * inDim);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < outDim; o++) {
        const go = g[r * outDim + o];
        grads[biasOffset + o] += go;
        for (let i = 0; i < inDim; i++) {
          grads[weightOffset + o * inDim + i] += go * x[r * inDim + i];
          gradX[r * inDim + i] += params[weightOffset + o * inDim + i] * go;
        }
      }
    }
    for (let k = 0; k < gradX.length; k++) gradX[k] *= slope(k);
    if (l > 0) gradPreActivations[l - 1] = gradX;
    else gradInput = gradX;
  }
  return { grads, gradPreActivations, gradInput };
}
