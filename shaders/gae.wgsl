// Generalised Advantage Estimation as a backward scan, one invocation per (agent, env).
//
// Buffers are agent-major for a population (workgroup id z is the agent a): agent a's
// block of each is the single-agent buffer below, at a · T·N (values: a · valuesStride,
// finalValues: a · finalValuesStride), and γ, λ are agents[a].gamma, agents[a].lambda.
// Within a block (time-major, index i = t * numEnvs + env):
//   rewards      [T][N] f32
//   doneFlags    [T][N] u32   bit 0: terminated, bit 1: truncated (episode ended after step t)
//   values       [T+1][N] f32 V(obs_t); row T is V of the observation after the last step
//   finalValues  [K][N] f32 from element finalValuesOffset: V(final observation) of truncated
//                steps; step t of env n reads slot floor(t / maxEpisodeSteps) * N + n, which is
//                unique per truncation because one env's truncations are at least
//                maxEpisodeSteps apart (maxEpisodeSteps = 1: the dense [T][N] layout).
//                May be the values buffer itself, with the slots after its T+1 rows.
//                Read only where step t was truncated, not terminated, and
//                truncationAsTerminal is off: other slots may hold anything.
//   advantages   [T][N] f32  (out)
//   returns      [T][N] f32  (out) advantages + values
//   agents       [P] AgentParams
// Dispatch: numEnvs invocations per agent.
//
//   next_value_t = 0                if terminated_t (or truncated_t with truncationAsTerminal)
//                = finalValues_t    if truncated_t  (bootstrap from the observation that ended it)
//                = values_{t+1}     otherwise (row T bootstraps the unfinished episode)
//   delta_t = r_t + gamma * next_value_t - values_t
//   A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1},   A_T = 0
override WG: u32 = 64;

struct GaeArgs {
  numEnvs: u32,
  numSteps: u32,
  truncationAsTerminal: u32,
  maxEpisodeSteps: u32,
  finalValuesOffset: u32,
  // floats between consecutive agents' blocks of values and finalValues (they may share a buffer
  // with more rows than the scan reads, e.g. a value network's output)
  valuesStride: u32,
  finalValuesStride: u32,
}

@group(0) @binding(0) var<uniform> args: GaeArgs;
@group(0) @binding(1) var<storage, read> rewards: array<f32>;
@group(0) @binding(2) var<storage, read> doneFlags: array<u32>;
@group(0) @binding(3) var<storage, read> values: array<f32>;
@group(0) @binding(4) var<storage, read> finalValues: array<f32>;
@group(0) @binding(5) var<storage, read_write> advantages: array<f32>;
@group(0) @binding(6) var<storage, read_write> returns: array<f32>;
@group(0) @binding(7) var<storage, read> agents: array<AgentParams>;

@compute @workgroup_size(WG)
fn gae(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let env = linear_index(gid, nwg);
  if (env >= args.numEnvs) { return; }
  let n = args.numEnvs;
  let gamma = agents[agent].gamma;
  let lambda = agents[agent].lambda;
  let rows = agent * args.numSteps * n;
  let valueBase = agent * args.valuesStride;
  let finalBase = agent * args.finalValuesStride + args.finalValuesOffset;
  let bootstrapTruncated = args.truncationAsTerminal == 0u;
  var advantage = 0.0;
  for (var step = 0u; step < args.numSteps; step++) {
    let t = args.numSteps - 1u - step;
    let i = t * n + env;
    let flags = doneFlags[rows + i];
    let terminated = (flags & 1u) != 0u;
    let truncated = (flags & 2u) != 0u;
    var nextValue = values[valueBase + i + n];
    if (terminated || truncated) { nextValue = 0.0; }
    // A branch, not a select: the slot is read only where it was written.
    if (truncated && !terminated && bootstrapTruncated) {
      nextValue = finalValues[finalBase + (t / args.maxEpisodeSteps) * n + env];
    }
    let carry = select(1.0, 0.0, terminated || truncated);
    let value = values[valueBase + i];
    let delta = rewards[rows + i] + gamma * nextValue - value;
    advantage = delta + gamma * lambda * carry * advantage;
    advantages[rows + i] = advantage;
    returns[rows + i] = advantage + value;
  }
}
