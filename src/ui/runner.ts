/**
 * The Studio's training loop: several trainers (one per algorithm, same device)
 * stepped round-robin. Each trainer keeps QUEUE_DEPTH iterations submitted, so
 * the GPU works on the next one while the previous one's metrics are read; the
 * loop hands control back to the browser after every iteration it reports, so
 * the page stays responsive at any env count. No DOM here: the page listens to
 * the events.
 */
import type { Algo } from '../core/config';
import type { Trainer } from '../train/trainer';
import { StepRate, firstNonFinite, type IterationMetrics } from '../core/metrics';

/** One algorithm's run. */
export interface Lane {
  readonly algo: Algo;
  readonly trainer: Trainer;
  /** Every iteration's metrics, a restored checkpoint's history first. */
  readonly history: IterationMetrics[];
  /** Iteration at which this session started (non-zero after a checkpoint). */
  readonly firstIteration: number;
  /** Why the lane takes no more steps (plan done, solved, diverged); null while it goes on. */
  finished: string | null;
}

export type RunnerState = 'running' | 'pausing' | 'paused' | 'stopping' | 'stopped' | 'failed';

export interface RunnerEvents {
  metrics(lane: Lane, metrics: IterationMetrics): void;
  state(state: RunnerState): void;
  error(error: Error): void;
}

/** Iterations queued per trainer: one running on the GPU, one waiting behind it. */
const QUEUE_DEPTH = 2;

/** Lets the browser render and handle input before the next iteration is queued. */
function yieldToBrowser(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export function newLane(algo: Algo, trainer: Trainer, history: IterationMetrics[] = []): Lane {
  return { algo, trainer, history, firstIteration: trainer.iteration, finished: null };
}

/** Whether the lane's plan (--iters, --total-steps) allows queuing another iteration. */
function wantsMore(lane: Lane): boolean {
  const { config, iteration, envSteps } = lane.trainer;
  if (config.iters && iteration - lane.firstIteration >= config.iters) return false;
  if (config.totalSteps && envSteps >= config.totalSteps) return false;
  return true;
}

export class Runner {
  private current: RunnerState = 'paused';
  private loopDone: Promise<void> = Promise.resolve();
  /** Env steps of every lane over the last few seconds (a report's steps ran since the previous report). */
  private readonly rate = new StepRate({ ms: 3000 });
  private lastReport: number | null = null;

  constructor(
    readonly lanes: readonly Lane[],
    private readonly events: RunnerEvents,
  ) {}

  /** Env steps per second over every lane, over the last few seconds; null until a second has been measured. */
  get sps(): number | null {
    // Reports can arrive in bursts: a rate over milliseconds means nothing.
    return this.rate.perSecond(1000);
  }

  /** Starts or resumes. */
  run(): void {
    if (this.current !== 'paused') return;
    this.rate.clear();
    this.lastReport = null;
    this.setState('running');
    this.loopDone = this.loop();
  }

  /** Stops queuing; resolves when the iterations in flight are reported. */
  async pause(): Promise<void> {
    if (this.current !== 'running') return;
    this.setState('pausing');
    await this.loopDone;
  }

  /** Stops for good; resolves when the iterations in flight are reported. */
  async stop(): Promise<void> {
    if (this.current === 'paused') this.setState('stopped');
    else if (this.current === 'running' || this.current === 'pausing') {
      this.setState('stopping');
      await this.loopDone;
    }
  }

  /** The device failed: report nothing more (the iterations in flight reject or never resolve). */
  abort(): void {
    this.setState('failed');
  }

  destroy(): void {
    for (const lane of this.lanes) lane.trainer.destroy();
  }

  /** A method, so that the state read after an await is not narrowed by checks before it. */
  private aborted(): boolean {
    return this.current === 'failed';
  }

  private setState(state: RunnerState): void {
    this.current = state;
    this.events.state(state);
  }

  private async loop(): Promise<void> {
    // Iterations in submission order. Every trainer shares the device's one queue,
    // which finishes work in that order, so waiting on the oldest is never slower
    // than racing the lanes' heads; and it is fair: a race among heads that are
    // already done always goes to the lane listed first, and on a busy adapter
    // the last lane's first report waited for minutes behind the others.
    const inFlight: { lane: Lane; step: Promise<IterationMetrics> }[] = [];
    const queued = (lane: Lane) => inFlight.reduce((n, f) => n + (f.lane === lane ? 1 : 0), 0);
    try {
      for (;;) {
        // Round-robin: every lane gets its next iteration queued before any lane gets a second one.
        for (let depth = 0; depth < QUEUE_DEPTH && this.current === 'running'; depth++) {
          for (const lane of this.lanes) {
            if (queued(lane) > depth || lane.finished || !wantsMore(lane)) continue;
            const step = lane.trainer.step();
            // Rejections are handled when the step reaches the head of the queue.
            step.catch(() => undefined);
            inFlight.push({ lane, step });
          }
        }
        if (inFlight.length === 0 || this.aborted()) break;
        const metrics = await inFlight[0].step;
        if (this.aborted()) return;
        const { lane } = inFlight.shift()!;
        this.report(lane, metrics);
        await yieldToBrowser();
      }
    } catch (error) {
      if (this.aborted()) return;
      this.setState('failed');
      this.events.error(error as Error);
      return;
    }
    if (this.current === 'pausing') this.setState('paused');
    else if (this.current !== 'failed') this.setState('stopped');
  }

  private report(lane: Lane, metrics: IterationMetrics): void {
    lane.history.push(metrics);
    const now = performance.now();
    if (this.lastReport !== null) this.rate.add(lane.trainer.config.derived.batchSize, this.lastReport, now);
    this.lastReport = now;
    const bad = firstNonFinite(metrics);
    const { stopAtReturn } = lane.trainer.config;
    if (bad) lane.finished = `diverged at iteration ${metrics.iter}: ${bad} is not finite`;
    else if (stopAtReturn && metrics.mean_return !== null && metrics.mean_return >= stopAtReturn) {
      lane.finished = `solved: mean return ${metrics.mean_return.toFixed(1)} ≥ ${stopAtReturn} at iteration ${metrics.iter}`;
    } else if (metrics.iter + 1 === lane.trainer.iteration && !wantsMore(lane)) lane.finished = 'planned iterations done';
    this.events.metrics(lane, metrics);
  }
}
