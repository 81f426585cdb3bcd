// PPO update kernels: each epoch's minibatches gathered through a GPU permutation, the clipped
// surrogate (or adaptive KL penalty) gradient at the logits and the value-loss
// gradient in one dispatch, and the small scalar kernels (early stop,
// KL-coefficient adaptation).
// Loaded after shaders/random.wgsl (philox4x32, STREAM_PERMUTATION), the
// distribution module (dist_*, src/kernels/distribution.ts), the AgentParams struct,
// and the generated STAT_* constants (src/algos/ppo.ts STATS), METRIC_* slots,
// METRICS_BLOCK_FLOATS, and agent_seeds.wgsl.
//
// Populations: every buffer below is agent-major (workgroup id z is the agent a), agent
// a's block being the single-agent buffer described: obs at a · obsRows · obsDim, the other
// rollout buffers at a · batchSize rows, mbRecords at a · M · B rows, the networks' outputs
// and gradients at a · B rows, rowStats at
// a · STAT_COUNT · batchSize, metrics at a · METRICS_BLOCK_FLOATS. Agent a's clip, valueClip,
// entCoef, targetKl and klTarget are agents[a]'s; its permutation seed agent_seed(a).
//
// Rollout buffers (time-major, sample j = t * numEnvs + env, j < batchSize):
//   obs [obsRows][obsDim] (obsRows ≥ batchSize: the rollout's observation rows), actions [j][W] DistActionWord (W = dist_action_words(numActions):
//   a categorical index, or a Gaussian's components), logProbs [j], advantages [j],
//   returns [j], logits [j][numActions] (the behaviour policy's distribution parameters;
//   numActions is the parameters per row)
// Epoch buffers, M = minibatches of B = minibatchSize rows, written once per epoch:
//   mbObs [M][P][blockRows][obsDim], minibatch-major: block m holds every agent's rows of
//     minibatch m (blockRows ≥ B, so that each block starts on the storage offset alignment),
//     and the networks read it as their input, a view of this buffer, instead of a copy made
//     per minibatch
//   mbRecords [M · B][record_stride()]: logProbOld, advantage, return, then the behaviour
//     parameters, then the action's W words (the old value is return - advantage, derived
//     where it is read: a float less per row of an epoch's records)
// metrics: the iteration's metrics block; its METRIC_* slot constants are generated
//   from src/core/metrics.ts and prepended. The update kernels keep their scalars
//   there too (advantage statistics, KL coefficient, epoch KL, update_active).
// rowStats [STAT_COUNT][batchSize]: per-sample terms of the current epoch, stat-major
//   (row = minibatch * B + r) so each statistic is one contiguous range to reduce.
// policyLogits [B][numActions], valuePredictions [B]: the two networks' outputs;
//   policyGradOutput, valueGradOutput: the same shapes, dLoss/d(output) for their backward.
// Dispatch: gather_epoch takes M · B invocations (one row each, once per epoch: one dispatch
// instead of one per minibatch), minibatch_losses B (one row each, both losses: one dispatch
// per minibatch instead of two); the scalar kernels one.
//
// Permutation: sample index = perm_e(minibatch * B + row), perm_e a 4-round Feistel
// bijection on [0, 2^(2h)) ⊇ [0, batchSize) with cycle walking, round keys from
// philox((iteration, epoch, 0, 0), (seed, STREAM_PERMUTATION)): a fresh permutation
// per epoch without a sort. gather_epoch binds 8 storage buffers (the default
// per-stage limit), so it reads the agents' seeds from a uniform, 4 per vec4 (seeds
// never change on the GPU), not from `agents`.
//
// Clipped surrogate per sample, ratio r = exp(logp - logp_old), Â normalised advantage:
//   L = -min(r Â, clip(r, 1-ε, 1+ε) Â) - c_H H(π) + β KL(π_old || π)
//   (β = 0 for PPO-clip; PPO-KL drops the clip: L = -r Â + β KL - c_H H)
//   dL/dparams = g ∂logp/∂params + c_H ∂(-H)/∂params + β ∂KL/∂params (dist_update_gradient)
//   with g = -r Â where the unclipped term is the active one, else 0.
// Value loss (v - R)², or with value clipping max((v - R)², (v_old + clip(v - v_old, ±c) - R)²).
override WG: u32 = 64;

// RECORD_* (the fields of a minibatch record, then where the old parameters start) are generated from RECORD_FIELDS in src/algos/ppo.ts.

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

@group(0) @binding(0) var<uniform> ppo: PpoArgs;
@group(0) @binding(1) var<uniform> slot: MinibatchArgs;
@group(0) @binding(2) var<storage, read> obs: array<f32>;
@group(0) @binding(3) var<storage, read> actions: array<DistActionWord>;
@group(0) @binding(4) var<storage, read> logProbs: array<f32>;
@group(0) @binding(5) var<storage, read> advantages: array<f32>;
@group(0) @binding(6) var<storage, read> returns: array<f32>;
@group(0) @binding(7) var<storage, read> logits: array<f32>;
@group(0) @binding(8) var<storage, read_write> mbObs: array<f32>;
@group(0) @binding(9) var<storage, read_write> mbRecords: array<f32>;
@group(0) @binding(10) var<storage, read_write> metrics: array<f32>;
@group(0) @binding(11) var<storage, read> policyLogits: array<f32>;
@group(0) @binding(12) var<storage, read> valuePredictions: array<f32>;
@group(0) @binding(13) var<storage, read_write> policyGradOutput: array<f32>;
@group(0) @binding(14) var<storage, read_write> rowStats: array<f32>;
@group(0) @binding(15) var<storage, read> mbRecordsIn: array<f32>;
@group(0) @binding(16) var<storage, read_write> valueGradOutput: array<f32>;
@group(0) @binding(17) var<uniform> agentSeeds: AgentSeeds;
@group(0) @binding(18) var<storage, read> agents: array<AgentParams>;

// Index of agent a's metrics entry `at` (a METRIC_* slot).
fn metric(a: u32, at: u32) -> u32 {
  return a * METRICS_BLOCK_FLOATS + at;
}


// A well-mixing 32-bit integer hash (xor-shift-multiply) used as the Feistel round function.
fn mix32(x0: u32) -> u32 {
  var x = x0;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

fn feistel(x: u32, keys: vec4<u32>, halfBits: u32) -> u32 {
  let mask = (1u << halfBits) - 1u;
  var left = x >> halfBits;
  var right = x & mask;
  for (var round = 0u; round < 4u; round++) {
    let next = left ^ (mix32(right ^ keys[round]) & mask);
    left = right;
    right = next;
  }
  return (left << halfBits) | right;
}

// Position -> sample index for this epoch's permutation of [0, batchSize), under `seed`.
fn permuted_index(position: u32, epoch: u32, seed: u32) -> u32 {
  let keys = philox4x32(vec4<u32>(ppo.iteration, epoch, 0u, 0u), vec2<u32>(seed, STREAM_PERMUTATION));
  var y = feistel(position, keys, ppo.halfBits);
  // Cycle walking: the Feistel cycle through `position` returns into range.
  while (y >= ppo.batchSize) {
    y = feistel(y, keys, ppo.halfBits);
  }
  return y;
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

// Every minibatch of the epoch slot.epoch: position p = m · B + r of the permutation is
// minibatch m's row r.
@compute @workgroup_size(WG)
fn gather_epoch(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let position = linear_index(gid, nwg);
  if (position >= ppo.minibatches * ppo.minibatchSize) { return; }
  let seed = agent_seed(agent);
  let j = permuted_index(position, slot.epoch, seed);
  // j within the agent's batch; s the sample across the population.
  let s = agent * ppo.batchSize + j;
  let minibatch = position / ppo.minibatchSize;
  let row = position % ppo.minibatchSize;
  let mbObsRow = (minibatch * ppo.agents + agent) * ppo.blockRows + row;
  let obsRow = agent * ppo.obsRows + j;
  for (var k = 0u; k < ppo.obsDim; k++) {
    mbObs[mbObsRow * ppo.obsDim + k] = obs[obsRow * ppo.obsDim + k];
  }
  let base = record_row(agent, minibatch, row) * record_stride();
  let W = dist_action_words(ppo.numActions);
  for (var k = 0u; k < W; k++) {
    mbRecords[base + record_action() + k] = f32(actions[s * W + k]);
  }
  mbRecords[base + RECORD_LOG_PROB_OLD] = logProbs[s];
  mbRecords[base + RECORD_ADVANTAGE] = advantages[s];
  mbRecords[base + RECORD_RETURN] = returns[s];
  for (var k = 0u; k < ppo.numActions; k++) {
    mbRecords[base + RECORD_PARAMS_OLD + k] = logits[s * ppo.numActions + k];
  }
}

// Gradient of agent a's per-sample PPO policy loss at the distribution parameters, scaled by 1/B
// (the mean), and the sample's statistics for this epoch; row is the agent's minibatch row.
fn policy_loss(a: u32, row: u32) {
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
  for (var k = 0u; k < A; k++) { policyGradOutput[outRow * A + k] = g[k] * scale; }

  let statRow = slot.minibatch * ppo.minibatchSize + row;
  let stats = a * STAT_COUNT * ppo.batchSize;
  rowStats[stats + STAT_POLICY_LOSS * ppo.batchSize + statRow] = loss;
  // (r - 1) - log r: the low-variance, non-negative estimator of KL(old || new).
  rowStats[stats + STAT_APPROX_KL * ppo.batchSize + statRow] = (ratio - 1.0) - logRatio;
  rowStats[stats + STAT_CLIPPED * ppo.batchSize + statRow] = clipped;
  rowStats[stats + STAT_ENTROPY * ppo.batchSize + statRow] = entropy;
}

// Gradient of agent a's per-sample value loss (mean squared error, optionally clipped), scaled by 1/B.
fn value_loss(a: u32, row: u32) {
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
  valueGradOutput[outRow] = grad / f32(ppo.minibatchSize);
  rowStats[a * STAT_COUNT * ppo.batchSize + STAT_VALUE_LOSS * ppo.batchSize + slot.minibatch * ppo.minibatchSize + row] = loss;
}

// Both losses of a minibatch row, after both networks' forward passes.
@compute @workgroup_size(WG)
fn minibatch_losses(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let row = linear_index(gid, nwg);
  if (row >= ppo.minibatchSize) { return; }
  policy_loss(agent, row);
  value_loss(agent, row);
}

// Mean and population std of minibatch slot.minibatch's raw advantages, in a fixed order
// (one invocation: B is small next to the work of the losses).
@compute @workgroup_size(1)
fn minibatch_advantage_stats(@builtin(global_invocation_id) gid: vec3<u32>) {
  let agent = agent_index(gid);
  let stride = record_stride();
  let first = record_row(agent, slot.minibatch, 0u);
  var sum = 0.0;
  for (var r = 0u; r < ppo.minibatchSize; r++) {
    sum += mbRecordsIn[(first + r) * stride + RECORD_ADVANTAGE];
  }
  let mean = sum / f32(ppo.minibatchSize);
  var squares = 0.0;
  for (var r = 0u; r < ppo.minibatchSize; r++) {
    let d = mbRecordsIn[(first + r) * stride + RECORD_ADVANTAGE] - mean;
    squares += d * d;
  }
  metrics[metric(agent, METRIC_MINIBATCH_ADVANTAGE_MEAN)] = mean;
  metrics[metric(agent, METRIC_MINIBATCH_ADVANTAGE_STD)] = sqrt(squares / f32(ppo.minibatchSize));
}

// Early stop on target KL, after each epoch: once the epoch's mean approx KL exceeds
// 1.5 × targetKl, update_active drops to 0 and every later optimizer step of this
// iteration is a no-op (the optimizers read the flag), with no readback. An agent
// whose targetKl is 0 (early stop off) never stops.
@compute @workgroup_size(1)
fn early_stop(@builtin(global_invocation_id) gid: vec3<u32>) {
  let agent = agent_index(gid);
  let targetKl = agents[agent].targetKl;
  if (targetKl > 0.0 && metrics[metric(agent, METRIC_UPDATE_ACTIVE)] > 0.0 && metrics[metric(agent, METRIC_EPOCH_KL)] > 1.5 * targetKl) {
    metrics[metric(agent, METRIC_UPDATE_ACTIVE)] = 0.0;
    metrics[metric(agent, METRIC_STOPPED_EPOCH)] = f32(slot.epoch);
  }
}

// PPO-KL: adapt the penalty coefficient from the update's KL (seed 001, "Try it yourself" 4).
// The coefficient lives in the agent's metrics block (kl_coef, initially its klCoef), so it
// carries from one iteration to the next.
@compute @workgroup_size(1)
fn adapt_kl_coef(@builtin(global_invocation_id) gid: vec3<u32>) {
  let agent = agent_index(gid);
  let klTarget = agents[agent].klTarget;
  let kl = metrics[metric(agent, METRIC_APPROX_KL)];
  var coef = metrics[metric(agent, METRIC_KL_COEF)];
  if (kl > 1.3 * klTarget) {
    coef *= 1.5;
  } else if (kl < 0.7 * klTarget) {
    coef /= 1.5;
  }
  metrics[metric(agent, METRIC_KL_COEF)] = coef;
}

// Start of an iteration's update: optimizers on, no early stop yet.
@compute @workgroup_size(1)
fn begin_update(@builtin(global_invocation_id) gid: vec3<u32>) {
  let agent = agent_index(gid);
  metrics[metric(agent, METRIC_UPDATE_ACTIVE)] = 1.0;
  metrics[metric(agent, METRIC_STOPPED_EPOCH)] = -1.0;
}
