/**
 * TRPO's step size and backtracking line search on the GPU
 * (shaders/linesearch.wgsl): from the CG solution x, its curvature xᵀF x and
 * −g·x, every candidate θ + 0.5^k fullstep is scored (surrogate and mean KL
 * over the batch) in the caller's pass, the first acceptable one is selected
 * and written into the policy parameters, with no readback. The metrics block
 * receives step_frac, line_search_failed, cg_residual, policy_loss and
 * approx_kl of the accepted step.
 *
 * Populations (`agents`): every dispatch covers agents.count agents, each with
 * its own maxKl and acceptRatio (AgentParams), so each scales its step, scores
 * its candidates and accepts or backtracks on its own. Buffers are agent-major,
 * agent a's block a single run's: parameter vectors [agents][stride] (stride =
 * parameterVectorBytes / 4), row buffers [agents][rows]..., metrics
 * [agents][METRICS_BLOCK_FLOATS]; the policy must be an Mlp over the same agents.
 * Without `agents`, a one-agent record holding maxKl and acceptRatio is made.
 */
import randomWgsl from '../../shaders/random.wgsl?raw';
import linesearchWgsl from '../../shaders/linesearch.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type Kernel, type StructView, recordChecked } from '../gpu/kernel';
import { storageBuffer, uniformBuffer } from '../gpu/buffers';
import { METRICS_BLOCK_FLOATS, metricSlotsWgsl } from '../core/metrics';
import { agentParamsWgsl } from '../core/agentParams';
import { agentsBuffer, assertAgents, type Agents } from '../gpu/agents';
import type { Mlp, MlpPass } from './mlp';
import { parameterVectorBytes } from './fvp';
import { Reduction, ReduceKernels } from './reduce';
import { COMMON_WGSL, wgslConstants } from '../gpu/wgsl';
import { UniformSlots } from '../gpu/slots';
import { CATEGORICAL, distributionOf, type ActionDistribution } from './distribution';

/** The batch the surrogate is scored on (time-major rollout samples; a population: each buffer [agents][...], metrics [agents][METRICS_BLOCK_FLOATS]). */
export interface LineSearchBatch {
  /** [rows][inputDim] */
  obs: GPUBuffer;
  /** [rows] i32 */
  actions: GPUBuffer;
  /** [rows] log π_old of the taken actions */
  logProbsOld: GPUBuffer;
  /** [rows] raw advantages (normalised on the GPU when asked) */
  advantages: GPUBuffer;
  /** [rows][numActions] logits of π_old */
  logitsOld: GPUBuffer;
  /** The metrics block: advantage statistics in, step metrics out. */
  metrics: GPUBuffer;
}

/** What a `LineSearch` binds: the policy, the batch, CG's outputs and TRPO's step settings. */
export interface LineSearchOptions {
  policy: Mlp;
  rows: number;
  batch: LineSearchBatch;
  /** Rows of each agent's block of batch.obs (default rows): the candidate pass reads the first rows of each. */
  inputRows?: number;
  /** x, the CG solution of F x = −g. */
  stepDirection: GPUBuffer;
  /** F x, recorded by the caller before encode. */
  stepDirectionProduct: GPUBuffer;
  /** −g, the CG right-hand side. */
  negGradient: GPUBuffer;
  /**
   * Where the CG's final r·r is (copied to the cg_residual metric): agent a's at
   * buffer[a · stride + index] (ConjugateGradient.stateStride; needed for a population).
   */
  cgResidual: { buffer: GPUBuffer; index: number; stride?: number };
  /** The trust region δ; required without `agents`, which otherwise carry it per agent. */
  maxKl?: number;
  backtracks: number;
  /** The seed's accept_ratio; required without `agents`, which otherwise carry it per agent. */
  acceptRatio?: number;
  /** A population: agents.count line searches at once, agent a's maxKl and acceptRatio from agents[a]. */
  agents?: Agents;
  /** Also require mean KL ≤ 1.5 maxKl. */
  klCheck: boolean;
  /** Normalise advantages with the metrics block's advantage_mean/std (the seed does). */
  normalizeAdvantages: boolean;
  label?: string;
}

type LineSearchKernels = Record<'step_scale' | 'materialise' | 'candidate_terms' | 'select_step' | 'apply_step', Kernel>;

/** linesearch.wgsl with what it is loaded after, for `distribution`. */
export function lineSearchSources(distribution: ActionDistribution = CATEGORICAL): string[] {
  return [COMMON_WGSL, randomWgsl, distribution.wgsl, metricSlotsWgsl(), wgslConstants({ METRICS_BLOCK_FLOATS }), agentParamsWgsl(), linesearchWgsl];
}

function lineSearchKernels(gpu: GpuContext, distribution: ActionDistribution = CATEGORICAL): Promise<{ family: ShaderFamily; kernels: LineSearchKernels }> {
  return perDevice(gpu, `linesearch:${distribution.name}`, async () => {
    const family = await ShaderFamily.load(gpu, 'linesearch', lineSearchSources(distribution));
    const kernels = await family.kernels({
      step_scale: {},
      materialise: { dynamicOffsets: ['candidateArgs'] },
      candidate_terms: {},
      select_step: {},
      apply_step: {},
    });
    return { family, kernels };
  });
}

/**
 * TRPO's step size and backtracking line search: every candidate θ + 0.5^k · fullstep is scored
 * (surrogate and mean KL) and the first acceptable one written into the policy's parameters, in the
 * caller's pass with nothing read back.
 */
export class LineSearch {
  /** [agents] StepState (see linesearch.wgsl). */
  readonly state: GPUBuffer;
  readonly stateView: StructView;
  /** Floats of one agent's StepState (agent a's field f at a · stateStride + stateIndex(f)). */
  readonly stateStride: number;
  /** [agents][2][backtracks + 1]: mean surrogate of θ and of each candidate, then their mean KL. */
  readonly candidateStats: GPUBuffer;

  private constructor(
    private readonly kernels: LineSearchKernels,
    private readonly groups: Record<'stepScale' | 'materialise' | 'terms' | 'select' | 'apply', GPUBindGroup>,
    private readonly candidateSlots: UniformSlots,
    private readonly candidatePass: MlpPass,
    private readonly stepDots: Reduction[],
    private readonly candidateMeans: Reduction[][],
    private readonly options: LineSearchOptions,
    /** Agents covered by every dispatch. */
    readonly agentCount: number,
    buffers: { state: GPUBuffer; stateView: StructView; candidateStats: GPUBuffer },
    private readonly owned: GPUBuffer[],
  ) {
    this.state = buffers.state;
    this.stateView = buffers.stateView;
    this.stateStride = buffers.stateView.size / 4;
    this.candidateStats = buffers.candidateStats;
  }

  /** Compiles the line search for the policy's action distribution and binds it; throws naming an option out of range. */
  static async create(gpu: GpuContext, options: LineSearchOptions): Promise<LineSearch> {
    const label = options.label ?? 'linesearch';
    const { policy, rows, batch, backtracks } = options;
    const layout = policy.layout;
    const paramCount = layout.paramCount;
    if (!Number.isInteger(backtracks) || backtracks < 1) throw new Error(`${label}: backtracks must be a positive integer, got ${backtracks}`);
    if (options.agents) assertAgents(label, options.agents);
    else {
      if (!(options.maxKl !== undefined && options.maxKl > 0)) throw new Error(`${label}: maxKl must be > 0, got ${options.maxKl}`);
      if (!(options.acceptRatio !== undefined && Number.isFinite(options.acceptRatio))) throw new Error(`${label}: acceptRatio must be a finite number, got ${options.acceptRatio}`);
    }
    const P = options.agents?.count ?? 1;
    const cgStateStride = options.cgResidual.stride ?? 0;
    if (P > 1 && !(Number.isInteger(cgStateStride) && cgStateStride > options.cgResidual.index)) {
      throw new Error(`${label}: cgResidual.stride must be an integer > index ${options.cgResidual.index} for ${P} agents (ConjugateGradient.stateStride), got ${options.cgResidual.stride}`);
    }
    const distribution = distributionOf(layout);
    distribution.checkParamsPerRow(layout.distParamsPerRow, label);

    const [{ family, kernels }, reduce] = await Promise.all([lineSearchKernels(gpu, distribution), ReduceKernels.create(gpu)]);
    const stateView = family.struct('StepState');
    const stateStride = stateView.size / 4;
    const state = storageBuffer(gpu, `${label}.state`, Math.max(stateView.paddedSize, P * stateView.size));
    const slots = backtracks + 1;
    const candidateStats = storageBuffer(gpu, `${label}.candidateStats`, P * 2 * slots * 4);
    const rowTerms = storageBuffer(gpu, `${label}.rowTerms`, P * 2 * rows * 4);
    const paramStride = parameterVectorBytes(layout) / 4;
    const candidate = storageBuffer(gpu, `${label}.candidate`, P * paramStride * 4);
    const ownedAgents = options.agents ? null : agentsBuffer(gpu, `${label}.agents`, [{ maxKl: options.maxKl, acceptRatio: options.acceptRatio }]);
    const agents = options.agents ?? ownedAgents!;
    const candidatePass = policy.prepare({ rows, input: batch.obs, inputRows: options.inputRows, params: candidate, label: `${label}.candidatePolicy`, forwardOnly: true });

    const args = uniformBuffer(
      gpu,
      `${label}.args`,
      family.struct('LineSearchArgs').pack({
        paramCount,
        rows,
        numActions: layout.distParamsPerRow,
        normalizeAdvantages: options.normalizeAdvantages ? 1 : 0,
        backtracks,
        klCheck: options.klCheck ? 1 : 0,
        cgResidualIndex: options.cgResidual.index,
        cgStateStride,
      }),
    );
    const candidateSlots = UniformSlots.create(
      gpu,
      family.struct('CandidateArgs'),
      Array.from({ length: slots }, (_, s) => ({ slot: s, fraction: s === 0 ? 0 : 0.5 ** (s - 1) })),
      `${label}.candidateArgs`,
    );
    const candidateArgs = candidateSlots.binding;

    const theta = policy.params;
    const x = options.stepDirection;
    const groups = {
      stepScale: kernels.step_scale.bind({ state, agents: agents.params }, `${label}.stepScale`),
      materialise: kernels.materialise.bind({ args, candidateArgs, stateIn: state, theta, x, candidate }, `${label}.materialise`),
      terms: kernels.candidate_terms.bind(
        {
          args,
          logits: candidatePass.output,
          logitsOld: batch.logitsOld,
          actions: batch.actions,
          logProbsOld: batch.logProbsOld,
          advantages: batch.advantages,
          metricsIn: batch.metrics,
          rowTerms,
        },
        `${label}.terms`,
      ),
      select: kernels.select_step.bind(
        { args, state, candidateStats, cgState: options.cgResidual.buffer, metrics: batch.metrics, agents: agents.params },
        `${label}.select`,
      ),
      apply: kernels.apply_step.bind({ args, stateIn: state, thetaOut: theta, x }, `${label}.apply`),
    };

    const slot = (field: string) => stateView.offsetOf(field) / 4;
    const stepDot = (input: GPUBuffer, inputB: GPUBuffer, field: string) =>
      Reduction.create(gpu, reduce, {
        agents: options.agents,
        input,
        inputB,
        inputStride: paramStride,
        inputBStride: paramStride,
        count: paramCount,
        op: 'dot',
        output: state,
        outputIndex: slot(field),
        outputStride: stateStride,
        label: `${label}.${field}`,
      });
    const stepDots = [stepDot(x, options.stepDirectionProduct, 'stepCurvature'), stepDot(options.negGradient, x, 'negGradDotStep')];
    const candidateMeans = Array.from({ length: slots }, (_, s) =>
      [0, 1].map((term) =>
        Reduction.create(gpu, reduce, {
          agents: options.agents,
          input: rowTerms,
          inputStride: 2 * rows,
          offset: term * rows,
          count: rows,
          op: 'mean',
          output: candidateStats,
          outputIndex: term * slots + s,
          outputStride: 2 * slots,
          label: `${label}.${term === 0 ? 'surrogate' : 'kl'}${s}`,
        }),
      ),
    );
    const owned = [state, candidateStats, rowTerms, candidate, args, candidateSlots.buffer];
    if (ownedAgents) owned.push(ownedAgents.params);
    return new LineSearch(kernels, groups, candidateSlots, candidatePass, stepDots, candidateMeans, options, P, { state, stateView, candidateStats }, owned);
  }

  /** Index of a StepState field in agent 0's state as an f32 array (agent a: + a · stateStride). */
  stateIndex(field: 'stepCurvature' | 'negGradDotStep' | 'lm' | 'expectedImproveRate' | 'valid' | 'stepFraction' | 'accepted'): number {
    return this.stateView.offsetOf(field) / 4;
  }

  /** Records step scale, every candidate's score, the selection and the parameter update. */
  encode(pass: GPUComputePassEncoder): void {
    recordChecked(this.kernels.step_scale.gpu, 'LineSearch.encode', pass, (pass) => {
      const { kernels: k, groups: g } = this;
      const { rows, policy } = this.options;
      const P = this.agentCount;
      for (const r of this.stepDots) r.encode(pass);
      k.step_scale.dispatch(pass, g.stepScale, 1, undefined, P);
      this.candidateMeans.forEach((means, s) => {
        k.materialise.dispatch(pass, g.materialise, policy.layout.paramCount, [this.candidateSlots.offset(s)], P);
        this.candidatePass.encodeForward(pass);
        k.candidate_terms.dispatch(pass, g.terms, rows, undefined, P);
        for (const r of means) r.encode(pass);
      });
      k.select_step.dispatch(pass, g.select, 1, undefined, P);
      k.apply_step.dispatch(pass, g.apply, policy.layout.paramCount, undefined, P);
    });
  }

  /** Releases the candidate pass, the reductions and the buffers (the policy, batch and CG vectors belong to the caller). */
  destroy(): void {
    this.candidatePass.destroy();
    for (const r of [...this.stepDots, ...this.candidateMeans.flat()]) r.destroy();
    for (const b of this.owned) b.destroy();
  }
}
