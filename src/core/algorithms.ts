/**
 * The algorithms by name, with what config validation, the CLI and the Studio
 * need to know about each. Plain data below every GPU layer: src/algos/registry.ts
 * keys each algorithm's update factory by these same names (a name without a
 * factory fails to compile), so an algorithm is added here and there, nowhere else.
 */
import type { TrainConfig } from './config';

/** What the config, the CLI and the Studio know about one algorithm. */
export interface AlgorithmInfo {
  /** Name shown in the Studio and in progress lines. */
  label: string;
  /** One line for `--help` and the Studio. */
  description: string;
  /** Epochs over shuffled minibatches (so minibatch ≤ batch); otherwise one full-batch update per iteration. */
  minibatches: boolean;
  /** Config fields this algorithm reads that not every algorithm reads (a field no algorithm lists is read by all). */
  hyperparameters: readonly (keyof TrainConfig)[];
}

/** The algorithms by config name ('ppo', 'ppo-kl', 'trpo', 'reinforce'). */
export const ALGORITHMS = {
  ppo: {
    label: 'PPO',
    description: 'clipped surrogate, epochs of minibatch Adam steps',
    minibatches: true,
    hyperparameters: ['lr', 'epochs', 'minibatch', 'clip', 'valueClip', 'entCoef', 'maxGradNorm', 'targetKl'],
  },
  'ppo-kl': {
    label: 'PPO-KL',
    description: 'PPO with an adaptive KL penalty in place of the clip',
    minibatches: true,
    hyperparameters: ['lr', 'epochs', 'minibatch', 'valueClip', 'entCoef', 'maxGradNorm', 'targetKl', 'klTarget', 'klCoef'],
  },
  trpo: {
    label: 'TRPO',
    description: 'natural-gradient step (conjugate gradient on the Fisher) with a backtracking line search in a KL trust region',
    minibatches: false,
    hyperparameters: ['maxKl', 'cgIters', 'damping', 'backtracks', 'acceptRatio', 'lineSearchKlCheck', 'valueSteps'],
  },
  reinforce: {
    label: 'REINFORCE',
    description: 'one full-batch policy-gradient Adam step with a value baseline',
    minibatches: false,
    hyperparameters: ['lr', 'valueSteps'],
  },
} as const satisfies Record<string, AlgorithmInfo>;

/** An algorithm's config name: a key of `ALGORITHMS`. */
export type Algo = keyof typeof ALGORITHMS;
/** Every `Algo`, in `ALGORITHMS` order. */
export const ALGOS = Object.keys(ALGORITHMS) as readonly Algo[];

/** The label, description and hyperparameters of `algo`. */
export function algorithmInfo(algo: Algo): AlgorithmInfo {
  return ALGORITHMS[algo];
}

/** The algorithms that read `field` (every one, unless some algorithm lists it as its own). */
export function algorithmsReading(field: keyof TrainConfig): Algo[] {
  const listing = ALGOS.filter((algo) => algorithmInfo(algo).hyperparameters.includes(field));
  return listing.length > 0 ? listing : [...ALGOS];
}
