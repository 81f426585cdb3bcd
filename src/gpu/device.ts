/**
 * Device acquisition for browsers (navigator.gpu) and Node (the `webgpu`
 * package, Dawn). Returns one GpuContext that every other constructor takes.
 *
 * Node adapter order: whatever Vulkan driver the system offers (a GPU, or Mesa
 * lavapipe as CPU fallback); when there is none, SwiftShader from a Chromium or
 * Chrome install. A CPU fallback is announced once on stderr.
 */

export type AdapterChoice = 'auto' | 'lavapipe' | 'swiftshader';

export interface RequestGpuOptions {
  /** Node only: which Vulkan driver to use. Default from WEBGPU_RL_ADAPTER, else 'auto'. */
  adapter?: AdapterChoice;
  /** Node only: Dawn toggles, e.g. ['disable_robustness'] for trusted kernels. */
  dawnToggles?: string[];
  powerPreference?: GPUPowerPreference;
  /** Suppress the one-line CPU-fallback notice. */
  quiet?: boolean;
  /** Called once when the device is lost or an uncaptured GPU error occurs. */
  onError?: (error: Error) => void;
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  description: string;
  isFallback: boolean;
  /** 'lavapipe', 'swiftshader', 'browser' or 'system' (the driver Vulkan picked). */
  backend: string;
}

export interface GpuContext {
  device: GPUDevice;
  adapter: AdapterDescription;
  /** Features the device was created with (subgroups, timestamp-query when offered). */
  features: ReadonlySet<string>;
  limits: GPUSupportedLimits;
  /** Throws the first uncaptured GPU error or device loss seen so far. */
  throwIfFailed(): void;
  /** Waits for queued work, then throws if anything failed. */
  sync(): Promise<void>;
  /** Releases the device; in Node the process can exit only after this. */
  destroy(): void;
}

/** One line an adapter, for logs and benchmark tables. */
export function describeAdapter(a: AdapterDescription): string {
  const kind = a.isFallback ? `CPU fallback (${a.backend})` : 'GPU';
  const arch = a.architecture ? ` / ${a.architecture}` : '';
  return `${a.vendor}${arch} — ${a.description || 'no description'} [${kind}]`;
}

const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
  '/opt/google/chrome-beta/vk_swiftshader_icd.json',
];

export const NO_ADAPTER_HELP =
  'No WebGPU adapter found: install a GPU Vulkan driver, or a CPU fallback ' +
  '(Debian 12: `apt-get install -y libvulkan1 && apt-get install -y -t bookworm-backports mesa-vulkan-drivers`, ' +
  'or `apt-get install -y chromium` for SwiftShader); `npm run setup` does this when run as root.';

let fallbackAnnounced = false;

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

function toDescription(info: GPUAdapterInfo, backend: string): AdapterDescription {
  const isFallback =
    (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader|software/i.test(`${info.architecture} ${info.description} ${info.vendor}`);
  let name = backend;
  if (/llvmpipe|lavapipe/i.test(`${info.architecture} ${info.description}`)) name = 'lavapipe';
  else if (/swiftshader/i.test(`${info.architecture} ${info.description} ${info.vendor}`)) name = 'swiftshader';
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    isFallback,
    backend: name,
  };
}

async function nodeAdapter(options: RequestGpuOptions): Promise<{ adapter: GPUAdapter; backend: string } | null> {
  const moduleName = 'webgpu';
  const dawn = (await import(/* @vite-ignore */ moduleName)) as {
    create(flags: string[]): GPU;
    globals: Record<string, unknown>;
  };
  // Dawn's GPU* constants (GPUBufferUsage, ...) are globals in browsers.
  for (const [k, v] of Object.entries(dawn.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  const flags = options.dawnToggles?.length ? [`enable-dawn-features=${options.dawnToggles.join(',')}`] : [];
  const env = process.env;
  const choice: AdapterChoice = options.adapter ?? ((env.WEBGPU_RL_ADAPTER as AdapterChoice) || 'auto');
  if (!['auto', 'lavapipe', 'swiftshader'].includes(choice)) {
    throw new Error(`WEBGPU_RL_ADAPTER: "${choice}" is not one of auto, lavapipe, swiftshader`);
  }
  const fs = await import('node:fs');
  const tryWith = async (icd: string | undefined, backend: string) => {
    // Newer Vulkan loaders let VK_DRIVER_FILES win over VK_ICD_FILENAMES: set both while choosing.
    const saved = env.VK_ICD_FILENAMES;
    const savedDriverFiles = env.VK_DRIVER_FILES;
    if (icd) env.VK_ICD_FILENAMES = env.VK_DRIVER_FILES = icd;
    try {
      const gpu = dawn.create(flags);
      const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
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
    const icd = ['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'].find((p) =>
      fs.existsSync(p),
    );
    if (!icd) throw new Error('lavapipe requested but not found: apt-get install -y -t bookworm-backports mesa-vulkan-drivers');
    return tryWith(icd, 'lavapipe');
  }
  const found = await tryWith(undefined, 'system');
  if (found) return found;
  const icd = swiftshaderIcd();
  return icd ? tryWith(icd, 'swiftshader') : null;
}

/** Resolves to the GPU context; the same call works in browsers and in Node. */
export async function requestGpu(options: RequestGpuOptions = {}): Promise<GpuContext> {
  let adapter: GPUAdapter | null = null;
  let backend = 'browser';
  const nav = (globalThis as { navigator?: Navigator }).navigator;
  if (nav?.gpu && !isNode()) {
    adapter = await nav.gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
    if (!adapter) {
      throw new Error(
        'WebGPU is available but no adapter was returned: enable hardware acceleration, or start Chrome with --enable-unsafe-webgpu.',
      );
    }
  } else if (isNode()) {
    const found = await nodeAdapter(options);
    if (found) ({ adapter, backend } = found);
    if (!adapter) throw new Error(NO_ADAPTER_HELP);
  } else {
    throw new Error('WebGPU is not available in this browser: use a recent Chrome or Edge (or enable WebGPU), served over http://localhost or https.');
  }

  const wanted: GPUFeatureName[] = ['timestamp-query', 'subgroups' as GPUFeatureName];
  const requiredFeatures = wanted.filter((f) => adapter!.features.has(f));
  const al = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: al.maxStorageBufferBindingSize,
      maxBufferSize: al.maxBufferSize,
      maxStorageBuffersPerShaderStage: al.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupsPerDimension: al.maxComputeWorkgroupsPerDimension,
      maxComputeInvocationsPerWorkgroup: al.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: al.maxComputeWorkgroupSizeX,
    },
  });
  const description = toDescription(adapter.info, backend);
  if (description.isFallback && !options.quiet && !fallbackAnnounced && isNode()) {
    fallbackAnnounced = true;
    process.stderr.write(`webgpu-rl: no GPU found, using the CPU fallback ${description.backend} (slow but correct)\n`);
  }

  // Dawn in Node does not hold the event loop open while GPU promises are
  // pending; without this a CLI could exit in the middle of a mapAsync.
  const keepAlive = isNode() ? setInterval(() => {}, 1 << 30) : undefined;

  let failure: Error | null = null;
  let destroyed = false;
  const fail = (error: Error) => {
    if (failure) return;
    failure = error;
    options.onError?.(error);
  };
  device.addEventListener('uncapturederror', (event) => {
    const e = (event as GPUUncapturedErrorEvent).error;
    const kind = errorKind(e);
    fail(new Error(`GPU ${kind}: ${e.message.split('\n')[0]}`));
  });
  void device.lost.then((info) => {
    if (!destroyed) fail(new Error(`GPU device lost (${info.reason}): ${info.message || 'no message'}`));
  });

  const context: GpuContext = {
    device,
    adapter: description,
    features: new Set([...device.features].map(String)),
    limits: device.limits,
    throwIfFailed() {
      if (failure) throw failure;
      if (destroyed) throw new Error('webgpu-rl: this GPU context was destroyed');
    },
    async sync() {
      await device.queue.onSubmittedWorkDone();
      context.throwIfFailed();
    },
    destroy() {
      destroyed = true;
      if (keepAlive !== undefined) clearInterval(keepAlive);
      device.destroy();
    },
  };
  return context;
}

function errorKind(e: GPUError): string {
  const g = globalThis as { GPUOutOfMemoryError?: unknown; GPUValidationError?: unknown };
  if (typeof g.GPUOutOfMemoryError === 'function' && e instanceof (g.GPUOutOfMemoryError as typeof GPUOutOfMemoryError)) return 'out of memory';
  if (typeof g.GPUValidationError === 'function' && e instanceof (g.GPUValidationError as typeof GPUValidationError)) return 'validation error';
  return 'error';
}
