// Rollout on the GPU: a fused act-and-step kernel over N envs for step t.
// Loaded after common.wgsl, `envSources` (src/envs/env.ts: random.wgsl, the
// env's dimensions, auto_reset.wgsl, the env module) and the SLOT_* constants
// generated from ENV_SLOTS (src/kernels/rollout.ts) and rollout_env_action /
// rollout_clip_action for the env's action space (the same file); the policy's
// distribution parameters for the current observations (logits, or a Gaussian's
// means and log-stds) come from the MLP forward pass recorded just before each step.
//
// Buffers, agent-major for a population of P agents (workgroup id z): agent a's block is
// exactly a single run's, described here (time-major storage, index i = t * N + env;
// observations are rows of ENV_OBS_DIM f32, the policy's input rows):
//   policyLogits    [N][A]        distribution parameters of the current policy at currentObs
//                                 (A = numActions: parameters per row)
//   currentObs      [N] obs       the observation each env is in (the policy's input)
//   envSlots        [SLOT_COUNT + ENV_STATE_DIM][N] f32: elapsed steps, episode
//                   index, running return, this iteration's completed-episode
//                   return sum and count, then the env's state, one row per component
//                   (there rather than in a buffer of its own, so act_and_step stays
//                   within WebGPU's default 8 storage buffers; checkpoints keep it with the slots)
//   obs             [T+1][N] obs  obs[t] acted on at step t; row T is the bootstrap observation;
//                   then [K][N] obs from row (T+1)·N: final observations of truncated steps
//   behaviourLogits [T][N][A]     policyLogits as acted on, kept for the advantage and update phases
//   actions         [T][N] EnvAction (an i32, or a box's floats as sampled, unclipped),
//   rewards         [T][N] f32,
//   doneFlags       [T][N] u32    bit 0 terminated, bit 1 truncated
//   agentSeeds      uniform: each agent's seed (agent_seeds.wgsl)
// Dispatch: N invocations per step and agent; `step.t` comes from a dynamic-offset uniform.
//
// Final observations of truncated steps: one env's truncations are at least
// M = maxEpisodeSteps steps apart (its elapsed count restarts at each), so
// floor(t / M) differs between them and step t of env n writes row
// (T+1)·N + floor(t / M)·N + n: K = ceil(T / M) rows of N cover a rollout with
// no collisions. Rows not written this iteration keep stale observations;
// nothing reads them (GAE reads the slot of a truncated step only).
//
// Sampling (or the mode when greedy: argmax, a Gaussian's mean): dist_sample with
// philox4x32((env, t, iteration, 0), (seed, STREAM_ACTION)), env within its agent and
// the agent's seed: same seed, same actions, whatever the population.
// A box action is stored as sampled (the update takes its log-probability there) and
// stepped clipped to the env's bounds. The env step, time limit and same-step
// auto-reset are auto_reset_step's.
override WG: u32 = 64;

struct RolloutArgs {
  numSteps: u32,
  numActions: u32,
  iteration: u32,
  // 1: act greedily (argmax), for evaluation
  greedy: u32,
}

struct StepArgs {
  t: u32,
  // rollout_steps: the steps its dispatch runs, from t (act_and_step runs step t alone)
  count: u32,
}

@group(0) @binding(0) var<uniform> args: RolloutArgs;
@group(0) @binding(1) var<uniform> step: StepArgs;
@group(0) @binding(2) var<uniform> vecEnv: VecEnvArgs;
@group(0) @binding(3) var<uniform> envParams: EnvParams;
@group(0) @binding(4) var<storage, read> policyLogits: array<f32>;
@group(0) @binding(5) var<storage, read_write> currentObs: array<f32>;
@group(0) @binding(6) var<storage, read_write> envSlots: array<f32>;
@group(0) @binding(7) var<storage, read_write> obs: array<f32>;
@group(0) @binding(8) var<storage, read_write> behaviourLogits: array<f32>;
@group(0) @binding(9) var<storage, read_write> actions: array<EnvAction>;
@group(0) @binding(10) var<storage, read_write> rewards: array<f32>;
@group(0) @binding(11) var<storage, read_write> doneFlags: array<u32>;
@group(0) @binding(12) var<uniform> agentSeeds: AgentSeeds;

// Rows of obs per agent: T + 1 rows of N, then K = ceil(T / M) rows of final
// observations (no u32 overflow for any time limit M).
fn obs_rows_per_agent() -> u32 {
  let T = args.numSteps;
  let M = vecEnv.maxEpisodeSteps;
  return (T + 1u + T / M + select(0u, 1u, T % M != 0u)) * vecEnv.numEnvs;
}

// Where one env's rows start in each buffer: its agent's block plus the env's
// within-agent index (rows of time-major buffers add t · N to `row`).
struct EnvAt {
  agent: u32,
  // within the agent (keys the env's random numbers)
  env: u32,
  // agent · N + env: the env's row of [P][N] rows (currentObs, policyLogits)
  row: u32,
  // first element of the agent's block of envSlots
  slots: u32,
  // first row of the agent's block of obs
  obsRow: u32,
  // agent · T · N: first row of the agent's block of the [T][N] buffers
  stepRow: u32,
}

fn env_at(agent: u32, env: u32) -> EnvAt {
  let N = vecEnv.numEnvs;
  return EnvAt(agent, env, agent * N + env, agent * (SLOT_COUNT + ENV_STATE_DIM) * N, agent * obs_rows_per_agent(), agent * args.numSteps * N);
}

fn slot_index(at: EnvAt, slot: u32) -> u32 {
  return at.slots + slot * vecEnv.numEnvs + at.env;
}

fn load_state(at: EnvAt) -> EnvState {
  var s: EnvState;
  for (var k = 0u; k < ENV_STATE_DIM; k++) { s[k] = envSlots[slot_index(at, SLOT_COUNT + k)]; }
  return s;
}

// Stores the env's state and makes its observation the current one.
fn store_state(at: EnvAt, s: EnvState) {
  for (var k = 0u; k < ENV_STATE_DIM; k++) { envSlots[slot_index(at, SLOT_COUNT + k)] = s[k]; }
  let o = env_obs(s, envParams);
  for (var k = 0u; k < ENV_OBS_DIM; k++) { currentObs[at.row * ENV_OBS_DIM + k] = o[k]; }
}

// Stores `o` in row `row` of the agent's obs block.
fn store_obs(at: EnvAt, row: u32, o: EnvObs) {
  let first = (at.obsRow + row) * ENV_OBS_DIM;
  for (var k = 0u; k < ENV_OBS_DIM; k++) { obs[first + k] = o[k]; }
}

fn current_obs(at: EnvAt) -> EnvObs {
  var o: EnvObs;
  for (var k = 0u; k < ENV_OBS_DIM; k++) { o[k] = currentObs[at.row * ENV_OBS_DIM + k]; }
  return o;
}

// Episode 0 for every env; called once when a trainer starts.
@compute @workgroup_size(WG)
fn reset_envs(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let env = linear_index(gid, nwg);
  if (env >= vecEnv.numEnvs) { return; }
  let at = env_at(agent_index(gid), env);
  store_state(at, episode_start(agent_seed(at.agent), envParams, env, 0u));
  for (var s = 0u; s < SLOT_COUNT; s++) {
    envSlots[slot_index(at, s)] = 0.0;
  }
}

// The action for step t from the env's row of distribution parameters.
fn sample_row(at: EnvAt, row: DistParams, t: u32) -> EnvAction {
  let d = dist_from_params(row, args.numActions);
  if (args.greedy != 0u) { return rollout_env_action(dist_mode(d)); }
  return rollout_env_action(dist_sample(d, vec4<u32>(at.env, t, args.iteration, 0u), vec2<u32>(agent_seed(at.agent), STREAM_ACTION)));
}

fn sample_action(at: EnvAt) -> EnvAction {
  let A = args.numActions;
  var row: DistParams;
  for (var k = 0u; k < A; k++) { row[k] = policyLogits[at.row * A + k]; }
  return sample_row(at, row, step.t);
}

@compute @workgroup_size(WG)
fn act_and_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let env = linear_index(gid, nwg);
  let N = vecEnv.numEnvs;
  if (env >= N) { return; }
  let at = env_at(agent_index(gid), env);
  let t = step.t;
  // This step's row of the agent's [T][N] blocks (and of its obs block).
  let r = t * N + env;
  let i = at.stepRow + r;
  if (t == 0u) {
    envSlots[slot_index(at, SLOT_COMPLETED_RETURN_SUM)] = 0.0;
    envSlots[slot_index(at, SLOT_COMPLETED_COUNT)] = 0.0;
  }
  let action = sample_action(at);
  let elapsed = u32(envSlots[slot_index(at, SLOT_ELAPSED)]);
  let episode = u32(envSlots[slot_index(at, SLOT_EPISODE)]);
  let stepped = auto_reset_step(vecEnv, envParams, agent_seed(at.agent), env, load_state(at), rollout_clip_action(action), elapsed, episode);

  store_obs(at, r, current_obs(at));
  actions[i] = action;
  rewards[i] = stepped.reward;
  doneFlags[i] = select(0u, 1u, stepped.terminated) | select(0u, 2u, stepped.truncated);
  // The same bits as a batched forward over obs would give: every MLP row is computed alone.
  for (var k = 0u; k < args.numActions; k++) {
    behaviourLogits[i * args.numActions + k] = policyLogits[at.row * args.numActions + k];
  }
  if (stepped.truncated) {
    store_obs(at, (args.numSteps + 1u + t / vecEnv.maxEpisodeSteps) * N + env, env_obs(stepped.reached, envParams));
  }

  let episodeReturn = envSlots[slot_index(at, SLOT_RUNNING_RETURN)] + stepped.reward;
  envSlots[slot_index(at, SLOT_ELAPSED)] = f32(stepped.elapsed);
  envSlots[slot_index(at, SLOT_EPISODE)] = f32(stepped.episode);
  if (stepped.terminated || stepped.truncated) {
    envSlots[slot_index(at, SLOT_RUNNING_RETURN)] = 0.0;
    envSlots[slot_index(at, SLOT_COMPLETED_RETURN_SUM)] += episodeReturn;
    envSlots[slot_index(at, SLOT_COMPLETED_COUNT)] += 1.0;
  } else {
    envSlots[slot_index(at, SLOT_RUNNING_RETURN)] = episodeReturn;
  }
  store_state(at, stepped.next);
  store_obs(at, r + N, current_obs(at));
}
