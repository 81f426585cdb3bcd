// An MLP forward and backward pass on the GPU, checked two ways: the output
// against the float64 reference forward, and the parameter gradient of the loss
// L = Σ w · output against central finite differences of that reference.
// The input is a GpuArray f32 [rows][inputDim]; the pass's buffers come back
// as GpuArrays (pass.arrays.output, mlp.arrays.grads).
// Run: npm run build && node examples/mlp-gradient-check.mjs
import { requestGpu, GpuArray, submitPass } from 'webgpu-rl';
import { MlpLayout, Mlp, MlpKernels, initPyTorchDefault } from 'webgpu-rl/kernels';
import { mlpForwardReference } from 'webgpu-rl/reference';

const gpu = await requestGpu();
const layout = new MlpLayout([4, 16, 3], ['tanh', 'identity']);
const rows = 8;
const params = initPyTorchDefault(layout, 1);
const input = Float32Array.from({ length: rows * layout.inputDim }, (_, i) => Math.sin(i));
// The loss weights: with an identity output layer, dL/d(output pre-activation) = w.
const lossWeights = Float32Array.from({ length: rows * layout.outputDim }, (_, i) => Math.cos(3 * i));

const mlp = Mlp.create(gpu, await MlpKernels.create(gpu), layout, 'example.mlp');
mlp.setParams(params);
const inputArray = GpuArray.from(gpu, input, { shape: [rows, layout.inputDim], label: 'example.input' });
const pass = mlp.prepare({ rows, input: inputArray, label: 'example.pass' });
pass.arrays.gradOutput.write(lossWeights);
submitPass(gpu, 'example.mlp', (computePass) => {
  pass.encodeForward(computePass);
  pass.encodeBackward(computePass);
});

const maxError = (a, b) => a.reduce((worst, x, i) => Math.max(worst, Math.abs(x - b[i])), 0);
const loss = (theta) => {
  const output = mlpForwardReference(layout, theta, input, rows).at(-1);
  return output.reduce((s, y, k) => s + lossWeights[k] * y, 0);
};

const output = await pass.arrays.output.read();
const outputError = maxError(output, mlpForwardReference(layout, params, input, rows).at(-1));
if (!(outputError < 1e-5)) throw new Error(`forward differs from the float64 reference by ${outputError}`);

const h = 1e-4;
const theta = Float64Array.from(params);
const numeric = theta.map((saved, j) => {
  theta[j] = saved + h;
  const up = loss(theta);
  theta[j] = saved - h;
  const down = loss(theta);
  theta[j] = saved;
  return (up - down) / (2 * h);
});
const gradError = maxError(await mlp.arrays.grads.read(), numeric);
if (!(gradError < 1e-4)) throw new Error(`gradient differs from central differences by ${gradError}`);
console.log(`${layout.paramCount} parameters: forward error ${outputError.toExponential(2)}, gradient error ${gradError.toExponential(2)}`);

pass.destroy();
inputArray.destroy();
mlp.destroy();
gpu.destroy();
