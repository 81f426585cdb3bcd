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
//   adam (count invocations): every invocation derives the step's control block from
//     controlIn with the same scalar maths (so all of them hold the same bits), invocation
//     0 stores it in controlOut, and each updates its parameter. No invocation reads the
//     block being written, so there is no race; the host alternates the bind groups (in
//     and out swapped) per step, with no readback.
//   or adam_prepare (1 invocation), then adam_update (count invocations, reading the new
//     block as its controlIn): for SwiftShader, whose invocations run both sides of a
//     branch, so the per-invocation derivation costs more than the dispatch it saves.
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
override WG: u32 = 64;

// AdamArgs.rateSource: where each step's learning rate comes from.
const RATE_FROM_CONTROL: u32 = 0u;
const RATE_FROM_LR: u32 = 1u;
const RATE_FROM_VALUE_LR: u32 = 2u;

struct AdamArgs {
  count: u32,
  beta1: f32,
  beta2: f32,
  // 1 − β computed in float64 on the host
  oneMinusBeta1: f32,
  oneMinusBeta2: f32,
  eps: f32,
  // 1: scale each agent's gradients to a global norm of at most agents[a].maxGradNorm
  clip: u32,
  // where agent a's active flag sits in `flags`: a · activeStride + activeIndex
  activeIndex: u32,
  activeStride: u32,
  // RATE_FROM_*, and the fraction of the record's rate a step takes (the schedule's, 1 without)
  rateSource: u32,
  rateFraction: f32,
}

struct AdamControl {
  step: f32,
  learningRate: f32,
  gradScale: f32,
  gradNormSquared: f32,
  activeFlag: f32,
  biasCorrection1: f32,
  biasCorrection2: f32,
}

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
  let activeFlag = flags[a * args.activeStride + args.activeIndex];
  let previous = controlIn[a];
  var next = previous;
  next.activeFlag = activeFlag;
  if (args.rateSource == RATE_FROM_LR) {
    next.learningRate = agents[a].lr * args.rateFraction;
  } else if (args.rateSource == RATE_FROM_VALUE_LR) {
    next.learningRate = agents[a].valueLr * args.rateFraction;
  }
  if (activeFlag > 0.0) {
    next.step = previous.step + 1.0;
    next.biasCorrection1 = args.oneMinusBeta1 + args.beta1 * previous.biasCorrection1;
    next.biasCorrection2 = args.oneMinusBeta2 + args.beta2 * previous.biasCorrection2;
    if (args.clip != 0u) {
      next.gradScale = min(1.0, agents[a].maxGradNorm / (sqrt(previous.gradNormSquared) + 1e-6));
    }
  }
  return next;
}

// Agent a's parameter i's update under the step's control block c.
fn update_parameter(a: u32, i: u32, c: AdamControl) {
  if (i >= args.count || c.activeFlag <= 0.0) { return; }
  let k = a * args.count + i;
  let g = c.gradScale * grads[k];
  let mi = args.beta1 * m[k] + args.oneMinusBeta1 * g;
  let vi = args.beta2 * v[k] + args.oneMinusBeta2 * g * g;
  m[k] = mi;
  v[k] = vi;
  let stepSize = c.learningRate / c.biasCorrection1;
  let denom = sqrt(vi) / sqrt(c.biasCorrection2) + args.eps;
  params[k] -= stepSize * (mi / denom);
}

@compute @workgroup_size(WG)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let i = linear_index(gid, nwg);
  let c = advanced_control(agent);
  if (i == 0u) { controlOut[agent] = c; }
  update_parameter(agent, i, c);
}

@compute @workgroup_size(1)
fn adam_prepare(@builtin(global_invocation_id) gid: vec3<u32>) {
  let agent = agent_index(gid);
  controlOut[agent] = advanced_control(agent);
}

@compute @workgroup_size(WG)
fn adam_update(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  update_parameter(agent, linear_index(gid, nwg), controlIn[agent]);
}
