// A kernel of the package in your own WebGPU code: `wgsl('gae')` gives the
// whole compilable source (common.wgsl, the AgentParams struct, gae.wgsl) and its reflection, so the
// bind-group layout comes from the binding list and the uniform is packed by
// field name, with no offsets kept by hand. Everything else is plain WebGPU.
// Run: npm run build && node examples/raw-wgsl.mjs
import { requestGpu } from 'webgpu-rl';
import { wgsl } from 'webgpu-rl/wgsl';
import { gaeReference } from 'webgpu-rl/reference';

const { device } = await requestGpu();
const gae = wgsl('gae');
console.log(`gae.wgsl composed from ${gae.parts.length} sources; entry points: ${gae.entryPoints().join(', ')}`);

const module = device.createShaderModule({ label: 'gae', code: gae.code });
const bindings = gae.bindings('gae'); // [{ name, binding, kind, size }] in binding order
const layout = device.createBindGroupLayout({
  entries: bindings.map(({ binding, kind }) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: kind } })),
});
const workgroupSize = 64;
const pipeline = device.createComputePipeline({
  layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
  compute: { module, entryPoint: 'gae', constants: { WG: workgroupSize } },
});

const [numEnvs, numSteps, gamma, lambda] = [16, 20, 0.99, 0.95];
const n = numEnvs * numSteps;
const rewards = Float32Array.from({ length: n }, (_, i) => ((i * 37) % 11) / 11);
const doneFlags = Uint32Array.from({ length: n }, (_, i) => (i % 9 === 0 ? 1 : 0));
const values = Float32Array.from({ length: n + numEnvs }, (_, i) => Math.cos(i));
const upload = (data, usage = GPUBufferUsage.STORAGE) => {
  const buffer = device.createBuffer({ size: Math.max(16, data.byteLength), usage: usage | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
  device.queue.writeBuffer(buffer, 0, data);
  return buffer;
};
// GaeArgs is 28 bytes of WGSL; `pack` writes each field at its reflected offset into the padded 32.
const args = gae.struct('GaeArgs').pack({ numEnvs, numSteps, truncationAsTerminal: 1, maxEpisodeSteps: 1, finalValuesOffset: 0, valuesStride: n + numEnvs, finalValuesStride: 0 });
// γ and λ are per agent: one AgentParams record (a population binds one per agent), fields at their reflected offsets.
const agentView = gae.struct('AgentParams');
const agent = new DataView(new ArrayBuffer(agentView.paddedSize));
agent.setFloat32(agentView.offsetOf('gamma'), gamma, true);
agent.setFloat32(agentView.offsetOf('lambda'), lambda, true);
const resources = {
  args: upload(new Uint8Array(args), GPUBufferUsage.UNIFORM),
  rewards: upload(rewards),
  doneFlags: upload(doneFlags),
  values: upload(values),
  finalValues: upload(new Float32Array(4)),
  advantages: upload(new Float32Array(n)),
  returns: upload(new Float32Array(n)),
  agents: upload(new Uint8Array(agent.buffer)),
};
const bindGroup = device.createBindGroup({
  layout,
  entries: bindings.map(({ name, binding }) => ({ binding, resource: { buffer: resources[name] } })),
});

const readback = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
const encoder = device.createCommandEncoder();
const pass = encoder.beginComputePass();
pass.setPipeline(pipeline);
pass.setBindGroup(0, bindGroup);
pass.dispatchWorkgroups(Math.ceil(numEnvs / workgroupSize));
pass.end();
encoder.copyBufferToBuffer(resources.advantages, 0, readback, 0, n * 4);
device.queue.submit([encoder.finish()]);
await readback.mapAsync(GPUMapMode.READ);
const advantages = new Float32Array(readback.getMappedRange().slice(0));
readback.unmap();

const expected = gaeReference({ numEnvs, numSteps, gamma, lambda, truncationAsTerminal: true, rewards, doneFlags, values, finalValues: new Float64Array(n) });
const error = advantages.reduce((worst, a, i) => Math.max(worst, Math.abs(a - expected.advantages[i])), 0);
if (!(error < 1e-4)) throw new Error(`advantages differ from the float64 reference by ${error}`);
console.log(`own pipeline, ${numEnvs} envs × ${numSteps} steps: max |advantage - float64 reference| = ${error.toExponential(2)}`);

device.destroy();
