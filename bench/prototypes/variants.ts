/**
 * Kernel variants the benchmarks can swap into the real code paths without
 * touching src/ (`npm run bench -- --variant rows4`): the MLP pipelines are
 * compiled once per device and shared by every MlpPass made afterwards, so
 * replacing them in MlpKernels before a case builds anything puts the
 * prototype into the trainer, the rollout and the FVP alike.
 *
 *   rowsR  forward and backward_input with R rows per invocation held in
 *          registers (prototypes/mlp_rows.wgsl), for the ALIGNED layers
 *   cols4  forward and backward_input with one invocation per output element
 *          of 4 rows and no per-invocation arrays (prototypes/mlp_cols.wgsl)
 *   cols4v cols4 reading input and gradOutput rows as vec4s (fewer loads and
 *          fewer robustness clamps)
 */
import mlpRowsWgsl from './mlp_rows.wgsl?raw';
import mlpColsWgsl from './mlp_cols.wgsl?raw';
import type { GpuContext } from '../../src/gpu/device';
import { Kernel, ShaderFamily } from '../../src/gpu/kernel';
import { MlpKernels } from '../../src/kernels/mlp';

export const VARIANTS = ['rows2', 'rows4', 'rows8', 'cols4', 'cols4v'] as const;
export type Variant = (typeof VARIANTS)[number];

/**
 * The prototype kernel behind MlpPass's usual dispatch: invocations are counted
 * per ROWS rows (the workgroup covers WG·ROWS rows), and bindings the
 * prototype does not read are dropped from the pass's resources.
 */
function rowBlocked(kernel: Kernel, rowsPerInvocation: number): Kernel {
  const blocked = new Kernel(kernel.gpu, kernel.label, kernel.pipeline, kernel.layout, kernel.bindings, kernel.workgroupSize * rowsPerInvocation);
  const bind = blocked.bind.bind(blocked);
  blocked.bind = (resources, role) => bind(Object.fromEntries(Object.entries(resources).filter(([name]) => kernel.bindings.has(name))), role);
  return blocked;
}

/** Compiles the row-blocked MLP kernels for `rowsPerInvocation` rows. */
export async function rowBlockedKernels(gpu: GpuContext, rowsPerInvocation: number): Promise<{ forward: Kernel; backwardInput: Kernel }> {
  const family = await ShaderFamily.load(gpu, 'mlp_rows', [`const ROWS: u32 = ${rowsPerInvocation}u;`, mlpRowsWgsl]);
  const k = await family.kernels({ forward: undefined, backward_input: undefined });
  return { forward: rowBlocked(k.forward, rowsPerInvocation), backwardInput: rowBlocked(k.backward_input, rowsPerInvocation) };
}

/**
 * The per-element prototype behind MlpPass's usual dispatch (`rows`
 * invocations): it needs ceil(rows / 4) · width, the width read off the size
 * of the result buffer each bind group writes (rows · width floats).
 */
function perElement(kernel: Kernel, result: 'output' | 'gradInput'): Kernel {
  const wrapped = new Kernel(kernel.gpu, kernel.label, kernel.pipeline, kernel.layout, kernel.bindings, kernel.workgroupSize);
  const resultBytes = new Map<GPUBindGroup, number>();
  wrapped.bind = (resources, role) => {
    // The vec4 views are the same buffers as input and gradOutput.
    const views = { inputVec4: resources.input, gradOutputVec4: resources.gradOutput ?? resources.input };
    const all = { ...resources, ...views };
    const group = kernel.bind(Object.fromEntries(Object.entries(all).filter(([name]) => kernel.bindings.has(name))), role);
    const r = resources[result];
    resultBytes.set(group, 'usage' in r ? r.size : (r.size ?? r.buffer.size));
    return group;
  };
  wrapped.dispatch = (pass, group, rows, offsets) => {
    const width = Math.floor(resultBytes.get(group)! / 4 / rows);
    kernel.dispatch(pass, group, Math.ceil(rows / 4) * width, offsets);
  };
  return wrapped;
}

export async function perElementKernels(gpu: GpuContext, vec4Loads: boolean): Promise<{ forward: Kernel; backwardInput: Kernel }> {
  const family = await ShaderFamily.load(gpu, 'mlp_cols', mlpColsWgsl);
  const constants = { VEC4: vec4Loads ? 1 : 0 };
  const k = await family.kernels({ forward: { constants }, backward_input: { constants } });
  return { forward: perElement(k.forward, 'output'), backwardInput: perElement(k.backward_input, 'gradInput') };
}

/** Puts `variant` into this device's shared MLP pipelines (before anything binds them). */
export async function applyVariant(gpu: GpuContext, variant: Variant): Promise<void> {
  const [kernels, replacement] = await Promise.all([
    MlpKernels.create(gpu),
    variant.startsWith('cols') ? perElementKernels(gpu, variant === 'cols4v') : rowBlockedKernels(gpu, Number(variant.slice(4))),
  ]);
  kernels.forward.aligned = replacement.forward;
  kernels.backwardInput.aligned = replacement.backwardInput;
}
