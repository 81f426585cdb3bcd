import { test, expect, type Page } from '@playwright/test';
import { collectErrors, openStudio } from './helpers';

/** Live GPU buffers of the page: created by GPUDevice.createBuffer and not yet destroyed. */
interface LiveBuffers {
  count: number;
  bytes: number;
  labels: string[];
}

// Tiny runs of every algorithm: each cycle builds, steps and destroys four trainers.
const TINY_RUN = 'algo=ppo,ppo-kl,trpo,reinforce&envs=8&steps-per-iter=64&minibatch=32&epochs=1&hidden=8&cg-iters=2&backtracks=2&value-steps=1&seed=1';
const CYCLES = 30;
const LABELS = ['PPO', 'PPO-KL', 'TRPO', 'REINFORCE'];

/** Wraps createBuffer and destroy before the page's scripts run; window.liveBuffers() reads the count. */
async function countBuffers(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const sizes = new Map<GPUBuffer, { size: number; label: string }>();
    const createBuffer = GPUDevice.prototype.createBuffer;
    const destroy = GPUBuffer.prototype.destroy;
    GPUDevice.prototype.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor) {
      const buffer = createBuffer.call(this, descriptor);
      sizes.set(buffer, { size: descriptor.size, label: descriptor.label ?? '' });
      return buffer;
    };
    GPUBuffer.prototype.destroy = function (this: GPUBuffer) {
      sizes.delete(this);
      return destroy.call(this);
    };
    (window as unknown as { liveBuffers: () => LiveBuffers }).liveBuffers = () => {
      const entries = [...sizes.values()];
      return { count: entries.length, bytes: entries.reduce((total, e) => total + e.size, 0), labels: entries.map((e) => e.label).sort() };
    };
  });
}

const liveBuffers = (page: Page) => page.evaluate(() => (window as unknown as { liveBuffers: () => LiveBuffers }).liveBuffers());

test(`${CYCLES} Train → Reset cycles leave the live GPU buffers where they started`, async ({ page }) => {
  test.setTimeout(480_000);
  const errors = collectErrors(page);
  await countBuffers(page);
  await openStudio(page, `?${TINY_RUN}`);
  const status = page.getByTestId('status');
  const before = await liveBuffers(page);
  let peak = before.count;

  for (let cycle = 0; cycle < CYCLES; cycle++) {
    await page.getByTestId('train').click();
    // Every algorithm has reported an iteration and more are queued: Reset stops a run in flight.
    // The first cycle also compiles every kernel while the first trainers already keep
    // the (CPU) adapter busy, which on a loaded 2-core machine took over a minute.
    const timeout = cycle === 0 ? 180_000 : 60_000;
    for (const label of LABELS) await expect(status).toContainText(new RegExp(`${label}: iteration \\d+,`), { timeout });
    peak = Math.max(peak, (await liveBuffers(page)).count);
    await page.getByTestId('reset').click();
    await expect(status).toHaveAttribute('data-state', 'idle');
    const after = await liveBuffers(page);
    expect(after.labels, `cycle ${cycle}`).toEqual(before.labels);
    expect(after.bytes, `cycle ${cycle}`).toBe(before.bytes);
  }
  // The counter saw the trainers' buffers, so the equality means something.
  expect(peak - before.count).toBeGreaterThan(100);
  expect(errors).toEqual([]);
});
