/**
 * Rollout on the GPU: N envs × T steps with the policy acting, stored
 * time-major for the advantage and update phases. Step by step: per step the
 * policy's forward pass on the current observations (or on what `policyInput`
 * derives from them, e.g. normalised observations), then one act-and-step
 * kernel (shaders/rollout.wgsl, stepping the env through auto_reset.wgsl) that
 * also keeps the logits it acted on and, for truncated steps, the final
 * observation. Fused (the default wherever it can run): one dispatch for all T
 * steps, each invocation computing its env's row of the policy forward itself
 * (shaders/rollout_steps.wgsl, mlp_row.wgsl), with the same bits. Nothing is read back.
 *
 * Populations: with `agents` (P agents), every storage buffer holds P blocks,
 * agent-major, agent a's block being exactly a single run's with agent a's seed,
 * and each dispatch covers all P agents; the policy must then be a population
 * of P networks whose output holds [P][N][params per row].
 */
import rolloutWgsl from '../../shaders/rollout.wgsl?raw';
import rolloutStepsWgsl from '../../shaders/rollout_steps.wgsl?raw';
import mlpRowWgsl from '../../shaders/mlp_row.wgsl?raw';
import type { AdapterDescription, GpuContext } from '../gpu/device';
import { ShaderFamily, WgslSource, type Kernel, type StructView, type WgslPart, recordChecked } from '../gpu/kernel';
import { storageBuffer, uniformBuffer, submitPass } from '../gpu/buffers';
import { UniformSlots } from '../gpu/slots';
import { COMMON_WGSL, wgslConstants, wgslIndexConstants } from '../gpu/wgsl';
import { envSources, type EnvDefinition } from '../envs/env';
import { AGENT_SEEDS_WGSL, agentSeedsUniform, type Agents } from '../gpu/agents';
import type { DenseLayer, MlpLayout } from '../nn/mlp';
import { ACTIVATION_CODE, type RowArithmetic, type RowForward } from './mlp';
import { CATEGORICAL, GAUSSIAN } from './distribution';
import type { ActionSpec } from '../core/envSpecs';

/** The per-env bookkeeping rows of `envSlots` (SLOT_* in rollout.wgsl); the env's state rows follow them. */
export const ENV_SLOTS = ['elapsed', 'episode', 'running_return', 'completed_return_sum', 'completed_count'] as const;

/** Options of `Rollout.create` (N = numEnvs, T = numSteps). */
export interface RolloutOptions {
  /** The env stepped (its spec must match the policy's input and output sizes). */
  env: EnvDefinition;
  /** N, envs stepped in parallel (per agent). */
  numEnvs: number;
  /** T, steps per env per rollout. */
  numSteps: number;
  /** uint32: keys reset states and action samples. Required unless `agents` is given. */
  seed?: number;
  /**
   * A population of P = agents.count agents, each with N envs keyed by its AgentParams
   * seed (read once, at create) exactly as a single rollout with that seed; every
   * storage buffer then holds P blocks, agent-major. Not with `seed`.
   */
  agents?: Agents;
  /** Act by the distribution's mode (argmax, a Gaussian's mean) instead of sampling (evaluation). */
  greedy?: boolean;
  /** Time limit: episodes are truncated after this many steps (default the env's). */
  maxEpisodeSteps?: number;
  /** What the policy sees of the current observations (default: them as they are). */
  policyInput?: PolicyInputSource;
  /**
   * Run all T steps in one dispatch, the policy's forward pass for each env's row
   * inside the step (shaders/rollout_steps.wgsl), with the same bits as the step-by-step
   * rollout (a policy forward and an act-and-step dispatch per step). Default: the device's
   * form (Rollout.formOf: by adapter, `defaultRolloutForm`), fused wherever it can (the
   * policy offers `rowForward`, its input is the observations or their normalisation, the
   * device binds the kernel's buffers); true where it cannot is an error.
   */
  fused?: boolean;
}

/**
 * What a rollout needs of its policy (an `Mlp` is one): the sizes it maps, and a
 * forward pass over the rollout's `rows` = N current observations ([P][N][inputDim]
 * for a population of P, whose output is then [P][N][distParamsPerRow]).
 */
export interface RolloutPolicy {
  readonly layout: Pick<MlpLayout, 'inputDim' | 'distParamsPerRow' | 'head'>;
  /** How its forward passes compute one row (an Mlp's), for the fused rollout; absent: the rollout steps dispatch by dispatch. */
  readonly rowForward?: RowForward;
  /**
   * A forward pass over `rows` rows of `input` per agent (the rollout's N current
   * observations); `forwardOnly`: it is never differentiated (an Mlp then keeps no hidden rows).
   */
  prepare(options: { rows: number; input: GPUBuffer; label: string; forwardOnly?: boolean }): RolloutPolicyPass;
}

/** A policy forward pass bound to the rollout's observations (an `MlpPass` is one). */
export interface RolloutPolicyPass {
  /** [N][distParamsPerRow] f32 ([P][N][...] for a population): what act_and_step samples from. */
  readonly output: GPUBuffer;
  /** Records the forward pass over the current observations. */
  encodeForward(pass: GPUComputePassEncoder): void;
  /** Releases what the pass created (the network and the observations belong to the caller). */
  destroy(): void;
}

/** The policy's per-step input derived from the current observations, recorded before each policy forward. */
export interface PolicyInput {
  /** [N][obsDim] f32 ([P][N][obsDim] for a population) */
  input: GPUBuffer;
  /** Records what derives `input` from the current observations. */
  encode(pass: GPUComputePassEncoder): void;
  /** Releases what it created. */
  destroy(): void;
}

/** Observations normalised by running moments as normalize_rows does: clip((obs − mean) / sqrt(var + ε), ±clip). */
export interface RowNormalize {
  /** [P][obsDim][3] (mean, var, count) */
  moments: GPUBuffer;
  clip: number;
  epsilon: number;
}

/**
 * Makes a rollout's PolicyInput from its `currentObs` buffer ([rows][dim] per agent, for each of `agents`,
 * given for a population). `rowNormalize`: the input is that normalisation, which the fused rollout computes itself.
 */
export type PolicyInputSource = ((currentObs: GPUBuffer, rows: number, dim: number, label: string, agents?: Agents) => PolicyInput) & { readonly rowNormalize?: RowNormalize };

/** Everything a rollout writes, time-major [T][N]; for a population, each buffer holds P such blocks, agent-major. */
export interface RolloutStorage {
  /**
   * [T+1][N][obsDim]: obs[t] acted on at step t, row T the bootstrap observation;
   * then, from row (T+1)·N, [K][N][obsDim] final observations of truncated steps
   * (`Rollout.finalObs`, `Rollout.finalObsIndex`).
   */
  obs: GPUBuffer;
  /** [T][N][params per row]: the distribution parameters (logits; means, log-stds) each step's action was drawn from. */
  behaviourLogits: GPUBuffer;
  actions: GPUBuffer;
  rewards: GPUBuffer;
  /** bit 0 terminated, bit 1 truncated */
  doneFlags: GPUBuffer;
  /** [N][obsDim]: observation each env is in now (the policy's rollout input). */
  currentObs: GPUBuffer;
  /** [ENV_SLOTS + stateDim][N] f32 (`Rollout.envSlotRows` rows): bookkeeping, then the env's state. */
  envSlots: GPUBuffer;
}

/** The rollout's uniforms: per-step slots, env arguments, env constants, the agents' seeds. */
interface RolloutUniforms {
  /** One StepArgs slot per dispatch: per step, or fused per FUSED_STEPS steps. */
  stepArgs: UniformSlots;
  vecEnv: GPUBuffer;
  envParams: GPUBuffer;
  agentSeeds: GPUBuffer;
}

/** Where a rollout keeps the final observations of truncated steps (derived once from the options). */
export interface FinalObsLayout {
  maxEpisodeSteps: number;
  /** K = ceil(T / maxEpisodeSteps): the most truncations one env can have in a rollout. */
  finalSlots: number;
  /** Row of obs where they start: (T+1)·N. */
  finalObsRow: number;
}

function finalObsLayout(options: RolloutOptions): FinalObsLayout {
  const maxEpisodeSteps = options.maxEpisodeSteps ?? options.env.spec.maxEpisodeSteps;
  if (!Number.isInteger(maxEpisodeSteps) || maxEpisodeSteps < 1 || maxEpisodeSteps > 0xffffffff) {
    throw new Error(`rollout: maxEpisodeSteps must be an integer in [1, 4294967295], got ${maxEpisodeSteps}`);
  }
  return {
    maxEpisodeSteps,
    finalSlots: Math.ceil(options.numSteps / maxEpisodeSteps),
    finalObsRow: (options.numSteps + 1) * options.numEnvs,
  };
}

/**
 * rollout_env_action (a distribution's action as the env's EnvAction) and
 * rollout_clip_action (what the env is stepped with): an index as is, or a box
 * action's components, clipped to [low, high] for the step only.
 */
function actionConversionWgsl(action: ActionSpec): string {
  if (action.kind === 'discrete') {
    return 'fn rollout_env_action(a: DistAction) -> EnvAction { return i32(a); }\nfn rollout_clip_action(a: EnvAction) -> EnvAction { return a; }\n';
  }
  const literals = (values: readonly number[]) => `array<f32, ENV_ACTION_DIM>(${values.map((v) => `${Math.fround(v)}f`).join(', ')})`;
  return `const ACTION_LOW = ${literals(action.low)};
const ACTION_HIGH = ${literals(action.high)};
fn rollout_env_action(a: DistAction) -> EnvAction {
  var e: EnvAction;
  for (var k = 0u; k < ENV_ACTION_DIM; k++) { e[k] = a[k]; }
  return e;
}
fn rollout_clip_action(a: EnvAction) -> EnvAction {
  var e: EnvAction;
  for (var k = 0u; k < ENV_ACTION_DIM; k++) { e[k] = clamp(a[k], ACTION_LOW[k], ACTION_HIGH[k]); }
  return e;
}
`;
}

/** The rollout family for one env: common.wgsl, the env's sources, agent_seeds.wgsl, its distribution, the SLOT_* constants and action conversion, rollout.wgsl. */
export function rolloutSources(env: EnvDefinition): WgslPart[] {
  const distribution = env.spec.action.kind === 'discrete' ? CATEGORICAL : GAUSSIAN;
  return [COMMON_WGSL, ...envSources(env), AGENT_SEEDS_WGSL, distribution.wgsl, wgslIndexConstants('SLOT', ENV_SLOTS), actionConversionWgsl(env.spec.action), rolloutWgsl];
}

/** Distribution parameters per row the env's policy outputs: the number of actions, or 2 per box component (means, log-stds). */
function paramsPerRow(env: EnvDefinition): number {
  const { action } = env.spec;
  return action.kind === 'discrete' ? CATEGORICAL.paramsPerRow(action.n, 'rollout') : GAUSSIAN.paramsPerRow(action.dim, 'rollout');
}

/**
 * How a rollout steps where RolloutOptions.fused leaves it to the device: `fused`
 * (all T steps in one dispatch wherever it can) or `steps` (a policy forward and
 * an act-and-step dispatch per step).
 */
export type RolloutForm = 'fused' | 'steps';
export const ROLLOUT_FORMS: readonly RolloutForm[] = ['fused', 'steps'];

/**
 * The adapter's rollout form, by paired measurement (`bench/ab.js --variant
 * rollout-steps|rollout-fused`; bench/RESULTS.md, "The whole rollout in one
 * dispatch"). lavapipe: fused, PPO seed iterations ×1.26, REINFORCE ×1.23,
 * TRPO ×1.05. SwiftShader: steps; fused was no faster at 16 envs (Node ×0.99,
 * Chromium ×1.00) and slower at 256 (Node ×0.96, Chromium ×0.97): each
 * invocation's row forward loads every weight for one row, where the batched
 * `tiles` forward shares a load among four. A GPU: fused, unmeasured (one
 * dispatch per iteration instead of two or three per step).
 */
export function defaultRolloutForm(adapter: AdapterDescription): RolloutForm {
  return adapter.backend === 'swiftshader' ? 'steps' : 'fused';
}

const preferredForm = new WeakMap<GPUDevice, RolloutForm>();

/**
 * Steps one rollout_steps dispatch runs at most (the seed preset's 625 in 3
 * dispatches): a GPU thread's 256 row forwards take milliseconds, far inside a
 * watchdog's seconds, whatever steps per iteration a config asks for.
 */
export const FUSED_STEPS = 256;

/** Layers the fused rollout's policy table holds (POLICY_MAX_LAYERS); a deeper policy steps dispatch by dispatch. */
export const FUSED_MAX_LAYERS = 16;

/**
 * Workgroup size of rollout_steps. Each invocation runs a whole env's rollout, and
 * a CPU driver spreads a dispatch over its threads by workgroup: 8 (one 256-bit
 * SIMD group of lavapipe) lets the seed preset's 16 envs use both of a 2-core
 * machine's threads. A GPU wants whole warps.
 */
function fusedWorkgroup(gpu: GpuContext): number {
  return gpu.adapter.isFallback ? 8 : 64;
}

/** shaders/mlp_row.wgsl: one row of a policy's forward pass, for a kernel of another family. */
export const MLP_ROW_WGSL: string = mlpRowWgsl;

/** RowArithmetic as mlp_row.wgsl's ROW_* codes. */
export const ARITHMETIC_CODE: Record<RowArithmetic, number> = { fma4: 0, dot: 1, chunk: 2 };

/** The fused rollout's sources: the rollout family's, the policy row's sizes, mlp_row.wgsl, rollout_steps.wgsl. */
export function fusedSources(env: EnvDefinition, row: Pick<RowForward, 'layers' | 'headOffset'>): WgslPart[] {
  const last = row.layers[row.layers.length - 1];
  const widest = Math.max(row.layers[0].inDim, ...row.layers.map((l) => l.outDim), row.headOffset === null ? 0 : 2 * last.outDim);
  const vec4Arithmetic = row.layers.find((l) => l.arithmetic !== 'chunk')?.arithmetic ?? 'fma4';
  const sizes = wgslConstants({ POLICY_WIDTH4: Math.ceil(widest / 4), POLICY_MAX_LAYERS: FUSED_MAX_LAYERS, POLICY_VEC4_ARITHMETIC: ARITHMETIC_CODE[vec4Arithmetic] });
  return [...rolloutSources(env), sizes, mlpRowWgsl, rolloutStepsWgsl];
}

/** Storage buffers rollout_steps binds, by env (reflected once: the policy's sizes do not change them). */
const fusedStorage = new WeakMap<EnvDefinition, number>();

function fusedStorageBuffers(env: EnvDefinition, row: Pick<RowForward, 'layers' | 'headOffset'>): number {
  let count = fusedStorage.get(env);
  if (count === undefined) {
    count = new WgslSource('rollout', fusedSources(env, row)).storageBuffers('rollout_steps');
    fusedStorage.set(env, count);
  }
  return count;
}

/**
 * Whether a rollout of `env` with a policy of `layers` dense layers and at most
 * `maxStorageBuffers` storage buffers per stage runs fused, given a policy that
 * offers rowForward and an input the fused kernel computes (a trainer's always are):
 * for src/train/limits.ts, which plans buffers before any GPU work.
 */
export function rolloutFuses(env: EnvDefinition, layers: readonly DenseLayer[], maxStorageBuffers: number): boolean {
  return layers.length <= FUSED_MAX_LAYERS && fusedStorageBuffers(env, { layers: layers.map((l) => ({ ...l, arithmetic: 'fma4' })), headOffset: null }) <= maxStorageBuffers;
}

/** Why a rollout cannot run fused, or null. */
function unfusedReason(gpu: GpuContext, env: EnvDefinition, row: RowForward | undefined, input: PolicyInputSource | undefined): string | null {
  if (!row) return 'the policy offers no rowForward';
  if (row.layers.length > FUSED_MAX_LAYERS) return `the policy has ${row.layers.length} layers (at most ${FUSED_MAX_LAYERS})`;
  if (input && !input.rowNormalize) return 'its policy input is neither the observations nor their normalisation';
  if (new Set(row.layers.map((l) => l.arithmetic).filter((a) => a !== 'chunk')).size > 1) return "the policy's vec4 layers mix arithmetics";
  const storage = fusedStorageBuffers(env, row);
  const limit = gpu.limits.maxStorageBuffersPerShaderStage;
  if (storage > limit) return `its kernel binds ${storage} storage buffers, the device ${limit}`;
  return null;
}

/** The fused rollout's kernel, bind group and the buffers it made. */
interface FusedSteps {
  kernel: Kernel;
  bindGroup: GPUBindGroup;
  buffers: GPUBuffer[];
}

/**
 * N envs × T steps with the policy acting, on the GPU: `encode` records the whole rollout into the caller's
 * pass and fills `storage`, time-major; nothing is read back. Fused (`fused`): one dispatch for all T steps,
 * the policy's row forward inside the step; otherwise per step a policy forward and an act-and-step dispatch.
 */
export class Rollout {
  /** Rows of `storage.envSlots`: ENV_SLOTS, then one per state component. */
  readonly envSlotRows: number;
  /** P, the agents stepped (1 without `agents`). */
  readonly agentCount: number;

  private constructor(
    private readonly gpu: GpuContext,
    readonly options: RolloutOptions,
    readonly finalObs: FinalObsLayout,
    readonly storage: RolloutStorage,
    private readonly actAndStep: Kernel | null,
    private readonly resetEnvs: Kernel,
    private readonly actBindGroup: GPUBindGroup | null,
    private readonly resetBindGroup: GPUBindGroup,
    private readonly args: GPUBuffer,
    private readonly argsView: StructView,
    private readonly uniforms: RolloutUniforms,
    private readonly policyStep: RolloutPolicyPass | null,
    private readonly policyInput: PolicyInput | null,
    private readonly fusedSteps: FusedSteps | null,
  ) {
    this.envSlotRows = ENV_SLOTS.length + options.env.spec.stateDim;
    this.agentCount = options.agents?.count ?? 1;
  }

  /** Makes `form` how rollouts on this device step where RolloutOptions.fused is not given (a setting: bench variants). */
  static useForm(gpu: GpuContext, form: RolloutForm): void {
    if (!ROLLOUT_FORMS.includes(form)) throw new Error(`Rollout.useForm: form must be one of ${ROLLOUT_FORMS.join(', ')}, got ${JSON.stringify(form)}`);
    preferredForm.set(gpu.device, form);
  }

  /** The form rollouts on this device take where RolloutOptions.fused is not given. */
  static formOf(gpu: GpuContext): RolloutForm {
    return preferredForm.get(gpu.device) ?? defaultRolloutForm(gpu.adapter);
  }

  /** Whether all T steps run in one dispatch (RolloutOptions.fused). */
  get fused(): boolean {
    return this.fusedSteps !== null;
  }

  /** The obs row (within an agent's block) holding the final observation of step t of env n, if that step was truncated. */
  finalObsIndex(t: number, env: number): number {
    const { finalObsRow, maxEpisodeSteps } = this.finalObs;
    return finalObsRow + Math.floor(t / maxEpisodeSteps) * this.options.numEnvs + env;
  }

  /**
   * Compiles the rollout for `options.env` and binds it to `policy`; throws when the policy's input or output
   * sizes do not fit the env (or, for a population, its output does not hold every agent's rows).
   */
  static async create(gpu: GpuContext, policy: RolloutPolicy, options: RolloutOptions, label = 'rollout'): Promise<Rollout> {
    const { env, numEnvs: N, numSteps: T, seed, agents } = options;
    const { obsDim, stateDim } = env.spec;
    const A = paramsPerRow(env);
    if (agents && seed !== undefined) throw new Error(`rollout: seed = ${seed} is not used with agents (each agent's seed is its AgentParams seed); leave it out`);
    if (!agents && (!Number.isInteger(seed) || (seed as number) < 0 || (seed as number) > 0xffffffff)) {
      throw new Error(`rollout: seed must be an integer in [0, 4294967295], got ${seed}`);
    }
    const P = agents?.count ?? 1;
    const { layout } = policy;
    const head = env.spec.action.kind === 'discrete' ? 'none' : 'gaussian';
    if (layout.inputDim !== obsDim || layout.distParamsPerRow !== A || layout.head !== head) {
      throw new Error(
        `rollout: ${env.spec.id} needs a policy from ${obsDim} observations to ${A} distribution parameters (head ${head}), got ${layout.inputDim} → ${layout.distParamsPerRow} (head ${layout.head})`,
      );
    }
    const finalObs = finalObsLayout(options);
    if (options.fused !== undefined && typeof options.fused !== 'boolean') throw new Error(`rollout: fused must be true or false, got ${JSON.stringify(options.fused)}`);
    // Fused where the policy, its input and the device allow it (RolloutOptions.fused).
    const row = policy.rowForward;
    const reason = unfusedReason(gpu, env, row, options.policyInput);
    if (options.fused === true && reason !== null) throw new Error(`rollout: fused is not possible here: ${reason}`);
    const fused = reason === null && (options.fused ?? Rollout.formOf(gpu) === 'fused');
    if (fused) {
      const params = row!.params;
      const bytes = 'usage' in params ? params.size : (params.size ?? params.buffer.size - (params.offset ?? 0));
      const needed = ((P - 1) * row!.paramStride + row!.paramCount) * 4;
      if (bytes < needed) {
        throw new Error(`rollout: the policy's parameters hold ${bytes / 4} values, ${P} agent${P > 1 ? 's' : ''} need ${needed / 4}${agents ? ' (a policy of agents.count networks)' : ''}`);
      }
      const moments = options.policyInput?.rowNormalize?.moments;
      if (moments && moments.size < P * obsDim * 3 * 4) {
        throw new Error(`rollout: the observation moments ${moments.label} hold ${moments.size / 4} values, [P][obsDim][3] = [${P}][${obsDim}][3] needs ${P * obsDim * 3}`);
      }
    }
    const agentSeeds = agentSeedsUniform(gpu, `${label}.agentSeeds`, 'rollout', agents ? { agents } : { seed: seed as number });
    // Each buffer: P blocks of what a single run keeps.
    const perAgent = (role: string, floats: number) => storageBuffer(gpu, `${label}.${role}`, P * floats * 4);
    const storage: RolloutStorage = {
      obs: perAgent('obs', (finalObs.finalObsRow + finalObs.finalSlots * N) * obsDim),
      behaviourLogits: perAgent('behaviourLogits', T * N * A),
      actions: perAgent('actions', T * N * (env.spec.action.kind === 'box' ? env.spec.action.dim : 1)),
      rewards: perAgent('rewards', T * N),
      doneFlags: perAgent('doneFlags', T * N),
      currentObs: perAgent('currentObs', N * obsDim),
      envSlots: perAgent('envSlots', (ENV_SLOTS.length + stateDim) * N),
    };
    // Step by step: the policy's input (where it is not the observations) and its forward pass over the N envs.
    const policyInput = fused ? null : (options.policyInput?.(storage.currentObs, N, obsDim, label, agents) ?? null);
    const policyStep = fused ? null : policy.prepare({ rows: N, input: policyInput?.input ?? storage.currentObs, label: `${label}.policy`, forwardOnly: true });
    if (policyStep && policyStep.output.size < P * N * A * 4) {
      const shape = agents ? `[P][N][A] = [${P}][${N}][${A}]` : `[N][A] = [${N}][${A}]`;
      throw new Error(`rollout: the policy's output ${policyStep.output.label} holds ${policyStep.output.size / 4} values, ${shape} needs ${P * N * A}${agents ? ' (a policy of agents.count networks)' : ''}`);
    }
    const family = await ShaderFamily.load(gpu, 'rollout', fused ? fusedSources(env, row!) : rolloutSources(env));
    const { reset_envs: resetEnvs } = await family.kernels({ reset_envs: {} });
    const actAndStep = fused ? null : await family.kernel('act_and_step', { dynamicOffsets: ['step'] });
    const stepsKernel = fused ? await family.kernel('rollout_steps', { constants: { WG: fusedWorkgroup(gpu) }, dynamicOffsets: ['step'] }) : null;
    const argsView = family.struct('RolloutArgs');
    const args = uniformBuffer(gpu, `${label}.args`, argsView.pack({ numSteps: T, numActions: A, iteration: 0, greedy: options.greedy ? 1 : 0 }));
    // One StepArgs slot per dispatch, selected by a dynamic offset (the step index never leaves the GPU
    // timeline): per step, or fused per FUSED_STEPS steps.
    const slots = fused ? Array.from({ length: Math.ceil(T / FUSED_STEPS) }, (_, c) => ({ t: c * FUSED_STEPS, count: Math.min(FUSED_STEPS, T - c * FUSED_STEPS) })) : Array.from({ length: T }, (_, t) => ({ t, count: 1 }));
    const stepArgs = UniformSlots.create(gpu, family.struct('StepArgs'), slots, `${label}.stepArgs`);
    const vecEnv = uniformBuffer(gpu, `${label}.vecEnv`, family.struct('VecEnvArgs').pack({ numEnvs: N, maxEpisodeSteps: finalObs.maxEpisodeSteps }));
    const envParams = uniformBuffer(gpu, `${label}.envParams`, family.struct('EnvParams').pack(env.params));
    // What both forms' step kernels bind: the uniforms, and every buffer a step writes.
    const stepResources = { args, vecEnv, envParams, agentSeeds, ...storage };
    const actBindGroup = actAndStep?.bind({ ...stepResources, step: stepArgs.binding, policyLogits: policyStep!.output }, 'act') ?? null;
    const resetBindGroup = resetEnvs.bindUsed({ args, vecEnv, envParams, agentSeeds, currentObs: storage.currentObs, envSlots: storage.envSlots }, 'reset');
    const uniforms = { stepArgs, vecEnv, envParams, agentSeeds };
    let fusedSteps: FusedSteps | null = null;
    if (fused) {
      const norm = options.policyInput?.rowNormalize;
      const kernel = stepsKernel!;
      const policyRow = uniformBuffer(
        gpu,
        `${label}.policyRow`,
        family.struct('PolicyRowArgs').pack({ layers: row!.layers.length, paramStride: row!.paramStride, gaussian: row!.headOffset === null ? 0 : 1, headOffset: row!.headOffset ?? 0 }),
      );
      // The layers' records at the uniform array's stride (16-byte aligned 24-byte records: 32).
      const layerView = family.struct('PolicyRowLayer');
      const stride = Math.ceil(layerView.size / 16) * 16;
      const table = new DataView(new ArrayBuffer(stride * FUSED_MAX_LAYERS));
      row!.layers.forEach((l, k) =>
        layerView.write(table, { inDim: l.inDim, outDim: l.outDim, weightOffset: l.weightOffset, biasOffset: l.biasOffset, activation: ACTIVATION_CODE[l.activation], arithmetic: ARITHMETIC_CODE[l.arithmetic] }, k * stride),
      );
      const policyLayers = uniformBuffer(gpu, `${label}.policyLayers`, table.buffer);
      const obsNorm = uniformBuffer(gpu, `${label}.obsNorm`, family.struct('ObsNormArgs').pack({ on: norm ? 1 : 0, clip: norm?.clip ?? 0, epsilon: norm?.epsilon ?? 0 }));
      const placeholder = norm ? null : storageBuffer(gpu, `${label}.obsMomentsPlaceholder`, 16);
      const bindGroup = kernel.bind({ ...stepResources, step: stepArgs.binding, policyRow, policyLayers, policyParams: row!.params, obsNorm, obsMoments: norm?.moments ?? placeholder! }, 'steps');
      fusedSteps = { kernel, bindGroup, buffers: [policyRow, policyLayers, obsNorm, ...(placeholder ? [placeholder] : [])] };
    }
    return new Rollout(gpu, options, finalObs, storage, actAndStep, resetEnvs, actBindGroup, resetBindGroup, args, argsView, uniforms, policyStep, policyInput, fusedSteps);
  }

  /** Starts every env at episode 0 (submitted immediately). */
  reset(): void {
    submitPass(this.gpu, 'rollout.reset', (pass) => this.resetEnvs.dispatch(pass, this.resetBindGroup, this.options.numEnvs, undefined, this.agentCount));
  }

  /** Queues the iteration number (it keys the action PRNG) ahead of the iteration's submit. */
  setIteration(iteration: number): void {
    const o = this.options;
    this.gpu.device.queue.writeBuffer(
      this.args,
      0,
      this.argsView.pack({ numSteps: o.numSteps, numActions: paramsPerRow(o.env), iteration, greedy: o.greedy ? 1 : 0 }),
    );
  }

  /** Records the T steps into `pass` (fused: a dispatch per FUSED_STEPS steps; else one policy forward and one act-and-step dispatch per step; for all agents). */
  encode(pass: GPUComputePassEncoder): void {
    recordChecked(this.gpu, 'Rollout.encode', pass, (pass) => {
      const { stepArgs } = this.uniforms;
      if (this.fusedSteps) {
        const { kernel, bindGroup } = this.fusedSteps;
        for (let c = 0; c < stepArgs.count; c++) kernel.dispatch(pass, bindGroup, this.options.numEnvs, [stepArgs.offset(c)], this.agentCount);
        return;
      }
      for (let t = 0; t < this.options.numSteps; t++) {
        this.policyInput?.encode(pass);
        this.policyStep!.encodeForward(pass);
        this.actAndStep!.dispatch(pass, this.actBindGroup!, this.options.numEnvs, [stepArgs.offset(t)], this.agentCount);
      }
    });
  }

  /** Releases every buffer the rollout created and the per-step policy pass. */
  destroy(): void {
    for (const buffer of Object.values(this.storage)) buffer.destroy();
    this.policyStep?.destroy();
    this.policyInput?.destroy();
    for (const buffer of this.fusedSteps?.buffers ?? []) buffer.destroy();
    this.args.destroy();
    this.uniforms.stepArgs.destroy();
    this.uniforms.vecEnv.destroy();
    this.uniforms.envParams.destroy();
    this.uniforms.agentSeeds.destroy();
  }
}
