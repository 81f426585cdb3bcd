/**
 * Population-based training on the GPU (shaders/pbt.wgsl). `encodeRecord`, every
 * iteration, adds each agent's mean return to its score window; `encodeExploit`,
 * every few iterations, ranks the agents by their window's mean, gives each of
 * the worst `bottom` agents a copy of a random one of the best `top` agents'
 * tensors (weights, optimizer state, ...) and hyperparameter record (its own seed
 * kept), multiplies the chosen fields by `down` or `up` within their bounds, and
 * writes each agent's source (or −1) into the `pbt_parent` slot of its metrics
 * block. Nothing is read back: the host only decides which iterations exploit.
 */
import randomWgsl from '../../shaders/random.wgsl?raw';
import pbtWgsl from '../../shaders/pbt.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, recordChecked, type Kernel, type StructView } from '../gpu/kernel';
import { readFloat32, readUint32, storageBuffer, uniformBuffer } from '../gpu/buffers';
import { assertAgents, type Agents } from '../gpu/agents';
import { COMMON_WGSL, wgslConstants } from '../gpu/wgsl';
import { UniformSlots } from '../gpu/slots';
import { AGENT_FIELDS, type AgentField } from '../core/population';
import { METRICS_BLOCK_FLOATS, metricSlotsWgsl } from '../core/metrics';

interface PbtKernels {
  record: Kernel;
  exploit: Kernel;
  copy: Kernel;
  args: StructView;
  copyArgs: StructView;
}

/** shaders/pbt.wgsl with what it is loaded after, in order. */
export function pbtSources(): readonly string[] {
  return [COMMON_WGSL, randomWgsl, metricSlotsWgsl(), wgslConstants({ AGENT_PARAMS_WORDS: AGENT_FIELDS.length }), pbtWgsl];
}

function pbtKernels(gpu: GpuContext): Promise<PbtKernels> {
  return perDevice(gpu, 'kernels:pbt', async () => {
    const family = await ShaderFamily.load(gpu, 'pbt', pbtSources());
    const k = await family.kernels({ pbt_record: {}, pbt_exploit: {}, pbt_copy: { dynamicOffsets: ['copyArgs'] } });
    return { record: k.pbt_record, exploit: k.pbt_exploit, copy: k.pbt_copy, args: family.struct('PbtArgs'), copyArgs: family.struct('CopyArgs') };
  });
}

/** A per-agent tensor that exploits copy: `count` 4-byte words per agent, agent-major, from byte 0 of `buffer`. */
export interface PbtTensor {
  name: string;
  buffer: GPUBuffer;
  count: number;
}

/** What `Pbt.create` needs. */
export interface PbtOptions {
  /** The population's hyperparameter records, rewritten by exploits. */
  agents: Agents;
  /** The per-agent metrics blocks ([P][METRICS_BLOCK_FLOATS] f32): episodes and return sums are read, `pbt_parent` written. */
  metrics: GPUBuffer;
  /** Tensors a replaced agent takes from its source (each [P][count]). */
  tensors: readonly PbtTensor[];
  /** Agents replaced per exploit (the worst) and agents copied from (the best): 1 ≤ bottom, top; bottom + top ≤ P. */
  bottom: number;
  top: number;
  /** Fields explored (multiplied by `down` or `up`); never `seed`. */
  perturb: readonly AgentField[];
  /** Allowed [min, max] of each perturbed field (the value is clamped into it). */
  bounds: Partial<Record<AgentField, readonly [number, number]>>;
  /** Key of the exploit's random choices. */
  seed: number;
  /** Explore factors (default 0.8 and 1.2, as in the paper). */
  down?: number;
  up?: number;
  /** Probability in [0, 1] that an explored field is resampled from `prior` instead of perturbed (default 0). */
  resample?: number;
  /** [P][AGENT_FIELDS.length] words, the records resample draws from (default: the agents' records at creation, as `packAgentParams` writes them). */
  prior?: Uint32Array;
  label?: string;
}

/** Population-based training's exploit and explore steps for one population, recorded into the caller's pass. */
export class Pbt {
  private constructor(
    private readonly kernels: PbtKernels,
    private readonly population: number,
    private readonly groups: { record: GPUBindGroup; exploit: GPUBindGroup; copies: { group: GPUBindGroup; count: number }[] },
    private readonly slots: UniformSlots,
    private readonly owned: GPUBuffer[],
    /** [P] u32: the agent each agent copied from at the last exploit (itself if kept). */
    readonly source: GPUBuffer,
    /** [P] vec2<f32>: the score window (sum of iteration mean returns, iterations counted). */
    readonly scoreWindow: GPUBuffer,
    /** [1] u32: exploits done so far (the exploit draws' Philox counter). */
    private readonly state: GPUBuffer,
    /** [P][AGENT_FIELDS.length] words: the records `resample` draws from. */
    private readonly prior: GPUBuffer,
  ) {}

  static async create(gpu: GpuContext, options: PbtOptions): Promise<Pbt> {
    const label = options.label ?? 'pbt';
    assertAgents(label, options.agents);
    const p = options.agents.count;
    const { bottom, top } = options;
    if (!Number.isInteger(bottom) || !Number.isInteger(top) || bottom < 1 || top < 1 || bottom + top > p) {
      throw new Error(`${label}: bottom ${bottom} and top ${top} must be integers ≥ 1 with bottom + top ≤ ${p} agents`);
    }
    if (options.metrics.size < p * METRICS_BLOCK_FLOATS * 4) {
      throw new Error(`${label}: metrics holds ${options.metrics.size / 4} floats, needs ${p} blocks of ${METRICS_BLOCK_FLOATS}`);
    }
    let mask = 0;
    const bounds = new Float32Array(2 * AGENT_FIELDS.length);
    for (const field of options.perturb) {
      const i = AGENT_FIELDS.indexOf(field);
      if (i < 1) throw new Error(`${label}: cannot perturb "${field}" (perturbable: ${AGENT_FIELDS.slice(1).join(', ')})`);
      const b = options.bounds[field];
      if (!b || !(b[0] <= b[1])) throw new Error(`${label}: perturbed field ${field} needs bounds [min, max]`);
      mask |= 1 << i;
      bounds.set(b, 2 * i);
    }
    const resample = options.resample ?? 0;
    if (!(resample >= 0 && resample <= 1)) throw new Error(`${label}: resample ${resample} must be a probability in [0, 1]`);
    if (options.prior && options.prior.length !== p * AGENT_FIELDS.length) throw new Error(`${label}: prior needs ${p} records of ${AGENT_FIELDS.length} words, has ${options.prior.length} words`);
    for (const t of options.tensors) {
      if (!Number.isInteger(t.count) || t.count < 1 || t.buffer.size < p * t.count * 4) {
        throw new Error(`${label}: tensor ${t.name} must hold ${p} blocks of ${t.count} words, has ${t.buffer.size / 4}`);
      }
    }
    const kernels = await pbtKernels(gpu);
    const args = uniformBuffer(
      gpu,
      `${label}.args`,
      kernels.args.pack({
        population: p,
        bottom,
        top,
        seed: options.seed,
        perturbMask: mask,
        down: options.down ?? 0.8,
        up: options.up ?? 1.2,
        metricsStride: METRICS_BLOCK_FLOATS,
        resample,
      }),
    );
    const boundsBuffer = storageBuffer(gpu, `${label}.bounds`, bounds);
    const scoreWindow = storageBuffer(gpu, `${label}.scoreWindow`, p * 8);
    const source = storageBuffer(gpu, `${label}.source`, new Uint32Array(Array.from({ length: p }, (_, a) => a)));
    const byRank = storageBuffer(gpu, `${label}.byRank`, p * 4);
    const state = storageBuffer(gpu, `${label}.state`, 4);
    const prior = storageBuffer(gpu, `${label}.prior`, options.prior ? new Uint32Array(options.prior) : p * AGENT_FIELDS.length * 4);
    if (!options.prior) {
      // The records as they are now (their writes were queued before this copy).
      const encoder = gpu.device.createCommandEncoder({ label: `${label}.prior` });
      encoder.copyBufferToBuffer(options.agents.params, 0, prior, 0, prior.size);
      gpu.device.queue.submit([encoder.finish()]);
    }
    const slots = UniformSlots.create(gpu, kernels.copyArgs, options.tensors.map((t) => ({ count: t.count })), `${label}.copyArgs`);
    const shared = { args, agentWords: options.agents.params, bounds: boundsBuffer, scoreWindow, source, byRank, state, metrics: options.metrics, prior };
    const groups = {
      record: kernels.record.bindUsed(shared, `${label}.record`),
      exploit: kernels.exploit.bindUsed(shared, `${label}.exploit`),
      copies: options.tensors.map((t) => ({ group: kernels.copy.bind({ copyArgs: slots.binding, source, tensor: t.buffer }, `${label}.${t.name}`), count: t.count })),
    };
    return new Pbt(kernels, p, groups, slots, [args, boundsBuffer, scoreWindow, byRank, state, source, prior], source, scoreWindow, state, prior);
  }

  /**
   * What a checkpoint keeps besides the score windows, so that a resumed run
   * draws what the uninterrupted one would: the exploits done so far, and the
   * prior records as values ([P][AGENT_FIELDS.length] f32; the seed column 0,
   * as resampling never draws the seed, and a u32 seed need not be an f32).
   */
  async readState(): Promise<{ exploits: number; prior: Float32Array }> {
    const gpu = this.kernels.exploit.gpu;
    const [exploits] = await readUint32(gpu, this.state, 0, 1);
    const prior = await readFloat32(gpu, this.prior, 0, this.population * AGENT_FIELDS.length);
    for (let a = 0; a < this.population; a++) prior[a * AGENT_FIELDS.length + AGENT_FIELDS.indexOf('seed')] = 0;
    return { exploits, prior };
  }

  /** Throws, naming the value, where `state` could not be readState's for this population. */
  checkState(state: { exploits: number; prior: Float32Array }): void {
    const { exploits, prior } = state;
    if (!Number.isInteger(exploits) || exploits < 0 || exploits > 2 ** 24) throw new Error(`pbt: exploits ${exploits} is not a count of exploits (an integer in [0, 16777216])`);
    const words = this.population * AGENT_FIELDS.length;
    if (prior.length !== words) throw new Error(`pbt: prior has ${prior.length} values, ${this.population} agents need ${words}`);
    const bad = prior.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new Error(`pbt: prior holds ${prior[bad]} at index ${bad} (every value must be finite)`);
  }

  /** Queues writes of readState's values (checked first: a bad one writes nothing). */
  writeState(state: { exploits: number; prior: Float32Array }): void {
    this.checkState(state);
    const { exploits, prior } = state;
    const queue = this.kernels.exploit.gpu.device.queue;
    queue.writeBuffer(this.state, 0, Uint32Array.of(exploits));
    queue.writeBuffer(this.prior, 0, new Float32Array(prior));
  }

  /** Dispatches `encodeExploit` records (one per tensor and one to decide); `encodeRecord` records one. */
  get exploitDispatches(): number {
    return 1 + this.groups.copies.length;
  }

  /** Adds this iteration's mean return (where an episode ended) to each agent's window; after the metrics block is complete. */
  encodeRecord(pass: GPUComputePassEncoder): void {
    recordChecked(this.kernels.record.gpu, 'Pbt.encodeRecord', pass, (pass) => this.kernels.record.dispatch(pass, this.groups.record, this.population));
  }

  /** Ranks, replaces the worst agents and starts new windows; after the iteration's update and encodeRecord. */
  encodeExploit(pass: GPUComputePassEncoder): void {
    recordChecked(this.kernels.exploit.gpu, 'Pbt.encodeExploit', pass, (pass) => {
      // One workgroup sees the whole population (its ranking needs every score).
      this.kernels.exploit.dispatch(pass, this.groups.exploit, 1);
      this.groups.copies.forEach(({ group, count }, k) => this.kernels.copy.dispatch(pass, group, count, [this.slots.offset(k)], this.population));
    });
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.slots.destroy();
  }
}
