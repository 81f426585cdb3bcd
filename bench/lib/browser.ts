/**
 * The browser runner: serves bench/page/ with Vite on 127.0.0.1 (WebGPU needs
 * a secure context), opens it in headless Chromium through Playwright and runs
 * each case in the page's WebGPU with the very same case code as Node, one
 * page.evaluate per case. The page's `[bench]` console lines are progress.
 *
 * Chromium is the system one (/usr/bin/chromium, or CHROME_PATH); Playwright's
 * own browser download is never used. `vite` and `@playwright/test` are
 * imported by name at run time so the Node bundle does not inline them.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { descendantsCpuSeconds } from './cpu';
import { emptyRecord } from './cases';
import type { Page } from '@playwright/test';
import type { BenchOptions } from './options';
import type { BenchPageApi, BenchRecord } from './types';

/** Launch flags that give headless Chromium a WebGPU adapter on a machine without GPU (SwiftShader). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // Full-resolution timestamp queries (Chrome quantizes them to 100 µs otherwise); nothing else changes for compute.
  '--enable-webgpu-developer-features',
];

const hostLoad = () => loadavg().map((x) => Number(x.toFixed(2)));

export function chromiumPath(): string {
  return process.env.CHROME_PATH || '/usr/bin/chromium';
}

export class BrowserUnavailable extends Error {
  override name = 'BrowserUnavailable';
}

/** Which page to serve: the bench page by default; `prebundle` lists CommonJS dependencies Vite must convert first. */
export interface BenchPageChoice {
  page: string;
  prebundle: string[];
}

/**
 * Serves the bench page (or `choice.page`), launches Chromium with `toggles`
 * as Dawn features, and hands `use` a function that opens a fresh page (ready
 * for calls); closes everything afterwards.
 */
export async function withBenchPages<T>(
  toggles: readonly string[],
  repoRoot: string,
  log: (line: string) => void,
  use: (openPage: () => Promise<Page>) => Promise<T>,
  choice: BenchPageChoice = { page: 'bench/page/index.html', prebundle: [] },
): Promise<T> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath)) {
    throw new BrowserUnavailable(`no Chromium at ${executablePath} (apt-get install -y chromium, or set CHROME_PATH)`);
  }
  const viteName = 'vite';
  const playwrightName = '@playwright/test';
  const { createServer } = (await import(/* @vite-ignore */ viteName)) as typeof import('vite');
  const { chromium } = (await import(/* @vite-ignore */ playwrightName)) as typeof import('@playwright/test');

  const server = await createServer({
    configFile: false,
    root: repoRoot,
    logLevel: 'error',
    clearScreen: false,
    // wgsl_reflect's `main` is CommonJS inside a "type": "module" package; use its ES build (as the Studio does).
    resolve: { alias: [{ find: /^wgsl_reflect$/, replacement: 'wgsl_reflect/wgsl_reflect.module.js' }] },
    // Served as-is: no dependency discovery, so the page never reloads in the middle of a case.
    optimizeDeps: { noDiscovery: true, include: choice.prebundle },
    server: { host: '127.0.0.1', port: 41807, strictPort: false, hmr: false, watch: null },
  });
  await server.listen();
  const base = server.resolvedUrls?.local[0];
  if (!base) {
    await server.close();
    throw new Error('vite did not report a local URL for the bench page');
  }
  const dawnFeatures = toggles.length ? [`--enable-dawn-features=${toggles.join(',')}`] : [];
  const browser = await chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS, ...dawnFeatures] });
  try {
    return await use(async () => {
      const page = await browser.newPage();
      page.on('console', (message) => {
        const text = message.text();
        if (text.startsWith('[bench] ')) log(`[browser] ${text.slice(8)}`);
        else if (message.type() === 'error') log(`[browser] console error: ${text}`);
      });
      page.on('pageerror', (error) => log(`[browser] uncaught: ${error.message}`));
      // The page's CPU clock: every Chromium process this one started (the GPU process runs SwiftShader).
      await page.exposeFunction('webgpuRlHostCpu', () => descendantsCpuSeconds(process.pid));
      await page.goto(new URL(choice.page, base).href);
      await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 120_000 });
      return page;
    });
  } finally {
    await browser.close();
    await server.close();
  }
}

/** Runs every case of `options` in the page's WebGPU, one page.evaluate each. */
export async function runInBrowser(
  options: BenchOptions,
  repoRoot: string,
  onRecord: (record: BenchRecord) => void,
  log: (line: string) => void,
): Promise<void> {
  await withBenchPages(options.toggles, repoRoot, log, async (openPage) => {
    let page = await openPage();
    for (const name of options.cases) {
      log(`[browser] ${name} …`);
      const loadStart = hostLoad();
      try {
        const record = await page.evaluate(
          ([caseName, caseOptions]) => (window as unknown as { webgpuRlBench: BenchPageApi }).webgpuRlBench.runCase(caseName, caseOptions),
          [name, options] as const,
        );
        onRecord({ ...record, load_start: loadStart, load_end: hostLoad() });
      } catch (error) {
        // A crashed or hung page: record the failure and carry on in a fresh page.
        onRecord(failedRecord(name, options, (error as Error).message.split('\n')[0]));
        await page.close().catch(() => undefined);
        page = await openPage();
      }
    }
  });
}

function failedRecord(name: string, options: BenchOptions, error: string): BenchRecord {
  return { ...emptyRecord(name, options, 'browser'), error };
}
