import { describe, it, expect } from 'vitest';
import matvecWgsl from './fixtures/dense_matvec.wgsl?raw';
import { ShaderFamily } from '../src/gpu/kernel';
import { storageBuffer, uniformBuffer, readFloat32, submitPass } from '../src/gpu/buffers';
import { ConjugateGradient, type ApplyOperator } from '../src/kernels/cg';
import { FisherVectorProduct, parameterVectorBytes } from '../src/kernels/fvp';
import { Mlp, MlpKernels } from '../src/kernels/mlp';
import { MlpLayout } from '../src/nn/mlp';
import { conjugateGradientReference } from '../src/reference/trpo';
import { fisherMatrixReference } from '../src/reference/fvp';
import { testGpu, seededRandom, randomArray, expectClose } from './helpers';
import { f32, matVec, maxAbs, solveDense } from './maths';

/** A = MᵀM/n + shift·I: symmetric positive definite with eigenvalues ≥ shift. */
function spdMatrix(n: number, seed: number, shift: number): Float64Array {
  const M = randomArray(n * n, seededRandom(seed));
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = i === j ? shift : 0;
      for (let k = 0; k < n; k++) s += (M[k * n + i] * M[k * n + j]) / n;
      A[i * n + j] = s;
    }
  }
  return Float64Array.from(Float32Array.from(A));
}

const apply = (A: Float64Array) => (v: Float64Array) => matVec(A, v);

interface Solve {
  x: Float32Array;
  state: Record<'residual' | 'running' | 'iterations', number>;
}

async function gpuSolve(count: number, b: Float64Array, applyOperator: ApplyOperator, iterations: number, residualTol: number): Promise<Solve> {
  const gpu = await testGpu();
  const rhs = storageBuffer(gpu, 'test.rhs', Float32Array.from(b));
  const cg = await ConjugateGradient.create(gpu, { count, rhs, applyOperator, iterations, residualTol, label: 'test.cg' });
  submitPass(gpu, 'test.cg', (pass) => cg.encode(pass));
  const x = await readFloat32(gpu, cg.solution, 0, count);
  const s = await readFloat32(gpu, cg.state);
  const state = { residual: s[cg.stateIndex('residual')], running: s[cg.stateIndex('running')], iterations: s[cg.stateIndex('iterations')] };
  cg.destroy();
  return { x, state };
}

async function denseOperator(A: Float64Array, n: number): Promise<ApplyOperator> {
  const gpu = await testGpu();
  const family = await ShaderFamily.load(gpu, 'test.matvec', matvecWgsl);
  const kernel = await family.kernel('matvec');
  const args = uniformBuffer(gpu, 'test.matvec.args', family.struct('MatVecArgs').pack({ n }));
  const matrix = storageBuffer(gpu, 'test.matrix', Float32Array.from(A));
  const groups = new Map<string, GPUBindGroup>();
  return (pass, vector, result) => {
    const key = `${vector.label}->${result.label}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = kernel.bind({ args, matrix, vector, result })));
    kernel.dispatch(pass, group, n);
  };
}

describe('ConjugateGradient on the GPU', () => {
  const n = 13;
  const A = spdMatrix(n, 5, 0.5);
  const b = Float64Array.from(Float32Array.from(randomArray(n, seededRandom(6))));

  it('10 iterations on a 13×13 SPD system: the float64 seed CG iterate (rtol 1e-4, atol 1e-5·max)', async () => {
    const reference = conjugateGradientReference(apply(A), b, 10, 1e-10);
    expect(reference.iterations).toBe(10);
    const { x, state } = await gpuSolve(n, b, await denseOperator(A, n), 10, 1e-10);
    expectClose(x, reference.x, 1e-4, 1e-5 * maxAbs(reference.x), 'x after 10 iterations');
    expect(state.iterations).toBe(10);
    expect(state.residual).toBeCloseTo(reference.residual, 6);
  });

  it('n iterations solve the system: the direct float64 solve (rtol 1e-4, atol 1e-5·max)', async () => {
    const direct = solveDense(A, b);
    const { x } = await gpuSolve(n, b, await denseOperator(A, n), n, 0);
    expectClose(x, direct, 1e-4, 1e-5 * maxAbs(direct), 'x after n iterations');
  });

  it('honours the residual tolerance on the GPU: later iterations are no-ops, as the seed breaks', async () => {
    const free = conjugateGradientReference(apply(A), b, 10, 0);
    // A tolerance between the residuals after iterations 4 and 5 stops the seed's loop after 5.
    const tol = Math.sqrt(free.residuals[3] * free.residuals[4]);
    const reference = conjugateGradientReference(apply(A), b, 10, tol);
    expect(reference.iterations).toBe(5);
    const { x, state } = await gpuSolve(n, b, await denseOperator(A, n), 10, tol);
    expect(state.iterations).toBe(5);
    expect(state.running).toBe(0);
    expectClose(x, reference.x, 1e-4, 1e-5 * maxAbs(reference.x), 'x after the early stop');
    expect(Math.abs(state.residual - reference.residual)).toBeLessThan(1e-3 * reference.residual);
  });

  it('with the Fisher-vector product of a 3→5→4→3 policy (7 rows): the float64 CG on the explicit Fisher (rtol 1e-3, atol 1e-4·max)', async () => {
    const gpu = await testGpu();
    const layout = new MlpLayout([3, 5, 4, 3], ['tanh', 'tanh', 'identity']);
    const rand = seededRandom(12);
    const params = f32(randomArray(layout.paramCount, rand, -0.8, 0.8));
    const rows = 7;
    const obsValues = f32(randomArray(rows * 3, rand, -2, 2));
    const g = f32(randomArray(layout.paramCount, rand));
    const damping = 0.1;
    const F = fisherMatrixReference(layout, params, obsValues, rows);
    for (let i = 0; i < layout.paramCount; i++) F[i * layout.paramCount + i] += damping;
    const reference = conjugateGradientReference(apply(F), g, 10, 1e-10);

    const policy = Mlp.create(gpu, await MlpKernels.create(gpu), layout, 'test.policy');
    policy.setParams(Float32Array.from(params));
    const obs = storageBuffer(gpu, 'test.obs', Float32Array.from(obsValues));
    const fvp = await FisherVectorProduct.create(gpu, { policy, rows, obs, damping, label: 'test.fvp' });
    const rhsData = new Float32Array(parameterVectorBytes(layout) / 4);
    rhsData.set(g);
    const rhs = storageBuffer(gpu, 'test.rhs', rhsData);
    const cg = await ConjugateGradient.create(gpu, {
      count: layout.paramCount,
      rhs,
      applyOperator: (pass, v, result) => fvp.encode(pass, v, result),
      iterations: 10,
      label: 'test.cg',
    });
    submitPass(gpu, 'test.cg', (pass) => {
      fvp.encodeForward(pass);
      cg.encode(pass);
    });
    const x = await readFloat32(gpu, cg.solution, 0, layout.paramCount);
    expectClose(x, reference.x, 1e-3, 1e-4 * maxAbs(reference.x), 'x with the FVP operator');
  });
});
