// Adam over flat parameter vectors, controlled from the GPU.
//
// Buffers, agent-major for a population (workgroup id z is the agent a; each agent is an
// independent optimizer on its own block):
//   params, grads, m, v  [P][count] f32 (one network's flat layout per agent)
//   controlIn, controlOut  [P] AdamControl (step count, learning rate, gradient scale,
//                        active flag, bias corrections) before and after this step: the
//                        optimizer keeps two copies that trade places every step
//   flags                [P][activeStride] f32 holding agent a's active flag at
//                        a·activeStride + activeIndex (> 0: active): another buffer's (e.g.
//                        the metrics blocks), or for the optimizer's own flag controlIn
//                        itself (its activeFlag field, activeStride = AdamControl's floats)
//   agents               [P] AgentParams: agents[a].maxGradNorm is agent a's clipping norm, and
//                        with a rate source agents[a].lr or .valueLr its learning rate
//
// Dispatches per step (with clipping, after a sum-of-squares reduction of grads into
// controlIn.gradNormSquared):
//   adam (ceil(count / PER_INVOCATION) invocations): every invocation derives the step's control block from
//     controlIn with the same scalar maths (so all of them hold the same bits), invocation
//     0 stores it in controlOut, and each updates its parameter. No invocation reads the
//     block being written, so there is no race; the host alternates the bind groups (in
//     and out swapped) per step, with no readback.
//   or adam_prepare (1 invocation), then adam_update (ceil(count / PER_INVOCATION)
//     invocations, reading the new block as its controlIn): where each invocation's
//     derivation costs more than the dispatch it saves (SwiftShader at one parameter an
//     invocation; at 16 the one dispatch measured faster there: bench/RESULTS.md).
//   An invocation updates PER_INVOCATION parameters, grid-strided (i, i + S, i + 2S, ...
//   for S invocations in the grid, so neighbouring invocations touch neighbouring
//   parameters): each parameter's arithmetic is the same whatever PER_INVOCATION, and a
//   CPU driver derives the control block once per PER_INVOCATION parameters instead of
//   once per parameter (src/kernels/optim.ts chooses it per adapter).
// The step: if the flag is active, t += 1, bias corrections advance, with clipping
// gradScale = min(1, maxGradNorm / (‖g‖ + 1e-6)), then torch.optim.Adam's update (no
// weight decay, no amsgrad):
//   g = gradScale · grads
//   m = β1 m + (1 − β1) g,   v = β2 v + (1 − β2) g²
//   p −= (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps)
// The step's learning rate: the one the host wrote into the control block, or with a rate
// source agent a's record field times the schedule's fraction (args.rateFraction, the only
// value the host writes per step), so PBT's changes to the records take effect. That
// product is f32(lr)·f32(fraction) rounded here, where the host used to round lr·fraction
// from float64: deterministic either way, and with fraction 1 the same bits.
// Inactive steps only copy the block (with the flag), so they do not advance t.
// 1 − β^t is advanced as c ← (1 − β) + β·c from c = 0: every term is positive, so
// unlike 1 − pow(β, t) in f32 it does not cancel for β near 1. t is an f32 (exact
// below 2^24 steps) so the whole control block is f32 data.
// Prepended by the wrapper: common.wgsl, AgentParams and adam_step.wgsl (the arithmetic).
override WG: u32 = 64;
override PER_INVOCATION: u32 = 1u;

@group(0) @binding(0) var<uniform> args: AdamArgs;
@group(0) @binding(1) var<storage, read> controlIn: array<AdamControl>;
@group(0) @binding(2) var<storage, read_write> controlOut: array<AdamControl>;
@group(0) @binding(3) var<storage, read> flags: array<f32>;
@group(0) @binding(4) var<storage, read_write> params: array<f32>;
@group(0) @binding(5) var<storage, read> grads: array<f32>;
@group(0) @binding(6) var<storage, read_write> m: array<f32>;
@group(0) @binding(7) var<storage, read_write> v: array<f32>;
@group(0) @binding(8) var<storage, read> agents: array<AgentParams>;

// Agent a's control block after this step.
fn advanced_control(a: u32) -> AdamControl {
  return adam_control(args, controlIn[a], flags[a * args.activeStride + args.activeIndex], agents[a]);
}

// Agent a's parameter i's update under the step's control block c.
fn update_parameter(a: u32, i: u32, c: AdamControl) {
  if (i >= args.count || c.activeFlag <= 0.0) { return; }
  let k = a * args.count + i;
  let next = adam_parameter(args, c, params[k], grads[k], m[k], v[k]);
  m[k] = next.m;
  v[k] = next.v;
  params[k] = next.param;
}

// The PER_INVOCATION parameters of invocation `first` of the grid (see the header).
fn update_parameters(agent: u32, first: u32, nwg: vec3<u32>, c: AdamControl) {
  let stride = nwg.x * nwg.y * WG;
  for (var j = 0u; j < PER_INVOCATION; j++) {
    update_parameter(agent, first + j * stride, c);
  }
}

@compute @workgroup_size(WG)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let i = linear_index(gid, nwg);
  let c = advanced_control(agent);
  if (i == 0u) { controlOut[agent] = c; }
  update_parameters(agent, i, nwg, c);
}

@compute @workgroup_size(1)
fn adam_prepare(@builtin(global_invocation_id) gid: vec3<u32>) {
  let agent = agent_index(gid);
  controlOut[agent] = advanced_control(agent);
}

@compute @workgroup_size(WG)
fn adam_update(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  update_parameters(agent, linear_index(gid, nwg), nwg, controlIn[agent]);
}
