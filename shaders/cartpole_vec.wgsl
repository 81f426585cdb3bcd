// cartpole_vec.wgsl — the standalone vectorized CartPole (src/envs/cartpole.ts),
// loaded after random.wgsl and cartpole.wgsl.
//
// Buffers, per env i < numEnvs:
//   state[i]: vec4 (x, xDot, theta, thetaDot), the current observation;
//   elapsedSteps[i]; episodeCount[i], the index of the current episode (its
//   start is cartpole_reset_state(seed, i, episodeCount[i]));
//   actions[i]: 0 | 1; reward[i]; terminated[i], truncated[i]: 0 | 1;
//   finalObs[i]: vec4, the state the step reached.
// reset_all: episode 0 for every env, elapsed 0.
// step: reward 1, terminated as cartpole_terminated, truncated when elapsed
//   reaches maxEpisodeSteps (both may be set); an env that ended resets in the
//   same step (episode + 1, elapsed 0), so state holds the next observation and
//   finalObs the one that ended the episode (for the others, finalObs == state).
// Dispatch: one invocation per env, linear index gid.x + gid.y * nwg.x * WG; no
// workgroup memory or barriers (CPU drivers run those slowly).

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: CartPoleParams;
@group(0) @binding(1) var<storage, read_write> state: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> elapsedSteps: array<u32>;
@group(0) @binding(3) var<storage, read_write> episodeCount: array<u32>;
@group(0) @binding(4) var<storage, read> actions: array<i32>;
@group(0) @binding(5) var<storage, read_write> reward: array<f32>;
@group(0) @binding(6) var<storage, read_write> terminated: array<u32>;
@group(0) @binding(7) var<storage, read_write> truncated: array<u32>;
@group(0) @binding(8) var<storage, read_write> finalObs: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn reset_all(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let env = gid.x + gid.y * nwg.x * WG;
  if (env >= params.numEnvs) { return; }
  state[env] = cartpole_reset_state(params.seed, env, 0u);
  elapsedSteps[env] = 0u;
  episodeCount[env] = 0u;
}

@compute @workgroup_size(WG)
fn step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let env = gid.x + gid.y * nwg.x * WG;
  if (env >= params.numEnvs) { return; }
  let reached = cartpole_next_state(state[env], actions[env], params);
  let isTerminated = cartpole_terminated(reached, params);
  let elapsed = elapsedSteps[env] + 1u;
  let isTruncated = elapsed >= params.maxEpisodeSteps;
  var next = reached;
  var nextElapsed = elapsed;
  // A branch, not a select: Philox costs more than the physics and resets are rare.
  if (isTerminated || isTruncated) {
    let episode = episodeCount[env] + 1u;
    episodeCount[env] = episode;
    next = cartpole_reset_state(params.seed, env, episode);
    nextElapsed = 0u;
  }
  state[env] = next;
  elapsedSteps[env] = nextElapsed;
  reward[env] = 1.0;
  terminated[env] = u32(isTerminated);
  truncated[env] = u32(isTruncated);
  finalObs[env] = reached;
}
