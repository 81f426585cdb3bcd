import { readFileSync } from 'node:fs';
import { test, expect } from '@playwright/test';
import { collectErrors, keepScreenshot, openStudio } from './helpers';

// 16 agents × 16 envs × 16 steps, one epoch of two minibatches: small enough for SwiftShader.
// PBT's exploits copy the envs too (--pbt-envs copy), so the Studio's path for that choice runs.
const POPULATION_RUN = 'algo=ppo&population=16&envs=16&steps-per-iter=256&minibatch=128&epochs=1&iters=6&seed=1..16&lr=log:1e-4..1e-2&pbt=true&pbt-interval=2&pbt-envs=copy';

test('a 16-agent population trains, and its view shows every agent, the band, the scatter and PBT', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const errors = collectErrors(page);
  await openStudio(page, `?${POPULATION_RUN}`);
  const status = page.getByTestId('status');
  await expect(page.locator('#cli')).toHaveText(
    'npm run train -- --algo ppo --preset fast --env CartPole-v1 --population 16 --envs 16 --steps-per-iter 256 --iters 6 --seed 1..16 --lr log:1e-4..1e-2 --epochs 1 --minibatch 128 --pbt --pbt-interval 2 --pbt-envs copy',
  );

  // Population settings are checked before any GPU work, with one message on the field.
  await page.getByTestId('settings').locator('summary').click();
  await expect(page.locator('#field-population')).toHaveValue('16');
  await page.locator('#field-population').fill('3');
  await expect(page.locator('#field-population-error')).toHaveText(/^3 is not a multiple of the 16 grid points of --seed/);
  await page.locator('#field-seed').fill('1');
  await expect(page.locator('#field-population-error')).toHaveText('3 agents are too few for population-based training (at least 4, so that one is replaced per exploit)');
  await page.locator('#field-population').fill('16');
  await page.locator('#field-seed').fill('1..16');
  await expect(page.locator('#field-population-error')).toBeHidden();
  await expect(page).toHaveURL(/population=16&.*seed=1\.\.16&lr=log:1e-4\.\.1e-2&.*pbt=true&pbt-interval=2&pbt-envs=copy$/);

  await page.getByTestId('train').click();
  await expect(status).toHaveAttribute('data-state', 'stopped', { timeout: 100_000 });
  await expect(status).toContainText(/PPO population of 16: iteration 6, [\d,]+ env steps, median return \d+\.\d \[\d+\.\d, \d+\.\d\], best \d+\.\d \(agent \d+\) \(planned iterations done\)/);

  // The population view replaces the per-algorithm charts.
  await expect(page.getByTestId('population')).toBeVisible();
  await expect(page.locator('#charts')).toBeHidden();
  const returns = page.getByTestId('population-returns');
  await expect(returns).toHaveAttribute('data-agents', '16');
  await expect(returns).toHaveAttribute('data-band', 'q1-q3');
  await expect(returns).toHaveAttribute('data-best', /^\d+$/);
  // PBT exploited at iterations 2 and 4 (the runs' ends of its windows).
  await expect(returns).toHaveAttribute('data-exploits', /^[1-9]\d*$/);
  expect(Number(await returns.getAttribute('data-points'))).toBeGreaterThanOrEqual(16 * 4);
  await expect(returns.locator('canvas')).toHaveCount(1);

  // The scatter: every agent's value of a swept or explored field against its return.
  const scatter = page.getByTestId('population-scatter');
  await expect(scatter).toHaveAttribute('data-field', 'lr');
  await expect(scatter).toHaveAttribute('data-points', '16');
  // lr is swept and explored (PPO's default --pbt-perturb lr,clip,lambda): offered once.
  await expect(page.locator('#scatter-field option')).toHaveText([/--lr/, /--clip/, /--lambda/]);
  await page.locator('#scatter-field').selectOption('clip');
  await expect(scatter).toHaveAttribute('data-field', 'clip');
  await expect(scatter).toHaveAttribute('data-points', '16');

  // The env view follows any agent's rollout.
  const envView = page.getByTestId('env-view');
  await expect(envView).toHaveAttribute('data-state', 'replaying');
  await expect(page.getByTestId('view-agent').locator('option')).toHaveCount(16);
  await expect(page.getByTestId('view-agent').locator('option').nth(5)).toHaveText(/^agent 5 · seed 6 · lr /);
  await expect(envView).toHaveAttribute('data-agent', '0');
  await page.getByTestId('view-agent').selectOption('5');
  await expect(envView).toHaveAttribute('data-agent', '5');
  await expect(envView).toHaveAttribute('data-state', 'replaying');
  await expect(page.locator('#env-view-caption')).toContainText('PPO agent 5 (seed 6) on CartPole-v1');
  await keepScreenshot(page, testInfo, 'population');

  // The metrics export: one row per agent per iteration, an agent column after algo.
  const downloading = page.waitForEvent('download');
  await page.getByTestId('csv').click();
  const csv = readFileSync((await (await downloading).path())!, 'utf8').trim().split('\n');
  expect(csv[0].startsWith('algo,agent,iter,env_steps,mean_return')).toBe(true);
  expect(csv.length - 1).toBe(16 * 6);
  expect(csv[1].startsWith('ppo,0,0,256,')).toBe(true);
  expect(csv[16 * 6].startsWith('ppo,15,5,1536,')).toBe(true);
  expect(errors).toEqual([]);
});
