// vec_env.wgsl — the standalone vectorized env (src/envs/vecEnv.ts): N envs of
// one env module stepped by auto_reset.wgsl, loaded after common.wgsl and
// `envSources` (src/envs/env.ts).
//
// Buffers, per env i < numEnvs (dense rows of f32, Gymnasium's order; whole
// rows are loaded and stored at once):
//   state[i]: [ENV_STATE_DIM], the env's state; obs[i]: [ENV_OBS_DIM], its observation;
//   elapsedSteps[i]; episodeCount[i], the index of the current episode;
//   actions[i]: EnvAction (an i32 index, or ENV_ACTION_DIM f32 for a box);
//   reward[i]; doneFlags[i]: bit 0 terminated, bit 1 truncated;
//   finalObs[i]: [ENV_OBS_DIM], the observation of the state the step reached.
// reset_all: episode 0 for every env, elapsed 0.
// set_state: after the host wrote `state`: its observation, elapsed 0 (episodes stay).
// step: auto_reset_step on actions[i]; `state` and `obs` hold the next episode's
//   start for envs that ended, and finalObs the observation that ended it (for
//   the others, finalObs == obs).
// Dispatch: one invocation per env; no workgroup memory or barriers (CPU
// drivers run those slowly).

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> vecEnv: VecEnvArgs;
@group(0) @binding(1) var<uniform> envParams: EnvParams;
@group(0) @binding(2) var<storage, read_write> state: array<EnvState>;
@group(0) @binding(3) var<storage, read_write> obs: array<EnvObs>;
@group(0) @binding(4) var<storage, read_write> elapsedSteps: array<u32>;
@group(0) @binding(5) var<storage, read_write> episodeCount: array<u32>;
@group(0) @binding(6) var<storage, read> actions: array<EnvAction>;
@group(0) @binding(7) var<storage, read_write> reward: array<f32>;
@group(0) @binding(8) var<storage, read_write> doneFlags: array<u32>;
@group(0) @binding(9) var<storage, read_write> finalObs: array<EnvObs>;

fn store_obs(env: u32, s: EnvState) {
  obs[env] = env_obs(s, envParams);
}

// Stores the env's state and its observation.
fn store_state(env: u32, s: EnvState) {
  state[env] = s;
  store_obs(env, s);
}

@compute @workgroup_size(WG)
fn reset_all(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let env = linear_index(gid, nwg);
  if (env >= vecEnv.numEnvs) { return; }
  store_state(env, episode_start(vecEnv, envParams, env, 0u));
  elapsedSteps[env] = 0u;
  episodeCount[env] = 0u;
}

@compute @workgroup_size(WG)
fn set_state(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let env = linear_index(gid, nwg);
  if (env >= vecEnv.numEnvs) { return; }
  store_obs(env, state[env]);
  elapsedSteps[env] = 0u;
}

@compute @workgroup_size(WG)
fn step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let env = linear_index(gid, nwg);
  if (env >= vecEnv.numEnvs) { return; }
  let t = auto_reset_step(vecEnv, envParams, env, state[env], actions[env], elapsedSteps[env], episodeCount[env]);
  store_state(env, t.next);
  elapsedSteps[env] = t.elapsed;
  episodeCount[env] = t.episode;
  reward[env] = t.reward;
  doneFlags[env] = select(0u, 1u, t.terminated) | select(0u, 2u, t.truncated);
  finalObs[env] = env_obs(t.reached, envParams);
}
