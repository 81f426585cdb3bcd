/**
 * The discrete envs' float64 references against trajectories recorded from
 * Gymnasium itself (test/fixtures/discrete_gymnasium.py). The GPU kernels are
 * checked against these references in acrobot.test.ts and mountainCar.test.ts.
 * No GPU.
 */
import { describe, expect, it } from 'vitest';
import gymnasium from './fixtures/discrete_gymnasium.json';
import { ACROBOT_V1, acrobotObs64, acrobotStep64 } from '../src/reference/acrobot';
import { MOUNTAIN_CAR_V0, mountainCarStep64 } from '../src/reference/mountainCar';
import { expectClose } from './helpers';

describe('float64 references vs Gymnasium trajectories (test/fixtures/discrete_gymnasium.py)', () => {
  it('Acrobot-v1: whole trajectories (state rtol 1e-12, atol 1e-11; float32 observations rtol 1e-7, atol 1e-7; rewards exact)', () => {
    expect(gymnasium.acrobot.length).toBeGreaterThan(10);
    let ends = 0;
    let clipped = 0;
    let wraps = 0;
    for (const [i, t] of gymnasium.acrobot.entries()) {
      let state = t.start;
      t.actions.forEach((action, step) => {
        const { next, terminated, reward } = acrobotStep64(state, action);
        expectClose(next, t.states[step], 1e-12, 1e-11, `trajectory ${i} step ${step}`);
        expectClose(acrobotObs64(next), t.observations[step], 1e-7, 1e-7, `trajectory ${i} step ${step} obs (float32)`);
        expect(terminated, `trajectory ${i} step ${step} terminated`).toBe(t.terminated[step]);
        expect(reward, `trajectory ${i} step ${step} reward`).toBe(t.rewards[step]);
        ends += Number(terminated);
        clipped += Number(Math.abs(next[2]) === ACROBOT_V1.maxVel1 || Math.abs(next[3]) === ACROBOT_V1.maxVel2);
        wraps += Number(Math.abs(next[0] - state[0]) > Math.PI || Math.abs(next[1] - state[1]) > Math.PI);
        state = t.states[step];
      });
    }
    expect(ends, 'steps that end at the terminal height (reward 0)').toBeGreaterThan(3);
    expect(clipped, 'steps at a velocity bound').toBeGreaterThan(0);
    expect(wraps, 'steps whose angle wraps across ±π').toBeGreaterThan(0);
  });

  it('MountainCar-v0: each step from the recorded state (atol 1e-12; rewards and termination exact)', () => {
    expect(gymnasium.mountainCar.length).toBeGreaterThan(10);
    let goals = 0;
    let wallStops = 0;
    let speedClips = 0;
    for (const [i, t] of gymnasium.mountainCar.entries()) {
      let state = t.start;
      t.actions.forEach((action, step) => {
        const { next, terminated, reward } = mountainCarStep64(state, action);
        expectClose(next, t.states[step], 1e-12, 1e-12, `trajectory ${i} step ${step}`);
        expect(terminated, `trajectory ${i} step ${step} terminated`).toBe(t.terminated[step]);
        expect(reward).toBe(t.rewards[step]);
        goals += Number(terminated);
        wallStops += Number(next[0] === MOUNTAIN_CAR_V0.minPosition && next[1] === 0);
        speedClips += Number(Math.abs(next[1]) === MOUNTAIN_CAR_V0.maxSpeed);
        state = t.states[step];
      });
    }
    expect(goals, 'trajectories that reach the goal').toBeGreaterThan(0);
    expect(wallStops, 'steps stopped by the left wall').toBeGreaterThan(0);
    expect(speedClips, 'steps at the speed limit').toBeGreaterThan(0);
  });
});
