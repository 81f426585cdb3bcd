// Deterministic reductions of n f32 values into one slot of a small result buffer.
//
// Buffers, agent-major for a population (workgroup id z is the agent a):
//   input, inputB  [P][inputStride] f32: agent a reads input[a·inputStride + offset ..
//                  + offset + count) (inputB only read by OP_DOT; bind input again otherwise)
//   partials       [P][partialCount] vec2<f32>
//   output         [P][outputStride] f32: agent a's result slot(s) from a·outputStride + outputIndex
// Each agent's reduction is the single-agent one on its block, in the same order.
//
// Two dispatches, each in a fixed order, so results are bit-reproducible:
//   partials (partialCount invocations): invocation j reduces the elements
//     j, j + P, j + 2P, ... (P = partialCount). Neighbouring invocations read
//     neighbouring elements, which CPU drivers vectorise and GPUs coalesce.
//     Four interleaved f32 accumulators, added pairwise at the end.
//   finish (1 invocation): combines the partials in blocks of FINISH_BLOCK,
//     then the block results.
// Error bound for sums: |error| ≤ (m/4 + 2 + FINISH_BLOCK + P/FINISH_BLOCK) · 2⁻²⁴ · Σ|x_i|,
// m = ceil(n/P) the elements per invocation (first-order, with the usual n·u terms).
//
// Ops (override OP for partial_sums): sum, sum of squares, dot (Σ x·y); the
// finish divides by n for means (args.divideByCount).
// meanStd uses partial_moments / finish_moments: each invocation keeps its
// count c, mean and M2 = Σ (x − mean)² from sums shifted by its first element K
// (Σ(x−K), Σ(x−K)², so no cancellation when the data sit far from 0), and the
// finish merges them with Chan et al.'s pairwise update:
//   δ = mean_b − mean_a,  mean = mean_a + δ·c_b/c,  M2 = M2_a + M2_b + δ²·c_a·c_b/c.
// It writes the mean to output[outputIndex] and the population standard
// deviation sqrt(M2/n) (numpy's .std()) to output[outputIndex + 1].
override WG: u32 = 64;
// One of OP_SUM, OP_SUM_SQUARES, OP_DOT; these and FINISH_BLOCK are generated
// by src/kernels/reduce.ts and prepended.
override OP: u32 = 0u;

struct ReduceArgs {
  count: u32,
  offset: u32,
  offsetB: u32,
  partialCount: u32,
  outputIndex: u32,
  // finish: 1 writes the sum divided by count (a mean)
  divideByCount: u32,
  // floats between consecutive agents' blocks of input, inputB and output
  inputStride: u32,
  inputBStride: u32,
  outputStride: u32,
}

@group(0) @binding(0) var<uniform> args: ReduceArgs;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> inputB: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

// Element k of agent a's range.
fn term(a: u32, k: u32) -> f32 {
  let x = input[a * args.inputStride + args.offset + k];
  if (OP == OP_SUM_SQUARES) { return x * x; }
  if (OP == OP_DOT) { return x * inputB[a * args.inputBStride + args.offsetB + k]; }
  return x;
}

@compute @workgroup_size(WG)
fn partial_sums(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let j = linear_index(gid, nwg);
  let P = args.partialCount;
  if (j >= P) { return; }
  let n = args.count;
  var acc = vec4<f32>(0.0);
  var k = j;
  for (; k + 3u * P < n; k += 4u * P) {
    acc += vec4<f32>(term(agent, k), term(agent, k + P), term(agent, k + 2u * P), term(agent, k + 3u * P));
  }
  for (; k < n; k += P) {
    acc.x += term(agent, k);
  }
  partials[agent * P + j] = vec2<f32>((acc.x + acc.y) + (acc.z + acc.w), 0.0);
}

@compute @workgroup_size(WG)
fn finish_sums(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x != 0u || gid.y != 0u) { return; }
  let agent = agent_index(gid);
  let P = args.partialCount;
  let first = agent * P;
  var total = 0.0;
  for (var b = 0u; b < P; b += FINISH_BLOCK) {
    var blockSum = 0.0;
    for (var j = b; j < min(b + FINISH_BLOCK, P); j++) { blockSum += partials[first + j].x; }
    total += blockSum;
  }
  output[agent * args.outputStride + args.outputIndex] = select(total, total / f32(args.count), args.divideByCount != 0u);
}

// Elements invocation j covers: j, j + P, ... below n.
fn countOf(j: u32) -> f32 {
  return f32((args.count - j + args.partialCount - 1u) / args.partialCount);
}

@compute @workgroup_size(WG)
fn partial_moments(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let j = linear_index(gid, nwg);
  let P = args.partialCount;
  if (j >= P) { return; }
  let n = args.count;
  let base = agent * args.inputStride + args.offset;
  let shift = input[base + j];
  var s = vec4<f32>(0.0);
  var q = vec4<f32>(0.0);
  var k = j;
  for (; k + 3u * P < n; k += 4u * P) {
    let d = vec4<f32>(input[base + k], input[base + k + P], input[base + k + 2u * P], input[base + k + 3u * P]) - shift;
    s += d;
    q += d * d;
  }
  for (; k < n; k += P) {
    let d = input[base + k] - shift;
    s.x += d;
    q.x += d * d;
  }
  let c = countOf(j);
  let sum = (s.x + s.y) + (s.z + s.w);
  let squares = (q.x + q.y) + (q.z + q.w);
  partials[agent * P + j] = vec2<f32>(shift + sum / c, max(squares - sum * sum / c, 0.0));
}

struct Moments {
  count: f32,
  mean: f32,
  m2: f32,
}

fn merge(a: Moments, b: Moments) -> Moments {
  let count = a.count + b.count;
  let delta = b.mean - a.mean;
  return Moments(count, a.mean + delta * (b.count / count), a.m2 + b.m2 + delta * delta * (a.count * b.count / count));
}

@compute @workgroup_size(WG)
fn finish_moments(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x != 0u || gid.y != 0u) { return; }
  let agent = agent_index(gid);
  let P = args.partialCount;
  let first = agent * P;
  var total = Moments(0.0, 0.0, 0.0);
  for (var b = 0u; b < P; b += FINISH_BLOCK) {
    var blockMoments = Moments(countOf(b), partials[first + b].x, partials[first + b].y);
    for (var j = b + 1u; j < min(b + FINISH_BLOCK, P); j++) {
      blockMoments = merge(blockMoments, Moments(countOf(j), partials[first + j].x, partials[first + j].y));
    }
    if (b == 0u) {
      total = blockMoments;
    } else {
      total = merge(total, blockMoments);
    }
  }
  let slot = agent * args.outputStride + args.outputIndex;
  output[slot] = total.mean;
  output[slot + 1u] = sqrt(total.m2 / total.count);
}
