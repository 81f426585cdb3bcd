/** The policy and value networks of a config (no GPU): what the trainer builds, a checkpoint must fit and limits.ts sizes. */
import { MlpLayout } from '../nn/mlp';
import type { ResolvedConfig } from '../core/config';
import { envSpec } from '../core/envSpecs';

/**
 * Discrete actions: the policy outputs one logit per action. A box: it outputs
 * the Gaussian's means, and its state-independent log-stds follow the layers'
 * parameters (initialised to 0, σ = 1, as SB3's log_std_init).
 */
export function networkLayouts(config: ResolvedConfig): { policy: MlpLayout; value: MlpLayout } {
  const { obsDim } = config.derived;
  const { action } = envSpec(config.env);
  const h = config.hidden;
  const policy =
    action.kind === 'discrete'
      ? new MlpLayout([obsDim, h, h, action.n], ['tanh', 'tanh', 'identity'])
      : new MlpLayout([obsDim, h, h, action.dim], ['tanh', 'tanh', 'identity'], 'gaussian');
  return { policy, value: new MlpLayout([obsDim, h, h, 1], ['tanh', 'tanh', 'identity']) };
}
