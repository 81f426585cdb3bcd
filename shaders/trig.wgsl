// trig.wgsl — sine and cosine for env modules, to about 1 ulp for |theta| < 1e4.
// Helpers only; `envSources` (src/envs/env.ts) loads it before the env module,
// so every env (a user's too) can call accurate_sin_cos.
//
// WGSL lets the built-in sin/cos be off by 2^-11 absolute, and SwiftShader's
// are (~2e-4), far more than a float32 state carries. Here: reduce by pi/2 in
// three exact-product parts (Cody-Waite), then Taylor series on [-pi/4, pi/4]
// (truncation below 2e-9).

// (sin(theta), cos(theta)).
fn accurate_sin_cos(theta: f32) -> vec2<f32> {
  let k = round(theta * 0.636619772367581343);
  let r = ((theta - k * 1.5703125) - k * 4.837512969970703125e-4) - k * 7.54978995489188216e-8;
  let r2 = r * r;
  let s = r + r * r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 * (1.0 / 362880.0))));
  let c = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40320.0 + r2 * (-1.0 / 3628800.0)))));
  // theta = k pi/2 + r: quadrant q = k mod 4 gives (s, c), (c, -s), (-s, -c), (-c, s),
  // chosen with selects rather than a switch so SIMD lanes never diverge.
  let q = i32(k) & 3;
  let swapped = select(vec2<f32>(s, c), vec2<f32>(c, s), (q & 1) == 1);
  let signs = vec2<f32>(select(1.0, -1.0, (q & 2) == 2), select(1.0, -1.0, ((q + 1) & 2) == 2));
  return swapped * signs;
}
