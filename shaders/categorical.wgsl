// categorical.wgsl — the categorical action distribution over logits (helpers
// only: no bindings, no entry points). Loaded after random.wgsl and the
// generated DIST_MAX_PARAMS (src/kernels/distribution.ts, which also lists
// the module for the wrappers).
//
// The distribution interface. Kernels call only these names; a module for
// another action space (a diagonal Gaussian over mean and log-std) declares
// the same types and functions over its own parameters, and the wrapper
// prepends whichever module the action space needs:
//   DistParams   one row of the policy output (a caller loads its row into one)
//   DistAction   what a row's action is
//   DistActionWord, dist_action_words(count)   how a buffer stores actions: that
//                many words of that type per row (the rollout's EnvAction rows)
//   dist_action_from_words(words, count)       a stored action, as a DistAction
//   dist_action_to_words(a)                    and back
//   Dist         one row's distribution:  dist_from_params(params, count)
//   dist_log_prob(d, a), dist_entropy(d), dist_kl(old, updated)
//   dist_sample(d, counter, key)   a draw from philox4x32(counter, key)
//   dist_mode(d)                   the most likely action (greedy evaluation)
//   dist_grad_log_prob(d, a)       ∂ log π(a) / ∂params
//   dist_fisher_weights(d, u)      F_params u: the Fisher matrix of π in its
//                                  parameters times a tangent u of them
//   DistUpdate   one row before and after an update: dist_update(old, updated), and
//   dist_update_log_prob(up, a), dist_update_entropy(up), dist_update_kl(up),
//   dist_update_gradient(up, a, wLogProb, wEntropy, wKl)
//                = ∂/∂params [wLogProb·log π(a) − wEntropy·H(π) + wKl·KL(π_old ‖ π)]
//
// Categorical: params are logits l[0 .. count), with m = max_k l_k and
// s = Σ_k exp(l_k − m). Two roundings of the same maths, each kept because
// training is pinned to its bits:
//   from (m, s) directly: log p_a = (l_a − m) − log s,  p_k = exp(l_k − m) / s
//     (Dist functions: the policy head kernels, the full-batch gradient, the FVP);
//   from normalised log-probs, lse = m + log s: log p_k = l_k − lse,
//     p_k = exp(log p_k), which the three terms and the gradient of an update
//     share (DistUpdate functions: PPO, the TRPO line search).
//
// Parameters and locals here avoid the kernels' binding names: reflection
// (wgsl_reflect) counts an identifier that shadows a binding as a use of it.

alias DistParams = array<f32, DIST_MAX_PARAMS>;
alias DistAction = u32;
alias DistActionWord = i32;
alias DistActionWords = array<DistActionWord, 1>;

struct Dist {
  logits: DistParams,
  count: u32,
  maxLogit: f32,
  // Σ_k exp(l_k − maxLogit)
  expSum: f32,
}

struct DistUpdate {
  logProbs: DistParams,
  logProbsOld: DistParams,
  count: u32,
}

// The max starts at l_0: the same bits as starting below every logit, for any logit that is not NaN.
fn dist_from_params(rowValues: DistParams, count: u32) -> Dist {
  var m = rowValues[0];
  for (var k = 1u; k < count; k++) { m = max(m, rowValues[k]); }
  var s = 0.0;
  for (var k = 0u; k < count; k++) { s += exp(rowValues[k] - m); }
  return Dist(rowValues, count, m, s);
}

fn dist_action_words(count: u32) -> u32 {
  return 1u;
}

// An out-of-range index reads the last action rather than another row's logit.
fn dist_action_from_words(words: DistActionWords, count: u32) -> DistAction {
  return min(u32(max(words[0], 0)), count - 1u);
}

fn dist_action_to_words(a: DistAction) -> DistActionWords {
  return DistActionWords(i32(a));
}

fn categorical_prob(d: Dist, k: u32) -> f32 {
  return exp(d.logits[k] - d.maxLogit) / d.expSum;
}

fn dist_log_prob(d: Dist, a: DistAction) -> f32 {
  return d.logits[a] - d.maxLogit - log(d.expSum);
}

// −Σ p_k log p_k = log s − Σ_k exp(l_k − m) (l_k − m) / s
fn dist_entropy(d: Dist) -> f32 {
  var weighted = 0.0;
  for (var k = 0u; k < d.count; k++) {
    let shifted = d.logits[k] - d.maxLogit;
    weighted += exp(shifted) * shifted;
  }
  return log(d.expSum) - weighted / d.expSum;
}

// KL(π_old ‖ π_new) = Σ_k p_old,k (l_old,k − l_new,k) − (lse_old − lse_new), clamped at 0 against rounding.
fn dist_kl(old: Dist, updated: Dist) -> f32 {
  var weighted = 0.0;
  for (var k = 0u; k < old.count; k++) {
    weighted += exp(old.logits[k] - old.maxLogit) * (old.logits[k] - updated.logits[k]);
  }
  let lseDifference = (old.maxLogit - updated.maxLogit) + (log(old.expSum) - log(updated.expSum));
  return max(weighted / old.expSum - lseDifference, 0.0);
}

// Inverse CDF: the first action a with u·s < Σ_{b ≤ a} exp(l_b − m), u in [0, 1).
// The running sum ends at exactly s and u·s < s, so only a NaN row runs off the
// end; it then falls back to the last action with nonzero probability, never to
// one the policy cannot take (whose log-probability would be −inf).
fn categorical_inverse_cdf(d: Dist, u: f32) -> DistAction {
  let threshold = u * d.expSum;
  var cumulative = 0.0;
  var chosen = 0u;
  for (var k = 0u; k < d.count; k++) {
    let e = exp(d.logits[k] - d.maxLogit);
    if (e > 0.0) { chosen = k; }
    cumulative += e;
    if (threshold < cumulative) { break; }
  }
  return chosen;
}

fn dist_sample(d: Dist, counter: vec4<u32>, key: vec2<u32>) -> DistAction {
  return categorical_inverse_cdf(d, uniform01(philox4x32(counter, key).x));
}

// The first largest logit.
fn dist_mode(d: Dist) -> DistAction {
  var best = 0u;
  for (var k = 1u; k < d.count; k++) {
    if (d.logits[k] > d.logits[best]) { best = k; }
  }
  return best;
}

// ∂ log p_a / ∂l_k = 1[k = a] − p_k
fn dist_grad_log_prob(d: Dist, a: DistAction) -> DistParams {
  var g: DistParams;
  for (var k = 0u; k < d.count; k++) {
    g[k] = select(0.0, 1.0, k == a) - categorical_prob(d, k);
  }
  return g;
}

// (diag p − p pᵀ) u = p ⊙ u − p (p·u): the softmax Fisher matrix in the logits.
fn dist_fisher_weights(d: Dist, u: DistParams) -> DistParams {
  var p: DistParams;
  var pu = 0.0;
  for (var k = 0u; k < d.count; k++) {
    p[k] = categorical_prob(d, k);
    pu += p[k] * u[k];
  }
  var w: DistParams;
  for (var k = 0u; k < d.count; k++) { w[k] = p[k] * (u[k] - pu); }
  return w;
}

fn dist_update(old: Dist, updated: Dist) -> DistUpdate {
  let lse = updated.maxLogit + log(updated.expSum);
  let lseOld = old.maxLogit + log(old.expSum);
  var up: DistUpdate;
  up.count = updated.count;
  for (var k = 0u; k < updated.count; k++) {
    up.logProbs[k] = updated.logits[k] - lse;
    up.logProbsOld[k] = old.logits[k] - lseOld;
  }
  return up;
}

fn dist_update_log_prob(up: DistUpdate, a: DistAction) -> f32 {
  return up.logProbs[a];
}

fn dist_update_entropy(up: DistUpdate) -> f32 {
  var h = 0.0;
  for (var k = 0u; k < up.count; k++) { h -= exp(up.logProbs[k]) * up.logProbs[k]; }
  return h;
}

fn dist_update_kl(up: DistUpdate) -> f32 {
  var divergence = 0.0;
  for (var k = 0u; k < up.count; k++) {
    divergence += exp(up.logProbsOld[k]) * (up.logProbsOld[k] - up.logProbs[k]);
  }
  return divergence;
}

// wLogProb (1[k = a] − p_k) + wEntropy p_k (log p_k + H) + wKl (p_k − p_old,k)
fn dist_update_gradient(up: DistUpdate, a: DistAction, wLogProb: f32, wEntropy: f32, wKl: f32) -> DistParams {
  let h = dist_update_entropy(up);
  var g: DistParams;
  for (var k = 0u; k < up.count; k++) {
    let p = exp(up.logProbs[k]);
    let indicator = select(0.0, 1.0, k == a);
    var gk = wLogProb * (indicator - p);
    gk += wEntropy * p * (up.logProbs[k] + h);
    gk += wKl * (p - exp(up.logProbsOld[k]));
    g[k] = gk;
  }
  return g;
}
