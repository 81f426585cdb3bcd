import { test, expect } from '@playwright/test';
import { collectErrors, keepScreenshot } from './helpers';

test('shows the adapter it runs on, without console errors', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await expect(page).toHaveTitle('webgpu-rl Studio');
  const panel = page.locator('#adapter');
  await expect(panel).toHaveAttribute('data-state', 'ready');
  const vendor = panel.locator('dt:has-text("Vendor") + dd');
  await expect(vendor).not.toHaveText('not reported');
  await expect(panel.locator('dt:has-text("Limits used") + dd')).toContainText('MiB');
  await expect(panel.getByTestId('sps')).toHaveText('idle');
  const architecture = (await panel.locator('dt:has-text("Architecture") + dd').textContent()) ?? '';
  const notice = panel.locator('.notice');
  if (architecture === 'swiftshader') {
    await expect(panel).toHaveAttribute('data-fallback', 'true');
    await expect(notice).toHaveText('CPU fallback: SwiftShader — a GPU is much faster');
    // The CPU fallback's default run is smaller than a GPU's 4096 envs.
    await expect(page.locator('#field-envs')).toHaveAttribute('placeholder', '256');
  } else if ((await panel.getAttribute('data-fallback')) === 'false') {
    await expect(notice).toHaveCount(0);
    await expect(page.locator('#field-envs')).toHaveAttribute('placeholder', '4096');
  }
  await expect(page.getByTestId('train')).toBeEnabled();
  await keepScreenshot(page, testInfo, 'adapter');
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
  // The rest of the page is there, but nothing can start.
  await expect(page.getByTestId('status')).toHaveText('WebGPU is not available: see the adapter panel for what to do.');
  await expect(page.getByTestId('train')).toBeDisabled();
  await keepScreenshot(page, testInfo, 'no-webgpu');
  expect(errors).toEqual([]);
});
