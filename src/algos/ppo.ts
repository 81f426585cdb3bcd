/**
 * PPO update on the GPU (clipped surrogate, or the adaptive KL penalty for
 * ppo-kl): E epochs × M minibatches, each epoch's minibatches gathered at
 * once through a fresh per-epoch GPU permutation (one dispatch an epoch; the
 * networks read minibatch m's observations as a view of the gathered block m),
 * policy and value networks stepped by their own Adam. Early stop on target KL is a flag in the metrics block that the
 * optimizers honour; nothing is read back.
 *
 * Given `agents` (PpoOptions), the same dispatches update P agents at once:
 * every buffer agent-major (agent a's block being the single-agent buffer),
 * each agent with its own permutation seed, clip, valueClip, entCoef, targetKl,
 * klTarget, learning rates lr and valueLr (from its AgentParams, so rates PBT
 * changed on the GPU take effect), metrics block and Adams.
 * The networks must then hold P agents' parameters ([P][paramStride]) and
 * passes ([P][rows][...]), as an `Mlp` created with agents does.
 */
import randomWgsl from '../../shaders/random.wgsl?raw';
import ppoWgsl from '../../shaders/ppo.wgsl?raw';
import ppoLossesWgsl from '../../shaders/ppo_losses.wgsl?raw';
import ppoChainWgsl from '../../shaders/ppo_chain.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type Kernel, type StructView } from '../gpu/kernel';
import { storageBuffer, uniformBuffer } from '../gpu/buffers';
import { GpuArray } from '../gpu/array';
import { MLP_SOURCES, MlpPass, optimizedCount, type BackwardStep, type Mlp, type PairedInputDispatch } from '../kernels/mlp';
import { Adam, type AdamRateField } from '../kernels/optim';
import { Reduction, ReduceKernels } from '../kernels/reduce';
import type { ResolvedConfig } from '../core/config';
import { METRICS_BLOCK_FLOATS, metricSlot, metricSlotsWgsl } from '../core/metrics';
import { agentParamsWgsl } from '../core/agentParams';
import { MAX_POPULATION } from '../core/population';
import { AGENT_SEEDS_WGSL, agentSeedsUniform, agentsBuffer, assertAgents, type Agents } from '../gpu/agents';
import { COMMON_WGSL, wgslConstants, wgslIndexConstants } from '../gpu/wgsl';
import { UniformSlots } from '../gpu/slots';
import { CATEGORICAL, distributionOf, type ActionDistribution } from '../kernels/distribution';
import type { CheckpointPart, Update, UpdateBatch } from './update';

/** Per-sample statistics rows of rowStats, in order (ppo.wgsl's STAT_* are generated from this list). */
export const STATS = ['policy_loss', 'approx_kl', 'clipped', 'entropy', 'value_loss'] as const;

/**
 * The fields of a gathered minibatch record, in order (ppo.wgsl's RECORD_* are
 * generated from this list); the behaviour distribution parameters follow them,
 * then the action's words, so a record is RECORD_FIELDS.length + numActions +
 * actionWords floats (`recordStride`).
 */
export const RECORD_FIELDS = ['log_prob_old', 'advantage', 'return'] as const;
const RECORD_CONSTANTS = wgslConstants(Object.fromEntries(RECORD_FIELDS.map((field, i) => [`RECORD_${field.toUpperCase()}`, i] as const).concat([['RECORD_PARAMS_OLD', RECORD_FIELDS.length]])));

/** Floats per minibatch record for rows of `paramsPerRow` distribution parameters and actions of `actionWords` words. */
export function recordStride(paramsPerRow: number, actionWords: number): number {
  return RECORD_FIELDS.length + paramsPerRow + actionWords;
}

/**
 * Rows from one minibatch's block of the gathered observations to the next:
 * the minibatch size B rounded up so that every block starts on the device's
 * storage offset alignment (a view bound at block m must), with `obsDim` floats a row.
 */
export function minibatchBlockRows(B: number, obsDim: number, alignment: number): number {
  let rows = B;
  while ((rows * obsDim * 4) % alignment !== 0) rows++;
  return rows;
}

type PpoKernels = Record<'gather_epoch' | 'minibatch_losses' | 'minibatch_advantage_stats' | 'early_stop' | 'adapt_kl_coef' | 'begin_update', Kernel>;

const PPO_CONSTANTS = wgslConstants({ METRICS_BLOCK_FLOATS });

/** shaders/ppo.wgsl with everything it is loaded after, in order, over `distribution` (default categorical). */
export function ppoSources(distribution: ActionDistribution = CATEGORICAL): readonly string[] {
  return [COMMON_WGSL, randomWgsl, distribution.wgsl, agentParamsWgsl(), metricSlotsWgsl(), wgslIndexConstants('STAT', STATS), RECORD_CONSTANTS, PPO_CONSTANTS, AGENT_SEEDS_WGSL, ppoLossesWgsl, ppoWgsl];
}

/** shaders/ppo_losses.wgsl with what it is loaded after (the losses ppo.wgsl and ppo_chain.wgsl share). */
export function ppoLossesSources(distribution: ActionDistribution = CATEGORICAL): readonly string[] {
  return [randomWgsl, distribution.wgsl, agentParamsWgsl(), metricSlotsWgsl(), wgslIndexConstants('STAT', STATS), RECORD_CONSTANTS, PPO_CONSTANTS, ppoLossesWgsl];
}

/**
 * shaders/ppo_chain.wgsl: the losses opening both networks' input-gradient chains, a
 * module that holds the mlp family (MLP_SOURCES) and the losses (ppo_losses.wgsl).
 */
export function ppoChainSources(distribution: ActionDistribution = CATEGORICAL): readonly string[] {
  return [...MLP_SOURCES, randomWgsl, distribution.wgsl, metricSlotsWgsl(), wgslIndexConstants('STAT', STATS), RECORD_CONSTANTS, PPO_CONSTANTS, ppoLossesWgsl, ppoChainWgsl];
}

/** Devices whose PPO updates keep the losses in their own dispatch (PpoUpdate.useLossesChain(gpu, false)). */
const lossesAlone = new WeakSet<GPUDevice>();

/**
 * losses_backward_input_chain_pair with the chains' pipeline constants, compiled once
 * per device; null where the device does not bind its storage buffers (14).
 */
function lossesChainKernel(gpu: GpuContext, distribution: ActionDistribution, constants: Record<string, number>): Promise<Kernel | null> {
  const key = Object.entries(constants).map(([k, v]) => `${k}=${v}`).join(',');
  return perDevice(gpu, `ppo_chain:${distribution.name}:${key}`, async () => {
    const family = await ShaderFamily.load(gpu, 'ppo_chain', ppoChainSources(distribution));
    const entry = 'losses_backward_input_chain_pair';
    return family.fits(entry) ? family.kernel(entry, { constants, dynamicOffsets: ['slot'] }) : null;
  });
}

/** Options of `PpoUpdate.create` for a population; without them the update is one agent's, from the config. */
export interface PpoOptions {
  /**
   * P agents updated by the same dispatches: their AgentParams give each its seed
   * (permutations), clip, valueClip, entCoef, targetKl, klTarget, maxGradNorm and
   * learning rates lr and valueLr (before the schedule's fraction); whether clipping
   * and early stop are on is the config's, shared.
   */
  agents?: Agents;
  /** With agents: rows of `batch.obs` per agent (the rollout's observation rows, ≥ batchSize). */
  obsRows?: number;
}

/** shaders/ppo.wgsl over `distribution`, compiled once per device. */
export function ppoFamily(gpu: GpuContext, distribution: ActionDistribution = CATEGORICAL): Promise<ShaderFamily> {
  return ShaderFamily.load(gpu, 'ppo', ppoSources(distribution));
}

function ppoKernels(gpu: GpuContext, distribution: ActionDistribution): Promise<{ family: ShaderFamily; kernels: PpoKernels }> {
  return perDevice(gpu, `ppo:${distribution.name}`, async () => {
    const family = await ppoFamily(gpu, distribution);
    const kernels = await family.kernels({
      gather_epoch: { dynamicOffsets: ['slot'] },
      minibatch_losses: { dynamicOffsets: ['slot'] },
      minibatch_advantage_stats: { dynamicOffsets: ['slot'] },
      early_stop: { dynamicOffsets: ['slot'] },
      adapt_kl_coef: {},
      begin_update: {},
    });
    return { family, kernels };
  });
}

/**
 * PPO's update (clipped surrogate, or the adaptive KL penalty when `config.algo` is 'ppo-kl'), recorded into
 * the iteration's pass: epochs × minibatches of Adam steps on the policy and value networks, nothing read back.
 */
export class PpoUpdate implements Update {
  private constructor(
    private readonly gpu: GpuContext,
    private readonly config: ResolvedConfig,
    private readonly kernels: PpoKernels,
    private readonly groups: Record<string, GPUBindGroup>,
    private readonly slots: UniformSlots,
    private readonly policy: Mlp,
    private readonly value: Mlp,
    /** Per minibatch m, the pass over block m of the gathered observations (all sharing the first's buffers). */
    private readonly policyPasses: readonly MlpPass[],
    private readonly valuePasses: readonly MlpPass[],
    private readonly policyAdam: Adam,
    private readonly valueAdam: Adam,
    private readonly epochKl: Reduction,
    private readonly lastEpochMeans: Reduction[],
    private readonly ppoArgs: GPUBuffer,
    private readonly ppoArgsView: StructView,
    private readonly ownedBuffers: GPUBuffer[],
    /** Agents every dispatch covers. */
    readonly agentCount: number,
    /** Rows of batch.obs per agent. */
    private readonly obsRows: number,
    /** Rows between minibatch blocks of the gathered observations (minibatchBlockRows). */
    private readonly blockRows: number,
    /** The gathered observations, [M][P][blockRows][obsDim]. */
    private readonly mbObs: GpuArray<'f32'>,
    /**
     * Where the networks pair with fused steps and the device binds 14 storage buffers
     * (lavapipe: 16): the losses and both input-gradient chains in one dispatch, else null.
     */
    private readonly lossesChain: PairedInputDispatch | null,
  ) {}

  /** Compiles the update's kernels and binds them to the networks and the batch; the config must be resolved. */
  static async create(gpu: GpuContext, config: ResolvedConfig, policy: Mlp, value: Mlp, batch: UpdateBatch, options: PpoOptions = {}): Promise<PpoUpdate> {
    const { batchSize, minibatches, obsDim, numActions, actionWords } = config.derived;
    const B = config.minibatch;
    const distribution = distributionOf(policy.layout);
    distribution.checkParamsPerRow(numActions, 'ppo');
    const P = options.agents?.count ?? 1;
    const obsRows = options.agents ? options.obsRows : batchSize;
    if (options.agents) {
      assertAgents('ppo', options.agents);
      if (P > MAX_POPULATION) throw new Error(`ppo: agents.count ${P} exceeds MAX_POPULATION ${MAX_POPULATION}`);
      if (!Number.isInteger(obsRows) || obsRows! < batchSize) throw new Error(`ppo: obsRows must be an integer ≥ batchSize ${batchSize} with agents, got ${obsRows}`);
    } else if (options.obsRows !== undefined) {
      throw new Error('ppo: the obsRows option applies with agents; a single run reads batchSize rows');
    }
    // Every per-agent buffer holds P blocks; a network without agents holds one.
    const holds = (name: string, buffer: GPUBuffer, floats: number, shape: string) => {
      if (buffer.size < P * floats * 4) throw new Error(`ppo: ${name} buffer ${buffer.label} holds ${buffer.size / 4} floats, needs [${P}]${shape} = ${P * floats}`);
    };
    holds('policy.params', policy.params, optimizedCount(policy.layout, P), P === 1 ? '[paramCount]' : '[paramStride]');
    holds('value.params', value.params, optimizedCount(value.layout, P), P === 1 ? '[paramCount]' : '[paramStride]');
    holds('batch.obs', batch.obs, obsRows! * obsDim, '[obsRows][obsDim]');
    holds('batch.actions', batch.actions, batchSize * actionWords, '[batchSize][actionWords]');
    for (const name of ['logProbs', 'advantages', 'returns'] as const) holds(`batch.${name}`, batch[name], batchSize, '[batchSize]');
    holds('batch.logits', batch.logits, batchSize * numActions, '[batchSize][numActions]');
    holds('batch.metrics', batch.metrics, METRICS_BLOCK_FLOATS, '[METRICS_BLOCK_FLOATS]');
    const { family, kernels } = await ppoKernels(gpu, distribution);

    const ppoArgsView = family.struct('PpoArgs');
    const blockRows = minibatchBlockRows(B, obsDim, gpu.limits.minStorageBufferOffsetAlignment);
    const ppoArgs = uniformBuffer(gpu, 'ppo.args', ppoArgsView.pack(PpoUpdate.args(config, 0, obsRows!, P, blockRows)));
    const owned: GPUBuffer[] = [];
    let agents = options.agents;
    if (!agents) {
      const { seed, clip, valueClip, entCoef, targetKl, klTarget, klCoef, maxGradNorm } = config;
      agents = agentsBuffer(gpu, 'ppo.agents', [{ seed, clip, valueClip, entCoef, targetKl, klTarget, klCoef, maxGradNorm, lr: config.lr, valueLr: config.valueLr }]);
      owned.push(agents.params);
    }
    const agentSeeds = agentSeedsUniform(gpu, 'ppo.agentSeeds', 'ppo', { agents });
    owned.push(agentSeeds);
    // One MinibatchArgs slot per (epoch, minibatch), slot epoch · minibatches + minibatch, chosen by dynamic offset.
    const slotValues = Array.from({ length: config.epochs * minibatches }, (_, k) => ({ epoch: Math.floor(k / minibatches), minibatch: k % minibatches }));
    const slots = UniformSlots.create(gpu, family.struct('MinibatchArgs'), slotValues, 'ppo.slots');
    const slot = slots.binding;

    // Minibatch-major, so that block m (every agent's rows of minibatch m) is one view: [M][P][blockRows][obsDim].
    const mbObs = GpuArray.zeros(gpu, 'f32', [minibatches * P * blockRows * obsDim], 'ppo.mbObs');
    const mbRecords = storageBuffer(gpu, 'ppo.mbRecords', P * minibatches * B * recordStride(numActions, actionWords) * 4);
    const rowStats = storageBuffer(gpu, 'ppo.rowStats', P * STATS.length * batchSize * 4);
    const block = (m: number) => mbObs.view(P === 1 ? [B, obsDim] : [P, blockRows, obsDim], m * P * blockRows * obsDim, `ppo.mbObs.block${m}`);
    const passes = (network: Mlp, label: string) => {
      const first = network.prepare({ rows: B, input: block(0), inputRows: blockRows, label });
      return [first, ...Array.from({ length: minibatches - 1 }, (_, k) => first.withInput(block(k + 1), `${label}.block${k + 1}`))];
    };
    const policyPasses = passes(policy, 'ppo.policy');
    const valuePasses = passes(value, 'ppo.value');
    holds('ppo.policy pass output', policyPasses[0].output, B * numActions, '[B][numActions]');
    holds('ppo.value pass output', valuePasses[0].output, B, '[B][1]');

    // What the losses bind (minibatch_losses, and the losses chain below): every block pass shares the first's outputs and gradients.
    const lossResources = {
      ppo: ppoArgs,
      slot,
      mbRecordsIn: mbRecords,
      metrics: batch.metrics,
      policyLogits: policyPasses[0].output,
      policyGradOutput: policyPasses[0].gradOutput,
      valuePredictions: valuePasses[0].output,
      valueGradOutput: valuePasses[0].gradOutput,
      rowStats,
      agents: agents.params,
    };
    const groups: Record<string, GPUBindGroup> = {
      gather: kernels.gather_epoch.bind(
        {
          ppo: ppoArgs,
          slot,
          obs: batch.obs,
          actions: batch.actions,
          logProbs: batch.logProbs,
          advantages: batch.advantages,
          returns: batch.returns,
          logits: batch.logits,
          mbObs: mbObs.buffer,
          mbRecords,
          agentSeeds,
        },
        'gather',
      ),
      losses: kernels.minibatch_losses.bind(lossResources, 'losses'),
      minibatchStats: kernels.minibatch_advantage_stats.bind({ ppo: ppoArgs, slot, mbRecordsIn: mbRecords, metrics: batch.metrics }, 'minibatchStats'),
      earlyStop: kernels.early_stop.bind({ slot, metrics: batch.metrics, agents: agents.params }, 'earlyStop'),
      adaptKl: kernels.adapt_kl_coef.bind({ metrics: batch.metrics, agents: agents.params }, 'adaptKl'),
      begin: kernels.begin_update.bind({ metrics: batch.metrics }, 'begin'),
    };

    // Each agent's Adam steps at its record's rate, clips to its own maxGradNorm and honours its own update_active flag.
    const adamOptions = (learningRateField: AdamRateField) => ({
      learningRateField,
      agents,
      clipGradNorm: config.maxGradNorm > 0,
      activeFlag: { buffer: batch.metrics, index: metricSlot('update_active'), stride: METRICS_BLOCK_FLOATS },
    });
    // A population's vectors are padded to whole vec4s; each agent's clipping norm sums only its parameters, as a single run's does.
    const policyAdam = await Adam.create(gpu, { count: optimizedCount(policy.layout, P), normCount: policy.layout.paramCount, ...adamOptions('lr'), label: 'ppo.policyAdam' });
    const valueAdam = await Adam.create(gpu, { count: optimizedCount(value.layout, P), normCount: value.layout.paramCount, ...adamOptions('valueLr'), label: 'ppo.valueAdam' });

    const reduce = await ReduceKernels.create(gpu);
    const epochRows = minibatches * B;
    const statRange = (stat: (typeof STATS)[number]) => ({
      input: rowStats,
      offset: STATS.indexOf(stat) * batchSize,
      count: epochRows,
      agents,
      inputStride: STATS.length * batchSize,
      outputStride: METRICS_BLOCK_FLOATS,
    });
    const epochKl = Reduction.create(gpu, reduce, { ...statRange('approx_kl'), op: 'mean', output: batch.metrics, outputIndex: metricSlot('epoch_kl') });
    // The losses and both networks' input-gradient chains in one dispatch, where they can be.
    const step = (pass: MlpPass, adam: Adam, network: Mlp): BackwardStep => ({ pass, adam, params: network.params, grads: network.grads });
    const paired = MlpPass.pairedInputChains(step(policyPasses[0], policyAdam, policy), step(valuePasses[0], valueAdam, value));
    const kernel = paired && !lossesAlone.has(gpu.device) ? await lossesChainKernel(gpu, distribution, paired.constants) : null;
    // Every block pass shares the first's gradient and hidden buffers, so one bind group serves every minibatch.
    const lossesChain: PairedInputDispatch | null =
      paired && kernel ? { kernel, bindGroup: kernel.bindUsed({ ...paired.resources, ...lossResources }, 'ppo.lossesChain') } : null;
    const lastEpochMeans = (
      [
        ['policy_loss', 'policy_loss'],
        ['value_loss', 'value_loss'],
        ['clipped', 'clip_frac'],
      ] as const
    ).map(([stat, metric]) => Reduction.create(gpu, reduce, { ...statRange(stat), op: 'mean', output: batch.metrics, outputIndex: metricSlot(metric) }));

    return new PpoUpdate(
      gpu,
      config,
      kernels,
      groups,
      slots,
      policy,
      value,
      policyPasses,
      valuePasses,
      policyAdam,
      valueAdam,
      epochKl,
      lastEpochMeans,
      ppoArgs,
      ppoArgsView,
      [mbRecords, rowStats, slots.buffer, ppoArgs, ...owned],
      P,
      obsRows!,
      blockRows,
      mbObs,
      lossesChain,
    );
  }

  /**
   * Whether PPO updates created on this device from now on let the losses open
   * the networks' paired input-gradient chains where they can (default true),
   * or keep minibatch_losses' own dispatch: the same bits either way (benchmarks
   * and tests compare them this way).
   */
  static useLossesChain(gpu: GpuContext, on: boolean): void {
    if (on) lossesAlone.delete(gpu.device);
    else lossesAlone.add(gpu.device);
  }

  /** The policy network's backward step on minibatch m: its pass, optimizer and vectors. */
  private policyStep(m: number): BackwardStep {
    return { pass: this.policyPasses[m], adam: this.policyAdam, params: this.policy.params, grads: this.policy.grads };
  }

  private valueStep(m: number): BackwardStep {
    return { pass: this.valuePasses[m], adam: this.valueAdam, params: this.value.params, grads: this.value.grads };
  }

  /** PpoArgs: the shapes and switches all agents share (per-agent values are in their AgentParams). */
  private static args(config: ResolvedConfig, iteration: number, obsRows: number, agents: number, blockRows: number): Record<string, number> {
    const { batchSize, obsDim, numActions } = config.derived;
    const halfBits = Math.max(1, Math.ceil(Math.ceil(Math.log2(Math.max(2, batchSize))) / 2));
    return {
      batchSize,
      minibatchSize: config.minibatch,
      obsDim,
      numActions,
      iteration,
      halfBits,
      normalizeAdvantages: { none: 0, batch: 1, minibatch: 2 }[config.advantageNorm],
      useKlPenalty: config.algo === 'ppo-kl' ? 1 : 0,
      obsRows,
      minibatches: config.derived.minibatches,
      blockRows,
      agents,
    };
  }

  /** Host-side writes queued before this iteration's submit (iteration keys the permutations; the fraction scales every agent's record rates). */
  prepareIteration(iteration: number, learningRateFraction: number): void {
    this.gpu.device.queue.writeBuffer(this.ppoArgs, 0, this.ppoArgsView.pack(PpoUpdate.args(this.config, iteration, this.obsRows, this.agentCount, this.blockRows)));
    this.policyAdam.setLearningRateFraction(learningRateFraction);
    this.valueAdam.setLearningRateFraction(learningRateFraction);
  }

  /** Records the whole update (after the advantages exist). */
  encode(pass: GPUComputePassEncoder): void {
    const { kernels: k, groups: g, config } = this;
    const M = config.derived.minibatches;
    const B = config.minibatch;
    const P = this.agentCount;
    k.begin_update.dispatch(pass, g.begin, 1, undefined, P);
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      // Every minibatch of the epoch at once (the slot of its first minibatch names the epoch).
      k.gather_epoch.dispatch(pass, g.gather, M * B, [this.slots.offset(epoch * M)], P);
      for (let m = 0; m < M; m++) {
        const offset = [this.slots.offset(epoch * M + m)];
        if (config.advantageNorm === 'minibatch') k.minibatch_advantage_stats.dispatch(pass, g.minibatchStats, 1, offset, P);
        // The two networks are independent, so both forwards come first (one dispatch where they pair)
        // and one dispatch takes both losses.
        MlpPass.encodeForwardPair(pass, this.policyPasses[m], this.valuePasses[m]);
        if (this.lossesChain) {
          // The losses open both input-gradient chains (one dispatch), then each network's parameter gradients with its Adam step.
          MlpPass.encodeBackwardStepPair(pass, this.policyStep(m), this.valueStep(m), { ...this.lossesChain, dynamicOffsets: offset });
          continue;
        }
        k.minibatch_losses.dispatch(pass, g.losses, B, offset, P);
        // Both networks' input gradients (paired), then each one's parameter gradients with its Adam step.
        MlpPass.encodeBackwardStepPair(pass, this.policyStep(m), this.valueStep(m));
      }
      if (config.targetKl > 0) {
        this.epochKl.encode(pass);
        k.early_stop.dispatch(pass, g.earlyStop, 1, [this.slots.offset(epoch * M)], P);
      }
    }
    // The statistics rows now hold the final epoch: its means are the reported losses and clip fraction.
    for (const r of this.lastEpochMeans) r.encode(pass);
  }

  /** Records the KL-coefficient adaptation (after approx_kl of the update is in the metrics block). */
  encodeAfterKl(pass: GPUComputePassEncoder): void {
    if (this.config.algo === 'ppo-kl') this.kernels.adapt_kl_coef.dispatch(pass, this.groups.adaptKl, 1, undefined, this.agentCount);
  }

  get checkpointParts(): Record<string, CheckpointPart> {
    return { 'policy.adam': this.policyAdam, 'value.adam': this.valueAdam };
  }

  /** Releases the minibatch passes, the optimizers, the reductions and the buffers. */
  destroy(): void {
    // The block passes share the first's buffers: they go first.
    for (const passes of [this.policyPasses, this.valuePasses]) for (const p of [...passes].reverse()) p.destroy();
    this.mbObs.destroy();
    this.policyAdam.destroy();
    this.valueAdam.destroy();
    for (const r of [this.epochKl, ...this.lastEpochMeans]) r.destroy();
    for (const buffer of this.ownedBuffers) buffer.destroy();
  }
}
