import { create, globals } from 'webgpu';
import { readFileSync } from 'node:fs';
Object.assign(globalThis, globals);
const mainTicks = () => { const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' '); return (+f[11] + +f[12]) * 10; };
const gpu = create([]);
const ad = await gpu.requestAdapter();
const dev = await ad.requestDevice();
const code = `@group(0) @binding(0) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  var x = f32(g.x);
  for (var i = 0u; i < 200000u; i++) { x = fma(x, 0.999999, 0.5); }
  o[g.x] = x; }`;
const pipe = dev.createComputePipeline({ layout: 'auto', compute: { module: dev.createShaderModule({ code }), entryPoint: 'main' } });
const buf = dev.createBuffer({ size: 4 * 64 * 64, usage: GPUBufferUsage.STORAGE });
const bg = dev.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
const run = async (mode) => {
  const enc = dev.createCommandEncoder(); const p = enc.beginComputePass(); p.setPipeline(pipe); p.setBindGroup(0, bg);
  for (let i = 0; i < 20; i++) p.dispatchWorkgroups(64); p.end();
  const t0 = performance.now(), m0 = mainTicks();
  dev.queue.submit([enc.finish()]);
  if (mode === 'sleep') { await new Promise(r => setTimeout(r, 2500)); }
  const done0 = dev.queue.onSubmittedWorkDone();
  if (mode.startsWith('throttle')) {
    const ms = Number(mode.slice(8));
    let done = false; done0.then(() => { done = true; });
    const sab = new Int32Array(new SharedArrayBuffer(4));
    await new Promise((resolve) => { const tick = () => { if (done) return resolve(); Atomics.wait(sab, 0, 0, ms); setImmediate(tick); }; setImmediate(tick); });
  }
  await done0;
  console.log(mode, 'wall ms', Math.round(performance.now() - t0), 'main-thread cpu ms', mainTicks() - m0);
};
await run('await'); await run('throttle1'); await run('throttle0.2'); await run('throttle2'); await run('await'); await run('throttle1');
process.exit(0)
