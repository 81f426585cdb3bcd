// Adam over flat parameter vectors, controlled from the GPU.
//
// Buffers:
//   params, grads, m, v  [count] f32 (one network's flat layout)
//   control              AdamControl: step count, learning rate, gradient
//                        scale, active flag, bias corrections (below)
//   externalFlag         [..] f32, an optional flag read at args.activeIndex (> 0: active)
//
// Dispatches per step:
//   adam_prepare or adam_prepare_external (1 invocation): decides whether this
//     step is active (the external variant copies externalFlag into control.activeFlag);
//     if active: t += 1, bias corrections advance, and with clipping
//     gradScale = min(1, maxGradNorm / (‖g‖ + 1e-6)) from control.gradNormSquared
//     (written just before by a sum-of-squares reduction of grads).
//   adam (count invocations): no-op unless control.activeFlag > 0; otherwise
//     torch.optim.Adam's update (no weight decay, no amsgrad):
//       g = gradScale · grads
//       m = β1 m + (1 − β1) g,   v = β2 v + (1 − β2) g²
//       p −= (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps)
// t is counted on the GPU, so steps skipped by the flag do not advance the bias
// corrections. 1 − β^t is advanced as c ← (1 − β) + β·c from c = 0: every term
// is positive, so unlike 1 − pow(β, t) in f32 it does not cancel for β near 1.
// t is an f32 (exact below 2^24 steps) so the whole control block is f32 data.
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
@group(0) @binding(1) var<storage, read_write> control: AdamControl;
@group(0) @binding(2) var<storage, read> externalFlag: array<f32>;
@group(0) @binding(3) var<storage, read> controlIn: AdamControl;
@group(0) @binding(4) var<storage, read_write> params: array<f32>;
@group(0) @binding(5) var<storage, read> grads: array<f32>;
@group(0) @binding(6) var<storage, read_write> m: array<f32>;
@group(0) @binding(7) var<storage, read_write> v: array<f32>;

fn advance() {
  if (control.activeFlag <= 0.0) { return; }
  control.step += 1.0;
  control.biasCorrection1 = args.oneMinusBeta1 + args.beta1 * control.biasCorrection1;
  control.biasCorrection2 = args.oneMinusBeta2 + args.beta2 * control.biasCorrection2;
  if (args.clip != 0u) {
    control.gradScale = min(1.0, args.maxGradNorm / (sqrt(control.gradNormSquared) + 1e-6));
  }
}

@compute @workgroup_size(1)
fn adam_prepare() {
  advance();
}

@compute @workgroup_size(1)
fn adam_prepare_external() {
  control.activeFlag = externalFlag[args.activeIndex];
  advance();
}

@compute @workgroup_size(WG)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= args.count || controlIn.activeFlag <= 0.0) { return; }
  let g = controlIn.gradScale * grads[i];
  let mi = args.beta1 * m[i] + args.oneMinusBeta1 * g;
  let vi = args.beta2 * v[i] + args.oneMinusBeta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  let stepSize = controlIn.learningRate / controlIn.biasCorrection1;
  let denom = sqrt(vi) / sqrt(controlIn.biasCorrection2) + args.eps;
  params[i] -= stepSize * (mi / denom);
}
