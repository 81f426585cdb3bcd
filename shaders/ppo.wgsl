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
// per minibatch instead of two; where the networks' `rows` chains pair, ppo_chain.wgsl runs the
// losses at the start of their input-gradient chains instead); the scalar kernels one.
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

// PpoArgs, MinibatchArgs, the losses' bindings (ppo, slot, metrics, mbRecordsIn, the networks'
// outputs and gradients, rowStats, agents), metric(), record_*() and the losses: ppo_losses.wgsl.

@group(0) @binding(2) var<storage, read> obs: array<f32>;
@group(0) @binding(3) var<storage, read> actions: array<DistActionWord>;
@group(0) @binding(4) var<storage, read> logProbs: array<f32>;
@group(0) @binding(5) var<storage, read> advantages: array<f32>;
@group(0) @binding(6) var<storage, read> returns: array<f32>;
@group(0) @binding(7) var<storage, read> logits: array<f32>;
@group(0) @binding(8) var<storage, read_write> mbObs: array<f32>;
@group(0) @binding(9) var<storage, read_write> mbRecords: array<f32>;
@group(0) @binding(17) var<uniform> agentSeeds: AgentSeeds;

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

// Both losses of a minibatch row, after both networks' forward passes.
@compute @workgroup_size(WG)
fn minibatch_losses(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let row = linear_index(gid, nwg);
  if (row >= ppo.minibatchSize) { return; }
  _ = policy_loss(agent, row);
  _ = value_loss(agent, row);
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
