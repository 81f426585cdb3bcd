// PPO's per-sample losses at the networks' outputs (the clipped surrogate or the
// KL penalty, and the value loss), shared by two kernel families: ppo.wgsl's
// minibatch_losses, one dispatch of its own, and ppo_chain.wgsl's, where the
// losses open the two networks' input-gradient chains (one dispatch for both).
// One copy of the arithmetic, so both give the same bits. The buffers are
// described in ppo.wgsl's header; their binding numbers lie past the mlp
// family's (0 .. 40) so that ppo_chain.wgsl's module holds both.
// Loaded after the distribution module, AgentParams, the METRIC_* slots,
// METRICS_BLOCK_FLOATS, STAT_* and RECORD_* (src/algos/ppo.ts).

struct PpoArgs {
  batchSize: u32,
  minibatchSize: u32,
  obsDim: u32,
  numActions: u32,
  iteration: u32,
  halfBits: u32,
  // 0 none, 1 batch statistics, 2 minibatch statistics
  normalizeAdvantages: u32,
  useKlPenalty: u32,
  // rows of obs per agent
  obsRows: u32,
  // minibatches per epoch (M)
  minibatches: u32,
  // rows of mbObs from one agent's minibatch block to the next
  blockRows: u32,
  // agents P of the population
  agents: u32,
}

// One slot per (epoch, minibatch), selected with a dynamic offset.
struct MinibatchArgs {
  epoch: u32,
  minibatch: u32,
}

@group(0) @binding(41) var<uniform> ppo: PpoArgs;
@group(0) @binding(42) var<uniform> slot: MinibatchArgs;
@group(0) @binding(43) var<storage, read_write> metrics: array<f32>;
@group(0) @binding(44) var<storage, read> policyLogits: array<f32>;
@group(0) @binding(45) var<storage, read> valuePredictions: array<f32>;
@group(0) @binding(46) var<storage, read_write> policyGradOutput: array<f32>;
@group(0) @binding(47) var<storage, read_write> rowStats: array<f32>;
@group(0) @binding(48) var<storage, read> mbRecordsIn: array<f32>;
@group(0) @binding(49) var<storage, read_write> valueGradOutput: array<f32>;
@group(0) @binding(50) var<storage, read> agents: array<AgentParams>;

// Index of agent a's metrics entry `at` (a METRIC_* slot).
fn metric(a: u32, at: u32) -> u32 {
  return a * METRICS_BLOCK_FLOATS + at;
}

fn record_action() -> u32 {
  return RECORD_PARAMS_OLD + ppo.numActions;
}

fn record_stride() -> u32 {
  return record_action() + dist_action_words(ppo.numActions);
}

// Row m · B + r of agent a's epoch records: minibatch m's row r.
fn record_row(a: u32, minibatch: u32, row: u32) -> u32 {
  return (a * ppo.minibatches + minibatch) * ppo.minibatchSize + row;
}

// Gradient of agent a's per-sample PPO policy loss at the distribution parameters, scaled by 1/B
// (the mean), stored and returned, and the sample's statistics for this epoch; row is the agent's
// minibatch row.
fn policy_loss(a: u32, row: u32) -> DistParams {
  let A = ppo.numActions;
  // The row of the networks' outputs and their gradients (one minibatch each).
  let outRow = a * ppo.minibatchSize + row;
  let base = record_row(a, slot.minibatch, row) * record_stride();
  let clipRange = agents[a].clip;
  let entropyCoef = agents[a].entCoef;
  var words: DistActionWords;
  for (var k = 0u; k < dist_action_words(A); k++) { words[k] = DistActionWord(mbRecordsIn[base + record_action() + k]); }
  let action = dist_action_from_words(words, A);

  var current: DistParams;
  var behaviour: DistParams;
  for (var k = 0u; k < A; k++) {
    current[k] = policyLogits[outRow * A + k];
    behaviour[k] = mbRecordsIn[base + RECORD_PARAMS_OLD + k];
  }
  let update = dist_update(dist_from_params(behaviour, A), dist_from_params(current, A));
  let entropy = dist_update_entropy(update);
  let kl = dist_update_kl(update);

  var advantage = mbRecordsIn[base + RECORD_ADVANTAGE];
  if (ppo.normalizeAdvantages == 1u) {
    advantage = (advantage - metrics[metric(a, METRIC_ADVANTAGE_MEAN)]) / (metrics[metric(a, METRIC_ADVANTAGE_STD)] + 1e-8);
  } else if (ppo.normalizeAdvantages == 2u) {
    advantage = (advantage - metrics[metric(a, METRIC_MINIBATCH_ADVANTAGE_MEAN)]) / (metrics[metric(a, METRIC_MINIBATCH_ADVANTAGE_STD)] + 1e-8);
  }
  let logRatio = dist_update_log_prob(update, action) - mbRecordsIn[base + RECORD_LOG_PROB_OLD];
  let ratio = exp(logRatio);
  let surrogate = ratio * advantage;
  var loss: f32;
  var dLogP: f32;
  var clipped = 0.0;
  if (ppo.useKlPenalty != 0u) {
    loss = -surrogate + metrics[metric(a, METRIC_KL_COEF)] * kl;
    dLogP = -surrogate;
  } else {
    let clippedSurrogate = clamp(ratio, 1.0 - clipRange, 1.0 + clipRange) * advantage;
    loss = -min(surrogate, clippedSurrogate);
    // The clipped branch is active (zero gradient) exactly when it is strictly smaller.
    let clipActive = clippedSurrogate < surrogate;
    dLogP = select(-surrogate, 0.0, clipActive);
    clipped = select(0.0, 1.0, abs(ratio - 1.0) > clipRange);
  }
  loss -= entropyCoef * entropy;

  let beta = select(0.0, metrics[metric(a, METRIC_KL_COEF)], ppo.useKlPenalty != 0u);
  let scale = 1.0 / f32(ppo.minibatchSize);
  let g = dist_update_gradient(update, action, dLogP, entropyCoef, beta);
  var scaled: DistParams;
  for (var k = 0u; k < A; k++) {
    scaled[k] = g[k] * scale;
    policyGradOutput[outRow * A + k] = scaled[k];
  }

  let statRow = slot.minibatch * ppo.minibatchSize + row;
  let stats = a * STAT_COUNT * ppo.batchSize;
  rowStats[stats + STAT_POLICY_LOSS * ppo.batchSize + statRow] = loss;
  // (r - 1) - log r: the low-variance, non-negative estimator of KL(old || new).
  rowStats[stats + STAT_APPROX_KL * ppo.batchSize + statRow] = (ratio - 1.0) - logRatio;
  rowStats[stats + STAT_CLIPPED * ppo.batchSize + statRow] = clipped;
  rowStats[stats + STAT_ENTROPY * ppo.batchSize + statRow] = entropy;
  return scaled;
}

// Gradient of agent a's per-sample value loss (mean squared error, optionally clipped), scaled by 1/B,
// stored and returned.
fn value_loss(a: u32, row: u32) -> f32 {
  // The row of the networks' outputs and their gradients (one minibatch each).
  let outRow = a * ppo.minibatchSize + row;
  let base = record_row(a, slot.minibatch, row) * record_stride();
  let valueClip = agents[a].valueClip;
  let value = valuePredictions[outRow];
  let returnTarget = mbRecordsIn[base + RECORD_RETURN];
  var loss = (value - returnTarget) * (value - returnTarget);
  var grad = 2.0 * (value - returnTarget);
  if (valueClip > 0.0) {
    // The old value: return − advantage (as the records stored it before, so the same bits).
    let valueOld = returnTarget - mbRecordsIn[base + RECORD_ADVANTAGE];
    let clippedValue = valueOld + clamp(value - valueOld, -valueClip, valueClip);
    let clippedLoss = (clippedValue - returnTarget) * (clippedValue - returnTarget);
    if (clippedLoss > loss) {
      loss = clippedLoss;
      // d clippedValue / d value is 1 inside the clip range, 0 outside.
      let inside = abs(value - valueOld) <= valueClip;
      grad = select(0.0, 2.0 * (clippedValue - returnTarget), inside);
    }
  }
  let scaled = grad / f32(ppo.minibatchSize);
  valueGradOutput[outRow] = scaled;
  rowStats[a * STAT_COUNT * ppo.batchSize + STAT_VALUE_LOSS * ppo.batchSize + slot.minibatch * ppo.minibatchSize + row] = loss;
  return scaled;
}

