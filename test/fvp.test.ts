import { describe, it, expect } from 'vitest';
import { MlpLayout, type Activation } from '../src/nn/mlp';
import { MLP_KERNEL_SHAPES, Mlp, MlpKernels, type MlpKernelShape } from '../src/kernels/mlp';
import type { GpuContext } from '../src/gpu/device';
import { FisherVectorProduct, parameterVectorBytes } from '../src/kernels/fvp';
import { storageBuffer, readFloat32, submitPass } from '../src/gpu/buffers';
import { fisherMatrixReference, fisherVectorProductReference, meanKlGradientReference } from '../src/reference/fvp';
import { testGpu, seededRandom, randomArray, expectClose } from './helpers';
import { f32, matVec, maxAbs } from './maths';

const TANH_TANH_IDENTITY: Activation[] = ['tanh', 'tanh', 'identity'];

interface Case {
  layout: MlpLayout;
  rows: number;
  /** f32-representable values, so the float64 references see what the GPU sees. */
  params: Float64Array;
  obs: Float64Array;
  vectors: Float64Array[];
}

function makeCase(sizes: number[], rows: number, seed: number, vectorCount = 1): Case {
  const layout = new MlpLayout(sizes, TANH_TANH_IDENTITY);
  const rand = seededRandom(seed);
  return {
    layout,
    rows,
    params: f32(randomArray(layout.paramCount, rand, -0.8, 0.8)),
    obs: f32(randomArray(rows * layout.inputDim, rand, -2, 2)),
    vectors: Array.from({ length: vectorCount }, () => f32(randomArray(layout.paramCount, rand))),
  };
}

async function gpuFisherVectorProducts(c: Case, damping: number, shape?: MlpKernelShape): Promise<Float32Array[]> {
  const gpu = await testGpu();
  const policy = Mlp.create(gpu, await MlpKernels.create(gpu, shape), c.layout, 'test.policy');
  policy.setParams(Float32Array.from(c.params));
  const obs = storageBuffer(gpu, 'test.obs', Float32Array.from(c.obs));
  const fvp = await FisherVectorProduct.create(gpu, { policy, rows: c.rows, obs, damping, label: 'test.fvp' });
  const vectors = vectorBuffers(gpu, c);
  const results = c.vectors.map((_, i) => storageBuffer(gpu, `test.result${i}`, c.layout.paramCount * 4));
  submitPass(gpu, 'test.fvp', (pass) => {
    fvp.encodeForward(pass);
    vectors.forEach((v, i) => fvp.encode(pass, v, results[i]));
  });
  const out = await Promise.all(results.map((r) => readFloat32(gpu, r, 0, c.layout.paramCount)));
  fvp.destroy();
  return out;
}

/** Hessian of the mean KL(π_θold ‖ π_θ) at θ = θ_old along v, by central differences of the float64 KL gradient. */
function klHessianVectorByDifferences(c: Case, v: ArrayLike<number>, h = 1e-5): Float64Array {
  const shifted = (sign: number) => c.params.map((p, j) => p + sign * h * v[j]);
  const plus = meanKlGradientReference(c.layout, shifted(1), c.params, c.obs, c.rows);
  const minus = meanKlGradientReference(c.layout, shifted(-1), c.params, c.obs, c.rows);
  return plus.map((g, j) => (g - minus[j]) / (2 * h));
}

describe('float64 Fisher references', () => {
  it('explicit matrix, matrix-free product and KL Hessian by differences agree (1e-10, differences 1e-6)', () => {
    const c = makeCase([3, 5, 4, 3], 7, 11);
    const F = fisherMatrixReference(c.layout, c.params, c.obs, c.rows);
    const v = c.vectors[0];
    const explicit = matVec(F, v, 0.01);
    const matrixFree = fisherVectorProductReference(c.layout, c.params, c.obs, c.rows, v, 0.01);
    expectClose(matrixFree, explicit, 1e-10, 1e-12 * maxAbs(explicit), 'matrix-free vs explicit');
    const hessian = klHessianVectorByDifferences(c, v);
    expectClose(hessian, matVec(F, v, 0), 1e-6, 1e-7 * maxAbs(explicit), 'KL Hessian by differences vs Fisher');
    // A Fisher matrix is symmetric positive semi-definite: vᵀFv ≥ 0 for any v.
    for (const seed of [1, 2, 3]) {
      const u = randomArray(c.layout.paramCount, seededRandom(seed));
      const Fu = matVec(F, u, 0);
      expect(u.reduce((s, x, j) => s + x * Fu[j], 0)).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('FisherVectorProduct on the GPU', () => {
  it('3→5→4→3, 7 rows: equals the explicit float64 Fisher matrix times v plus damping (rtol 1e-4, atol 1e-5·max)', async () => {
    const c = makeCase([3, 5, 4, 3], 7, 21, 2);
    const damping = 1e-3;
    const F = fisherMatrixReference(c.layout, c.params, c.obs, c.rows);
    const products = await gpuFisherVectorProducts(c, damping);
    c.vectors.forEach((v, i) => {
      const expected = matVec(F, v, damping);
      expectClose(products[i], expected, 1e-4, 1e-5 * maxAbs(expected), `F v${i} + damping v${i}`);
    });
  });

  it('3→5→4→3, 7 rows: equals the Hessian of the mean KL at θ_old by finite differences (rtol 1e-4, atol 1e-5·max)', async () => {
    const c = makeCase([3, 5, 4, 3], 7, 31);
    const damping = 0.1;
    const [product] = await gpuFisherVectorProducts(c, damping);
    const hessian = klHessianVectorByDifferences(c, c.vectors[0]);
    const withoutDamping = Array.from(product, (x, j) => x - damping * c.vectors[0][j]);
    expectClose(withoutDamping, hessian, 1e-4, 1e-5 * maxAbs(hessian), 'F v − damping v vs KL Hessian v');
  });

  // Every MLP kernel shape (single: the per-row tangent; rows and tiles: tangent_tiles) on the aligned nets.
  const wide = [
    ...MLP_KERNEL_SHAPES.map((shape) => ({ shape, sizes: [4, 64, 64, 2], rows: 301 })),
    { shape: 'single' as const, sizes: [3, 70, 5, 3], rows: 130 },
    ...MLP_KERNEL_SHAPES.map((shape) => ({ shape, sizes: [4, 8, 8, 4], rows: 65 })),
  ];
  for (const { shape, sizes, rows } of wide) {
    it(`${shape}: ${sizes.join('→')}, ${rows} rows: matches the float64 matrix-free product (rtol 1e-3, atol 1e-4·max)`, async () => {
      const c = makeCase([...sizes], rows, sizes[1] + rows, 2);
      const damping = 1e-3;
      const products = await gpuFisherVectorProducts(c, damping, shape);
      c.vectors.forEach((v, i) => {
        const expected = fisherVectorProductReference(c.layout, c.params, c.obs, c.rows, v, damping);
        expectClose(products[i], expected, 1e-3, 1e-4 * maxAbs(expected), `F v${i}`);
      });
    });
  }

  it('names a vector buffer that is too small', async () => {
    const gpu = await testGpu();
    const layout = new MlpLayout([3, 5, 4, 3], TANH_TANH_IDENTITY);
    const policy = Mlp.create(gpu, await MlpKernels.create(gpu), layout, 'test.policy');
    const obs = storageBuffer(gpu, 'test.obs', 7 * 3 * 4);
    const fvp = await FisherVectorProduct.create(gpu, { policy, rows: 7, obs, damping: 0, label: 'test.fvp' });
    const small = storageBuffer(gpu, 'test.small', 16);
    const result = storageBuffer(gpu, 'test.result', layout.paramCount * 4);
    const encoder = gpu.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    expect(() => fvp.encode(pass, small, result)).toThrow(/test\.small holds 16 bytes, needs 240/);
    pass.end();
    fvp.destroy();
  });
});

/** Vector buffers of a case, padded to whole vec4s. */
function vectorBuffers(gpu: GpuContext, c: Case): GPUBuffer[] {
  return c.vectors.map((v, i) => {
    const data = new Float32Array(parameterVectorBytes(c.layout) / 4);
    data.set(v);
    return storageBuffer(gpu, `test.vector${i}`, data);
  });
}

/** Buffers created on the device while `body` runs and not destroyed since (createBuffer and destroy wrapped). */
async function liveBuffersOf(gpu: GpuContext, body: (live: ReadonlySet<GPUBuffer>) => Promise<void>): Promise<ReadonlySet<GPUBuffer>> {
  const device = gpu.device;
  const live = new Set<GPUBuffer>();
  const create = device.createBuffer;
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = create.call(device, descriptor);
    live.add(buffer);
    const destroy = buffer.destroy;
    buffer.destroy = () => {
      live.delete(buffer);
      destroy.call(buffer);
    };
    return buffer;
  };
  try {
    await body(live);
  } finally {
    device.createBuffer = create;
  }
  return live;
}

describe('FisherVectorProduct on a shared forward pass', () => {
  const cases = [
    ...MLP_KERNEL_SHAPES.map((shape) => ({ shape, sizes: [4, 64, 64, 2], rows: 130 })),
    { shape: 'single' as const, sizes: [3, 70, 5, 3], rows: 37 },
  ];
  for (const { shape, sizes, rows } of cases) {
    it(`${shape}: ${sizes.join('→')}, ${rows} rows: equals the standalone product bit for bit; the pass's gradient buffer is left alone`, async () => {
      const c = makeCase([...sizes], rows, 51, 2);
      const damping = 1e-3;
      const gpu = await testGpu();
      const policy = Mlp.create(gpu, await MlpKernels.create(gpu, shape), c.layout, 'test.policy');
      policy.setParams(Float32Array.from(c.params));
      const obs = storageBuffer(gpu, 'test.obs', Float32Array.from(c.obs));
      const passGrads = storageBuffer(gpu, 'test.passGrads', parameterVectorBytes(c.layout));
      const pass = policy.prepare({ rows, input: obs, grads: passGrads, label: 'test.policyPass' });
      const own = await FisherVectorProduct.create(gpu, { policy, rows, obs, damping, label: 'test.own' });
      const shared = await FisherVectorProduct.create(gpu, { pass, damping, label: 'test.shared' });
      const vectors = vectorBuffers(gpu, c);
      const results = (label: string) => c.vectors.map((_, i) => storageBuffer(gpu, `${label}${i}`, c.layout.paramCount * 4));
      const [ownResults, sharedResults] = [results('test.own'), results('test.shared')];
      submitPass(gpu, 'test.fvp', (p) => {
        own.encodeForward(p);
        pass.encodeForward(p);
        vectors.forEach((v, i) => {
          own.encode(p, v, ownResults[i]);
          shared.encode(p, v, sharedResults[i]);
        });
      });
      const bits = async (b: GPUBuffer) => new Uint32Array((await readFloat32(gpu, b, 0, c.layout.paramCount)).buffer);
      for (let i = 0; i < vectors.length; i++) {
        const expected = await bits(ownResults[i]);
        expect(expected.some((x) => x !== 0)).toBe(true);
        expect(await bits(sharedResults[i])).toEqual(expected);
      }
      expect(Array.from(await readFloat32(gpu, passGrads, 0, c.layout.paramCount)).every((g) => g === 0)).toBe(true);
      own.destroy();
      shared.destroy();
      pass.destroy();
      policy.destroy();
    });
  }

  it('destroy() releases every buffer the product created, and leaves a shared pass to its owner', async () => {
    const c = makeCase([3, 5, 4, 3], 7, 61);
    const gpu = await testGpu();
    const policy = Mlp.create(gpu, await MlpKernels.create(gpu), c.layout, 'test.policy');
    const obs = storageBuffer(gpu, 'test.obs', Float32Array.from(c.obs));
    const [vector] = vectorBuffers(gpu, c);
    const result = storageBuffer(gpu, 'test.result', c.layout.paramCount * 4);
    const run = (fvp: FisherVectorProduct) =>
      submitPass(gpu, 'test.fvp', (p) => {
        fvp.encodeForward(p);
        fvp.encode(p, vector, result);
      });

    const standalone = await liveBuffersOf(gpu, async () => {
      const fvp = await FisherVectorProduct.create(gpu, { policy, rows: c.rows, obs, damping: 0.1, label: 'test.own' });
      run(fvp);
      fvp.destroy();
    });
    expect(standalone.size).toBe(0);

    const left = await liveBuffersOf(gpu, async (live) => {
      const pass = policy.prepare({ rows: c.rows, input: obs, label: 'test.policyPass' });
      const passBuffers = new Set(live);
      const fvp = await FisherVectorProduct.create(gpu, { pass, damping: 0.1, label: 'test.shared' });
      expect(live.size).toBeGreaterThan(passBuffers.size);
      run(fvp);
      fvp.destroy();
      // What is left is the pass's: its own buffers and the backward uniforms the product's backward made on it.
      for (const b of live) expect(b.label).toMatch(/^test\.policyPass\./);
      for (const b of passBuffers) expect(live.has(b)).toBe(true);
      // The pass is still whole: a forward on it validates.
      submitPass(gpu, 'test.forward', (p) => pass.encodeForward(p));
      await gpu.sync();
      pass.destroy();
    });
    expect(left.size).toBe(0);
    policy.destroy();
  });
});

