// gaussian.wgsl — the diagonal Gaussian action distribution over D continuous
// action components (helpers only: no bindings, no entry points), with the
// dist_* interface of categorical.wgsl (whose header describes it). Loaded
// after random.wgsl and the generated DIST_MAX_PARAMS and DIST_MAX_ACTION_DIM
// (src/kernels/distribution.ts).
//
// Params of a row: count = 2D values, the means μ[0 .. D) (the network's
// output) then the log standard deviations ℓ[0 .. D) (state-independent
// parameters the caller copies into every row); σ = exp(ℓ). An action is D
// floats, taken as sampled: any clipping to an env's bounds happens in the env
// step, so log-probabilities are those of the unclipped sample. With
// z_i = (a_i − μ_i) / σ_i and c = ½ log 2π:
//   log π(a)     = Σ_i −½ z_i² − ℓ_i − c
//   H            = Σ_i ℓ_i + ½ + c
//   KL(old ‖ new)= Σ_i ½ (e^x − 1 − x) + ½ ((μo − μn) / σn)²,  x = 2(ℓo − ℓn)
//                  (the textbook ℓn − ℓo + (σo² + (μo − μn)²) / 2σn² − ½, written
//                  so that small updates keep their relative precision)
//   ∂ log π / ∂μ_i = z_i / σ_i,   ∂ log π / ∂ℓ_i = z_i² − 1
//   Fisher in (μ, ℓ): diagonal, 1/σ_i² for μ_i and 2 for ℓ_i
// Every row is its own update too, so DistUpdate keeps the two rows and its
// functions are the Dist ones (one rounding: no normalised form to share).
//
// Sampling, Box–Muller: draw j (j = 0, 1, ...) of a row is
// philox4x32(counter + (0, 0, 0, j), key), and its four words give the normal
// draws z_{4j .. 4j+3}: words (x, y) → (r cos φ, r sin φ) and (z, w) the same,
// with r = sqrt(−2 log(1 − u_first)) (1 − u in (0, 1], so r is finite) and
// φ = 2π u_second − π (in [−π, π), where WGSL bounds the built-ins' error).
// Callers leave counter.w at 0 for the draw index (the rollout keys
// (env, t, iteration, 0) with (seed, STREAM_ACTION), as for categorical).
//
// Parameters and locals here avoid the kernels' binding names: reflection
// (wgsl_reflect) counts an identifier that shadows a binding as a use of it.

alias DistParams = array<f32, DIST_MAX_PARAMS>;
alias DistAction = array<f32, DIST_MAX_ACTION_DIM>;
alias DistActionWord = f32;
alias DistActionWords = DistAction;

// ½ log 2π
const GAUSSIAN_HALF_LOG_TWO_PI: f32 = 0.918938533204672742;
const GAUSSIAN_TWO_PI: f32 = 6.28318530717958648;
const GAUSSIAN_PI: f32 = 3.14159265358979324;

struct Dist {
  meanLogStd: DistParams,
  // action components D (count = 2D)
  dim: u32,
}

struct DistUpdate {
  updated: Dist,
  old: Dist,
}

fn dist_from_params(rowValues: DistParams, count: u32) -> Dist {
  return Dist(rowValues, count / 2u);
}

// Actions are stored as their D components.
fn dist_action_words(count: u32) -> u32 {
  return count / 2u;
}

fn dist_action_from_words(words: DistActionWords, count: u32) -> DistAction {
  return words;
}

fn dist_action_to_words(a: DistAction) -> DistActionWords {
  return a;
}

fn gaussian_mean(d: Dist, i: u32) -> f32 {
  return d.meanLogStd[i];
}

fn gaussian_log_std(d: Dist, i: u32) -> f32 {
  return d.meanLogStd[d.dim + i];
}

// (a_i − μ_i) / σ_i
fn gaussian_standardised(d: Dist, a: DistAction, i: u32) -> f32 {
  return (a[i] - gaussian_mean(d, i)) * exp(-gaussian_log_std(d, i));
}

fn dist_log_prob(d: Dist, a: DistAction) -> f32 {
  var lp = 0.0;
  for (var i = 0u; i < d.dim; i++) {
    let zi = gaussian_standardised(d, a, i);
    lp -= 0.5 * zi * zi + gaussian_log_std(d, i) + GAUSSIAN_HALF_LOG_TWO_PI;
  }
  return lp;
}

fn dist_entropy(d: Dist) -> f32 {
  var h = 0.0;
  for (var i = 0u; i < d.dim; i++) { h += gaussian_log_std(d, i) + (0.5 + GAUSSIAN_HALF_LOG_TWO_PI); }
  return h;
}

// e^y − 1 − y: its Taylor series through y⁸ where e^y would cancel (|y| < 0.5,
// truncation below 4e-8 relative), e^y directly elsewhere.
fn gaussian_exp_excess(y: f32) -> f32 {
  let series = y * y * (1.0 / 2.0 + y * (1.0 / 6.0 + y * (1.0 / 24.0 + y * (1.0 / 120.0 + y * (1.0 / 720.0 + y * (1.0 / 5040.0 + y * (1.0 / 40320.0)))))));
  return select(exp(y) - 1.0 - y, series, abs(y) < 0.5);
}

// Clamped at 0 against rounding, as categorical's.
fn dist_kl(old: Dist, updated: Dist) -> f32 {
  var divergence = 0.0;
  for (var i = 0u; i < old.dim; i++) {
    let logRatio = gaussian_log_std(old, i) - gaussian_log_std(updated, i);
    let meanShift = (gaussian_mean(old, i) - gaussian_mean(updated, i)) * exp(-gaussian_log_std(updated, i));
    divergence += 0.5 * gaussian_exp_excess(2.0 * logRatio) + 0.5 * meanShift * meanShift;
  }
  return max(divergence, 0.0);
}

// Two standard normal draws from two words.
fn gaussian_box_muller(first: u32, second: u32) -> vec2<f32> {
  // log may round above 0 just below 1: the max keeps the radius real.
  let radius = sqrt(max(-2.0 * log(1.0 - uniform01(first)), 0.0));
  let phi = GAUSSIAN_TWO_PI * uniform01(second) - GAUSSIAN_PI;
  return radius * vec2<f32>(cos(phi), sin(phi));
}

fn dist_sample(d: Dist, counter: vec4<u32>, key: vec2<u32>) -> DistAction {
  var a: DistAction;
  for (var j = 0u; 4u * j < d.dim; j++) {
    let bits = philox4x32(counter + vec4<u32>(0u, 0u, 0u, j), key);
    let normals = vec4<f32>(gaussian_box_muller(bits.x, bits.y), gaussian_box_muller(bits.z, bits.w));
    for (var k = 0u; k < 4u && 4u * j + k < d.dim; k++) {
      let i = 4u * j + k;
      a[i] = gaussian_mean(d, i) + exp(gaussian_log_std(d, i)) * normals[k];
    }
  }
  return a;
}

// The mean.
fn dist_mode(d: Dist) -> DistAction {
  var a: DistAction;
  for (var i = 0u; i < d.dim; i++) { a[i] = gaussian_mean(d, i); }
  return a;
}

// (z_i / σ_i for the means, z_i² − 1 for the log-stds)
fn dist_grad_log_prob(d: Dist, a: DistAction) -> DistParams {
  var g: DistParams;
  for (var i = 0u; i < d.dim; i++) {
    let inverseStd = exp(-gaussian_log_std(d, i));
    let zi = (a[i] - gaussian_mean(d, i)) * inverseStd;
    g[i] = zi * inverseStd;
    g[d.dim + i] = zi * zi - 1.0;
  }
  return g;
}

// The Fisher matrix in (μ, ℓ) times u: u_μ / σ² and 2 u_ℓ.
fn dist_fisher_weights(d: Dist, u: DistParams) -> DistParams {
  var w: DistParams;
  for (var i = 0u; i < d.dim; i++) {
    let inverseVariance = exp(-2.0 * gaussian_log_std(d, i));
    w[i] = u[i] * inverseVariance;
    w[d.dim + i] = 2.0 * u[d.dim + i];
  }
  return w;
}

fn dist_update(old: Dist, updated: Dist) -> DistUpdate {
  return DistUpdate(updated, old);
}

fn dist_update_log_prob(up: DistUpdate, a: DistAction) -> f32 {
  return dist_log_prob(up.updated, a);
}

fn dist_update_entropy(up: DistUpdate) -> f32 {
  return dist_entropy(up.updated);
}

fn dist_update_kl(up: DistUpdate) -> f32 {
  return dist_kl(up.old, up.updated);
}

// ∂/∂params of wLogProb·log π(a) − wEntropy·H + wKl·KL(old ‖ new), with ∂H/∂ℓ_i = 1 and
// ∂KL/∂μn_i = (μn − μo) / σn²,  ∂KL/∂ℓn_i = 1 − (σo² + (μo − μn)²) / σn².
fn dist_update_gradient(up: DistUpdate, a: DistAction, wLogProb: f32, wEntropy: f32, wKl: f32) -> DistParams {
  let d = up.updated;
  let D = d.dim;
  var g: DistParams;
  for (var i = 0u; i < D; i++) {
    let inverseStd = exp(-gaussian_log_std(d, i));
    let zi = (a[i] - gaussian_mean(d, i)) * inverseStd;
    let meanShift = (gaussian_mean(d, i) - gaussian_mean(up.old, i)) * inverseStd;
    let stdRatio = exp(gaussian_log_std(up.old, i) - gaussian_log_std(d, i));
    g[i] = wLogProb * zi * inverseStd + wKl * meanShift * inverseStd;
    g[D + i] = wLogProb * (zi * zi - 1.0) - wEntropy + wKl * (1.0 - stdRatio * stdRatio - meanShift * meanShift);
  }
  return g;
}
