import { test, expect, type Page } from '@playwright/test';
import { collectErrors, keepScreenshot, openStudio } from './helpers';

// Two tiny iterations per env: 64 envs × 16 steps, one epoch, a small network.
const TINY_RUN = 'algo=ppo&envs=64&steps-per-iter=1024&minibatch=256&epochs=1&hidden=16&iters=2&seed=1';
const SOLVED: Record<string, string | null> = { 'CartPole-v1': '475', 'Acrobot-v1': '-100', 'MountainCar-v0': '-110', 'MountainCarContinuous-v0': '90', 'Pendulum-v1': null };

/**
 * Pixels of the env view with any ink, read in the page. A WebGPU canvas can be
 * read only in the frame that drew it, and the view draws only the frames in
 * which the replayed step changes (every 4th at 60 Hz for Acrobot's 15 steps/s).
 * So this waits, frame by frame, for one in which the view submitted a drawing
 * (its `data-frames` moved; its callback runs before this one's) and reads that
 * one. Reading a fixed frame instead can keep missing: a poll every second lands
 * on the same phase of a 15 steps/s replay. -1: the view drew no frame in 4 s.
 */
function inkedPixels(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="env-view"]')!;
    let frames = canvas.dataset.frames;
    // The next frame's image if the view drew in it, else null.
    const drawnFrame = () =>
      new Promise<ImageBitmap | null>((resolve, reject) =>
        requestAnimationFrame(() => {
          if (canvas.dataset.frames === frames) return resolve(null);
          frames = canvas.dataset.frames;
          createImageBitmap(canvas).then(resolve, reject);
        }),
      );
    for (let wait = 0; wait < 240; wait++) {
      const image = await drawnFrame();
      if (!image) continue;
      const copy = new OffscreenCanvas(image.width, image.height).getContext('2d')!;
      copy.drawImage(image, 0, 0);
      const { data } = copy.getImageData(0, 0, image.width, image.height);
      let inked = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
      return inked;
    }
    return -1;
  });
}

test('every env: picked, trained briefly, its envs drawn from the rollout on the GPU, its solved line charted', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  const errors = collectErrors(page);
  await page.setViewportSize({ width: 1280, height: 800 });
  await openStudio(page, `?${TINY_RUN}`);
  const status = page.getByTestId('status');
  const canvas = page.getByTestId('env-view');
  const picker = page.locator('#field-env');
  const ids = (await picker.locator('option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value))).filter(Boolean);
  expect(ids).toEqual(Object.keys(SOLVED));

  // The first screen holds the controls, the curves and the env view, the settings folded.
  await expect(page.getByTestId('settings')).not.toHaveAttribute('open');
  for (const testId of ['train', 'chart-return', 'chart-sps', 'env-view']) {
    const box = (await page.getByTestId(testId).boundingBox())!;
    expect(box.y + box.height, `${testId} on the first screen`).toBeLessThanOrEqual(800);
  }

  const trained: string[] = [];
  for (const id of ids) {
    await picker.selectOption(id);
    await expect(page.locator('#field-env-error')).toBeHidden();
    await expect(page).toHaveURL(new RegExp(`[?&]env=${id}&`));
    await expect(page.locator('#cli')).toContainText(`--env ${id}`);
    await page.getByTestId('train').click();
    await expect(status).toHaveAttribute('data-state', 'stopped', { timeout: 120_000 });
    await expect(status).toContainText('PPO: iteration 2,');
    await expect(canvas).toHaveAttribute('data-state', 'replaying');
    await expect.poll(() => inkedPixels(page), { timeout: 10_000 }).toBeGreaterThan(500);
    const legend = page.getByTestId('chart-return').locator('.u-legend');
    if (SOLVED[id]) await expect(legend).toContainText(`solved (${SOLVED[id]})`);
    else await expect(legend).not.toContainText('solved');
    await keepScreenshot(page, testInfo, `env-${id}`);
    trained.push(id);
    await page.getByTestId('reset').click();
    await expect(status).toHaveAttribute('data-state', 'idle');
    await expect(canvas).toHaveAttribute('data-state', 'idle');
  }
  // Discrete and continuous (Gaussian head) alike.
  expect(trained).toEqual(ids);
  expect(errors).toEqual([]);
});
