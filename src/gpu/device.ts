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
  /**
   * Node only: let Dawn print what it says while choosing an adapter (on some
   * drivers two "maxDynamic… artificially reduced" warnings; driver errors).
   * Default false: silenced.
   */
  dawnWarnings?: boolean;
  powerPreference?: GPUPowerPreference;
  /** Suppress the one-line CPU-fallback notice. */
  quiet?: boolean;
  /** Validate mode (default false): see `GpuContext.validate`. */
  validate?: boolean;
  /**
   * At most this many storage buffers per shader stage (default: the adapter's
   * maximum), for example 10 to see what a browser that grants 10 runs: the
   * kernels that bind more are left out, as there. An integer from WebGPU's
   * default 8 up to the adapter's maximum.
   */
  maxStorageBuffersPerShaderStage?: number;
  /**
   * Called when the device is lost, and when an uncaptured GPU error occurs
   * (once until a sync point has reported it: later errors call again).
   */
  onError?: (error: Error) => void;
}

/** The adapter a context runs on, as `describeAdapter` prints it. */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  description: string;
  isFallback: boolean;
  /** 'lavapipe', 'swiftshader', 'browser' or 'system' (the driver Vulkan picked). */
  backend: string;
}

/**
 * The GPU device with its adapter, features, limits and error reporting, from
 * `requestGpu` or `wrapDevice`; every constructor of the package takes one.
 */
export interface GpuContext {
  device: GPUDevice;
  adapter: AdapterDescription;
  /** Features the device was created with (subgroups, timestamp-query when offered). */
  features: ReadonlySet<string>;
  limits: GPUSupportedLimits;
  /**
   * Throws an uncaptured GPU error not reported yet, once: the context goes on
   * working afterwards, as WebGPU does. A lost or destroyed device throws on
   * every call.
   */
  throwIfFailed(): void;
  /** Waits for queued work, then throws as `throwIfFailed` does. */
  sync(): Promise<void>;
  /** Throws, naming `what`, when nothing can be created any more: the context was destroyed or its device lost. */
  assertUsable(what: string): void;
  /**
   * Validate mode: the kernel wrappers' encode methods, `submitPass` and the
   * bind groups `create` makes run their GPU calls inside error scopes
   * (validation and out-of-memory), so an error is reported named after the
   * call that caused it ("gae.encode: GPU validation error: ..."), once, by the
   * next `sync()` or read; reads reject with their own errors. Off by default:
   * each checked encode costs an extra (empty) submit and a scope round trip.
   */
  readonly validate: boolean;
  /**
   * Runs `work` (synchronous GPU calls) inside validation and out-of-memory
   * error scopes and rejects with the first error they caught, named after
   * `what`.
   */
  scoped(what: string, work: () => void): Promise<void>;
  /**
   * In validate mode, `scoped(what, work)` with its error reported by the next
   * `sync()` or read (not thrown here: `work` is recorded synchronously); else
   * just `work()`.
   */
  checked(what: string, work: () => void): void;
  /** Whether `destroy()` was called. */
  readonly destroyed: boolean;
  /** Releases the device and everything created on it; later uses of the context throw. */
  destroy(): void;
}

/** One line an adapter, for logs and benchmark tables. */
export function describeAdapter(a: AdapterDescription): string {
  const kind = a.isFallback ? `CPU fallback (${a.backend})` : 'GPU';
  const arch = a.architecture ? ` / ${a.architecture}` : '';
  return `${a.vendor}${arch} — ${a.description || 'no description'} [${kind}]`;
}

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

/**
 * Resolves to the GPU context; the same call works in browsers and in Node.
 * In Node the process may exit once the program is done, without `destroy()`.
 */
export async function requestGpu(options: RequestGpuOptions = {}): Promise<GpuContext> {
  // The limit's form is checked before any adapter is asked for; its maximum once one answers.
  const wantedStorage = options.maxStorageBuffersPerShaderStage;
  const storageRefusal = (max: string) =>
    new Error(`requestGpu: maxStorageBuffersPerShaderStage ${wantedStorage} is not allowed (an integer from 8 to ${max})`);
  if (wantedStorage !== undefined && (!Number.isInteger(wantedStorage) || wantedStorage < 8)) throw storageRefusal("the adapter's maximum");
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
    const { nodeAdapter } = await import('./dawn');
    const found = await nodeAdapter(options);
    if (found) ({ adapter, backend } = found);
    if (!adapter) throw new Error(NO_ADAPTER_HELP);
  } else {
    throw new Error('WebGPU is not available in this browser: use a recent Chrome or Edge (or enable WebGPU), served over http://localhost or https.');
  }

  const wanted: GPUFeatureName[] = ['timestamp-query', 'subgroups' as GPUFeatureName];
  const requiredFeatures = wanted.filter((f) => adapter!.features.has(f));
  const al = adapter.limits;
  const storageBuffers = wantedStorage ?? al.maxStorageBuffersPerShaderStage;
  if (storageBuffers > al.maxStorageBuffersPerShaderStage) throw storageRefusal(`the adapter's ${al.maxStorageBuffersPerShaderStage}`);
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: al.maxStorageBufferBindingSize,
      maxBufferSize: al.maxBufferSize,
      maxStorageBuffersPerShaderStage: storageBuffers,
      maxComputeWorkgroupsPerDimension: al.maxComputeWorkgroupsPerDimension,
      maxComputeInvocationsPerWorkgroup: al.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: al.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupStorageSize: al.maxComputeWorkgroupStorageSize,
    },
  });
  // In Node the Dawn instance (kept on the adapter) must outlive the device: a
  // collected instance leaves the driver's threads waiting on freed memory,
  // which crashed processes at exit.
  (device as GPUDevice & { __adapter?: GPUAdapter }).__adapter = adapter;
  const description = toDescription(adapter.info, backend);
  if (description.isFallback && !options.quiet && !fallbackAnnounced && isNode()) {
    fallbackAnnounced = true;
    process.stderr.write(`webgpu-rl: no GPU found, using the CPU fallback ${description.backend} (slow but correct)\n`);
  }
  return wrapDevice(device, { adapter: description, onError: options.onError, validate: options.validate });
}

export interface WrapDeviceOptions {
  /** What `gpu.adapter` reports (default: from `device.adapterInfo` where the browser has it). */
  adapter?: AdapterDescription;
  /** As in `requestGpu`: called when the device is lost or an uncaptured GPU error occurs. */
  onError?: (error: Error) => void;
  /** Validate mode (default false): see `GpuContext.validate`. */
  validate?: boolean;
}

/**
 * A GpuContext around a device the caller created and owns (for example one
 * shared with a renderer): every kernel of this package takes it. The device
 * needs the limits the kernels use; `requestGpu` asks for the adapter's maxima.
 */
export function wrapDevice(device: GPUDevice, options: WrapDeviceOptions = {}): GpuContext {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const adapter = options.adapter ?? toDescription(info ?? { vendor: '', architecture: '', description: 'caller-owned device' } as GPUAdapterInfo, 'browser');

  // An uncaptured error waits here until a sync point reports it (once); a
  // lost or destroyed device stays reported on every call.
  let pending: Error | null = null;
  let lost: Error | null = null;
  let destroyed = false;
  const validate = options.validate === true;
  // Validate mode: checks whose scopes have not resolved yet (sync waits for
  // them), and whether the pending error names its call. A named error
  // replaces an unnamed one: both are the same fault, seen by the check and by
  // the caller's own submit.
  const outstanding = new Set<Promise<void>>();
  let pendingNamed = false;
  const report = (error: Error, named = false) => {
    if (pending && (pendingNamed || !named)) return;
    const first = !pending;
    pending = error;
    pendingNamed = named;
    if (first) options.onError?.(error);
  };
  device.addEventListener('uncapturederror', (event) => {
    // Handled here: Dawn would otherwise print the error block on stdout.
    event.preventDefault();
    const e = (event as GPUUncapturedErrorEvent).error;
    report(new Error(`GPU ${errorKind(e)}: ${e.message.split('\n')[0]}`));
  });
  void device.lost.then((lostInfo) => {
    if (destroyed) return;
    lost = new Error(`GPU device lost (${lostInfo.reason}): ${lostInfo.message || 'no message'}`);
    options.onError?.(lost);
  });

  /** Runs `work` inside a validation and an out-of-memory scope; a JS exception from `work` closes them and is rethrown. */
  const openScopes = (work: () => void) => {
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    try {
      work();
    } catch (thrown) {
      void closeScopes('');
      throw thrown;
    }
  };
  /** Closes what openScopes opened: the first error caught, named after `what`, or null. */
  const closeScopes = async (what: string): Promise<Error | null> => {
    const outOfMemory = device.popErrorScope();
    const invalid = device.popErrorScope();
    const error = (await invalid) ?? (await outOfMemory);
    return error ? new Error(`${what}: GPU ${errorKind(error)}: ${error.message.split('\n')[0]}`) : null;
  };

  // Node: a device the caller made with Dawn waits as requestGpu's do (dawn.ts paceDawnWaits).
  if (isNode() && !options.adapter) void import('./dawn').then((dawn) => dawn.paceOwnDevice(device)).catch(() => undefined);

  const context: GpuContext = {
    device,
    adapter,
    features: new Set([...device.features].map(String)),
    limits: device.limits,
    throwIfFailed() {
      context.assertUsable('throwIfFailed()');
      const error = pending;
      pending = null;
      pendingNamed = false;
      if (error) throw error;
    },
    validate,
    async scoped(what: string, work: () => void) {
      openScopes(work);
      const error = await closeScopes(what);
      if (error) throw error;
    },
    checked(what: string, work: () => void) {
      if (!validate) return work();
      openScopes(work);
      const check = closeScopes(what).then((error) => {
        if (error) report(error, true);
      });
      outstanding.add(check);
      void check.finally(() => outstanding.delete(check));
    },
    assertUsable(what: string) {
      if (destroyed) throw new Error(`webgpu-rl: ${what}: this GPU context was destroyed`);
      if (lost) throw lost;
    },
    async sync() {
      context.assertUsable('sync()');
      await device.queue.onSubmittedWorkDone();
      if (outstanding.size) await Promise.all(outstanding);
      context.throwIfFailed();
    },
    get destroyed() {
      return destroyed;
    },
    destroy() {
      destroyed = true;
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
