/**
 * Bit-exact TypeScript twin of shaders/random.wgsl: Philox-4x32-10 and the
 * uniform [0, 1) mapping, so CPU references draw exactly the numbers the GPU
 * draws. Key convention: key = [seed, STREAM_x]; the counter is the caller's.
 */

export const STREAM_RESET = 0;
/** Philox key word of the action-sampling stream. */
export const STREAM_ACTION = 1;
/** Philox key word of the minibatch-permutation stream. */
export const STREAM_PERMUTATION = 2;
/** Philox key word of the weight-initialisation stream. */
export const STREAM_INIT = 3;

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product a * b, from 16-bit halves as the WGSL does. */
function mulhi(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loHi = aLo * bHi;
  const hiLo = aHi * bLo;
  const middle = ((aLo * bLo) >>> 16) + (loHi & 0xffff) + (hiLo & 0xffff);
  return (aHi * bHi + (loHi >>> 16) + (hiLo >>> 16) + (middle >>> 16)) >>> 0;
}

/** Philox-4x32-10 of `counter` under `key` (all words taken as uint32). */
export function philox4x32(counter: readonly [number, number, number, number], key: readonly [number, number]): Uint32Array {
  let [c0, c1, c2, c3] = counter.map((v) => v >>> 0);
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + PHILOX_W0) >>> 0;
    k1 = (k1 + PHILOX_W1) >>> 0;
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

/** The top 24 bits as a multiple of 2^-24 in [0, 1) (exact in float32). */
export function uniform01(bits: number): number {
  return (bits >>> 8) * 2 ** -24;
}

/**
 * Four uniform numbers in [−width/2, width/2) for the reset of episode
 * `episode` of env `env`: the twin of reset_uniform4 in shaders/auto_reset.wgsl
 * (draw 0 of the STREAM_RESET stream), in float64.
 */
export function resetUniform4(seed: number, env: number, episode: number, width: number): [number, number, number, number] {
  const bits = philox4x32([env, episode, 0, 0], [seed, STREAM_RESET]);
  const value = (w: number) => width * (uniform01(w) - 0.5);
  return [value(bits[0]), value(bits[1]), value(bits[2]), value(bits[3])];
}
