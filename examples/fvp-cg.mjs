// TRPO's inner solve on the GPU: the Fisher-vector product of a softmax policy
// (F·v + damping·v, matrix-free: a tangent pass, the softmax Fisher weights and
// a backward pass) as the operator of a conjugate-gradient solve of
// (F + damping·I) x = g, all in one submit; checked against the float64 CG on
// the float64 product. Observations and g are GpuArrays; the solution comes
// back as one (cg.arrays.solution). Run: npm run build && node examples/fvp-cg.mjs
import { requestGpu, GpuArray, submitPass } from 'webgpu-rl';
import { MlpLayout, Mlp, MlpKernels, FisherVectorProduct, ConjugateGradient, initPyTorchDefault } from 'webgpu-rl/kernels';
import { fisherVectorProductReference, conjugateGradientReference } from 'webgpu-rl/reference';

const gpu = await requestGpu();
const layout = new MlpLayout([4, 8, 3], ['tanh', 'identity']);
const rows = 16;
const damping = 0.1;
const params = initPyTorchDefault(layout, 2);
const obs = Float32Array.from({ length: rows * layout.inputDim }, (_, i) => Math.sin(0.7 * i));
const g = Float32Array.from({ length: layout.paramCount }, (_, j) => Math.cos(j));

const policy = Mlp.create(gpu, await MlpKernels.create(gpu), layout, 'example.policy');
policy.setParams(params);
const obsArray = GpuArray.from(gpu, obs, { shape: [rows, layout.inputDim], label: 'example.obs' });
const fvp = await FisherVectorProduct.create(gpu, { policy, rows, obs: obsArray, damping });
// Parameter-space vectors are f32 [paramCount]; GpuArrays are padded to whole vec4s, as the kernels read them.
const rhs = GpuArray.from(gpu, g, { label: 'example.rhs' });
const cg = await ConjugateGradient.create(gpu, {
  count: layout.paramCount,
  rhs,
  iterations: 10,
  applyOperator: (pass, vector, result) => fvp.encode(pass, vector, result),
});
submitPass(gpu, 'example.trpo-solve', (pass) => {
  fvp.encodeForward(pass); // the policy's activations at θ: the point the Fisher is taken at
  cg.encode(pass);
});

const reference = conjugateGradientReference((v) => fisherVectorProductReference(layout, params, obs, rows, v, damping), g, 10, 1e-10);
const x = await cg.arrays.solution.read();
const scale = reference.x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const error = x.reduce((worst, v, j) => Math.max(worst, Math.abs(v - reference.x[j])), 0) / scale;
if (!(error < 1e-3)) throw new Error(`CG solution differs from the float64 reference by ${error} (relative to its largest entry)`);
console.log(`(F + ${damping}·I) x = g over ${layout.paramCount} parameters, 10 CG iterations: relative error ${error.toExponential(2)}`);

cg.destroy();
fvp.destroy();
for (const array of [rhs, obsArray]) array.destroy();
policy.destroy();
gpu.destroy();
