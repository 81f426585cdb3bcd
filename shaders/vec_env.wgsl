// vec_env.wgsl — the standalone vectorized env (src/envs/vecEnv.ts): N envs of
// one env module for each of P agents, stepped by auto_reset.wgsl, loaded after
// common.wgsl and `envSources` (src/envs/env.ts).
//
// Buffers, agent-major: agent a's block is a single run's, and within it, per env
// i < numEnvs (dense rows of f32, Gymnasium's order; whole rows are loaded and
// stored at once), so env i of agent a is element a·numEnvs + i:
//   state[i]: [ENV_STATE_DIM], the env's state; obs[i]: [ENV_OBS_DIM], its observation;
//   elapsedSteps[i]; episodeCount[i], the index of the current episode;
//   actions[i]: EnvAction (an i32 index, or ENV_ACTION_DIM f32 for a box);
//   reward[i]; doneFlags[i]: bit 0 terminated, bit 1 truncated;
//   finalObs[i]: [ENV_OBS_DIM], the observation of the state the step reached.
// agentSeeds: agent a's seed keys its envs' resets (agent_seeds.wgsl).
// reset_all: episode 0 for every env, elapsed 0.
// set_state: after the host wrote `state`: its observation, elapsed 0 (episodes stay).
// step: auto_reset_step on actions[i]; `state` and `obs` hold the next episode's
//   start for envs that ended, and finalObs the observation that ended it (for
//   the others, finalObs == obs).
// Dispatch: one invocation per env along x (and y), one agent per workgroup z; no
// workgroup memory or barriers (CPU drivers run those slowly).

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
@group(0) @binding(10) var<uniform> agentSeeds: AgentSeeds;

// Element i = agent · numEnvs + env of obs.
fn store_obs(i: u32, s: EnvState) {
  obs[i] = env_obs(s, envParams);
}

// Stores the state and observation of element i = agent · numEnvs + env.
fn store_state(i: u32, s: EnvState) {
  state[i] = s;
  store_obs(i, s);
}

@compute @workgroup_size(WG)
fn reset_all(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let env = linear_index(gid, nwg);
  if (env >= vecEnv.numEnvs) { return; }
  let i = agent * vecEnv.numEnvs + env;
  store_state(i, episode_start(agent_seed(agent), envParams, env, 0u));
  elapsedSteps[i] = 0u;
  episodeCount[i] = 0u;
}

@compute @workgroup_size(WG)
fn set_state(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let env = linear_index(gid, nwg);
  if (env >= vecEnv.numEnvs) { return; }
  let i = agent * vecEnv.numEnvs + env;
  store_obs(i, state[i]);
  elapsedSteps[i] = 0u;
}

@compute @workgroup_size(WG)
fn step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let env = linear_index(gid, nwg);
  if (env >= vecEnv.numEnvs) { return; }
  let i = agent * vecEnv.numEnvs + env;
  let t = auto_reset_step(vecEnv, envParams, agent_seed(agent), env, state[i], actions[i], elapsedSteps[i], episodeCount[i]);
  store_state(i, t.next);
  elapsedSteps[i] = t.elapsed;
  episodeCount[i] = t.episode;
  reward[i] = t.reward;
  doneFlags[i] = select(0u, 1u, t.terminated) | select(0u, 2u, t.truncated);
  finalObs[i] = env_obs(t.reached, envParams);
}
