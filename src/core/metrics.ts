/**
 * Metric names shared by the CLI's JSON lines, the Studio charts and the
 * benchmarks, and the layout of the GPU metrics block they are read from.
 *
 * The GPU block is one small f32 buffer per iteration: the update kernels and
 * reductions write their slots on the GPU, and the host reads the block back
 * asynchronously through a ring of staging buffers. The WGSL slot constants are
 * generated from GPU_METRIC_SLOTS, so the host and the shaders share one list.
 */

/** Slots of the GPU metrics block, in order. */
export const GPU_METRIC_SLOTS = [
  'completed_return_sum',
  'episodes',
  'approx_kl',
  'entropy',
  'policy_loss',
  'value_loss',
  'clip_frac',
  'kl_coef',
  'stopped_epoch',
  'advantage_mean',
  'advantage_std',
  'return_mean',
  'return_std',
  'cg_residual',
  'step_frac',
  'line_search_failed',
  'epoch_kl',
  'minibatch_advantage_mean',
  'minibatch_advantage_std',
  'update_active',
  // Bit mask of the parameter, optimizer and env tensors found holding NaN or
  // ±inf (the trainer's finiteness check; 0: none). Last, so that blocks saved
  // before it existed keep every other slot's index.
  'non_finite',
  // Population-based training: the agent this agent copied at this iteration's
  // exploit, −1 if it kept its own (populations only).
  'pbt_parent',
] as const;
/** The name of one slot of the GPU metrics block. */
export type GpuMetric = (typeof GPU_METRIC_SLOTS)[number];

/** f32 values in a metrics block: one per `GPU_METRIC_SLOTS` entry, padded to a multiple of 4 (whole vec4s). */
export const METRICS_BLOCK_FLOATS = Math.ceil(GPU_METRIC_SLOTS.length / 4) * 4;

/** Floats of a metrics block saved before the non_finite slot (checkpoints still carry it). */
export const LEGACY_METRICS_BLOCK_FLOATS = 20;

/** Index of `name` in the metrics block (f32 elements). */
export function metricSlot(name: GpuMetric): number {
  return GPU_METRIC_SLOTS.indexOf(name);
}

/** `const METRIC_<NAME>: u32 = <slot>u;` lines to prepend to a shader family. */
export function metricSlotsWgsl(): string {
  return GPU_METRIC_SLOTS.map((name, i) => `const METRIC_${name.toUpperCase()}: u32 = ${i}u;`).join('\n') + '\n';
}

/** One iteration's metrics, with the contract's field names. */
export interface IterationMetrics {
  iter: number;
  env_steps: number;
  /** Mean return of the episodes completed in this iteration; null if none. */
  mean_return: number | null;
  episodes: number;
  approx_kl: number;
  entropy: number;
  policy_loss: number;
  value_loss: number;
  clip_frac: number;
  explained_variance: number;
  kl_coef: number;
  /** Epoch at which PPO's target-KL early stop fired (null: ran all epochs). */
  stopped_epoch: number | null;
  /** TRPO only. */
  cg_residual?: number;
  step_frac?: number;
  line_search_failed?: boolean;
  sps: number;
  wall_s: number;
}

/** Metric fields charted and benchmarked, in display order. */
export const METRIC_FIELDS = [
  'iter',
  'env_steps',
  'mean_return',
  'episodes',
  'approx_kl',
  'entropy',
  'policy_loss',
  'value_loss',
  'clip_frac',
  'explained_variance',
  'kl_coef',
  'stopped_epoch',
  'cg_residual',
  'step_frac',
  'line_search_failed',
  'sps',
  'wall_s',
] as const;

/** Builds the contract's metrics from a GPU block read back for iteration `iter`. */
export function decodeMetrics(
  block: Float32Array,
  context: { iter: number; envSteps: number; sps: number; wallSeconds: number; algo: string },
): IterationMetrics {
  const at = (name: GpuMetric) => block[metricSlot(name)];
  const episodes = at('episodes');
  const stopped = at('stopped_epoch');
  const m: IterationMetrics = {
    iter: context.iter,
    env_steps: context.envSteps,
    mean_return: episodes > 0 ? at('completed_return_sum') / episodes : null,
    episodes,
    approx_kl: at('approx_kl'),
    entropy: at('entropy'),
    policy_loss: at('policy_loss'),
    value_loss: at('value_loss'),
    clip_frac: at('clip_frac'),
    // returns - values = advantages (GAE), so 1 - Var(returns - V) / Var(returns):
    explained_variance: at('return_std') > 0 ? 1 - (at('advantage_std') / at('return_std')) ** 2 : 0,
    kl_coef: at('kl_coef'),
    stopped_epoch: stopped >= 0 ? stopped : null,
    sps: context.sps,
    wall_s: context.wallSeconds,
  };
  if (context.algo === 'trpo') {
    m.cg_residual = at('cg_residual');
    m.step_frac = at('step_frac');
    m.line_search_failed = at('line_search_failed') > 0;
  }
  return m;
}

/** The first metric that is NaN or infinite, if any (training has diverged). */
export function firstNonFinite(m: IterationMetrics): string | null {
  for (const [key, value] of Object.entries(m)) {
    if (typeof value === 'number' && !Number.isFinite(value)) return key;
  }
  return null;
}

/** Iterations over which an iteration's reported `sps` is measured. */
export const SPS_WINDOW = 4;

export function stepsPerSecond(steps: number, seconds: number): number {
  return steps / seconds;
}

/**
 * Env steps per second over a sliding window of recent reports: readbacks
 * arrive in bursts, so one report's own rate swings widely; the steps of the
 * last few over the wall time from the first one's start to the last one's end
 * do not. The window holds at most `reports` reports and, with `ms`, drops
 * those that ended more than `ms` before the latest (keeping at least one).
 */
export class StepRate {
  private readonly window: { steps: number; start: number; end: number }[] = [];

  constructor(private readonly limits: { reports?: number; ms?: number }) {}

  /** `steps` env steps ran from `start` to `end` (milliseconds, one clock). */
  add(steps: number, start: number, end: number): void {
    const w = this.window;
    w.push({ steps, start, end });
    if (this.limits.reports !== undefined && w.length > this.limits.reports) w.shift();
    const ms = this.limits.ms;
    if (ms !== undefined) while (w.length > 1 && end - w[0].end > ms) w.shift();
  }

  /** Env steps per second over the window; null when it is empty or spans less than `minMs`. */
  perSecond(minMs = 0): number | null {
    const w = this.window;
    if (!w.length) return null;
    const ms = w[w.length - 1].end - w[0].start;
    if (ms < minMs) return null;
    let steps = 0;
    for (const r of w) steps += r.steps;
    return stepsPerSecond(steps, ms / 1000);
  }

  clear(): void {
    this.window.length = 0;
  }
}

/** One agent's line of a population's iteration: its metrics, which agent, its seed and swept hyperparameters. */
export type AgentMetrics = IterationMetrics & {
  agent: number;
  seed: number;
  /** The agent it copied at this iteration's PBT exploit (PBT runs only; null: kept its own). */
  pbt_parent?: number | null;
} & Record<string, unknown>;

/** The population's summary line for one iteration: the spread of the agents' mean returns. */
export interface PopulationSummary {
  population: number;
  iter: number;
  /** Env steps of the whole population so far (agents × each agent's steps). */
  env_steps: number;
  /** Agents that completed an episode this iteration (the statistics are over them). */
  reporting: number;
  best: number | null;
  best_agent: number | null;
  q1: number | null;
  median: number | null;
  q3: number | null;
  worst: number | null;
  /** Aggregate env steps per second of the population. */
  sps: number;
}

/** The q-quantile of sorted values, linearly interpolated between order statistics (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) throw new Error('quantile: no values');
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/** The summary of one iteration's per-agent metrics (agent k at index k). */
export function populationSummary(agents: readonly IterationMetrics[]): PopulationSummary {
  if (!agents.length) throw new Error('populationSummary: no agents');
  const returns = agents.map((m, agent) => ({ agent, r: m.mean_return })).filter((x): x is { agent: number; r: number } => x.r !== null);
  const sorted = returns.map((x) => x.r).sort((a, b) => a - b);
  let best: { agent: number; r: number } | null = null;
  for (const x of returns) if (!best || x.r > best.r) best = x;
  const any = sorted.length > 0;
  return {
    population: agents.length,
    iter: agents[0].iter,
    env_steps: agents.length * agents[0].env_steps,
    reporting: sorted.length,
    best: best ? best.r : null,
    best_agent: best ? best.agent : null,
    q1: any ? quantile(sorted, 0.25) : null,
    median: any ? quantile(sorted, 0.5) : null,
    q3: any ? quantile(sorted, 0.75) : null,
    worst: any ? sorted[0] : null,
    sps: agents.length * agents[0].sps,
  };
}
