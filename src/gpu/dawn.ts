/**
 * The Node side of `requestGpu`: an adapter from Dawn (the `webgpu` package) on
 * the Vulkan driver chosen by WEBGPU_RL_ADAPTER. device.ts imports this module
 * only in Node; the package's browser build replaces it with dawn.browser.ts,
 * so browser bundles never see `webgpu`, `node:fs` or `module`.
 */
import type { AdapterChoice, RequestGpuOptions } from './device';

const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
  '/opt/google/chrome-beta/vk_swiftshader_icd.json',
];

const LAVAPIPE_ICDS = ['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'];

/** An adapter on the chosen driver, or null when no driver answers. */
export async function nodeAdapter(options: RequestGpuOptions): Promise<{ adapter: GPUAdapter; backend: string } | null> {
  const env = process.env;
  const choice: AdapterChoice = options.adapter ?? ((env.WEBGPU_RL_ADAPTER as AdapterChoice) || 'auto');
  if (!['auto', 'lavapipe', 'swiftshader'].includes(choice)) {
    throw new Error(`WEBGPU_RL_ADAPTER: "${choice}" is not one of auto, lavapipe, swiftshader`);
  }
  // A computed specifier, so the Studio's page build (which keeps this module
  // as a lazy chunk it never loads) does not try to bundle the native addon.
  const moduleName = 'webgpu';
  const dawn = (await import(/* @vite-ignore */ moduleName)) as { create(flags: string[]): GPU; globals: Record<string, unknown> };
  // Dawn's GPU* constants (GPUBufferUsage, ...) are globals in browsers.
  for (const [k, v] of Object.entries(dawn.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  // WEBGPU_RL_BUSY_WAIT=1 keeps Dawn's spinning waits (for A/B measurements).
  if (env.WEBGPU_RL_BUSY_WAIT !== '1') paceDawnWaits(dawn.globals);
  const flags = options.dawnToggles?.length ? [`enable-dawn-features=${options.dawnToggles.join(',')}`] : [];
  const fs = await import('node:fs');
  const tryWith = async (icd: string | undefined, backend: string) => {
    // Newer Vulkan loaders let VK_DRIVER_FILES win over VK_ICD_FILENAMES: set both while choosing.
    const saved = env.VK_ICD_FILENAMES;
    const savedDriverFiles = env.VK_DRIVER_FILES;
    if (icd) env.VK_ICD_FILENAMES = env.VK_DRIVER_FILES = icd;
    try {
      // Dawn enumerates adapters inside these two synchronous calls; its limit
      // warnings go to fd 2 from C there, past anything JS could intercept.
      const quiet = options.dawnWarnings ? <T>(make: () => T) => make() : withoutNativeStderr(fs);
      const gpu = quiet(() => dawn.create(flags));
      const adapter = await quiet(() => gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' }));
      // The Dawn instance must outlive the adapter; keep a reference on it.
      if (adapter) (adapter as GPUAdapter & { __instance?: GPU }).__instance = gpu;
      return adapter ? { adapter, backend } : null;
    } finally {
      if (icd) {
        if (saved === undefined) delete env.VK_ICD_FILENAMES;
        else env.VK_ICD_FILENAMES = saved;
        if (savedDriverFiles === undefined) delete env.VK_DRIVER_FILES;
        else env.VK_DRIVER_FILES = savedDriverFiles;
      }
    }
  };
  const swiftshaderIcd = () => SWIFTSHADER_ICDS.find((p) => fs.existsSync(p));
  if (choice === 'swiftshader') {
    const icd = swiftshaderIcd();
    if (!icd) throw new Error(`SwiftShader requested but not found (looked in ${SWIFTSHADER_ICDS.join(', ')}); install chromium`);
    return tryWith(icd, 'swiftshader');
  }
  if (choice === 'lavapipe') {
    const icd = LAVAPIPE_ICDS.find((p) => fs.existsSync(p));
    if (!icd) throw new Error('lavapipe requested but not found: apt-get install -y -t bookworm-backports mesa-vulkan-drivers');
    return tryWith(icd, 'lavapipe');
  }
  const found = await tryWith(undefined, 'system');
  if (found) return found;
  const icd = swiftshaderIcd();
  return icd ? tryWith(icd, 'swiftshader') : null;
}

/** The promise-returning methods of Dawn's classes that wait on the GPU (or on its compiler). */
const WAITING_METHODS: Readonly<Record<string, readonly string[]>> = {
  GPUBuffer: ['mapAsync'],
  GPUQueue: ['onSubmittedWorkDone'],
  GPUDevice: ['createComputePipelineAsync', 'createRenderPipelineAsync', 'popErrorScope'],
  GPUShaderModule: ['getCompilationInfo'],
};

/**
 * The sleep between two turns of the event loop while a wait is pending (ms):
 * an eighth of the time waited so far, within [first, most]. So a wait ends
 * at most about 1/8 late (a fast GPU's short iterations stay short), and a
 * long one wakes every 4 ms: each wake-up can preempt a driver thread, and PPO
 * seed on lavapipe measured 0.91–0.96 s per iteration with 4 ms turns,
 * 0.97–1.36 s with 1 ms and 0.94–1.02 s with 16 ms (3 runs each).
 */
export const WAIT_SLICE_MS = { first: 0.05, most: 4, fraction: 1 / 8 } as const;

let paced = false;
let pending = 0;
let sleeping = false;

/**
 * Dawn's Node binding settles a pending promise (a map, onSubmittedWorkDone, an
 * async pipeline) by calling ProcessEvents from setImmediate in a loop until it
 * settles (crbug.com/dawn/1127): the main thread spins meanwhile, and on a CPU
 * driver it takes a core from the driver's own threads. Measured on lavapipe
 * with 2 cores: 20 dispatches of a long kernel took 4.2 s awaited, 2.6 s with
 * the main thread asleep. So, once per process, the waiting methods of Dawn's
 * classes are wrapped: while one of their promises is pending, the main thread
 * sleeps (Atomics.wait, no spinning) between two turns of the event loop, for
 * a slice that grows with the time waited (WAIT_SLICE_MS). Dawn's ProcessEvents
 * still runs once a turn, so a wait ends at most one slice after the GPU does.
 */
export function paceDawnWaits(classes: Record<string, unknown>): void {
  pacePrototypes(Object.fromEntries(Object.keys(WAITING_METHODS).map((name) => [name, (classes[name] as { prototype?: object } | undefined)?.prototype])));
}

/**
 * For `wrapDevice`: paces the waits of a device the caller made with Dawn
 * (unless WEBGPU_RL_BUSY_WAIT=1), finding the classes from the device itself
 * and a 4-byte buffer made and destroyed here.
 */
export function paceOwnDevice(device: GPUDevice): void {
  if (paced || process.env.WEBGPU_RL_BUSY_WAIT === '1') return;
  // MAP_READ | COPY_DST, by value: the caller may not have installed Dawn's globals.
  const probe = device.createBuffer({ label: 'webgpu-rl.paceOwnDevice', size: 4, usage: 0x0001 | 0x0008 });
  pacePrototypes({ GPUDevice: Object.getPrototypeOf(device), GPUQueue: Object.getPrototypeOf(device.queue), GPUBuffer: Object.getPrototypeOf(probe) });
  probe.destroy();
}

function pacePrototypes(prototypes: Record<string, object | undefined>): void {
  if (paced) return;
  paced = true;
  for (const [name, methods] of Object.entries(WAITING_METHODS)) {
    const proto = prototypes[name] as Record<string, unknown> | undefined;
    for (const method of methods) {
      const original = proto?.[method];
      if (typeof original !== 'function') continue;
      proto![method] = function (this: unknown, ...args: unknown[]) {
        return whilePending(Reflect.apply(original, this, args) as Promise<unknown>);
      };
    }
  }
}

const cell = new Int32Array(new SharedArrayBuffer(4));

/** Promises of the wrapped methods not settled yet, and whether waits are paced at all (for tests). */
export function dawnWaits(): { paced: boolean; pending: number } {
  return { paced, pending };
}

function whilePending<T>(promise: Promise<T>): Promise<T> {
  pending++;
  const settled = () => {
    pending--;
  };
  promise.then(settled, settled);
  if (!sleeping) {
    sleeping = true;
    const since = performance.now();
    // Queued after Dawn's own ProcessEvents immediate, so a wait that is over
    // at its first turn ends without sleeping.
    const turn = () => {
      if (pending === 0) {
        sleeping = false;
        return;
      }
      const waited = performance.now() - since;
      Atomics.wait(cell, 0, 0, Math.min(WAIT_SLICE_MS.most, Math.max(WAIT_SLICE_MS.first, WAIT_SLICE_MS.fraction * waited)));
      setImmediate(turn);
    };
    setImmediate(turn);
  }
  return promise;
}

type NodeFs = typeof import('node:fs');

/**
 * Runs `make` (synchronous native code: no JS runs meanwhile) with fd 2 on
 * /dev/null, then puts the original stderr back: Node has no dup2, but open()
 * takes the lowest free descriptor, and /dev/fd/N reopens what N refers to.
 * Only for a terminal or a pipe: a reopened regular file would get an offset
 * of its own, and `> log 2>&1` would then overwrite lines. Does nothing where
 * it cannot be done safely (no /dev/fd, stdin or stdout closed, a socket).
 */
function withoutNativeStderr(fs: NodeFs): <T>(make: () => T) => T {
  return (make) => {
    let saved = -1;
    try {
      fs.fstatSync(0);
      fs.fstatSync(1);
      const stderr = fs.fstatSync(2);
      if (stderr.isFIFO() || stderr.isCharacterDevice()) saved = fs.openSync('/dev/fd/2', 'a');
    } catch {
      saved = -1;
    }
    if (saved < 0) return make();
    fs.closeSync(2);
    const sink = fs.openSync('/dev/null', 'a');
    try {
      return make();
    } finally {
      fs.closeSync(sink);
      const restored = fs.openSync(`/dev/fd/${saved}`, 'a');
      fs.closeSync(saved);
      if (sink !== 2 || restored !== 2) throw new Error(`webgpu-rl: could not restore stderr after silencing Dawn (fd ${sink} → ${restored})`);
    }
  };
}
