// Rollout on the GPU: a fused act-and-step kernel over N CartPoles for step t.
// Loaded after random.wgsl and cartpole.wgsl; the policy logits for the current
// observations come from the MLP forward pass recorded just before each step.
//
// Buffers (time-major storage, index i = t * N + env):
//   policyLogits    [N][A]        logits of the current policy at currentObs
//   currentObs      [N] vec4      the observation each env is in (the policy's input)
//   envSlots        [ENV_SLOT_COUNT][N] f32: elapsed steps, episode index, running
//                    return, and this iteration's completed-episode return sum and count
//   obs             [T+1][N] vec4 obs[t] acted on at step t; row T is the bootstrap observation;
//                   then [K][N] vec4 from row (T+1)·N: final observations of truncated steps
//   behaviourLogits [T][N][A]     policyLogits as acted on, kept for the advantage and update phases
//   actions         [T][N] i32, rewards [T][N] f32,
//   doneFlags       [T][N] u32    bit 0 terminated, bit 1 truncated
// Dispatch: N invocations per step; `step.t` comes from a dynamic-offset uniform.
//
// Final observations of truncated steps: one env's truncations are at least
// M = maxEpisodeSteps steps apart (its elapsed count restarts at each), so
// floor(t / M) differs between them and step t of env n writes row
// (T+1)·N + floor(t / M)·N + n: K = ceil(T / M) rows of N cover a rollout with
// no collisions. Rows not written this iteration keep stale observations;
// nothing reads them (GAE reads the slot of a truncated step only).
//
// Sampling (or argmax when greedy): inverse CDF of softmax(logits) at u = uniform01 of
// philox4x32((env, t, iteration, 0), (seed, STREAM_ACTION)): same seed, same actions.
// Auto-reset in the same step: an env that ended starts episode e+1 at
// cartpole_reset_state(seed, env, e+1), which becomes its current observation.
override WG: u32 = 64;

const SLOT_ELAPSED: u32 = 0u;
const SLOT_EPISODE: u32 = 1u;
const SLOT_RUNNING_RETURN: u32 = 2u;
const SLOT_COMPLETED_RETURN_SUM: u32 = 3u;
const SLOT_COMPLETED_COUNT: u32 = 4u;
const ENV_SLOT_COUNT: u32 = 5u;

struct RolloutArgs {
  numEnvs: u32,
  numSteps: u32,
  numActions: u32,
  iteration: u32,
  // 1: act greedily (argmax), for evaluation
  greedy: u32,
}

struct StepArgs {
  t: u32,
}

@group(0) @binding(0) var<uniform> args: RolloutArgs;
@group(0) @binding(1) var<uniform> step: StepArgs;
@group(0) @binding(2) var<uniform> cartpole: CartPoleParams;
@group(0) @binding(3) var<storage, read> policyLogits: array<f32>;
@group(0) @binding(4) var<storage, read_write> currentObs: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> envSlots: array<f32>;
@group(0) @binding(6) var<storage, read_write> obs: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> behaviourLogits: array<f32>;
@group(0) @binding(8) var<storage, read_write> actions: array<i32>;
@group(0) @binding(9) var<storage, read_write> rewards: array<f32>;
@group(0) @binding(10) var<storage, read_write> doneFlags: array<u32>;

fn slot_index(slot: u32, env: u32) -> u32 {
  return slot * args.numEnvs + env;
}

// Episode 0 for every env; called once when a trainer starts.
@compute @workgroup_size(WG)
fn reset_envs(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let env = gid.x + gid.y * nwg.x * WG;
  if (env >= args.numEnvs) { return; }
  currentObs[env] = cartpole_reset_state(cartpole.seed, env, 0u);
  for (var s = 0u; s < ENV_SLOT_COUNT; s++) {
    envSlots[slot_index(s, env)] = 0.0;
  }
}

fn sample_action(env: u32) -> i32 {
  let A = args.numActions;
  var row: DistParams;
  for (var k = 0u; k < A; k++) { row[k] = policyLogits[env * A + k]; }
  let d = dist_from_params(row, A);
  if (args.greedy != 0u) { return i32(dist_mode(d)); }
  return i32(dist_sample(d, vec4<u32>(env, step.t, args.iteration, 0u), vec2<u32>(cartpole.seed, STREAM_ACTION)));
}

@compute @workgroup_size(WG)
fn act_and_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let env = gid.x + gid.y * nwg.x * WG;
  let N = args.numEnvs;
  if (env >= N) { return; }
  let t = step.t;
  let i = t * N + env;
  if (t == 0u) {
    envSlots[slot_index(SLOT_COMPLETED_RETURN_SUM, env)] = 0.0;
    envSlots[slot_index(SLOT_COMPLETED_COUNT, env)] = 0.0;
  }
  let current = currentObs[env];
  let action = sample_action(env);
  let reached = cartpole_next_state(current, action, cartpole);
  let terminated = cartpole_terminated(reached, cartpole);
  let elapsed = u32(envSlots[slot_index(SLOT_ELAPSED, env)]) + 1u;
  let truncated = elapsed >= cartpole.maxEpisodeSteps;
  let reward = 1.0;

  obs[i] = current;
  actions[i] = action;
  rewards[i] = reward;
  doneFlags[i] = select(0u, 1u, terminated) | select(0u, 2u, truncated);
  // The same bits as a batched forward over obs would give: every MLP row is computed alone.
  for (var k = 0u; k < args.numActions; k++) {
    behaviourLogits[i * args.numActions + k] = policyLogits[env * args.numActions + k];
  }
  if (truncated) {
    obs[(args.numSteps + 1u + t / cartpole.maxEpisodeSteps) * N + env] = reached;
  }

  let episodeReturn = envSlots[slot_index(SLOT_RUNNING_RETURN, env)] + reward;
  var next = reached;
  if (terminated || truncated) {
    let episode = u32(envSlots[slot_index(SLOT_EPISODE, env)]) + 1u;
    next = cartpole_reset_state(cartpole.seed, env, episode);
    envSlots[slot_index(SLOT_EPISODE, env)] = f32(episode);
    envSlots[slot_index(SLOT_ELAPSED, env)] = 0.0;
    envSlots[slot_index(SLOT_RUNNING_RETURN, env)] = 0.0;
    envSlots[slot_index(SLOT_COMPLETED_RETURN_SUM, env)] += episodeReturn;
    envSlots[slot_index(SLOT_COMPLETED_COUNT, env)] += 1.0;
  } else {
    envSlots[slot_index(SLOT_ELAPSED, env)] = f32(elapsed);
    envSlots[slot_index(SLOT_RUNNING_RETURN, env)] = episodeReturn;
  }
  currentObs[env] = next;
  obs[i + N] = next;
}
