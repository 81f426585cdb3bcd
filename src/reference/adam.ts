/** Float64 torch.optim.Adam (no weight decay, no amsgrad) with torch's clip_grad_norm_, the twin of shaders/optim.wgsl. */
export interface AdamReferenceOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  maxGradNorm?: number;
}

/** Float64 Adam over `count` parameters (torch.optim.Adam's bias-corrected update, optional global-norm clipping). */
export class AdamReference {
  readonly m: Float64Array;
  readonly v: Float64Array;
  step = 0;
  /** The clipping factor applied at the last step (1 without clipping). */
  gradScale = 1;

  constructor(count: number, readonly options: AdamReferenceOptions) {
    this.m = new Float64Array(count);
    this.v = new Float64Array(count);
  }

  /** One update of `params` in place; `lr` overrides the learning rate for this step. */
  update(params: Float64Array, grads: ArrayLike<number>, lr = this.options.lr): void {
    const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, maxGradNorm } = this.options;
    if (maxGradNorm !== undefined) {
      let squares = 0;
      for (let i = 0; i < grads.length; i++) squares += grads[i] * grads[i];
      this.gradScale = Math.min(1, maxGradNorm / (Math.sqrt(squares) + 1e-6));
    }
    this.step += 1;
    const stepSize = lr / (1 - beta1 ** this.step);
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** this.step);
    for (let i = 0; i < params.length; i++) {
      const g = this.gradScale * grads[i];
      this.m[i] = beta1 * this.m[i] + (1 - beta1) * g;
      this.v[i] = beta2 * this.v[i] + (1 - beta2) * g * g;
      params[i] -= stepSize * (this.m[i] / (Math.sqrt(this.v[i]) / biasCorrection2Sqrt + eps));
    }
  }
}
