import { readFileSync, writeFileSync } from 'node:fs';
import { test, expect } from '@playwright/test';
import { SMALL_RUN, collectErrors, iterationsOf, keepScreenshot, openStudio } from './helpers';

test('Train runs iterations, the charts and CartPoles follow, Stop stops', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await openStudio(page, `?algo=ppo&${SMALL_RUN}`);
  const chart = page.getByTestId('chart-return');
  await expect(chart).toHaveAttribute('data-points', '0');

  await page.getByTestId('train').click();
  await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'running');
  await expect.poll(() => chart.getAttribute('data-points').then(Number), { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
  await expect(page.getByTestId('status')).toContainText(/PPO: iteration \d+, [\d,]+ env steps, mean return \d+\.\d/);
  await expect(page.locator('#adapter').getByTestId('sps')).toContainText('env steps/s');
  await expect(page.getByTestId('env-view')).toHaveAttribute('data-state', 'replaying');
  await expect(page).toHaveURL(/algo=ppo&preset=fast&envs=64&steps-per-iter=1024/);

  // Hovering the chart shows the values under the cursor in the legend.
  const plot = chart.locator('.u-over');
  const box = (await plot.boundingBox())!;
  await plot.hover({ position: { x: box.width - 2, y: box.height / 2 } });
  await expect(chart.locator('.u-legend .u-series', { hasText: 'PPO' }).locator('.u-value')).toHaveText(/^\d+\.\d$/);

  // The page keeps drawing frames while training: the gaps between animation frames over 3 s.
  // On SwiftShader they are bimodal (quiet machine: 19 of 33 at 17 ms, 13 at 135–267 ms, the
  // frames that wait for an iteration's submit in the GPU process). A page that blocked, or
  // submitted many iterations at once, would draw few frames or stall for seconds; the bounds
  // leave room for a shared 2-core CI machine stretching the submits (the single longest gap,
  // once bounded at 500 ms, was what a loaded machine broke).
  const gaps = await page.evaluate(
    () =>
      new Promise<number[]>((resolve) => {
        const gaps: number[] = [];
        let last = performance.now();
        const end = last + 3000;
        const frame = (time: number) => {
          gaps.push(time - last);
          last = time;
          if (time < end) requestAnimationFrame(frame);
          else resolve(gaps);
        };
        requestAnimationFrame(frame);
      }),
  );
  const sorted = [...gaps].sort((a, b) => a - b);
  const longest = sorted[sorted.length - 1];
  console.log(`frames while training: ${gaps.length} in 3 s; gaps (ms) ${sorted.map((g) => g.toFixed(0)).join(' ')}`);
  expect(gaps.length).toBeGreaterThanOrEqual(10);
  expect(longest).toBeLessThan(1500);
  await keepScreenshot(page, testInfo, 'training');

  // Pause finishes the iterations in flight and holds; Resume goes on.
  const pause = page.getByTestId('pause');
  await pause.click();
  await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'paused');
  await expect(pause).toHaveText('Resume');
  const pausedAt = await iterationsOf(page);
  await page.waitForTimeout(1000);
  expect(await iterationsOf(page)).toBe(pausedAt);
  await pause.click();
  await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'running');
  await expect.poll(() => iterationsOf(page), { timeout: 60_000 }).toBeGreaterThan(pausedAt);

  await page.getByTestId('stop').click();
  await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'stopped');
  const stoppedAt = await iterationsOf(page);
  const points = await chart.getAttribute('data-points');
  await page.waitForTimeout(1500);
  expect(await iterationsOf(page)).toBe(stoppedAt);
  expect(await chart.getAttribute('data-points')).toBe(points);
  await expect(page.getByTestId('train')).toBeEnabled();

  // The metrics export: one row per iteration, the CLI's metric names as columns.
  const downloading = page.waitForEvent('download');
  await page.getByTestId('csv').click();
  const csv = readFileSync((await (await downloading).path())!, 'utf8').trim().split('\n');
  expect(csv[0].startsWith('algo,iter,env_steps,mean_return,episodes,approx_kl,entropy')).toBe(true);
  expect(csv.length - 1).toBe(stoppedAt);
  expect(csv[stoppedAt].startsWith(`ppo,${stoppedAt - 1},${stoppedAt * 1024},`)).toBe(true);
  expect(errors).toEqual([]);
});

test('invalid input is refused with a message next to the field', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await openStudio(page, `?algo=ppo&${SMALL_RUN}`);
  const status = page.getByTestId('status');
  await page.getByTestId('settings').locator('summary').click();
  await page.locator('#field-envs').fill('lots');
  await page.locator('#field-lr').fill('5');
  await expect(page.locator('#field-envs-error')).toHaveText(/"lots" is not a number/);
  await expect(page.locator('#field-lr-error')).toHaveText(/5 is not allowed .*must be a number in \(0, 1\]/);
  await expect(page.locator('#field-lr')).toHaveAttribute('aria-invalid', 'true');

  await page.getByTestId('train').click();
  await expect(status).toHaveAttribute('data-state', 'invalid');
  await expect(status).toHaveText('Not started: fix the fields marked in red.');
  await expect(page.getByTestId('stop')).toBeDisabled();
  await keepScreenshot(page, testInfo, 'invalid-input');

  // Fixed fields lose their message, and the URL follows the valid form.
  await page.locator('#field-envs').fill('128');
  await page.locator('#field-lr').fill('');
  await expect(page.locator('#field-envs-error')).toBeHidden();
  await expect(page.locator('#field-lr-error')).toBeHidden();
  await expect(page).toHaveURL(/[?&]envs=128&/);
  await expect(page).not.toHaveURL(/lr=/);

  // A minibatch larger than the batch is refused on the minibatch field.
  await page.locator('#field-minibatch').fill('4096');
  await expect(page.locator('#field-minibatch-error')).toHaveText(/4096 is larger than the \d+ samples per iteration/);
  await page.locator('#field-minibatch').fill('256');

  await page.getByLabel('PPO', { exact: true }).uncheck();
  await expect(page.locator('#algos .field-error')).toHaveText('Pick at least one algorithm.');
  expect(errors).toEqual([]);
});

test('the URL query sets the form', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/?algo=ppo-kl,trpo&preset=seed&envs=32&kl-target=0.02&line-search-kl-check=true&bogus=1');
  await expect(page.getByLabel('PPO-KL', { exact: true })).toBeChecked();
  await expect(page.getByLabel('TRPO', { exact: true })).toBeChecked();
  await expect(page.getByLabel('PPO', { exact: true })).not.toBeChecked();
  await expect(page.locator('#field-preset')).toHaveValue('seed');
  await expect(page.locator('#field-envs')).toHaveValue('32');
  await expect(page.locator('#field-kl-target')).toHaveValue('0.02');
  await expect(page.locator('#field-line-search-kl-check')).toHaveValue('true');
  // Defaults of the chosen preset are shown where nothing is set.
  await expect(page.locator('#field-steps-per-iter')).toHaveAttribute('placeholder', '10000');
  await expect(page.locator('#url-note')).toHaveText('Ignored in the URL: bogus');
  await expect(page.locator('#cli')).toContainText('npm run train -- --algo trpo --preset seed --env CartPole-v1 --envs 32 --kl-target 0.02 --line-search-kl-check');
  expect(errors).toEqual([]);
});

test('a saved checkpoint reloads, acts, and trains on', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await openStudio(page, `?algo=ppo&${SMALL_RUN}&iters=2`);
  const status = page.getByTestId('status');
  const chart = page.getByTestId('chart-return');
  await page.getByTestId('train').click();
  // --iters 2: the run stops by itself.
  await expect(status).toHaveAttribute('data-state', 'stopped', { timeout: 60_000 });
  await expect(status).toContainText('PPO: iteration 2,');

  const downloading = page.waitForEvent('download');
  await page.getByTestId('save-ppo').click();
  const file = await downloading;
  expect(file.suggestedFilename()).toBe('webgpu-rl-ppo-iter2.json');
  const path = testInfo.outputPath(file.suggestedFilename());
  await file.saveAs(path);
  // Read as plain JSON: the spec runs outside Vite, which the checkpoint module's WGSL imports need.
  const checkpoint = JSON.parse(readFileSync(path, 'utf8')) as { iteration: number; history: { iter: number; mean_return: number | null }[]; config: object };
  expect(checkpoint.iteration).toBe(2);
  expect(checkpoint.history.map((m) => m.iter)).toEqual([0, 1]);
  expect(checkpoint.config).toMatchObject({ algo: 'ppo', numEnvs: 64, stepsPerIter: 1024, minibatch: 256, epochs: 2, iters: 2 });
  const returns = checkpoint.history.filter((m) => m.mean_return !== null).length;

  await page.getByTestId('reset').click();
  await expect(status).toHaveAttribute('data-state', 'idle');
  await expect(chart).toHaveAttribute('data-points', '0');

  await page.getByTestId('load').setInputFiles(path);
  await expect(status).toHaveAttribute('data-state', 'loaded');
  await expect(status).toContainText('PPO: iteration 2,');
  await expect(page.locator('#files-message')).toHaveText('Loaded webgpu-rl-ppo-iter2.json: PPO at iteration 2.');
  await expect(chart).toHaveAttribute('data-points', String(returns));
  await expect(page.getByTestId('cartpoles')).toHaveAttribute('data-state', 'animating');
  await keepScreenshot(page, testInfo, 'checkpoint-loaded');

  // Train resumes from the checkpoint: two more iterations.
  await page.getByTestId('train').click();
  await expect(status).toHaveAttribute('data-state', 'stopped', { timeout: 60_000 });
  await expect(status).toContainText('PPO: iteration 4,');

  // A checkpoint cannot resume with a different number of envs: the algorithm says why.
  await page.getByTestId('reset').click();
  await page.getByTestId('load').setInputFiles(path);
  await expect(status).toHaveAttribute('data-state', 'loaded');
  await page.getByTestId('settings').locator('summary').click();
  await page.locator('#field-envs').fill('128');
  await page.locator('#field-steps-per-iter').fill('2048');
  await page.getByTestId('train').click();
  await expect(page.locator('.algo-note[data-algo="ppo"]')).toContainText(/PPO: checkpoint: array "env\.\w+" has \d+ values, this configuration needs \d+/);
  await expect(status).toHaveText('Could not start any algorithm: see the notes beside them.');

  // A file whose history is broken is refused in one line naming it and the field; the page stays usable.
  const broken = testInfo.outputPath('broken.json');
  const json = JSON.parse(readFileSync(path, 'utf8'));
  json.history[0].mean_return = '=HYPERLINK("http://x")';
  writeFileSync(broken, JSON.stringify(json));
  await page.getByTestId('reset').click();
  await page.getByTestId('load').setInputFiles(broken);
  await expect(page.locator('#files-message')).toHaveText(/^Not loaded: broken\.json: history\[0\]\.mean_return: "=HYPERLINK.* is not allowed \(must be a finite number or null\)$/);
  await expect(status).toHaveAttribute('data-state', 'idle');
  expect(errors).toEqual([]);
});

test('all four algorithms train side by side on one device', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await openStudio(page, `?algo=ppo,ppo-kl,trpo,reinforce&${SMALL_RUN}&iters=2`);
  const status = page.getByTestId('status');
  await page.getByTestId('train').click();
  await expect(status).toHaveAttribute('data-state', 'stopped', { timeout: 90_000 });
  for (const label of ['PPO', 'PPO-KL', 'TRPO', 'REINFORCE']) await expect(status).toContainText(`${label}: iteration 2,`);
  await expect(page.locator('.algo-note:visible')).toHaveCount(0);
  const legend = page.getByTestId('chart-return').locator('.u-legend');
  for (const label of ['PPO', 'PPO-KL', 'TRPO', 'REINFORCE', 'solved (475)']) await expect(legend).toContainText(label);
  // TRPO's trust region is drawn on the KL chart.
  await expect(page.getByTestId('chart-kl').locator('.u-legend')).toContainText('TRPO δ (0.01)');
  await expect(page.locator('#view-policy option')).toHaveCount(4);
  await keepScreenshot(page, testInfo, 'side-by-side');
  expect(errors).toEqual([]);
});

test('a lost device shows a message, and Reset starts again without reloading', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  // Keeps the page's devices reachable so that the test can destroy one.
  await page.addInitScript(() => {
    const requestDevice = GPUAdapter.prototype.requestDevice;
    const devices: GPUDevice[] = [];
    (window as unknown as { testDevices: GPUDevice[] }).testDevices = devices;
    GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, descriptor?: GPUDeviceDescriptor) {
      const device = await requestDevice.call(this, descriptor);
      devices.push(device);
      return device;
    };
  });
  await openStudio(page, `?algo=ppo&${SMALL_RUN}`);
  const status = page.getByTestId('status');
  const chart = page.getByTestId('chart-return');
  await page.getByTestId('train').click();
  await expect.poll(() => chart.getAttribute('data-points').then(Number), { timeout: 60_000 }).toBeGreaterThanOrEqual(1);

  await page.evaluate(() => (window as unknown as { testDevices: GPUDevice[] }).testDevices.at(-1)!.destroy());
  await expect(status).toHaveAttribute('data-state', 'failed');
  await expect(status).toContainText(/Stopped by an error: GPU device lost .*Press Reset to start again/);
  await expect(page.locator('#adapter')).toHaveAttribute('data-state', 'failed');
  await expect(page.getByTestId('train')).toBeDisabled();
  await keepScreenshot(page, testInfo, 'device-lost');

  await page.getByTestId('reset').click();
  await expect(page.locator('#adapter')).toHaveAttribute('data-state', 'ready');
  await expect(status).toHaveAttribute('data-state', 'idle');
  await page.getByTestId('train').click();
  await expect.poll(() => chart.getAttribute('data-points').then(Number), { timeout: 60_000 }).toBeGreaterThanOrEqual(1);
  await page.getByTestId('stop').click();
  await expect(status).toHaveAttribute('data-state', 'stopped');
  expect(errors.filter((e) => e.startsWith('uncaught'))).toEqual([]);
});
