import { test, expect, type Page } from '@playwright/test';

/** Console errors and uncaught exceptions of the page, collected from the start. */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return errors;
}

test('shows the adapter it runs on, without console errors', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await expect(page).toHaveTitle('webgpu-rl Studio');
  const panel = page.locator('#adapter');
  await expect(panel).toHaveAttribute('data-state', 'ready');
  const vendor = panel.locator('dt:has-text("Vendor") + dd');
  await expect(vendor).not.toHaveText('not reported');
  const architecture = (await panel.locator('dt:has-text("Architecture") + dd').textContent()) ?? '';
  const notice = panel.locator('.notice');
  if (architecture === 'swiftshader') {
    await expect(panel).toHaveAttribute('data-fallback', 'true');
    await expect(notice).toHaveText('CPU fallback: SwiftShader — a GPU is much faster');
  } else if ((await panel.getAttribute('data-fallback')) === 'false') {
    await expect(notice).toHaveCount(0);
  }
  await page.screenshot({ path: 'e2e/artifacts/adapter.png', fullPage: true });
  await testInfo.attach('adapter', { path: 'e2e/artifacts/adapter.png', contentType: 'image/png' });
  expect(errors).toEqual([]);
});

test('without WebGPU, says so and what to do', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await page.addInitScript(() => {
    delete (Object.getPrototypeOf(navigator) as { gpu?: unknown }).gpu;
  });
  await page.goto('/');
  const panel = page.locator('#adapter');
  await expect(panel).toHaveAttribute('data-state', 'unavailable');
  await expect(panel.locator('.notice.error')).toContainText('WebGPU is not available in this browser');
  await expect(panel.locator('li')).not.toHaveCount(0);
  await expect(panel).toContainText('npm run train');
  await page.screenshot({ path: 'e2e/artifacts/no-webgpu.png', fullPage: true });
  await testInfo.attach('no-webgpu', { path: 'e2e/artifacts/no-webgpu.png', contentType: 'image/png' });
  expect(errors).toEqual([]);
});
