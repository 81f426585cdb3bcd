/** The policy and value networks of a config (no GPU): what the trainer builds, a checkpoint must fit and limits.ts sizes. */
import { MlpLayout } from '../nn/mlp';
import type { ResolvedConfig } from '../core/config';

export function networkLayouts(config: ResolvedConfig): { policy: MlpLayout; value: MlpLayout } {
  const { obsDim, numActions } = config.derived;
  const h = config.hidden;
  return {
    policy: new MlpLayout([obsDim, h, h, numActions], ['tanh', 'tanh', 'identity']),
    value: new MlpLayout([obsDim, h, h, 1], ['tanh', 'tanh', 'identity']),
  };
}
