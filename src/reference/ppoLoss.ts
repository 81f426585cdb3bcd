/** Float64 per-sample PPO losses, the twins of policy_loss / value_loss in shaders/ppo.wgsl. */
import { logSoftmax } from './policy';

export interface PolicySample {
  logits: number[];
  logitsOld: number[];
  action: number;
  logProbOld: number;
  /** Already normalised. */
  advantage: number;
}

export interface PolicyLossOptions {
  clip: number;
  entropyCoef: number;
  /** KL-penalty coefficient; when set, the clip is dropped (PPO-KL). */
  klCoef?: number;
}

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

export function valueLoss64(value: number, target: number, valueOld: number, valueClip: number): number {
  const plain = (value - target) ** 2;
  if (valueClip <= 0) return plain;
  const clipped = valueOld + Math.min(Math.max(value - valueOld, -valueClip), valueClip);
  return Math.max(plain, (clipped - target) ** 2);
}
