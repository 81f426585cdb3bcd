/**
 * Checkpoints made without a GPU for the fuzz tests: a valid one with every
 * array its config's layout names (finite values, nothing trained), and the
 * broken variants built from it by editing the JSON.
 */
import { resolveConfig, type TrainConfig } from '../src/core/config';
import { METRIC_FIELDS, type IterationMetrics } from '../src/core/metrics';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, checkpointLayout, serializeCheckpoint, type Checkpoint } from '../src/train/checkpoint';

/** A small run's config: 4 envs × 16 steps, hidden width 8. */
export const SMALL_CONFIG: Partial<TrainConfig> = { numEnvs: 4, stepsPerIter: 64, minibatch: 16, hidden: 8, iters: 2 };

export function syntheticCheckpoint(overrides: Partial<TrainConfig> = {}): Checkpoint {
  const { derived: _derived, ...config } = resolveConfig({ ...SMALL_CONFIG, ...overrides });
  const arrays: Record<string, Float32Array> = {};
  for (const [name, length] of checkpointLayout(resolveConfig(config))) arrays[name] = Float32Array.from({ length }, (_, i) => Math.sin(i));
  const history: IterationMetrics[] = [0, 1].map((iter) => {
    const m: Record<string, number | null | boolean> = {};
    for (const field of METRIC_FIELDS) m[field] = 0.5;
    Object.assign(m, { iter, env_steps: (iter + 1) * 64, mean_return: iter ? 20 : null, stopped_epoch: null });
    if (config.algo !== 'trpo') for (const field of ['cg_residual', 'step_frac', 'line_search_failed']) delete m[field];
    else m.line_search_failed = false;
    return m as unknown as IterationMetrics;
  });
  return { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, config, iteration: 2, envSteps: 128, arrays, history };
}

/** The checkpoint as its JSON object, ready to be broken. */
export function checkpointJson(overrides: Partial<TrainConfig> = {}): Record<string, any> {
  return JSON.parse(serializeCheckpoint(syntheticCheckpoint(overrides)));
}
