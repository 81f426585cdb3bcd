// Finiteness of f32 tensors, read as raw bits: an f32 is NaN or ±infinity
// exactly when its exponent bits are all ones. Integer tests, because WGSL lets
// a compiler assume floats are finite, so isNan-style float tests (and clamp,
// min, max) may not see a NaN at all.
//
// Buffers, agent-major for a population (workgroup id z is the agent a):
//   bits      [P][stride] the tensor's f32 values, as u32: agent a's from a·stride + offset
//   partials  [P][≥ partialCount] u32 (agent a's from a·partialCount)
//   flags     [P][flagStride] f32, e.g. the metrics blocks: agent a's flag at a·flagStride + flagIndex,
//             so a non-finite value names the agent whose tensor holds it
//
// Two dispatches per tensor, the args slot chosen by a dynamic offset:
//   count_non_finite (partialCount invocations): invocation j counts the
//     non-finite values among elements j, j + P, j + 2P, ... (P = partialCount).
//   flag_non_finite (1 invocation): when any partial is non-zero, sets the
//     tensor's bit (1 << args.bit) in the flag, a bit mask kept as an f32
//     (exact below 2^24, so at most 24 tensors); bits are only ever set.
override WG: u32 = 64;

const EXPONENT_BITS: u32 = 0x7f800000u;

struct FiniteArgs {
  count: u32,
  offset: u32,
  partialCount: u32,
  bit: u32,
  flagIndex: u32,
  // floats between consecutive agents' blocks of the tensor and of flags
  stride: u32,
  flagStride: u32,
}

@group(0) @binding(0) var<uniform> args: FiniteArgs;
@group(0) @binding(1) var<storage, read> bits: array<u32>;
@group(0) @binding(2) var<storage, read_write> partials: array<u32>;
@group(0) @binding(3) var<storage, read_write> flags: array<f32>;

@compute @workgroup_size(WG)
fn count_non_finite(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let j = linear_index(gid, nwg);
  let P = args.partialCount;
  if (j >= P) { return; }
  let base = agent * args.stride + args.offset;
  var found = 0u;
  for (var k = j; k < args.count; k += P) {
    found += select(0u, 1u, (bits[base + k] & EXPONENT_BITS) == EXPONENT_BITS);
  }
  partials[agent * P + j] = found;
}

@compute @workgroup_size(WG)
fn flag_non_finite(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x != 0u || gid.y != 0u) { return; }
  let agent = agent_index(gid);
  let first = agent * args.partialCount;
  var found = 0u;
  for (var j = 0u; j < args.partialCount; j++) { found |= partials[first + j]; }
  if (found != 0u) {
    let slot = agent * args.flagStride + args.flagIndex;
    flags[slot] = f32(u32(flags[slot]) | (1u << args.bit));
  }
}
