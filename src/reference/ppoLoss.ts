/** Float64 per-sample PPO losses, the twins of policy_loss / value_loss in shaders/ppo.wgsl. */
import { logSoftmax } from './policy';

/** One categorical sample of a PPO batch. */
export interface PolicySample {
  /** The current policy's logits of the row. */
  logits: number[];
  /** The behaviour policy's logits. */
  logitsOld: number[];
  /** The action index taken. */
  action: number;
  /** log π_old(action). */
  logProbOld: number;
  /** Already normalised. */
  advantage: number;
}

/** Coefficients of `policyLoss64`. */
export interface PolicyLossOptions {
  /** The ratio clip ε: r is clipped to [1 − ε, 1 + ε]. */
  clip: number;
  /** Weight of the entropy bonus. */
  entropyCoef: number;
  /** KL-penalty coefficient; when set, the clip is dropped (PPO-KL). */
  klCoef?: number;
}

/**
 * One sample's PPO policy loss (clipped, or with the KL penalty when `klCoef` is set) minus entCoef·entropy,
 * with its ratio, entropy and KL(old ‖ new).
 */
export function policyLoss64(x: PolicySample, o: PolicyLossOptions): { loss: number; ratio: number; entropy: number; kl: number } {
  const logP = logSoftmax(x.logits, 0, x.logits.length);
  const logPOld = logSoftmax(x.logitsOld, 0, x.logitsOld.length);
  const entropy = -logP.reduce((a, l) => a + Math.exp(l) * l, 0);
  const kl = logPOld.reduce((a, l, k) => a + Math.exp(l) * (l - logP[k]), 0);
  const ratio = Math.exp(logP[x.action] - x.logProbOld);
  let loss: number;
  if (o.klCoef !== undefined) loss = -ratio * x.advantage + o.klCoef * kl;
  else loss = -Math.min(ratio * x.advantage, Math.min(Math.max(ratio, 1 - o.clip), 1 + o.clip) * x.advantage);
  return { loss: loss - o.entropyCoef * entropy, ratio, entropy, kl };
}

/** One sample's value loss (v − R)², or with `valueClip` > 0 the larger of it and the clipped one. */
export function valueLoss64(value: number, target: number, valueOld: number, valueClip: number): number {
  const plain = (value - target) ** 2;
  if (valueClip <= 0) return plain;
  const clipped = valueOld + Math.min(Math.max(value - valueOld, -valueClip), valueClip);
  return Math.max(plain, (clipped - target) ** 2);
}
