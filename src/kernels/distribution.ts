/**
 * Action distributions of the policy head as WGSL modules behind one
 * interface, the dist_* functions (see shaders/categorical.wgsl): kernels are
 * written once against the interface, and a wrapper prepends the module its
 * action space needs, after shaders/random.wgsl.
 */
import categoricalWgsl from '../../shaders/categorical.wgsl?raw';
import gaussianWgsl from '../../shaders/gaussian.wgsl?raw';
import { wgslConstants } from '../gpu/wgsl';
import type { MlpLayout } from '../nn/mlp';

/**
 * An action distribution as the policy kernels use it: a WGSL module implementing the dist_* functions, and the
 * sizes the host needs. `CATEGORICAL` (discrete actions) and `GAUSSIAN` (box actions) are the two.
 */
export interface ActionDistribution {
  /** 'categorical' or 'gaussian': keys the compiled pipelines. */
  readonly name: string;
  /** Most parameters one row of the policy output may carry (WGSL's DistParams length). */
  readonly maxParamsPerRow: number;
  /** WGSL: the generated DIST_MAX_PARAMS (and any constant of the module's own), then the module. */
  readonly wgsl: string;
  /**
   * Parameters per row for an action space of `actionSize` (discrete: the
   * number of actions; continuous: the action components); throws where the
   * module cannot hold them.
   */
  paramsPerRow(actionSize: number, label: string): number;
  /** Throws unless rows of `count` parameters are ones this module holds (`count` = paramsPerRow of some action space). */
  checkParamsPerRow(count: number, label: string): void;
  /** Words per stored action (WGSL's dist_action_words) for rows of `count` parameters. */
  actionWords(count: number): number;
}

function distribution(
  name: string,
  maxParamsPerRow: number,
  module: string,
  params: (actionSize: number) => number,
  actionWords: (count: number) => number,
  moduleConstants: Record<string, number> = {},
): ActionDistribution {
  const step = params(1);
  return {
    name,
    maxParamsPerRow,
    wgsl: wgslConstants({ DIST_MAX_PARAMS: maxParamsPerRow, ...moduleConstants }) + module,
    paramsPerRow(actionSize, label) {
      const count = params(actionSize);
      if (!Number.isInteger(count) || count < 1 || count > maxParamsPerRow) {
        throw new Error(`${label}: a ${name} distribution holds 1 to ${maxParamsPerRow} parameters per row, ${actionSize} actions need ${count}`);
      }
      return count;
    },
    checkParamsPerRow(count, label) {
      if (!Number.isInteger(count) || count < step || count > maxParamsPerRow || count % step !== 0) {
        throw new Error(`${label}: a ${name} distribution takes rows of ${step} to ${maxParamsPerRow} parameters (a multiple of ${step}), got ${count}`);
      }
    },
    actionWords,
  };
}

/** Softmax over one logit per action: parameters per row = the number of actions. */
export const CATEGORICAL: ActionDistribution = distribution('categorical', 16, categoricalWgsl, (numActions) => numActions, () => 1);

/** Most action components the Gaussian module holds (WGSL's DIST_MAX_ACTION_DIM). */
const GAUSSIAN_MAX_ACTION_DIM = 8;

/**
 * Diagonal Gaussian over continuous actions (shaders/gaussian.wgsl): per row
 * the means, then the log standard deviations, 2 parameters per component.
 */
export const GAUSSIAN: ActionDistribution = distribution('gaussian', 2 * GAUSSIAN_MAX_ACTION_DIM, gaussianWgsl, (actionDim) => 2 * actionDim, (count) => count / 2, {
  DIST_MAX_ACTION_DIM: GAUSSIAN_MAX_ACTION_DIM,
});

/** The distribution a policy network's rows feed: a Gaussian head's, else softmax over logits. */
export function distributionOf(layout: MlpLayout): ActionDistribution {
  return layout.head === 'gaussian' ? GAUSSIAN : CATEGORICAL;
}
