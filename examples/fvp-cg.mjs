// TRPO's inner solve on the GPU: the Fisher-vector product of a softmax policy
// (F·v + damping·v, matrix-free: a tangent pass, the softmax Fisher weights and
// a backward pass) as the operator of a conjugate-gradient solve of
// (F + damping·I) x = g, all in one submit; checked against the float64 CG on
// the float64 product. Run: npm run build && node examples/fvp-cg.mjs
import { requestGpu, storageBuffer, readFloat32, submitPass } from 'webgpu-rl';
import { MlpLayout, Mlp, MlpKernels, FisherVectorProduct, ConjugateGradient, initPyTorchDefault, parameterVectorBytes } from 'webgpu-rl/kernels';
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
const obsBuffer = storageBuffer(gpu, 'example.obs', obs);
const fvp = await FisherVectorProduct.create(gpu, { policy, rows, obs: obsBuffer, damping });
// Parameter-space vectors are whole vec4s long (parameterVectorBytes), as the kernels read them.
const rhs = storageBuffer(gpu, 'example.rhs', parameterVectorBytes(layout));
gpu.device.queue.writeBuffer(rhs, 0, g);
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
const x = await readFloat32(gpu, cg.solution, 0, layout.paramCount);
const scale = reference.x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const error = x.reduce((worst, v, j) => Math.max(worst, Math.abs(v - reference.x[j])), 0) / scale;
if (!(error < 1e-3)) throw new Error(`CG solution differs from the float64 reference by ${error} (relative to its largest entry)`);
console.log(`(F + ${damping}·I) x = g over ${layout.paramCount} parameters, 10 CG iterations: relative error ${error.toExponential(2)}`);

cg.destroy();
fvp.destroy();
for (const buffer of [rhs, obsBuffer]) buffer.destroy();
policy.destroy();
gpu.destroy();
