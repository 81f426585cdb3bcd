/**
 * Useful work of the benchmarked computations, counted from the shapes alone
 * (what an ideal implementation must do, not what our kernels happen to do):
 *
 * FLOPs: a multiply-add is 2 FLOPs; only the dense-layer products are counted
 * (bias adds, activations, softmax, env physics, optimizer and reductions are
 * O(rows·width) or O(params) and below 3 % of the total at width 64).
 *   forward           2·in·out per row per layer
 *   backward params   2·in·out per row per layer (dL/dW = δᵀ·x)
 *   backward input    2·in·out per row per layer except the first (the network input needs no gradient)
 *   FVP tangent       2·in·out per row for V·a, plus 2·in·out for W·u on every layer but the first
 *
 * Bytes: f32 traffic each dense-layer pass must move at least once: its input
 * and output rows (and gradient rows for backward), plus its weights once per
 * dispatch; what caches absorb is not subtracted.
 */
import type { ResolvedConfig } from '../../src/core/config';
import { CARTPOLE_V1 } from '../../src/reference/cartpole';

export interface Cost {
  flops: number;
  bytes: number;
}

export interface LayerShape {
  inDim: number;
  outDim: number;
}

export const add = (...costs: Cost[]): Cost => ({
  flops: costs.reduce((s, c) => s + c.flops, 0),
  bytes: costs.reduce((s, c) => s + c.bytes, 0),
});

const times = (k: number, c: Cost): Cost => ({ flops: k * c.flops, bytes: k * c.bytes });

/** The two-hidden-layer tanh networks of the trainer: obs → h → h → out. */
export function networkShape(inputDim: number, hidden: number, outputDim: number): LayerShape[] {
  return [
    { inDim: inputDim, outDim: hidden },
    { inDim: hidden, outDim: hidden },
    { inDim: hidden, outDim: outputDim },
  ];
}

export function forwardCost(layers: readonly LayerShape[], rows: number): Cost {
  return add(...layers.map((l) => ({ flops: 2 * l.inDim * l.outDim * rows, bytes: 4 * (rows * (l.inDim + l.outDim) + l.inDim * l.outDim + l.outDim) })));
}

export function backwardCost(layers: readonly LayerShape[], rows: number): Cost {
  return add(
    ...layers.map((l, k) => {
      const params = { flops: 2 * l.inDim * l.outDim * rows, bytes: 4 * (rows * (l.inDim + l.outDim) + l.inDim * l.outDim + l.outDim) };
      const input = k === 0 ? { flops: 0, bytes: 0 } : { flops: 2 * l.inDim * l.outDim * rows, bytes: 4 * (rows * (2 * l.inDim + l.outDim) + l.inDim * l.outDim) };
      return add(params, input);
    }),
  );
}

/** One Fisher-vector product over `rows` (tangents, then an ordinary backward), the forward at θ excluded. */
export function fisherVectorProductCost(layers: readonly LayerShape[], rows: number): Cost {
  const tangent = add(
    ...layers.map((l, k) => ({
      flops: (k === 0 ? 2 : 4) * l.inDim * l.outDim * rows,
      bytes: 4 * (rows * ((k === 0 ? 1 : 2) * l.inDim + 2 * l.outDim) + 2 * l.inDim * l.outDim),
    })),
  );
  return add(tangent, backwardCost(layers, rows));
}

export interface PhaseCosts {
  collect: Cost;
  advantage: Cost;
  update: Cost;
  total: Cost;
}

/** Useful work of one training iteration of `config`, per phase (as the trainer splits them). */
export function iterationCost(config: ResolvedConfig): PhaseCosts {
  const { obsDim, numActions, batchSize: B, stepsPerEnv: T, minibatches: M } = config.derived;
  const N = config.numEnvs;
  const policy = networkShape(obsDim, config.hidden, numActions);
  const value = networkShape(obsDim, config.hidden, 1);
  const collect = times(T, forwardCost(policy, N));
  // The rollout keeps its behaviour logits; one value forward covers obs (T+1 rows per env)
  // and, unless truncation counts as terminal, K = ceil(T / maxEpisodeSteps) final-observation slots per env.
  const finalSlots = config.truncationAsTerminal ? 0 : Math.ceil(T / CARTPOLE_V1.maxEpisodeSteps);
  const advantage = forwardCost(value, B + N + finalSlots * N);
  const step = (layers: LayerShape[], rows: number) => add(forwardCost(layers, rows), backwardCost(layers, rows));
  // Every algorithm ends with the updated policy's forward over the batch (KL and entropy reporting).
  const report = forwardCost(policy, B);
  const valueFit = times(config.valueSteps, step(value, B));
  let update: Cost;
  if (config.algo === 'ppo' || config.algo === 'ppo-kl') {
    update = add(times(config.epochs * M, add(step(policy, config.minibatch), step(value, config.minibatch))), report);
  } else if (config.algo === 'trpo') {
    const fvp = fisherVectorProductCost(policy, B);
    // Gradient; CG (forward at θ, cgIters products); F·x for the step scale; the candidates θ and θ + 0.5^k·step.
    update = add(step(policy, B), forwardCost(policy, B), times(config.cgIters + 1, fvp), times(config.backtracks + 1, forwardCost(policy, B)), valueFit, report);
  } else {
    update = add(step(policy, B), valueFit, report);
  }
  return { collect, advantage, update, total: add(collect, advantage, update) };
}
