// Population-based training (Jaderberg et al. 2017): every few iterations the
// worst agents take a copy of a good agent's weights and optimizer state
// ("exploit") and move its hyperparameters a little ("explore"), all on the GPU.
// Loaded after common.wgsl, random.wgsl, the METRIC_* constants and
// AGENT_PARAMS_WORDS (words per AgentParams record, src/core/agentParams.ts).
//
// Buffers:
//   agentWords  [P][AGENT_PARAMS_WORDS] u32: the AgentParams records as raw words (word i is
//               field AGENT_FIELDS[i]; word 0, the seed, is never copied or changed: an agent
//               keeps its own envs' and sampling streams)
//   bounds      [AGENT_PARAMS_WORDS] vec2<f32>: the allowed [min, max] of each field
//   scoreWindow [P] vec2<f32>: sum of the per-iteration mean returns since the last exploit, and
//               how many iterations completed an episode (the score is their mean)
//   source      [P] u32: the agent each agent copies from at this exploit (itself if kept)
//   byRank      [P] u32: scratch, the agent at each rank
//   state       [1] u32: exploits done so far (a Philox counter word)
//   metrics     [P][METRICS_BLOCK_FLOATS] f32: METRIC_PBT_PARENT is set to the source agent of
//               a replaced agent, −1 otherwise
//   prior       [P][AGENT_PARAMS_WORDS] u32: the records the population started from, the
//               distribution `resample` draws from
//
// Ranking: by score, higher first, ties to the lower agent index; an agent that finished no
// episode in the window scores −inf. The `bottom` lowest-ranked agents are replaced, each by
// one of the `top` best picked with philox4x32((agent, exploit, 0, 0), (seed, STREAM_PBT)).x.
// Explore: each field in perturbMask is, with probability `resample`, the field of a uniformly
// drawn agent's prior record (Jaderberg et al.'s resample; words of counters (a, exploit,
// 1 + i / 4, 1) and (.., 2)); otherwise multiplied by `down` or `up` (one Philox word per
// field: uniform01 < 0.5 → down) and clamped to its bounds. With resample 0 no word of the
// first kind is ever below it, so the perturb draws are those of a run without it.
// bottom + top ≤ P, so no agent is both copied from and written: every kernel here reads only
// blocks that no invocation writes.
override WG: u32 = 64;

const STREAM_PBT: u32 = 4u;
const NO_EPISODE_SCORE: f32 = -3.40282346638528859811704183484516925440e+38f;

struct PbtArgs {
  population: u32,
  bottom: u32,
  top: u32,
  seed: u32,
  perturbMask: u32,
  down: f32,
  up: f32,
  metricsStride: u32,
  // probability that an explored field is resampled from the prior instead of perturbed
  resample: f32,
}

struct CopyArgs {
  // words per agent in the tensor
  count: u32,
}

@group(0) @binding(0) var<uniform> args: PbtArgs;
@group(0) @binding(1) var<storage, read_write> agentWords: array<u32>;
@group(0) @binding(2) var<storage, read> bounds: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> scoreWindow: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> source: array<u32>;
@group(0) @binding(5) var<storage, read_write> byRank: array<u32>;
@group(0) @binding(6) var<storage, read_write> state: array<u32>;
@group(0) @binding(7) var<storage, read_write> metrics: array<f32>;
@group(0) @binding(10) var<storage, read> prior: array<u32>;

// Every iteration, after the metrics block is complete: one invocation per agent.
@compute @workgroup_size(WG)
fn pbt_record(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = linear_index(gid, nwg);
  if (agent >= args.population) { return; }
  let base = agent * args.metricsStride;
  let episodes = metrics[base + METRIC_EPISODES];
  if (episodes > 0.0) {
    scoreWindow[agent] += vec2<f32>(metrics[base + METRIC_COMPLETED_RETURN_SUM] / episodes, 1.0);
  }
}

fn score(agent: u32) -> f32 {
  let w = scoreWindow[agent];
  return select(NO_EPISODE_SCORE, w.x / w.y, w.y > 0.0);
}

// One workgroup decides the whole exploit: ranks, sources, new records, lineage.
@compute @workgroup_size(WG)
fn pbt_exploit(@builtin(local_invocation_id) lid: vec3<u32>) {
  let p = args.population;
  for (var a = lid.x; a < p; a += WG) {
    let s = score(a);
    var rank = 0u;
    for (var b = 0u; b < p; b++) {
      let t = score(b);
      if (t > s || (t == s && b < a)) { rank++; }
    }
    source[a] = rank;
    byRank[rank] = a;
  }
  storageBarrier();
  workgroupBarrier();
  let exploit = state[0];
  for (var a = lid.x; a < p; a += WG) {
    let rank = source[a];
    var parent = a;
    if (rank >= p - args.bottom) {
      let key = vec2<u32>(args.seed, STREAM_PBT);
      let pick = philox4x32(vec4<u32>(a, exploit, 0u, 0u), key);
      parent = byRank[min(u32(uniform01(pick.x) * f32(args.top)), args.top - 1u)];
      for (var i = 1u; i < AGENT_PARAMS_WORDS; i++) {
        var word = agentWords[parent * AGENT_PARAMS_WORDS + i];
        if ((args.perturbMask & (1u << i)) != 0u) {
          let resampled = philox4x32(vec4<u32>(a, exploit, 1u + i / 4u, 1u), key);
          if (uniform01(resampled[i % 4u]) < args.resample) {
            let drawn = philox4x32(vec4<u32>(a, exploit, 1u + i / 4u, 2u), key);
            word = prior[min(u32(uniform01(drawn[i % 4u]) * f32(p)), p - 1u) * AGENT_PARAMS_WORDS + i];
          } else {
            let draws = philox4x32(vec4<u32>(a, exploit, 1u + i / 4u, 0u), key);
            let factor = select(args.up, args.down, uniform01(draws[i % 4u]) < 0.5);
            let b = bounds[i];
            word = bitcast<u32>(clamp(bitcast<f32>(word) * factor, b.x, b.y));
          }
        }
        agentWords[a * AGENT_PARAMS_WORDS + i] = word;
      }
      metrics[a * args.metricsStride + METRIC_PBT_PARENT] = f32(parent);
    } else {
      metrics[a * args.metricsStride + METRIC_PBT_PARENT] = -1.0;
    }
    source[a] = parent;
  }
  // Every agent starts a new scoreWindow; the next exploit draws new numbers.
  storageBarrier();
  workgroupBarrier();
  for (var a = lid.x; a < p; a += WG) { scoreWindow[a] = vec2<f32>(0.0, 0.0); }
  if (lid.x == 0u) { state[0] = exploit + 1u; }
}

@group(0) @binding(8) var<uniform> copyArgs: CopyArgs;
@group(0) @binding(9) var<storage, read_write> tensor: array<u32>;

// After pbt_exploit, once per tensor [P][count] words (weights, optimizer state, moments): a
// replaced agent's block becomes its source's. One workgroup row per agent (z).
@compute @workgroup_size(WG)
fn pbt_copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let i = linear_index(gid, nwg);
  if (i >= copyArgs.count) { return; }
  let parent = source[agent];
  if (parent != agent) { tensor[agent * copyArgs.count + i] = tensor[parent * copyArgs.count + i]; }
}
