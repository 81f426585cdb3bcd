// reduce.wgsl's sums over every agent of a population in the same two
// dispatches: agent a (workgroup id z) reduces its own block of the input and
// writes its own slot of the output. Within an agent the order is reduce.wgsl's
// exactly (the same partial count, four interleaved accumulators, the finish in
// blocks of FINISH_BLOCK), so agent a's result equals, bit for bit, a Reduction
// over that block alone, and a population of one equals a single run.
//
// Buffers:
//   input, inputB [agents][inputStride] (inputBStride): agent a reads
//     input[a·inputStride + offset + k], k < count
//   partials [agents][partialCount] f32
//   output [agents][outputStride]: agent a's result at a·outputStride + outputIndex
// Dispatch: partial_sums partialCount invocations, finish_sums one, each × agents.
// OP (override) is OP_SUM, OP_SUM_SQUARES or OP_DOT; these and FINISH_BLOCK are
// reduce.ts's constants, prepended.
override WG: u32 = 64;
override OP: u32 = 0u;

struct AgentReduceArgs {
  count: u32,
  offset: u32,
  offsetB: u32,
  partialCount: u32,
  outputIndex: u32,
  // finish: 1 writes the sum divided by count (a mean)
  divideByCount: u32,
  inputStride: u32,
  inputBStride: u32,
  outputStride: u32,
}

@group(0) @binding(0) var<uniform> args: AgentReduceArgs;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> inputB: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

fn term(base: u32, baseB: u32, k: u32) -> f32 {
  let x = input[base + k];
  if (OP == OP_SUM_SQUARES) { return x * x; }
  if (OP == OP_DOT) { return x * inputB[baseB + k]; }
  return x;
}

@compute @workgroup_size(WG)
fn partial_sums(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let j = linear_index(gid, nwg);
  let P = args.partialCount;
  if (j >= P) { return; }
  let n = args.count;
  let base = agent * args.inputStride + args.offset;
  let baseB = agent * args.inputBStride + args.offsetB;
  var acc = vec4<f32>(0.0);
  var k = j;
  for (; k + 3u * P < n; k += 4u * P) {
    acc += vec4<f32>(term(base, baseB, k), term(base, baseB, k + P), term(base, baseB, k + 2u * P), term(base, baseB, k + 3u * P));
  }
  for (; k < n; k += P) {
    acc.x += term(base, baseB, k);
  }
  partials[agent * P + j] = (acc.x + acc.y) + (acc.z + acc.w);
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
    for (var j = b; j < min(b + FINISH_BLOCK, P); j++) { blockSum += partials[first + j]; }
    total += blockSum;
  }
  output[agent * args.outputStride + args.outputIndex] = select(total, total / f32(args.count), args.divideByCount != 0u);
}
