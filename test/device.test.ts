/**
 * Device helper error paths. Adapter choice depends on environment variables
 * read when Dawn starts, so those cases run in child Node processes
 * (test/fixtures/device-child.ts); each must also exit by itself, which is how
 * a hang would show. Cases depending on what is installed (Chromium's
 * SwiftShader, Mesa lavapipe) check the adapter when it is there and the
 * install hint when it is not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { NO_ADAPTER_HELP, requestGpu, type AdapterDescription } from '../src/gpu/device';
import { bundleForNode, lastJson, runNode, type ChildResult } from './node-child';

interface RequestOutcome {
  adapter?: AdapterDescription;
  error?: string;
}

const swiftshaderInstalled = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
  '/opt/google/chrome-beta/vk_swiftshader_icd.json',
].some((p) => existsSync(p));
const lavapipeInstalled = ['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'].some((p) =>
  existsSync(p),
);

let child = '';
// A libvulkan.so.1 that fails to load stands in for a machine without the Vulkan loader.
let noLoaderDir = '';

beforeAll(async () => {
  child = await bundleForNode('test/fixtures/device-child.ts');
  noLoaderDir = mkdtempSync(join(tmpdir(), 'webgpu-rl-novulkan-'));
  writeFileSync(join(noLoaderDir, 'libvulkan.so.1'), '');
});

afterAll(() => {
  if (child) rmSync(dirname(child), { recursive: true, force: true });
  if (noLoaderDir) rmSync(noLoaderDir, { recursive: true, force: true });
});

/** requestGpu() in a fresh process; the loader variables are cleared unless given. */
async function request(env: Record<string, string | undefined>): Promise<{ outcome: RequestOutcome; run: ChildResult }> {
  const run = await runNode(child, ['request'], {
    env: { VK_ICD_FILENAMES: undefined, VK_DRIVER_FILES: undefined, WEBGPU_RL_ADAPTER: undefined, ...env },
  });
  expect(run.timedOut, `child timed out:\n${run.stderr}`).toBe(false);
  expect(run.code, run.stderr).toBe(0);
  return { outcome: lastJson<RequestOutcome>(run), run };
}

function expectOneLineHint(error: string | undefined, mentions: RegExp): void {
  expect(error).toBeDefined();
  expect(error).not.toContain('\n');
  expect(error).toMatch(mentions);
}

describe('adapter selection (child processes)', () => {
  it('without a Vulkan loader, auto fails with the one-line install hint', async () => {
    const { outcome } = await request({ LD_LIBRARY_PATH: noLoaderDir, WEBGPU_RL_ADAPTER: 'auto' });
    expect(outcome.adapter).toBeUndefined();
    expect(outcome.error).toBe(NO_ADAPTER_HELP);
    expectOneLineHint(outcome.error, /libvulkan1.*mesa-vulkan-drivers.*chromium/);
  });

  it('without a Vulkan loader, lavapipe fails with a one-line install hint', async () => {
    const { outcome } = await request({ LD_LIBRARY_PATH: noLoaderDir, WEBGPU_RL_ADAPTER: 'lavapipe' });
    expect(outcome.adapter).toBeUndefined();
    expectOneLineHint(outcome.error, /mesa-vulkan-drivers/);
  });

  it('with no system driver, auto falls back to SwiftShader and says so once on stderr', async () => {
    const { outcome, run } = await request({ VK_ICD_FILENAMES: '/nonexistent.json', WEBGPU_RL_ADAPTER: 'auto' });
    if (swiftshaderInstalled) {
      expect(outcome.adapter).toMatchObject({ backend: 'swiftshader', isFallback: true });
      expect(run.stderr.match(/using the CPU fallback swiftshader/g)).toHaveLength(1);
    } else {
      expect(outcome.error).toBe(NO_ADAPTER_HELP);
    }
  });

  it('WEBGPU_RL_ADAPTER=swiftshader gives a SwiftShader adapter', async () => {
    const { outcome } = await request({ WEBGPU_RL_ADAPTER: 'swiftshader' });
    if (swiftshaderInstalled) {
      expect(outcome.adapter).toMatchObject({ vendor: 'google', architecture: 'swiftshader', backend: 'swiftshader', isFallback: true });
    } else {
      expectOneLineHint(outcome.error, /SwiftShader requested but not found.*chromium/);
    }
  });

  it('WEBGPU_RL_ADAPTER=lavapipe gives lavapipe even when another driver is configured', async () => {
    const { outcome } = await request({ WEBGPU_RL_ADAPTER: 'lavapipe', VK_ICD_FILENAMES: '/nonexistent.json' });
    if (lavapipeInstalled) {
      expect(outcome.adapter).toMatchObject({ vendor: 'mesa', backend: 'lavapipe', isFallback: true });
    } else {
      expectOneLineHint(outcome.error, /lavapipe requested but not found.*mesa-vulkan-drivers/);
    }
  });

  it('rejects an unknown WEBGPU_RL_ADAPTER, naming the value and the choices', async () => {
    const { outcome } = await request({ WEBGPU_RL_ADAPTER: 'nvidia' });
    expectOneLineHint(outcome.error, /WEBGPU_RL_ADAPTER.*"nvidia".*auto, lavapipe, swiftshader/);
  });
});

describe('failures after the device exists', () => {
  it('an uncaptured validation error makes throwIfFailed() and sync() throw it, and onError hears it once', async () => {
    const heard: Error[] = [];
    const gpu = await requestGpu({ quiet: true, onError: (e) => heard.push(e) });
    try {
      expect(() => gpu.throwIfFailed()).not.toThrow();
      // MAP_READ may only be combined with COPY_DST.
      gpu.device.createBuffer({ label: 'device.test.invalidUsage', size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
      await expect(gpu.sync()).rejects.toThrow(/^GPU validation error: .*MapRead/);
      expect(() => gpu.throwIfFailed()).toThrow(/^GPU validation error: .*MapRead/);
      // A second error does not replace the first.
      gpu.device.createBuffer({ label: 'device.test.invalidUsage2', size: 16, usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.UNIFORM });
      await expect(gpu.sync()).rejects.toThrow(/MapRead/);
      expect(heard).toHaveLength(1);
      expect(heard[0].message).toMatch(/^GPU validation error: .*MapRead/);
      expect(heard[0].message).not.toContain('\n');
    } finally {
      gpu.destroy();
    }
  });

  it('using a context after destroy() neither hangs nor keeps the process alive', async () => {
    const run = await runNode(child, ['destroyed'], { timeoutMs: 30_000 });
    expect(run.timedOut, `child did not exit:\n${run.stderr}`).toBe(false);
    expect(run.code, run.stderr).toBe(0);
    const uses = lastJson<{ sync: string; createBuffer: string; readback: string }>(run);
    expect(uses.sync).toMatch(/^threw: .*context was destroyed/);
    expect(uses.createBuffer).toBe('ok');
    expect(uses.readback).toMatch(/^threw: .*context was destroyed/);
  });
});
