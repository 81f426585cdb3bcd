/**
 * What `--variant` swaps into the real code paths without touching src/: the
 * MLP kernel shape (one of MLP_KERNEL_SHAPES in src/kernels/mlp.ts), the
 * parameter-gradient reduction (one of PARAM_REDUCTIONS), the chaining of
 * layers (one of DENSE_CHAININGS), whether a chained network's Adam step
 * runs in its gradient dispatch (one of ADAM_FUSIONS) or whether two networks
 * over the same rows share their chains' dispatches (one of NETWORK_PAIRINGS), or
 * the `tiles` chains' form (one of TILE_CHAIN_FORMS), or the rollout's form
 * (`rollout-fused`, `rollout-steps`: src/kernels/rollout.ts), or Adam's step
 * form (`adam-step`, `adam-prepare`, `adam-per-N`: src/kernels/optim.ts). Setting it on a device before anything is
 * built makes every MlpPass made afterwards (the trainer's, the rollout's, the
 * FVP's) use it instead of what the adapter gets by default, so a paired A/B
 * compares them on one adapter.
 */
import type { GpuContext } from '../../src/gpu/device';
import { ConfigError } from '../../src/core/config';
import {
  ADAM_FUSIONS,
  DENSE_CHAININGS,
  MLP_KERNEL_SHAPES,
  NETWORK_PAIRINGS,
  PARAM_REDUCTIONS,
  TILE_CHAIN_FORMS,
  MlpKernels,
  type AdamFusion,
  type DenseChaining,
  type MlpKernelShape,
  type NetworkPairing,
  type ParamReduction,
  type TileChainForm,
} from '../../src/kernels/mlp';
import { ROLLOUT_FORMS, Rollout, type RolloutForm } from '../../src/kernels/rollout';
import { Adam, adamStepForm } from '../../src/kernels/optim';

/** The rollout forms as variants: `rollout-fused`, `rollout-steps`. */
type RolloutVariant = `rollout-${RolloutForm}`;
const ROLLOUT_VARIANTS = ROLLOUT_FORMS.map((f): RolloutVariant => `rollout-${f}`);

/**
 * Adam's own step form (src/kernels/optim.ts, AdamStepForm), where the MLP does not
 * take the step in its gradient dispatch: `adam-step` one dispatch a step,
 * `adam-prepare` a prepare dispatch before the update; `adam-per-N` N parameters
 * an invocation.
 */
const ADAM_PER_INVOCATION = [1, 4, 8, 16, 32, 64] as const;
type AdamVariant = 'adam-step' | 'adam-prepare' | `adam-per-${(typeof ADAM_PER_INVOCATION)[number]}`;
const ADAM_VARIANTS: readonly AdamVariant[] = ['adam-step', 'adam-prepare', ...ADAM_PER_INVOCATION.map((n): AdamVariant => `adam-per-${n}`)];

export type Variant = MlpKernelShape | ParamReduction | DenseChaining | AdamFusion | NetworkPairing | TileChainForm | RolloutVariant | AdamVariant;
export const VARIANTS: readonly Variant[] = [...MLP_KERNEL_SHAPES, ...PARAM_REDUCTIONS, ...DENSE_CHAININGS, ...ADAM_FUSIONS, ...NETWORK_PAIRINGS, ...TILE_CHAIN_FORMS, ...ROLLOUT_VARIANTS, ...ADAM_VARIANTS];

/** `--flag`'s variants joined by `+` (e.g. `tiles+chain`), each one of VARIANTS; none where the flag is absent. */
export function parseVariants(flag: string, value: unknown): Variant[] {
  if (value === undefined) return [];
  const list = String(value).split('+');
  for (const v of list) if (!(VARIANTS as readonly string[]).includes(v)) throw new ConfigError(`--${flag}: "${v}" is not one of ${VARIANTS.join(', ')} (several joined by +)`);
  return list as Variant[];
}

/** Makes `variant` this device's MLP kernel shape, reduction, chaining, Adam fusion, network pairing or tiles chain form (before anything binds MLP pipelines). */
export async function applyVariant(gpu: GpuContext, variant: Variant): Promise<void> {
  if ((ADAM_VARIANTS as readonly string[]).includes(variant)) {
    // Variants joined by + add up: adam-prepare+adam-per-1 sets both fields.
    const form = adamStepForm(gpu);
    if (variant === 'adam-step' || variant === 'adam-prepare') form.fused = variant === 'adam-step';
    else form.paramsPerInvocation = Number(variant.slice('adam-per-'.length));
    Adam.useStepForm(gpu, form);
  } else if ((ROLLOUT_VARIANTS as readonly string[]).includes(variant)) Rollout.useForm(gpu, variant.slice('rollout-'.length) as RolloutForm);
  else if ((PARAM_REDUCTIONS as readonly string[]).includes(variant)) MlpKernels.useParamReduction(gpu, variant as ParamReduction);
  else if ((DENSE_CHAININGS as readonly string[]).includes(variant)) MlpKernels.useChaining(gpu, variant as DenseChaining);
  else if ((ADAM_FUSIONS as readonly string[]).includes(variant)) MlpKernels.useAdamFusion(gpu, variant as AdamFusion);
  else if ((NETWORK_PAIRINGS as readonly string[]).includes(variant)) MlpKernels.useNetworkPairing(gpu, variant as NetworkPairing);
  else if ((TILE_CHAIN_FORMS as readonly string[]).includes(variant)) MlpKernels.useTileChainForm(gpu, variant as TileChainForm);
  else MlpKernels.useShape(gpu, variant as MlpKernelShape);
  await MlpKernels.create(gpu);
}
