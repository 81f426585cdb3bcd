/**
 * Action distributions of the policy head as WGSL modules behind one
 * interface, the dist_* functions (see shaders/categorical.wgsl): kernels are
 * written once against the interface, and a wrapper prepends the module its
 * action space needs, after shaders/random.wgsl.
 */
import categoricalWgsl from '../../shaders/categorical.wgsl?raw';
import { wgslConstants } from '../gpu/wgsl';

export interface ActionDistribution {
  readonly name: string;
  /** Most parameters one row of the policy output may carry (WGSL's DistParams length). */
  readonly maxParamsPerRow: number;
  /** WGSL: the generated DIST_MAX_PARAMS, then the module. */
  readonly wgsl: string;
  /** Parameters per row for an action space of `actionSize`; throws where the module cannot hold them. */
  paramsPerRow(actionSize: number, label: string): number;
}

function distribution(name: string, maxParamsPerRow: number, module: string, params: (actionSize: number) => number): ActionDistribution {
  return {
    name,
    maxParamsPerRow,
    wgsl: wgslConstants({ DIST_MAX_PARAMS: maxParamsPerRow }) + module,
    paramsPerRow(actionSize, label) {
      const count = params(actionSize);
      if (!Number.isInteger(count) || count < 1 || count > maxParamsPerRow) {
        throw new Error(`${label}: a ${name} distribution holds 1 to ${maxParamsPerRow} parameters per row, ${actionSize} actions need ${count}`);
      }
      return count;
    },
  };
}

/** Softmax over one logit per action: parameters per row = the number of actions. */
export const CATEGORICAL: ActionDistribution = distribution('categorical', 16, categoricalWgsl, (numActions) => numActions);
