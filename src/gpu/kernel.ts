/**
 * Kernels from WGSL by reflection. The WGSL is the schema: bind-group layouts,
 * binding names and uniform struct offsets all come from wgsl_reflect, so the
 * host and the shader cannot drift. No `layout: 'auto'`, no hand-kept offsets.
 *
 * Conventions every shader in shaders/ follows:
 * - all resources in @group(0); uniforms that change per dispatch inside one
 *   encoder are bound with dynamic offsets (named by the wrapper);
 * - the workgroup size is an `override WG: u32` (x only), set by the wrapper;
 * - large 1-D dispatches are split over x and y; a kernel computes its linear
 *   index with `linear_index(gid, nwg)` from shaders/common.wgsl.
 *
 * Reflection needs no GPU (`WgslSource`); compiled families and pipelines are
 * cached per device (`perDevice`), so every wrapper's `create` compiles a
 * family and an entry point once per device, however often it is called.
 */
import { WgslReflect, ResourceType, type VariableInfo, type MemberInfo, type TypeInfo } from 'wgsl_reflect';
import type { GpuContext } from './device';

/** How an entry point binds a buffer: `var<uniform>`, `var<storage, read_write>` or `var<storage, read>`. */
export type BindingKind = 'uniform' | 'storage' | 'read-only-storage';

/** One buffer binding of an entry point, from reflection. */
export interface BindingInfo {
  /** The WGSL variable name (what `Kernel.bind` keys resources by). */
  name: string;
  /** Its `@binding` number (all bindings are in `@group(0)`). */
  binding: number;
  /** Uniform, read-write or read-only storage. */
  kind: BindingKind;
  /** Byte size of the declared type (runtime-sized arrays: the element stride). */
  size: number;
}

/** Options of compiling one entry point (`ShaderFamily.kernel`). */
export interface KernelOptions {
  /** Values for WGSL `override` declarations (WG is the workgroup size). */
  constants?: Record<string, number>;
  /** Uniform bindings that use dynamic offsets. */
  dynamicOffsets?: string[];
}

/** Field writer for one WGSL struct, with offsets taken from reflection. */
export class StructView {
  readonly size: number;
  /** Size rounded up to 16 bytes (what a uniform binding needs). */
  readonly paddedSize: number;
  private readonly fields = new Map<string, { offset: number; scalar: 'f32' | 'u32' | 'i32'; count: number }>();

  constructor(readonly name: string, members: MemberInfo[], size: number) {
    this.size = size;
    this.paddedSize = Math.ceil(size / 16) * 16;
    for (const m of members) this.fields.set(m.name, { offset: m.offset, ...scalarOf(m.type) });
  }

  /** Whether the struct has a field named `field`. */
  has(field: string): boolean {
    return this.fields.has(field);
  }

  /** Byte offset of `field`; throws naming the struct for an unknown field. */
  offsetOf(field: string): number {
    const f = this.fields.get(field);
    if (!f) throw new Error(`struct ${this.name} has no field "${field}"`);
    return f.offset;
  }

  /** Writes `values` into `view` at `base`; every field of the struct must be given. */
  write(view: DataView, values: Record<string, number | ArrayLike<number>>, base = 0): void {
    for (const [name] of this.fields) {
      if (!(name in values)) throw new Error(`struct ${this.name}: value for "${name}" missing`);
    }
    for (const [name, v] of Object.entries(values)) {
      const f = this.fields.get(name);
      if (!f) throw new Error(`struct ${this.name} has no field "${name}"`);
      const list = typeof v === 'number' ? [v] : Array.from(v);
      if (list.length !== f.count) throw new Error(`struct ${this.name}.${name}: expected ${f.count} values, got ${list.length}`);
      list.forEach((x, i) => {
        const at = base + f.offset + 4 * i;
        if (f.scalar === 'f32') view.setFloat32(at, x, true);
        else if (f.scalar === 'u32') view.setUint32(at, x >>> 0, true);
        else view.setInt32(at, x | 0, true);
      });
    }
  }

  /** A fresh buffer-sized byte array holding `values`. */
  pack(values: Record<string, number | ArrayLike<number>>): ArrayBuffer {
    const bytes = new ArrayBuffer(this.paddedSize);
    this.write(new DataView(bytes), values);
    return bytes;
  }
}

function scalarOf(t: TypeInfo): { scalar: 'f32' | 'u32' | 'i32'; count: number } {
  const name = t.name;
  const scalars = ['f32', 'u32', 'i32'] as const;
  if ((scalars as readonly string[]).includes(name)) return { scalar: name as 'f32', count: 1 };
  const vec = /^vec([234])/.exec(name);
  const format = (t as TypeInfo & { format?: TypeInfo | null }).format;
  if (vec && format && (scalars as readonly string[]).includes(format.name)) {
    return { scalar: format.name as 'f32', count: Number(vec[1]) };
  }
  const suffixed = /^vec([234])([fiu])$/.exec(name);
  if (suffixed) return { scalar: ({ f: 'f32', i: 'i32', u: 'u32' } as const)[suffixed[2] as 'f'], count: Number(suffixed[1]) };
  throw new Error(`uniform field type ${t.getTypeName()} is not supported (use f32, u32, i32 or vecN of them)`);
}

/** Workgroup size of every pipeline a Kernel wraps, for tools that see only recorded dispatches. */
const workgroupSizes = new WeakMap<GPUComputePipeline, number>();

/** The workgroup size `pipeline` was created with, if a Kernel made it. */
export function workgroupSizeOf(pipeline: GPUComputePipeline): number | undefined {
  return workgroupSizes.get(pipeline);
}

/** One compute entry point with its pipeline and reflected bindings. */
export class Kernel {
  constructor(
    readonly gpu: GpuContext,
    readonly label: string,
    readonly pipeline: GPUComputePipeline,
    readonly layout: GPUBindGroupLayout,
    readonly bindings: ReadonlyMap<string, BindingInfo>,
    readonly workgroupSize: number,
  ) {
    workgroupSizes.set(pipeline, workgroupSize);
  }

  /** A bind group from resources named as in the WGSL; every binding must be given, no others. */
  bind(resources: Record<string, GPUBuffer | GPUBufferBinding>, role = ''): GPUBindGroup {
    for (const name of Object.keys(resources)) {
      if (!this.bindings.has(name)) {
        throw new Error(`${this.label}: no binding named "${name}" (has ${[...this.bindings.keys()].join(', ')})`);
      }
    }
    const entries: GPUBindGroupEntry[] = [];
    for (const info of this.bindings.values()) {
      const r = resources[info.name];
      if (!r) throw new Error(`${this.label}: binding "${info.name}" not given`);
      const resource: GPUBufferBinding = 'usage' in r ? { buffer: r as GPUBuffer } : { ...(r as GPUBufferBinding) };
      if (info.kind === 'uniform' && resource.size === undefined) {
        resource.size = Math.ceil(info.size / 16) * 16;
      }
      entries.push({ binding: info.binding, resource });
    }
    const label = role ? `${this.label}.${role}` : this.label;
    let group: GPUBindGroup | undefined;
    this.gpu.checked(`${label}: bind group`, () => {
      group = this.gpu.device.createBindGroup({ label, layout: this.layout, entries });
    });
    return group!;
  }

  /**
   * A bind group from those of `resources` this entry point uses, for callers
   * that offer one set of resources to several entry points of a family.
   */
  bindUsed(resources: Record<string, GPUBuffer | GPUBufferBinding>, role = ''): GPUBindGroup {
    return this.bind(Object.fromEntries(Object.entries(resources).filter(([name]) => this.bindings.has(name))), role);
  }

  /** Workgroup counts for `invocations` threads along x, split over y past the per-dimension limit. */
  workgroupsFor(invocations: number): [number, number] {
    const groups = Math.max(1, Math.ceil(invocations / this.workgroupSize));
    const maxX = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    if (groups <= maxX) return [groups, 1];
    const y = Math.ceil(groups / maxX);
    return [Math.ceil(groups / y), y];
  }

  /**
   * Records one dispatch covering `invocations` threads (1-D, see the file
   * header) for each of `agents` agents of a population: z workgroups, one per
   * agent, so a population costs one dispatch whatever its size.
   */
  dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup, invocations: number, dynamicOffsets?: number[], agents = 1): void {
    if (!Number.isInteger(agents) || agents < 1 || agents > this.gpu.limits.maxComputeWorkgroupsPerDimension) {
      throw new Error(`${this.label}: agents must be an integer in [1, ${this.gpu.limits.maxComputeWorkgroupsPerDimension}], got ${agents}`);
    }
    pass.setPipeline(this.pipeline);
    if (dynamicOffsets) pass.setBindGroup(0, bindGroup, dynamicOffsets);
    else pass.setBindGroup(0, bindGroup);
    const [x, y] = this.workgroupsFor(invocations);
    if (agents === 1) pass.dispatchWorkgroups(x, y);
    else pass.dispatchWorkgroups(x, y, agents);
  }
}

/** Validate mode's probe dispatches read their workgroup counts (0, 0, 0) from here: one per device. */
const zeroCounts = new WeakMap<GPUDevice, GPUBuffer>();

/**
 * A compute pass that records every call into `pass` and into `probe`, where
 * each dispatch becomes an indirect one of zero workgroups: WebGPU validates
 * it, and the submit its buffers, as the real dispatch, and nothing runs.
 * Recording once into both keeps wrappers' host state (Adam's control parity)
 * as without the probe.
 */
function teePass(gpu: GpuContext, pass: GPUComputePassEncoder, probe: GPUComputePassEncoder): GPUComputePassEncoder {
  let counts = zeroCounts.get(gpu.device);
  if (!counts) {
    counts = gpu.device.createBuffer({ label: 'validate.zeroWorkgroups', size: 12, usage: GPUBufferUsage.INDIRECT });
    zeroCounts.set(gpu.device, counts);
  }
  const zero = counts;
  const tee: Pick<GPUComputePassEncoder, 'label' | 'setPipeline' | 'setBindGroup' | 'dispatchWorkgroups' | 'dispatchWorkgroupsIndirect' | 'pushDebugGroup' | 'popDebugGroup' | 'insertDebugMarker'> = {
    label: pass.label,
    setPipeline: (pipeline) => {
      pass.setPipeline(pipeline);
      probe.setPipeline(pipeline);
    },
    setBindGroup: ((index: number, group: GPUBindGroup | null, offsets?: Iterable<number>) => {
      const list = offsets === undefined ? undefined : [...offsets];
      pass.setBindGroup(index, group, list);
      probe.setBindGroup(index, group, list);
    }) as GPUComputePassEncoder['setBindGroup'],
    dispatchWorkgroups: (x, y, z) => {
      pass.dispatchWorkgroups(x, y, z);
      probe.dispatchWorkgroupsIndirect(zero, 0);
    },
    dispatchWorkgroupsIndirect: (buffer, offset) => {
      pass.dispatchWorkgroupsIndirect(buffer, offset);
      probe.dispatchWorkgroupsIndirect(zero, 0);
    },
    pushDebugGroup: (label) => {
      pass.pushDebugGroup(label);
      probe.pushDebugGroup(label);
    },
    popDebugGroup: () => {
      pass.popDebugGroup();
      probe.popDebugGroup();
    },
    insertDebugMarker: (label) => {
      pass.insertDebugMarker(label);
      probe.insertDebugMarker(label);
    },
  };
  return tee as GPUComputePassEncoder;
}

/** Depth of `recordChecked` calls in progress: a wrapper called by another is checked as part of it. */
let checking = 0;

/**
 * Records a wrapper's dispatches into `pass`. In validate mode
 * (`GpuContext.validate`) they are recorded into a probe pass too, submitted
 * at once inside error scopes with zero workgroups, so an error they would
 * cause (a destroyed buffer, a binding too small) is reported named `what`.
 */
export function recordChecked(gpu: GpuContext, what: string, pass: GPUComputePassEncoder, record: (pass: GPUComputePassEncoder) => void): void {
  if (!gpu.validate || checking > 0) return record(pass);
  checking++;
  try {
    gpu.checked(what, () => {
      const encoder = gpu.device.createCommandEncoder({ label: `${what}.check` });
      const probe = encoder.beginComputePass({ label: `${what}.check` });
      record(teePass(gpu, pass, probe));
      probe.end();
      gpu.device.queue.submit([encoder.finish()]);
    });
  } finally {
    checking--;
  }
}

/**
 * One value per device and key, made on first use: compiled families,
 * pipelines and wrappers' kernel bundles. A rejected promise is dropped, so a
 * later call can try again.
 */
const deviceCache = new WeakMap<GPUDevice, Map<string, Promise<unknown>>>();

export function perDevice<T>(gpu: GpuContext, key: string, make: () => Promise<T>): Promise<T> {
  // Every wrapper's `create` passes here: after destroy() it fails now, not later on the GPU.
  try {
    gpu.assertUsable(key.split(':', 2).join(':'));
  } catch (error) {
    return Promise.reject(error);
  }
  let byKey = deviceCache.get(gpu.device);
  if (!byKey) deviceCache.set(gpu.device, (byKey = new Map()));
  let value = byKey.get(key) as Promise<T> | undefined;
  if (!value) {
    value = make();
    byKey.set(key, value);
    value.catch(() => {
      if (byKey.get(key) === value) byKey.delete(key);
    });
  }
  return value;
}

/**
 * A family's WGSL (helper sources first, the family last) and its reflection:
 * struct layouts, entry points and their bindings, with no GPU involved.
 */
/** A source part that compile errors name by its label (e.g. a user's env file) instead of its position. */
export interface LabelledWgsl {
  label: string;
  code: string;
}

/** One piece of a composed shader: WGSL source, or source with a label that compile errors name. */
export type WgslPart = string | LabelledWgsl;

/**
 * WGSL parts joined into one source, reflected on first use without a GPU: entry points, bindings and
 * uniform structs (`struct(name)` packs one by field name). `wgsl(name)` returns one for each shader.
 */
export class WgslSource {
  /** The parts joined by newlines: what is compiled. */
  readonly code: string;
  /** The sources in order (labels stripped). */
  readonly parts: readonly string[];
  /** Each part's label, where it has one. */
  readonly labels: readonly (string | undefined)[];
  private reflected: WgslReflect | null = null;

  constructor(readonly name: string, sources: WgslPart | readonly WgslPart[]) {
    const list = Array.isArray(sources) ? (sources as readonly WgslPart[]) : [sources as WgslPart];
    this.parts = list.map((part) => (typeof part === 'string' ? part : part.code));
    this.labels = list.map((part) => (typeof part === 'string' ? undefined : part.label));
    this.code = this.parts.join('\n');
  }

  /** Parsed on first use, so a family that does not compile is reported by the compiler first. */
  get reflection(): WgslReflect {
    return (this.reflected ??= new WgslReflect(this.code));
  }

  /** Names of its compute entry points. */
  entryPoints(): string[] {
    return this.reflection.entry.compute.map((f) => f.name);
  }

  /** Reflected view of a struct declared in the family (uniform parameter blocks). */
  struct(typeName: string): StructView {
    const s = this.reflection.structs.find((t) => t.name === typeName);
    if (!s) throw new Error(`${this.name}.wgsl has no struct ${typeName}`);
    return new StructView(typeName, s.members, s.size);
  }

  /** The buffer bindings an entry point uses (compute, or a render pipeline's vertex or fragment stage), by binding number. */
  bindings(entry: string): BindingInfo[] {
    const { compute, vertex, fragment } = this.reflection.entry;
    const fn = [...compute, ...vertex, ...fragment].find((f) => f.name === entry);
    if (!fn) {
      const known = [...compute, ...vertex, ...fragment].map((f) => f.name);
      throw new Error(`${this.name}.wgsl has no entry point "${entry}" (has ${known.join(', ')})`);
    }
    const label = `${this.name}.${entry}`;
    return [...fn.resources]
      .sort((a, b) => a.binding - b.binding)
      .map((v) => {
        if (v.group !== 0) throw new Error(`${label}: binding ${v.name} is in group ${v.group}; only group 0 is used`);
        return { name: v.name, binding: v.binding, kind: bindingKind(v, label), size: v.isArray ? v.stride : v.size };
      });
  }

  /**
   * Storage buffers an entry point binds (read-only and read-write), which a device
   * limits per stage (maxStorageBuffersPerShaderStage): what decides whether a kernel
   * that needs many fits, counted from the WGSL rather than kept by hand.
   */
  storageBuffers(entry: string): number {
    return this.bindings(entry).filter((b) => b.kind !== 'uniform').length;
  }

  /** The workgroup size an entry point gets without an explicit WG constant. */
  defaultWorkgroupSize(entry: string): number {
    const fn = this.reflection.entry.compute.find((f) => f.name === entry);
    return overrideDefault(this.code, 'WG') ?? fn?.workgroupSize?.[0] ?? 1;
  }
}

/** One shaders/*.wgsl family (optionally with shared helper sources prepended), compiled once per device. */
export class ShaderFamily {
  private readonly pipelines = new Map<string, Promise<Kernel>>();

  private constructor(readonly gpu: GpuContext, readonly source: WgslSource, readonly module: GPUShaderModule) {}

  get reflection(): WgslReflect {
    return this.source.reflection;
  }

  get name(): string {
    return this.source.name;
  }

  get code(): string {
    return this.source.code;
  }

  /**
   * Compiles the sources (helpers first, the family last) and fails with the
   * compiler's messages; the same name and code on the same device compile once.
   */
  static load(gpu: GpuContext, name: string, sources: WgslPart | readonly WgslPart[]): Promise<ShaderFamily> {
    const source = new WgslSource(name, sources);
    return perDevice(gpu, `family:${name}:${source.code}`, () => ShaderFamily.compile(gpu, source));
  }

  private static async compile(gpu: GpuContext, source: WgslSource): Promise<ShaderFamily> {
    const { name, code } = source;
    // Captured here so a bad shader is reported once, by this call, not as an uncaptured error later.
    gpu.device.pushErrorScope('validation');
    const module = gpu.device.createShaderModule({ label: name, code });
    const [info] = await Promise.all([module.getCompilationInfo(), gpu.device.popErrorScope()]);
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) {
      const lines = errors.map((m) => `  ${sourceLocation(source, m.lineNum)}:${m.linePos} ${m.message}`).join('\n');
      throw new Error(`WGSL compilation failed for ${name}:\n${lines}`);
    }
    return new ShaderFamily(gpu, source, module);
  }

  /** Names of its compute entry points. */
  entryPoints(): string[] {
    return this.source.entryPoints();
  }

  /** Whether the device binds the storage buffers `entry` uses (WgslSource.storageBuffers). */
  fits(entry: string): boolean {
    return this.source.storageBuffers(entry) <= this.gpu.limits.maxStorageBuffersPerShaderStage;
  }

  /** Reflected view of a struct declared in the family (uniform parameter blocks). */
  struct(typeName: string): StructView {
    return this.source.struct(typeName);
  }

  /**
   * Pipeline for one entry point, with an explicit bind-group layout built from
   * what it uses; the same entry point and options give the same pipeline.
   */
  kernel(entry: string, options: KernelOptions = {}): Promise<Kernel> {
    const key = JSON.stringify([entry, Object.entries(options.constants ?? {}).sort(), [...(options.dynamicOffsets ?? [])].sort()]);
    let kernel = this.pipelines.get(key);
    if (!kernel) {
      kernel = this.build(entry, options);
      this.pipelines.set(key, kernel);
      kernel.catch(() => this.pipelines.delete(key));
    }
    return kernel;
  }

  private async build(entry: string, options: KernelOptions): Promise<Kernel> {
    const label = `${this.name}.${entry}`;
    const infos = this.source.bindings(entry);
    const dynamic = new Set(options.dynamicOffsets ?? []);
    const bindings = new Map<string, BindingInfo>();
    const layoutEntries: GPUBindGroupLayoutEntry[] = [];
    for (const info of infos) {
      bindings.set(info.name, info);
      layoutEntries.push({
        binding: info.binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: info.kind, hasDynamicOffset: dynamic.has(info.name) },
      });
    }
    for (const name of dynamic) {
      if (!bindings.has(name)) throw new Error(`${label}: dynamic offset for unknown binding "${name}"`);
    }
    const constants = { ...(options.constants ?? {}) };
    const declared = new Set(this.reflection.overrides.map((o) => o.name));
    for (const k of Object.keys(constants)) {
      if (!declared.has(k)) throw new Error(`${label}: no override named ${k}`);
    }
    const workgroupSize = constants.WG ?? this.source.defaultWorkgroupSize(entry);
    if (declared.has('WG')) constants.WG = workgroupSize;
    const layout = this.gpu.device.createBindGroupLayout({ label: `${label}.layout`, entries: layoutEntries });
    const pipeline = await this.gpu.device.createComputePipelineAsync({
      label,
      layout: this.gpu.device.createPipelineLayout({ label: `${label}.pipelineLayout`, bindGroupLayouts: [layout] }),
      compute: { module: this.module, entryPoint: entry, constants },
    });
    return new Kernel(this.gpu, label, pipeline, layout, bindings, workgroupSize);
  }

  /** Several kernels at once, compiled in parallel. */
  async kernels<K extends string>(entries: Record<K, KernelOptions | undefined>): Promise<Record<K, Kernel>> {
    const names = Object.keys(entries) as K[];
    const built = await Promise.all(names.map((n) => this.kernel(n, entries[n] ?? {})));
    return Object.fromEntries(names.map((n, i) => [n, built[i]])) as Record<K, Kernel>;
  }
}

function bindingKind(v: VariableInfo, label: string): BindingKind {
  if (v.resourceType === ResourceType.Uniform) return 'uniform';
  if (v.resourceType === ResourceType.Storage) return v.access === 'read_write' ? 'storage' : 'read-only-storage';
  throw new Error(`${label}: binding ${v.name} is not a buffer; kernels here use buffers only`);
}

function overrideDefault(code: string, name: string): number | undefined {
  const m = new RegExp(`override\\s+${name}\\s*:\\s*\\w+\\s*=\\s*(\\d+)`).exec(code);
  return m ? Number(m[1]) : undefined;
}

/** "name.wgsl:LINE", or "name.wgsl (source K of N):LINE" when helper sources were prepended, or "LABEL:LINE" for a labelled part. */
function sourceLocation(source: WgslSource, line: number): string {
  const { name, parts, labels } = source;
  if (parts.length === 1) return `${labels[0] ?? `${name}.wgsl`}:${line}`;
  let first = 1;
  for (let k = 0; k < parts.length; k++) {
    const count = parts[k].split('\n').length;
    if (line < first + count) return `${labels[k] ?? `${name}.wgsl (source ${k + 1} of ${parts.length})`}:${line - first + 1}`;
    first += count;
  }
  return `${name}.wgsl:${line}`;
}
