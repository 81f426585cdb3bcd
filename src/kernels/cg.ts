/**
 * Conjugate gradient on the GPU (shaders/cg.wgsl) for A x = b, A applied by a
 * caller's encoder (e.g. FisherVectorProduct.encode). All iterations are
 * recorded into one compute pass; α, μ, the residual and the stop flag live in
 * a small state buffer read by the next kernels, never read back.
 *
 * Populations (`agents`): every dispatch covers all agents; agent a solves
 * A_a x_a = b_a on its own block of each vector (`stride` floats: count rounded
 * up to whole vec4s) with its own CgState, and stops on its own residual. The
 * operator must apply every agent's A to its block in the same way.
 */
import cgWgsl from '../../shaders/cg.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type Kernel, type StructView, recordChecked } from '../gpu/kernel';
import { storageBuffer, uniformBuffer } from '../gpu/buffers';
import { GpuArray, assertArraysAlive, bufferArg, type ArgSpec, type BufferArg } from '../gpu/array';
import { Reduction, ReduceKernels } from './reduce';
import { COMMON_WGSL } from '../gpu/wgsl';
import { assertAgents, type Agents } from '../gpu/agents';

/** Floats per agent of a CG vector of `count` elements: whole vec4s, as the FVP's aligned kernels read them. */
export function cgVectorStride(count: number): number {
  return Math.ceil(count / 4) * 4;
}

/** Records result = A·vector into the caller's pass (for a population: every agent's A on its block). */
export type ApplyOperator = (pass: GPUComputePassEncoder, vector: GPUBuffer, result: GPUBuffer) => void;

/** What `ConjugateGradient.create` takes. */
export interface ConjugateGradientOptions {
  /** Length of the vectors. */
  count: number;
  /**
   * Right-hand side b: f32 [count] (a population: [agents][stride], stride = cgVectorStride(count)),
   * a GpuArray (checked) or a raw buffer (read when encode runs).
   */
  rhs: BufferArg;
  applyOperator: ApplyOperator;
  /** Iterations recorded (the seed's cg_iters). */
  iterations: number;
  /** Iterations stop once r·r falls below this (the seed's residual_tol, 1e-10). */
  residualTol?: number;
  /** A population: agents.count systems solved at once (CG reads no AgentParams field). Default one. */
  agents?: Agents;
  label?: string;
}

interface CgKernels {
  kernels: Record<'cg_init' | 'cg_begin' | 'cg_update_solution' | 'cg_update_direction' | 'cg_advance', Kernel>;
  args: StructView;
  state: StructView;
}

/** The rhs as a GpuArray must have: [count], or [agents][stride] for a population. */
function rhsSpec(count: number, agents: number): ArgSpec {
  return agents === 1
    ? { dtype: 'f32', shape: [count], layout: '[count]' }
    : { dtype: 'f32', shape: [agents, cgVectorStride(count)], layout: '[agents][stride]' };
}

/** The solver's pipelines and structs, compiled once per device. */
function cgKernels(gpu: GpuContext): Promise<CgKernels> {
  return perDevice(gpu, 'kernels:cg', async () => {
    const family = await ShaderFamily.load(gpu, 'cg', [COMMON_WGSL, cgWgsl]);
    const kernels = await family.kernels({
      cg_init: undefined,
      cg_begin: undefined,
      cg_update_solution: undefined,
      cg_update_direction: undefined,
      cg_advance: undefined,
    });
    return { kernels, args: family.struct('CgArgs'), state: family.struct('CgState') };
  });
}

/** A conjugate-gradient solve of A x = b recorded into one compute pass (see the module comment). */
export class ConjugateGradient {
  /** The solution x. Vectors are whole vec4s long, so they can feed the FVP's aligned kernels. */
  readonly solution: GPUBuffer;
  readonly residualVector: GPUBuffer;
  readonly direction: GPUBuffer;
  /** A·direction of the last iteration. */
  readonly operatorDirection: GPUBuffer;
  /** [agents] CgState (see cg.wgsl): residual, pAp, newResidual, running, iterations. */
  readonly state: GPUBuffer;
  /** Floats of one agent's CgState in `state` (agent a's field f at a · stateStride + stateIndex(f)). */
  readonly stateStride: number;
  /** Agents solved at once. */
  readonly agentCount: number;
  /** Floats of one agent's block in each vector. */
  readonly stride: number;
  readonly stateView: StructView;
  /** solution, residual, direction and operatorDirection as GpuArrays, f32 [count] (a population: [agents][stride]): `await cg.arrays.solution.read()`. */
  readonly arrays: Readonly<Record<'solution' | 'residual' | 'direction' | 'operatorDirection', GpuArray<'f32'>>>;

  private readonly groups: Record<'init' | 'begin' | 'solution' | 'direction' | 'advance', GPUBindGroup>;
  private readonly initialResidual: Reduction;
  private readonly pAp: Reduction;
  private readonly newResidual: Reduction;
  private readonly args: GPUBuffer;
  private readonly kernels: CgKernels['kernels'];

  private constructor(
    gpu: GpuContext,
    compiled: CgKernels,
    reduce: ReduceKernels,
    readonly options: Readonly<ConjugateGradientOptions> & { label: string; residualTol: number },
  ) {
    const { count, label } = options;
    const agents = options.agents?.count ?? 1;
    this.agentCount = agents;
    this.stride = cgVectorStride(count);
    const rhs = bufferArg(label, 'rhs', options.rhs, rhsSpec(count, agents));
    const kernels = compiled.kernels;
    this.kernels = kernels;
    const vector = (name: string) => storageBuffer(gpu, `${label}.${name}`, agents * this.stride * 4);
    this.solution = vector('solution');
    this.residualVector = vector('residual');
    this.direction = vector('direction');
    this.operatorDirection = vector('operatorDirection');
    const array = (buffer: GPUBuffer) => GpuArray.wrap(gpu, buffer, 'f32', agents === 1 ? [count] : [agents, this.stride]);
    this.arrays = {
      solution: array(this.solution),
      residual: array(this.residualVector),
      direction: array(this.direction),
      operatorDirection: array(this.operatorDirection),
    };
    this.stateView = compiled.state;
    this.stateStride = this.stateView.size / 4;
    this.state = storageBuffer(gpu, `${label}.state`, Math.max(this.stateView.paddedSize, agents * this.stateView.size));
    this.args = uniformBuffer(gpu, `${label}.args`, compiled.args.pack({ count, residualTol: options.residualTol }));
    const { args, state } = this;
    const vectors = { b: rhs, x: this.solution, r: this.residualVector, p: this.direction, z: this.operatorDirection };
    this.groups = {
      init: kernels.cg_init.bind({ args, b: vectors.b, x: vectors.x, r: vectors.r, p: vectors.p }, `${label}.init`),
      begin: kernels.cg_begin.bind({ state }, `${label}.begin`),
      solution: kernels.cg_update_solution.bind({ args, x: vectors.x, r: vectors.r, p: vectors.p, z: vectors.z, stateIn: state }, `${label}.solution`),
      direction: kernels.cg_update_direction.bind({ args, r: vectors.r, p: vectors.p, stateIn: state }, `${label}.direction`),
      advance: kernels.cg_advance.bind({ args, state }, `${label}.advance`),
    };
    const slot = (field: string) => this.stateView.offsetOf(field) / 4;
    const dot = (a: GPUBuffer, b: GPUBuffer, field: string) =>
      Reduction.create(gpu, reduce, {
        agents: options.agents,
        input: a,
        inputB: b,
        inputStride: this.stride,
        inputBStride: this.stride,
        count,
        op: 'dot',
        output: state,
        outputIndex: slot(field),
        outputStride: this.stateStride,
        label: `${label}.${field}`,
      });
    this.initialResidual = dot(this.residualVector, this.residualVector, 'residual');
    this.pAp = dot(this.direction, this.operatorDirection, 'pAp');
    this.newResidual = dot(this.residualVector, this.residualVector, 'newResidual');
  }

  /** Checks the options (one error naming the field) before any GPU work, then allocates the solver's vectors. */
  static async create(gpu: GpuContext, options: ConjugateGradientOptions): Promise<ConjugateGradient> {
    const label = options.label ?? 'cg';
    const { count, iterations, rhs } = options;
    const residualTol = options.residualTol ?? 1e-10;
    if (!Number.isInteger(count) || count < 1) throw new Error(`${label}: count must be a positive integer, got ${count}`);
    if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`${label}: iterations must be a positive integer, got ${iterations}`);
    if (!(residualTol >= 0)) throw new Error(`${label}: residualTol must be ≥ 0, got ${residualTol}`);
    const agents = options.agents?.count ?? 1;
    if (options.agents) assertAgents(label, options.agents);
    const b = bufferArg(label, 'rhs', rhs, rhsSpec(count, agents));
    const need = agents === 1 ? count : agents * cgVectorStride(count);
    if ('usage' in b && b.size < need * 4) {
      throw new Error(`${label}: rhs buffer ${b.label} holds ${b.size / 4} floats, needs ${need}${agents === 1 ? '' : ` ([${agents}][${cgVectorStride(count)}])`}`);
    }
    const [compiled, reduce] = await Promise.all([cgKernels(gpu), ReduceKernels.create(gpu)]);
    return new ConjugateGradient(gpu, compiled, reduce, { ...options, label, residualTol });
  }

  /** Index of a CgState field in agent 0's state as an f32 array (agent a: + a · stateStride). */
  stateIndex(field: 'residual' | 'pAp' | 'newResidual' | 'running' | 'iterations'): number {
    return this.stateView.offsetOf(field) / 4;
  }

  /** Records the whole solve: initialisation and every iteration, operator products included. */
  encode(pass: GPUComputePassEncoder): void {
    recordChecked(this.kernels.cg_init.gpu, `${this.options.label}.encode`, pass, (pass) => {
      const { kernels: k, groups: g } = this;
      const { count, iterations, applyOperator } = this.options;
      assertArraysAlive(`${this.options.label}.encode`, { rhs: this.options.rhs });
      const agents = this.agentCount;
      k.cg_init.dispatch(pass, g.init, count, undefined, agents);
      this.initialResidual.encode(pass);
      k.cg_begin.dispatch(pass, g.begin, 1, undefined, agents);
      for (let i = 0; i < iterations; i++) {
        applyOperator(pass, this.direction, this.operatorDirection);
        this.pAp.encode(pass);
        k.cg_update_solution.dispatch(pass, g.solution, count, undefined, agents);
        this.newResidual.encode(pass);
        k.cg_update_direction.dispatch(pass, g.direction, count, undefined, agents);
        k.cg_advance.dispatch(pass, g.advance, 1, undefined, agents);
      }
    });
  }

  /** Releases the solver's vectors, state and uniforms (the rhs stays the caller's). */
  destroy(): void {
    for (const a of Object.values(this.arrays)) a.destroy();
    for (const b of [this.state, this.args]) b.destroy();
    for (const r of [this.initialResidual, this.pAp, this.newResidual]) r.destroy();
  }
}
