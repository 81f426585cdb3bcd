/** The one steps-per-second definition (StepRate) that the trainer, the Studio and the CLI report. */
import { describe, it, expect } from 'vitest';
import { SPS_WINDOW, StepRate, stepsPerSecond } from '../src/core/metrics';

describe('StepRate', () => {
  it('the trainer window: the last SPS_WINDOW iterations, steps over first start to last end', () => {
    const rate = new StepRate({ reports: SPS_WINDOW });
    expect(rate.perSecond()).toBeNull();
    // 1 000 steps per iteration; iteration k runs from 500k to 500k + 400 ms (gaps count as wall time).
    for (let k = 0; k < 6; k++) rate.add(1000, 500 * k, 500 * k + 400);
    // Iterations 2..5: 4 000 steps from 1 000 ms to 2 900 ms.
    expect(rate.perSecond()).toBe(4000 / 1.9);
    expect(rate.perSecond()).toBe((1000 * SPS_WINDOW) / ((2900 - 1000) / 1000));
    rate.clear();
    expect(rate.perSecond()).toBeNull();
  });

  it('an age window keeps at least one report and drops those that ended too long before the latest', () => {
    const rate = new StepRate({ ms: 3000 });
    rate.add(100, 0, 200);
    expect(rate.perSecond(1000)).toBeNull();
    expect(rate.perSecond()).toBe(500);
    rate.add(100, 200, 1500);
    expect(rate.perSecond(1000)).toBe(200 / 1.5);
    rate.add(300, 1500, 4000);
    // The first report ended 3.8 s before the latest: only the last two remain.
    expect(rate.perSecond()).toBe(400 / 3.8);
  });

  it('stepsPerSecond is steps over seconds', () => {
    expect(stepsPerSecond(8192, 2)).toBe(4096);
  });
});
