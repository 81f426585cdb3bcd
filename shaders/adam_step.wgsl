// Adam's step arithmetic, shared by optim.wgsl's kernels and the MLP's
// parameter-gradient chain that applies the step as it computes the gradients
// (backward_params_adam_chain in mlp.wgsl): one copy of each operation, so both
// give the same bits. The algorithm and the control block are described in
// optim.wgsl's header. Needs AgentParams (src/core/agentParams.ts) before it.
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

// A parameter with its moments after one step.
struct AdamParameter {
  param: f32,
  m: f32,
  v: f32,
}

// The control block after this step, from the one before it, the agent's active flag and record.
fn adam_control(a: AdamArgs, previous: AdamControl, activeFlag: f32, record: AgentParams) -> AdamControl {
  var next = previous;
  next.activeFlag = activeFlag;
  if (a.rateSource == RATE_FROM_LR) {
    next.learningRate = record.lr * a.rateFraction;
  } else if (a.rateSource == RATE_FROM_VALUE_LR) {
    next.learningRate = record.valueLr * a.rateFraction;
  }
  if (activeFlag > 0.0) {
    next.step = previous.step + 1.0;
    next.biasCorrection1 = a.oneMinusBeta1 + a.beta1 * previous.biasCorrection1;
    next.biasCorrection2 = a.oneMinusBeta2 + a.beta2 * previous.biasCorrection2;
    if (a.clip != 0u) {
      next.gradScale = min(1.0, record.maxGradNorm / (sqrt(previous.gradNormSquared) + 1e-6));
    }
  }
  return next;
}

// One parameter's step under the control block c (an active one).
fn adam_parameter(a: AdamArgs, c: AdamControl, param: f32, grad: f32, m: f32, v: f32) -> AdamParameter {
  let g = c.gradScale * grad;
  let mi = a.beta1 * m + a.oneMinusBeta1 * g;
  let vi = a.beta2 * v + a.oneMinusBeta2 * g * g;
  let stepSize = c.learningRate / c.biasCorrection1;
  let denom = sqrt(vi) / sqrt(c.biasCorrection2) + a.eps;
  return AdamParameter(param - stepSize * (mi / denom), mi, vi);
}
