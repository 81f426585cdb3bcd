// Adam over flat parameter vectors, controlled from the GPU, one dispatch per step.
//
// Buffers:
//   params, grads, m, v  [count] f32 (one network's flat layout)
//   control              [2] AdamControl: two copies of the control block (step count,
//                        learning rate, gradient scale, active flag, bias corrections);
//                        each step reads one and writes the other (below)
//   externalFlag         [..] f32, an optional flag read at args.activeIndex (> 0: active)
//   args                 AdamArgs, two records at a dynamic offset that differ only in
//                        `previous`: the copy this step reads
//
// Dispatch per step: adam or adam_external, count invocations (with clipping, after a
// sum-of-squares reduction of grads into control[previous].gradNormSquared).
// Every invocation derives the step's control values from control[previous] with the
// same scalar maths (so all of them hold the same bits), and invocation 0 stores them in
// control[1 - previous]. Nothing reads the copy being written, so there is no race; the
// host alternates `previous` per step by the dynamic offset, never by a readback.
// The step: active = control.activeFlag (adam) or externalFlag[activeIndex]
// (adam_external, copied into the control block). If active: t += 1, bias corrections
// advance, with clipping gradScale = min(1, maxGradNorm / (‖g‖ + 1e-6)), then
// torch.optim.Adam's update (no weight decay, no amsgrad):
//   g = gradScale · grads
//   m = β1 m + (1 − β1) g,   v = β2 v + (1 − β2) g²
//   p −= (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps)
// Inactive steps only copy the block (with the flag), so they do not advance t.
// 1 − β^t is advanced as c ← (1 − β) + β·c from c = 0: every term is positive, so
// unlike 1 − pow(β, t) in f32 it does not cancel for β near 1. t is an f32 (exact
// below 2^24 steps) so the whole control block is f32 data.
override WG: u32 = 64;

struct AdamArgs {
  count: u32,
  beta1: f32,
  beta2: f32,
  // 1 − β computed in float64 on the host
  oneMinusBeta1: f32,
  oneMinusBeta2: f32,
  eps: f32,
  // 1: scale gradients to a global norm of at most maxGradNorm
  clip: u32,
  maxGradNorm: f32,
  activeIndex: u32,
  // the control copy this step reads (0 or 1); it writes the other
  previous: u32,
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
@group(0) @binding(1) var<storage, read_write> control: array<AdamControl, 2>;
@group(0) @binding(2) var<storage, read> externalFlag: array<f32>;
@group(0) @binding(3) var<storage, read_write> params: array<f32>;
@group(0) @binding(4) var<storage, read> grads: array<f32>;
@group(0) @binding(5) var<storage, read_write> m: array<f32>;
@group(0) @binding(6) var<storage, read_write> v: array<f32>;

// Control values after this step, from the previous copy.
fn advance(previous: AdamControl, activeFlag: f32) -> AdamControl {
  var next = previous;
  next.activeFlag = activeFlag;
  if (activeFlag <= 0.0) { return next; }
  next.step = previous.step + 1.0;
  next.biasCorrection1 = args.oneMinusBeta1 + args.beta1 * previous.biasCorrection1;
  next.biasCorrection2 = args.oneMinusBeta2 + args.beta2 * previous.biasCorrection2;
  if (args.clip != 0u) {
    next.gradScale = min(1.0, args.maxGradNorm / (sqrt(previous.gradNormSquared) + 1e-6));
  }
  return next;
}

fn adam_step(gid: vec3<u32>, nwg: vec3<u32>, activeFlag: f32) {
  let i = gid.x + gid.y * nwg.x * WG;
  let c = advance(control[args.previous], activeFlag);
  if (i == 0u) { control[1u - args.previous] = c; }
  if (i >= args.count || c.activeFlag <= 0.0) { return; }
  let g = c.gradScale * grads[i];
  let mi = args.beta1 * m[i] + args.oneMinusBeta1 * g;
  let vi = args.beta2 * v[i] + args.oneMinusBeta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  let stepSize = c.learningRate / c.biasCorrection1;
  let denom = sqrt(vi) / sqrt(c.biasCorrection2) + args.eps;
  params[i] -= stepSize * (mi / denom);
}

@compute @workgroup_size(WG)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  adam_step(gid, nwg, control[args.previous].activeFlag);
}

@compute @workgroup_size(WG)
fn adam_external(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  adam_step(gid, nwg, externalFlag[args.activeIndex]);
}
