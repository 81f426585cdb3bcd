/**
 * `webgpu-rl/wgsl`: the package's WGSL as a library. `wgsl(name)` composes a
 * shader with everything it is loaded after (helper modules, generated
 * constants) into one compilable source, reflected without a GPU: its uniform
 * structs (packed by name with `StructView`), entry points and bindings. Use
 * it to run a kernel in your own pipeline, or compile it with
 * `ShaderFamily.load(gpu, name, wgsl(name).parts)`.
 */
import randomWgsl from '../shaders/random.wgsl?raw';
import cgWgsl from '../shaders/cg.wgsl?raw';
import reduceWgsl from '../shaders/reduce.wgsl?raw';
import vecEnvWgsl from '../shaders/vec_env.wgsl?raw';
import trigWgsl from '../shaders/trig.wgsl?raw';
import finiteWgsl from '../shaders/finite.wgsl?raw';
import { GAUSSIAN_HEAD_SOURCES } from './kernels/gaussianHead';
import rolloutViewWgsl from '../shaders/rollout_view.wgsl?raw';
import { WgslSource, type WgslPart } from './gpu/kernel';
import { COMMON_WGSL, wgslConstants } from './gpu/wgsl';
import { AGENT_SEEDS_WGSL } from './gpu/agents';
import { envSources, type EnvDefinition } from './envs/env';
import { CARTPOLE } from './envs/cartpole';
import { ACROBOT } from './envs/acrobot';
import { MOUNTAIN_CAR } from './envs/mountainCar';
import { MOUNTAIN_CAR_CONTINUOUS } from './envs/mountainCarContinuous';
import { PENDULUM } from './envs/pendulum';
import { CATEGORICAL, GAUSSIAN } from './kernels/distribution';
import { MLP_SOURCES } from './kernels/mlp';
import { REDUCE_CONSTANTS } from './kernels/reduce';
import { GAE_SOURCES } from './kernels/gae';
import { ADAM_STEP_WGSL, OPTIM_SOURCES } from './kernels/optim';
import { agentParamsWgsl } from './core/agentParams';
import { fvpSources } from './kernels/fvp';
import { pgSources } from './kernels/pg';
import { lineSearchSources } from './kernels/linesearch';
import { ARITHMETIC_CODE, FUSED_MAX_LAYERS, MLP_ROW_WGSL, fusedSources, rolloutSources } from './kernels/rollout';
import { MlpLayout } from './nn/mlp';
import { NORMALIZE_SOURCES } from './kernels/normalize';
import { policySources } from './kernels/policy';
import { ppoChainSources, ppoLossesSources, ppoSources } from './algos/ppo';
import { pbtSources } from './kernels/pbt';

export { WgslSource, ShaderFamily, StructView, Kernel, type WgslPart, type LabelledWgsl, type BindingInfo, type BindingKind, type KernelOptions } from './gpu/kernel';
export { UniformSlots, uniformSlotStride } from './gpu/slots';
export { COMMON_WGSL, wgslConstants, wgslIndexConstants } from './gpu/wgsl';
export { metricSlotsWgsl, GPU_METRIC_SLOTS, METRICS_BLOCK_FLOATS, metricSlot, type GpuMetric } from './core/metrics';
export { envSources, type EnvDefinition } from './envs/env';
export { CATEGORICAL, GAUSSIAN, type ActionDistribution } from './kernels/distribution';

/** Options of `wgsl`. */
export interface WgslOptions {
  /** The env module for the env shaders (vec_env, rollout, auto_reset, cartpole); default CartPole-v1. */
  env?: EnvDefinition;
}

/** The helper modules every distribution-using family loads first: random.wgsl, then the action distribution. */
const distribution = (): string[] => [randomWgsl, CATEGORICAL.wgsl];

/**
 * Each shaders/*.wgsl file with what it is loaded after, in the order the
 * package's own wrappers load it. Helper modules (no entry points) come with
 * what they call, so they too compile alone.
 */
const COMPOSITIONS = {
  // common.wgsl reads its family's workgroup size; a family declares `override WG`.
  common: () => ['override WG: u32 = 64u;', COMMON_WGSL],
  random: () => [randomWgsl],
  categorical: () => distribution(),
  gaussian: () => [randomWgsl, GAUSSIAN.wgsl],
  trig: () => [trigWgsl],
  finite: () => [COMMON_WGSL, finiteWgsl],
  auto_reset: ({ env }) => envSources(env),
  cartpole: () => envSources(CARTPOLE),
  acrobot: () => envSources(ACROBOT),
  mountain_car: () => envSources(MOUNTAIN_CAR),
  mountain_car_continuous: () => envSources(MOUNTAIN_CAR_CONTINUOUS),
  pendulum: () => envSources(PENDULUM),
  // agent_seeds.wgsl reads its family's `agentSeeds` binding; a family declares it.
  agent_seeds: () => [AGENT_SEEDS_WGSL, '@group(0) @binding(0) var<uniform> agentSeeds: AgentSeeds;'],
  vec_env: ({ env }) => [COMMON_WGSL, ...envSources(env), AGENT_SEEDS_WGSL, vecEnvWgsl],
  rollout: ({ env }) => rolloutSources(env),
  // mlp_row.wgsl reads its includer's policyRow, policyLayers and policyParams bindings and sizes.
  mlp_row: () => [
    wgslConstants({ POLICY_WIDTH4: 16, POLICY_MAX_LAYERS: FUSED_MAX_LAYERS, POLICY_VEC4_ARITHMETIC: ARITHMETIC_CODE.fma4 }),
    MLP_ROW_WGSL,
    '@group(0) @binding(0) var<uniform> policyRow: PolicyRowArgs;\n@group(0) @binding(1) var<uniform> policyLayers: PolicyRowTable;\n@group(0) @binding(2) var<storage, read> policyParams: array<vec4<f32>>;',
  ],
  // The fused rollout for a 64 × 64 tanh policy of the env, in the `rows` shape's arithmetic.
  rollout_steps: ({ env }) => fusedSources(env, defaultRow(env)),
  rollout_view: () => [rolloutViewWgsl],
  mlp: () => MLP_SOURCES,
  gaussian_head: () => GAUSSIAN_HEAD_SOURCES,
  gae: () => GAE_SOURCES,
  normalize: () => NORMALIZE_SOURCES,
  cg: () => [COMMON_WGSL, cgWgsl],
  adam_step: () => [agentParamsWgsl(), ADAM_STEP_WGSL],
  optim: () => OPTIM_SOURCES,
  reduce: () => [COMMON_WGSL, REDUCE_CONSTANTS, reduceWgsl],
  policy: () => policySources(CATEGORICAL),
  fvp: () => fvpSources(),
  pg: () => pgSources(),
  linesearch: () => lineSearchSources(),
  ppo_losses: () => ppoLossesSources(),
  ppo: () => ppoSources(),
  ppo_chain: () => ppoChainSources(),
  pbt: () => pbtSources(),
} satisfies Record<string, (options: Required<WgslOptions>) => readonly WgslPart[]>;

/** The fused rollout's policy rows for rollout_steps: 64 × 64 tanh hidden layers, the vec4 layers in fma4 arithmetic. */
function defaultRow(env: EnvDefinition) {
  const { spec } = env;
  const outputs = spec.action.kind === 'discrete' ? spec.action.n : spec.action.dim;
  const layout = new MlpLayout([spec.obsDim, 64, 64, outputs], ['tanh', 'tanh', 'identity'], spec.action.kind === 'discrete' ? 'none' : 'gaussian');
  return { layers: layout.layers.map((l) => ({ ...l, arithmetic: l.inDim % 4 === 0 ? ('fma4' as const) : ('chunk' as const) })), headOffset: spec.action.kind === 'discrete' ? null : layout.headOffset };
}

/** The names `wgsl` accepts: every file of shaders/, without `.wgsl`. */
export type ShaderName = keyof typeof COMPOSITIONS;
/** Every name `wgsl` accepts, in composition order (helpers first). */
export const SHADER_NAMES = Object.keys(COMPOSITIONS) as ShaderName[];

/**
 * shaders/<name>.wgsl composed into one compilable source (`.code`, and its
 * `.parts` in order), with its reflection: `.struct('GaeArgs')` packs a
 * uniform by field name, `.bindings(entry)` lists what an entry point binds.
 */
export function wgsl(name: ShaderName, options: WgslOptions = {}): WgslSource {
  const compose = (COMPOSITIONS as Record<string, (o: Required<WgslOptions>) => readonly WgslPart[]>)[name];
  if (!compose) throw new Error(`wgsl: no shader named "${name}" (known: ${SHADER_NAMES.join(', ')})`);
  return new WgslSource(name, compose({ env: options.env ?? CARTPOLE }));
}
