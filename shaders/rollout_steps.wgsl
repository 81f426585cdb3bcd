// The whole rollout in a few dispatches: rollout_steps runs steps step.t ..
// step.t + step.count − 1 of its env (FUSED_STEPS at most, src/kernels/rollout.ts,
// so that no dispatch runs long enough for a GPU's watchdog), the policy's
// forward pass for the env's row inside the step (mlp_row.wgsl). An env's row
// of a batched forward depends on that row alone, so nothing needs another
// invocation's results, and the step-by-step rollout's two dispatches per step
// (the policy forward, act_and_step) become one per FUSED_STEPS steps. It writes exactly what those steps write, bit for bit: each
// layer takes the arithmetic of the kernel the policy's own forward runs it
// with, and the bookkeeping is act_and_step's, kept in registers between steps
// and in envSlots (as act_and_step keeps it) between dispatches.
// Loaded after rollout.wgsl (its buffers, EnvAt, sample_row), the generated
// POLICY_WIDTH4 and POLICY_MAX_LAYERS, and mlp_row.wgsl.
//
// Buffers besides act_and_step's (policyLogits is not used):
//   policyRow, policyLayers   the policy's layer table (mlp_row.wgsl)
//   policyParams  [P][paramStride] f32 as vec4s: the policy's parameters
//   obsNorm       uniform: 1 where the policy sees normalised observations, the clip and ε
//   obsMoments    [P][ENV_OBS_DIM][3] (mean, var, count): normalize.wgsl's running moments
//                 (normalize_rows' arithmetic); a placeholder where obsNorm.on is 0
// Dispatch: N invocations per agent, P agents along z, once per FUSED_STEPS steps
// (`step` from a dynamic-offset uniform: its first step and count).

struct ObsNormArgs {
  on: u32,
  clip: f32,
  epsilon: f32,
}

@group(0) @binding(13) var<uniform> policyRow: PolicyRowArgs;
@group(0) @binding(14) var<storage, read> policyParams: array<vec4<f32>>;
@group(0) @binding(15) var<uniform> obsNorm: ObsNormArgs;
@group(0) @binding(16) var<storage, read> obsMoments: array<f32>;
@group(0) @binding(17) var<uniform> policyLayers: PolicyRowTable;

// The policy's input row for observation o of an agent's env.
fn policy_input(agent: u32, o: EnvObs) -> PolicyRowValues {
  var x: PolicyRowValues;
  for (var k = 0u; k < ENV_OBS_DIM; k++) {
    if (obsNorm.on != 0u) {
      let m = (agent * ENV_OBS_DIM + k) * 3u;
      let scale = sqrt(obsMoments[m + 1u] + obsNorm.epsilon);
      x[k] = clamp((o[k] - obsMoments[m]) / scale, -obsNorm.clip, obsNorm.clip);
    } else {
      x[k] = o[k];
    }
  }
  return x;
}

@compute @workgroup_size(WG)
fn rollout_steps(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let env = linear_index(gid, nwg);
  let N = vecEnv.numEnvs;
  let T = args.numSteps;
  let first = step.t;
  if (env >= N || step.count == 0u) { return; }
  let at = env_at(agent_index(gid), env);
  let A = args.numActions;
  let seed = agent_seed(at.agent);
  var state = load_state(at);
  var seen = current_obs(at);
  var elapsed = u32(envSlots[slot_index(at, SLOT_ELAPSED)]);
  var episode = u32(envSlots[slot_index(at, SLOT_EPISODE)]);
  var running = envSlots[slot_index(at, SLOT_RUNNING_RETURN)];
  // This iteration's completed episodes: from 0 at step 0, as act_and_step starts them.
  var completedSum = select(envSlots[slot_index(at, SLOT_COMPLETED_RETURN_SUM)], 0.0, first == 0u);
  var completedCount = select(envSlots[slot_index(at, SLOT_COMPLETED_COUNT)], 0.0, first == 0u);
  for (var t = first; t < first + step.count; t++) {
    let r = t * N + env;
    let i = at.stepRow + r;
    let computed = policy_row(at.agent, policy_input(at.agent, seen), ENV_OBS_DIM);
    var row: DistParams;
    for (var k = 0u; k < A; k++) { row[k] = computed[k]; }
    let action = sample_row(at, row, t);
    let stepped = auto_reset_step(vecEnv, envParams, seed, env, state, rollout_clip_action(action), elapsed, episode);

    store_obs(at, r, seen);
    actions[i] = action;
    rewards[i] = stepped.reward;
    doneFlags[i] = select(0u, 1u, stepped.terminated) | select(0u, 2u, stepped.truncated);
    for (var k = 0u; k < A; k++) { behaviourLogits[i * A + k] = row[k]; }
    if (stepped.truncated) {
      store_obs(at, (T + 1u + t / vecEnv.maxEpisodeSteps) * N + env, env_obs(stepped.reached, envParams));
    }

    // act_and_step keeps these in envSlots between steps, as f32.
    let episodeReturn = running + stepped.reward;
    elapsed = u32(f32(stepped.elapsed));
    episode = u32(f32(stepped.episode));
    if (stepped.terminated || stepped.truncated) {
      running = 0.0;
      completedSum += episodeReturn;
      completedCount += 1.0;
    } else {
      running = episodeReturn;
    }
    state = stepped.next;
    seen = env_obs(state, envParams);
    store_obs(at, r + N, seen);
  }
  envSlots[slot_index(at, SLOT_ELAPSED)] = f32(elapsed);
  envSlots[slot_index(at, SLOT_EPISODE)] = f32(episode);
  envSlots[slot_index(at, SLOT_RUNNING_RETURN)] = running;
  envSlots[slot_index(at, SLOT_COMPLETED_RETURN_SUM)] = completedSum;
  envSlots[slot_index(at, SLOT_COMPLETED_COUNT)] = completedCount;
  store_state(at, state);
}
