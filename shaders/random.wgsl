// random.wgsl — counter-based random numbers (helpers only: no bindings, no entry points).
//
// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011): a keyed bijection of a 128-bit counter, so any invocation can draw
// the numbers it needs from (counter, key) alone, with no state to carry, and
// every adapter returns the same bits. src/core/random.ts is the bit-exact twin.
//
// Key convention: key = vec2(seed, STREAM_x); the counter is chosen by the user,
// e.g. (env or sample index, step or episode, extra, 0). Distinct streams keep
// unrelated uses (resets, action sampling, permutations, init) from ever
// sharing numbers.
//
// One round on counter (c0, c1, c2, c3) with key (k0, k1):
//   (hi0, lo0) = M0 * c0, (hi1, lo1) = M1 * c2   (full 64-bit products)
//   c' = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0),  then k += (W0, W1).
// WGSL has no 32x32 -> 64 multiply, so the high word is built from 16-bit halves.

const STREAM_RESET: u32 = 0u;
const STREAM_ACTION: u32 = 1u;
const STREAM_PERMUTATION: u32 = 2u;
const STREAM_INIT: u32 = 3u;

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// High 32 bits of the 64-bit product a * b. Each partial product of 16-bit
// halves fits in u32; `middle` collects the carries into bit 32 (< 3 * 2^16).
fn philox_mulhi(a: u32, b: u32) -> u32 {
  let aLo = a & 0xFFFFu;
  let aHi = a >> 16u;
  let bLo = b & 0xFFFFu;
  let bHi = b >> 16u;
  let loLo = aLo * bLo;
  let loHi = aLo * bHi;
  let hiLo = aHi * bLo;
  let middle = (loLo >> 16u) + (loHi & 0xFFFFu) + (hiLo & 0xFFFFu);
  return aHi * bHi + (loHi >> 16u) + (hiLo >> 16u) + (middle >> 16u);
}

fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
  let hi0 = philox_mulhi(PHILOX_M0, c.x);
  let hi1 = philox_mulhi(PHILOX_M1, c.z);
  return vec4<u32>(hi1 ^ c.y ^ k.x, PHILOX_M1 * c.z, hi0 ^ c.w ^ k.y, PHILOX_M0 * c.x);
}

fn philox4x32(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    c = philox_round(c, k);
    k += vec2<u32>(PHILOX_W0, PHILOX_W1);
  }
  return c;
}

// The top 24 bits as a multiple of 2^-24 in [0, 1): exactly representable in
// f32, so the value does not depend on the adapter's rounding.
fn uniform01(bits: u32) -> f32 {
  return f32(bits >> 8u) * (1.0 / 16777216.0);
}
