/**
 * The Studio's training loop: several trainers (one per algorithm, same device;
 * or one population trainer, every agent in each step) stepped round-robin. Each trainer keeps QUEUE_DEPTH iterations submitted, so
 * the GPU works on the next one while the previous one's metrics are read; the
 * loop hands control back to the browser after every iteration it reports, so
 * the page stays responsive at any env count. No DOM here: the page listens to
 * the events.
 */
import type { Algo } from '../core/config';
import type { AgentIterationMetrics, PbtSettings, PopulationTrainer, Trainer } from '../train/trainer';
import { StepRate, firstNonFinite, populationSummary, type IterationMetrics } from '../core/metrics';

interface LaneCommon {
  readonly algo: Algo;
  /** Iteration at which this session started (non-zero after a checkpoint). */
  readonly firstIteration: number;
  /** Why the lane takes no more steps (plan done, solved, diverged); null while it goes on. */
  finished: string | null;
}

/** One algorithm's run. */
export interface RunLane extends LaneCommon {
  readonly kind: 'run';
  readonly trainer: Trainer;
  /** Every iteration's metrics, a restored checkpoint's history first. */
  readonly history: IterationMetrics[];
}

/** A population of one algorithm's agents. */
export interface PopulationLane extends LaneCommon {
  readonly kind: 'population';
  readonly trainer: PopulationTrainer;
  /** Agent k's metrics of every iteration at k (without PBT's explored values, which the reports carry). */
  readonly histories: IterationMetrics[][];
  readonly pbt: PbtSettings | null;
}

export type Lane = RunLane | PopulationLane;

export type RunnerState = 'running' | 'pausing' | 'paused' | 'stopping' | 'stopped' | 'failed';

export interface RunnerEvents {
  /** An iteration's metrics: a run's one, or every agent's (agent k at k). */
  metrics(lane: Lane, agents: readonly AgentIterationMetrics[]): void;
  state(state: RunnerState): void;
  error(error: Error): void;
}

/** Iterations queued per trainer: one running on the GPU, one waiting behind it. */
const QUEUE_DEPTH = 2;

/** Lets the browser render and handle input before the next iteration is queued. */
function yieldToBrowser(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export function newLane(algo: Algo, trainer: Trainer, history: IterationMetrics[] = []): RunLane {
  return { kind: 'run', algo, trainer, history, firstIteration: trainer.iteration, finished: null };
}

export function newPopulationLane(algo: Algo, trainer: PopulationTrainer, pbt: PbtSettings | null): PopulationLane {
  return { kind: 'population', algo, trainer, histories: trainer.configs.map(() => []), pbt, firstIteration: trainer.iteration, finished: null };
}

/** Queues the lane's next iteration; resolves to every agent's metrics (a run's one). */
function stepLane(lane: Lane): Promise<AgentIterationMetrics[]> {
  return lane.kind === 'run' ? lane.trainer.step().then((m) => [m]) : lane.trainer.step();
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
    const inFlight: { lane: Lane; step: Promise<AgentIterationMetrics[]> }[] = [];
    const queued = (lane: Lane) => inFlight.reduce((n, f) => n + (f.lane === lane ? 1 : 0), 0);
    try {
      for (;;) {
        // Round-robin: every lane gets its next iteration queued before any lane gets a second one.
        for (let depth = 0; depth < QUEUE_DEPTH && this.current === 'running'; depth++) {
          for (const lane of this.lanes) {
            if (queued(lane) > depth || lane.finished || !wantsMore(lane)) continue;
            const step = stepLane(lane);
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

  private report(lane: Lane, agents: AgentIterationMetrics[]): void {
    if (lane.kind === 'run') lane.history.push(agents[0]);
    else
      agents.forEach((m, k) => {
        const { hyper: _hyper, ...plain } = m;
        lane.histories[k].push(plain);
      });
    const now = performance.now();
    if (this.lastReport !== null) this.rate.add(agents.length * lane.trainer.config.derived.batchSize, this.lastReport, now);
    this.lastReport = now;
    const { iter } = agents[0];
    const bad = agents.map((m, k) => [k, firstNonFinite(m)] as const).find(([, field]) => field);
    const { stopAtReturn } = lane.trainer.config;
    // A population counts as solved when its median agent is (as on the command line).
    const reached = lane.kind === 'run' ? agents[0].mean_return : populationSummary(agents).median;
    const what = lane.kind === 'run' ? 'mean return' : 'median return';
    if (bad) lane.finished = `diverged at iteration ${iter}: ${lane.kind === 'run' ? '' : `agent ${bad[0]}'s `}${bad[1]} is not finite`;
    else if (stopAtReturn && reached !== null && reached >= stopAtReturn) {
      lane.finished = `solved: ${what} ${reached.toFixed(1)} ≥ ${stopAtReturn} at iteration ${iter}`;
    } else if (iter + 1 === lane.trainer.iteration && !wantsMore(lane)) lane.finished = 'planned iterations done';
    this.events.metrics(lane, agents);
  }
}
