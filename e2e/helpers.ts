import { expect, type Page, type TestInfo } from '@playwright/test';

/** Console errors and uncaught exceptions of the page, collected from the start. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return errors;
}

/** A run small enough for SwiftShader: 64 envs × 16 steps, 2 epochs of 4 minibatches. */
export const SMALL_RUN = 'envs=64&steps-per-iter=1024&minibatch=256&epochs=2&seed=1';

/** Opens the Studio with `query` and waits for the adapter. */
export async function openStudio(page: Page, query = ''): Promise<void> {
  await page.goto(`/${query}`);
  await expect(page.locator('#adapter')).toHaveAttribute('data-state', 'ready');
  await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'idle');
}

/** Iterations completed by `algo` according to the status line (0 before the first report). */
export async function iterationsOf(page: Page, algo = 'PPO'): Promise<number> {
  const text = (await page.getByTestId('status').textContent()) ?? '';
  const match = new RegExp(`${algo}: iteration (\\d+)`).exec(text);
  return match ? Number(match[1]) : 0;
}

/** A full-page screenshot kept under e2e/artifacts/ and attached to the report. */
export async function keepScreenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const path = `e2e/artifacts/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}
