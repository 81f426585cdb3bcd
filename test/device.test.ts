/**
 * Device helper error paths. Adapter choice depends on environment variables
 * read when Dawn starts, so those cases run in child Node processes
 * (test/fixtures/device-child.ts); each must also exit by itself, which is how
 * a hang would show. Cases depending on what is installed (Chromium's
 * SwiftShader, Mesa lavapipe) check the adapter when it is there and the
 * install hint when it is not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { NO_ADAPTER_HELP, requestGpu, wrapDevice, type AdapterDescription } from '../src/gpu/device';
import { readBytes, readFloat32, storageBuffer } from '../src/gpu/buffers';
import { bundleForNode, lastJson, runNode, type ChildResult } from './node-child';
import { dawnWaits } from '../src/gpu/dawn';

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
  it('an uncaptured validation error is reported once, by the next sync, and onError hears it; the context keeps working', async () => {
    const heard: Error[] = [];
    const gpu = await requestGpu({ quiet: true, onError: (e) => heard.push(e) });
    try {
      expect(() => gpu.throwIfFailed()).not.toThrow();
      // MAP_READ may only be combined with COPY_DST.
      gpu.device.createBuffer({ label: 'device.test.invalidUsage', size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
      await expect(gpu.sync()).rejects.toThrow(/^GPU validation error: .*MapRead/);
      // Reported once: the next sync and a read succeed.
      expect(() => gpu.throwIfFailed()).not.toThrow();
      await expect(gpu.sync()).resolves.toBeUndefined();
      const values = storageBuffer(gpu, 'device.test.values', new Float32Array([1, 2, 3, 4]));
      expect(Array.from(await readFloat32(gpu, values, 1, 2))).toEqual([2, 3]);
      values.destroy();
      // A later error is reported in its turn.
      gpu.device.createBuffer({ label: 'device.test.invalidUsage2', size: 16, usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.UNIFORM });
      await expect(gpu.sync()).rejects.toThrow(/^GPU validation error: .*MapWrite/);
      expect(heard.map((e) => e.message)).toEqual([expect.stringMatching(/MapRead/), expect.stringMatching(/MapWrite/)]);
      expect(heard[0].message).not.toContain('\n');
    } finally {
      gpu.destroy();
    }
  });

  it('wrapDevice: a context around a device the caller owns runs the kernels and reports its errors', async () => {
    const owner = await requestGpu({ quiet: true });
    try {
      const heard: string[] = [];
      const gpu = wrapDevice(owner.device, { onError: (e) => heard.push(e.message) });
      expect(gpu.adapter.description.length).toBeGreaterThan(0);
      const values = storageBuffer(gpu, 'device.test.wrapped', new Float32Array([1, 2, 3, 4]));
      expect(Array.from(await readFloat32(gpu, values))).toEqual([1, 2, 3, 4]);
      values.destroy();
      gpu.device.createBuffer({ label: 'device.test.wrappedInvalid', size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
      await expect(gpu.sync()).rejects.toThrow(/^GPU validation error: .*MapRead/);
      expect(heard).toEqual([expect.stringMatching(/MapRead/)]);
    } finally {
      owner.destroy();
    }
  });

  it('readBytes names bad offsets and lengths before any GPU work', async () => {
    const gpu = await requestGpu({ quiet: true });
    try {
      const values = storageBuffer(gpu, 'device.test.offsets', new Float32Array(4));
      await expect(readBytes(gpu, values, 2)).rejects.toThrow(/readBytes\(device.test.offsets\): byteOffset must be a non-negative multiple of 4, got 2/);
      await expect(readBytes(gpu, values, 8, 12)).rejects.toThrow(/byteLength must be an integer in \[0, 8\] \(the buffer holds 16 bytes\), got 12/);
      await expect(readFloat32(gpu, values, 2, 3)).rejects.toThrow(/byteLength .* got 12/);
      values.destroy();
    } finally {
      gpu.destroy();
    }
  });

  it('a read of a destroyed buffer throws on that call; the next read of a live one works (child process)', async () => {
    const run = await runNode(child, ['errors'], { timeoutMs: 30_000 });
    expect(run.timedOut, `child did not exit:\n${run.stderr}`).toBe(false);
    expect(run.code, run.stderr).toBe(0);
    const uses = lastJson<{ destroyedRead: string; liveRead: number[] | string; sync: string }>(run);
    expect(uses.destroyedRead).toMatch(/^threw: readBytes\(device-child.gone\): GPU validation error: .*destroyed/i);
    expect(uses.liveRead).toEqual([5, 6, 7, 8]);
    expect(uses.sync).toBe('ok');
    // Dawn prints nothing on stdout: the error went to the call, not to Dawn's default handler.
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('a program that never calls destroy() exits, a readback its last step; Dawn prints nothing', async () => {
    const run = await runNode(child, ['forgotten'], { timeoutMs: 30_000, env: { WEBGPU_RL_ADAPTER: undefined } });
    expect(run.timedOut, `child did not exit:\n${run.stderr}`).toBe(false);
    expect(run.code, run.stderr).toBe(0);
    expect(lastJson<{ read: number[] }>(run).read).toEqual([1, 2, 3, 4]);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
  });

  it("Dawn's adapter warnings are silenced on a terminal or pipe stderr, shown with dawnWarnings: true", () => {
    // A pipe (bash process substitution), as in `node app.js 2>&1 | tee log`; Node's own children get sockets, which stay as they are.
    const withPipe = (scenario: string) =>
      spawnSync('bash', ['-c', `"${process.execPath}" "${child}" ${scenario} 2> >(cat >&2)`], { encoding: 'utf8', timeout: 60_000 });
    const quiet = withPipe('request');
    expect(quiet.status, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toMatch(/artificially reduced|Warning:/);
    const loud = withPipe('warnings');
    expect(loud.status, loud.stderr).toBe(0);
    // lavapipe is the driver with the oversized dynamic-buffer limits Dawn warns about.
    if (JSON.parse(loud.stdout.trim().split('\n').at(-1) ?? '{}').backend === 'lavapipe') expect(loud.stderr).toMatch(/artificially reduced/);
  });

  it('using a context after destroy() neither hangs nor keeps the process alive', async () => {
    const run = await runNode(child, ['destroyed'], { timeoutMs: 30_000 });
    expect(run.timedOut, `child did not exit:\n${run.stderr}`).toBe(false);
    expect(run.code, run.stderr).toBe(0);
    const uses = lastJson<{ sync: string; createBuffer: string; readback: string; storageBuffer: string; envCreate: string }>(run);
    expect(uses.sync).toMatch(/^threw: .*context was destroyed/);
    // The raw device is WebGPU's: creating on a destroyed device gives an invalid object, no error.
    expect(uses.createBuffer).toBe('ok');
    expect(uses.readback).toMatch(/^threw: webgpu-rl: readBytes\(device-child.values\): this GPU context was destroyed/);
    expect(uses.storageBuffer).toMatch(/^threw: webgpu-rl: storageBuffer\(device-child.after\): this GPU context was destroyed/);
    expect(uses.envCreate).toMatch(/^threw: webgpu-rl: .*this GPU context was destroyed/);
  });
});

describe("Dawn's waits in Node (src/gpu/dawn.ts paceDawnWaits)", () => {
  /** CPU seconds this thread has run (Linux: /proc/thread-self/stat, utime + stime in clock ticks of 10 ms). */
  const threadCpuSeconds = () => {
    const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };

  it('wrapDevice paces the waits of a device the caller made with Dawn directly (child process)', async () => {
    const run = await runNode(child, ['wrapped'], { timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    const result = lastJson<{ error?: string; before: boolean; after: boolean; pendingDuringRead: number; read: number[]; pendingAfter: number }>(run);
    if (result.error) return expect(result.error).toBe('no adapter');
    expect(result).toEqual({ before: false, after: true, pendingDuringRead: 1, read: [1, 2, 3, 4], pendingAfter: 0 });
  });

  it('the main thread sleeps, not spins, while a long GPU job is awaited; a settled or failed wait leaves nothing pending', async () => {
    const gpu = await requestGpu({ quiet: true });
    try {
      expect(dawnWaits()).toEqual({ paced: true, pending: 0 });
      const { device } = gpu;
      // A kernel that runs for a while: 4 096 invocations of a 100 000-step dependent fma chain per dispatch.
      const code = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
        @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3<u32>) {
          var x = f32(id.x);
          for (var i = 0u; i < 100000u; i++) { x = fma(x, 0.999999, 0.5); }
          out[id.x] = x;
        }`;
      const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
      const out = device.createBuffer({ size: 4 * 4096, usage: GPUBufferUsage.STORAGE });
      const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] });
      const job = (dispatches: number) => {
        const encoder = device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        for (let i = 0; i < dispatches; i++) pass.dispatchWorkgroups(64);
        pass.end();
        device.queue.submit([encoder.finish()]);
      };
      job(1);
      await device.queue.onSubmittedWorkDone();
      // Long enough (about 0.5 s on lavapipe with 2 cores) that a spinning wait shows.
      job(4);
      const cpu0 = threadCpuSeconds();
      const t0 = performance.now();
      const done = device.queue.onSubmittedWorkDone();
      expect(dawnWaits().pending).toBe(1);
      await done;
      const wall = (performance.now() - t0) / 1000;
      const cpu = threadCpuSeconds() - cpu0;
      // Spinning, this thread took 70–80 % of the wait on lavapipe; asleep it takes a few %. Load only lowers both.
      expect(cpu, `${cpu} CPU-s in a ${wall.toFixed(3)} s wait`).toBeLessThan(0.25 * wall + 0.03);
      expect(dawnWaits().pending).toBe(0);

      // A map that fails settles its wait too.
      const staging = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      staging.destroy();
      await expect(staging.mapAsync(GPUMapMode.READ)).rejects.toThrow();
      expect(dawnWaits().pending).toBe(0);
      out.destroy();
    } finally {
      gpu.destroy();
    }
  });
});
