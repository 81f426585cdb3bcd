/**
 * The Studio's runner over fake trainers that share one in-order "queue", as
 * trainers on one device do: an iteration finishes after every iteration
 * submitted before it. No GPU.
 */
import { describe, expect, it } from 'vitest';
import { Runner, newLane, type Lane, type RunnerState } from '../src/ui/runner';
import type { Trainer } from '../src/train/trainer';
import type { Algo } from '../src/core/config';
import type { IterationMetrics } from '../src/core/metrics';

/** One device queue: work runs in submission order, each item for its own time. */
class FakeQueue {
  private busyUntil = 0;
  readonly order: string[] = [];
  submit(name: string, ms: number): Promise<void> {
    const now = performance.now();
    this.busyUntil = Math.max(this.busyUntil, now) + ms;
    this.order.push(name);
    return new Promise((resolve) => setTimeout(resolve, this.busyUntil - now));
  }
}

function fakeTrainer(queue: FakeQueue, algo: Algo, ms: number, opts: { iters?: number; failAt?: number } = {}): Trainer {
  let iteration = 0;
  let envSteps = 0;
  const trainer = {
    config: { algo, iters: opts.iters ?? 0, totalSteps: 0, stopAtReturn: 0, derived: { batchSize: 64 } },
    get iteration() {
      return iteration;
    },
    get envSteps() {
      return envSteps;
    },
    destroyed: false,
    step(): Promise<IterationMetrics> {
      const k = iteration++;
      envSteps += 64;
      const done = queue.submit(`${algo}${k}`, ms);
      return done.then(() => {
        if (k === opts.failAt) throw new Error(`${algo} failed at iteration ${k}`);
        return { iter: k, env_steps: envSteps, mean_return: 10 } as unknown as IterationMetrics;
      });
    },
    destroy() {
      trainer.destroyed = true;
    },
  };
  return trainer as unknown as Trainer;
}

function runUntil(lanes: Lane[], reports: number) {
  const seen: string[] = [];
  const states: RunnerState[] = [];
  const errors: Error[] = [];
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const runner = new Runner(lanes, {
    metrics(lane, agents) {
      seen.push(`${lane.algo}${agents[0].iter}`);
      if (seen.length === reports) resolveDone();
    },
    state(state) {
      states.push(state);
      if (state === 'stopped' || state === 'failed') resolveDone();
    },
    error(error) {
      errors.push(error);
    },
  });
  return { runner, seen, states, errors, done };
}

describe('Runner', () => {
  it('reports in submission order, so a slow lane and the last lane are not starved', async () => {
    const queue = new FakeQueue();
    const algos: [Algo, number][] = [['ppo', 1], ['ppo-kl', 1], ['trpo', 8], ['reinforce', 2]];
    const lanes = algos.map(([algo, ms]) => newLane(algo, fakeTrainer(queue, algo, ms)));
    const { runner, seen, done } = runUntil(lanes, 40);
    runner.run();
    await done;
    await runner.stop();
    // Two queued per lane, round-robin, then one more per report.
    expect(seen.slice(0, 8)).toEqual(['ppo0', 'ppo-kl0', 'trpo0', 'reinforce0', 'ppo1', 'ppo-kl1', 'trpo1', 'reinforce1']);
    // Every report is the oldest iteration in flight: the reports are the submissions, in order.
    expect(seen).toEqual(queue.order.slice(0, seen.length));
    for (const [algo] of algos) expect(seen.filter((s) => s.startsWith(`${algo}`) && !s.startsWith(`${algo}-`)).length).toBeGreaterThanOrEqual(9);
  });

  it('stop waits for every iteration in flight and reports it; a lane whose plan is done takes no more steps', async () => {
    const queue = new FakeQueue();
    const lanes = [newLane('ppo', fakeTrainer(queue, 'ppo', 1, { iters: 3 })), newLane('trpo', fakeTrainer(queue, 'trpo', 2))];
    const { runner, seen, states, done } = runUntil(lanes, 10);
    runner.run();
    await done;
    await runner.stop();
    expect(states.at(-1)).toBe('stopped');
    // Everything submitted was reported: nothing left in flight.
    expect(seen.length).toBe(queue.order.length);
    expect(seen.filter((s) => s.startsWith('ppo'))).toEqual(['ppo0', 'ppo1', 'ppo2']);
    expect(lanes[0].finished).toBe('planned iterations done');
    expect(lanes[1].finished).toBeNull();
  });

  it('a failed iteration stops the run with its error', async () => {
    const queue = new FakeQueue();
    const lanes = [newLane('ppo', fakeTrainer(queue, 'ppo', 1)), newLane('reinforce', fakeTrainer(queue, 'reinforce', 1, { failAt: 2 }))];
    const { runner, states, errors, done } = runUntil(lanes, 1000);
    runner.run();
    await done;
    expect(states.at(-1)).toBe('failed');
    expect(errors.map((e) => e.message)).toEqual(['reinforce failed at iteration 2']);
  });
});
