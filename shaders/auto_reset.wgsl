// auto_reset.wgsl — one step of N envs with Gymnasium's time limit and
// same-step auto-reset, written once over an env module's own functions.
// Helpers only (no bindings, no entry points): the standalone vectorized env
// (vec_env.wgsl) and the fused rollout (rollout.wgsl) both step through it.
// `envSources` (src/envs/env.ts) loads it after random.wgsl, trig.wgsl and the
// generated dimension constants, before the env module.
//
// The env module contract (shaders/cartpole.wgsl, acrobot.wgsl and
// mountain_car.wgsl follow it, as does a user's env registered with
// VecEnv.define, e.g. examples/walk_to_target.wgsl):
//   struct EnvParams                     the env's constants (one uniform)
//   fn env_reset(key: ResetKey, p: EnvParams) -> EnvState
//   fn env_step(s: EnvState, action: EnvAction, p: EnvParams) -> EnvState
//   fn env_terminated(reached: EnvState, p: EnvParams) -> bool
//   fn env_reward(s: EnvState, action: EnvAction, reached: EnvState, terminated: bool, p: EnvParams) -> f32
//   fn env_obs(s: EnvState, p: EnvParams) -> EnvObs
// States and observations are rows of f32 in Gymnasium's order: EnvState and
// EnvObs, with their lengths ENV_STATE_DIM and ENV_OBS_DIM, are generated from
// the env's definition (src/envs/env.ts: a vec2/vec4 or an array<f32, n>; read
// them as s[k] and build them as EnvState(a, b, ...), which works for both),
// as is EnvAction: i32 (the action index) for discrete actions, or
// array<f32, ENV_ACTION_DIM> for a box, passed unclipped: env_step and
// env_reward clip it to the env's bounds where Gymnasium's env does.
// A module may call reset_bits (below) for reset randomness and
// accurate_sin_cos (trig.wgsl) where the built-ins' error would show.
//
// A step: reached = env_step(s, a); terminated and reward from it; truncated
// when the step count reaches maxEpisodeSteps (both may be set). An env that
// ended starts its next episode in the same step: next = env_reset of
// (env, episode + 1), the step count restarts at 0; otherwise next = reached.
// Episode e of env n draws its reset bits from philox4x32((n, e, draw, 0),
// (seed, STREAM_RESET)), so a seed fixes every start state.
//
// Populations: a family steps numEnvs envs for each of P agents (workgroup id z),
// env n of agent a keyed by agent a's seed and the within-agent index n, so agent a
// draws exactly what a single run with its seed draws.


// Shared by every env of a vectorized env or rollout (numEnvs per agent).
struct VecEnvArgs {
  numEnvs: u32,
  maxEpisodeSteps: u32,
}

struct ResetKey {
  env: u32,
  episode: u32,
  seed: u32,
}

// Draw `draw` of four random words for a reset; an env that needs more than
// four numbers takes draws 0, 1, ...
fn reset_bits(key: ResetKey, draw: u32) -> vec4<u32> {
  return philox4x32(vec4<u32>(key.env, key.episode, draw, 0u), vec2<u32>(key.seed, STREAM_RESET));
}

// Four uniform numbers in [−width/2, width/2) for a reset, from draw 0:
// width·(u − 0.5) is one rounding after an exact subtraction, so no adapter's
// fused multiply-add can change the bits.
fn reset_uniform4(key: ResetKey, width: f32) -> vec4<f32> {
  let bits = reset_bits(key, 0u);
  let u = vec4<f32>(uniform01(bits.x), uniform01(bits.y), uniform01(bits.z), uniform01(bits.w));
  return width * (u - 0.5);
}

// The start state of episode `episode` of env `env` (within its agent, whose seed is `seed`).
fn episode_start(seed: u32, p: EnvParams, env: u32, episode: u32) -> EnvState {
  return env_reset(ResetKey(env, episode, seed), p);
}

struct EnvTransition {
  // The state the step reached (the final observation's source when the episode ended).
  reached: EnvState,
  // The state the env is in after the step: `reached`, or the next episode's start.
  next: EnvState,
  reward: f32,
  terminated: bool,
  truncated: bool,
  // Steps into the episode and episode index after the step.
  elapsed: u32,
  episode: u32,
}

// One step of env `env` (within the agent whose seed is `seed`) from `state`,
// `elapsed` steps into its episode `episode`.
fn auto_reset_step(envArgs: VecEnvArgs, p: EnvParams, seed: u32, env: u32, state: EnvState, action: EnvAction, elapsed: u32, episode: u32) -> EnvTransition {
  let reached = env_step(state, action, p);
  let terminated = env_terminated(reached, p);
  let reward = env_reward(state, action, reached, terminated, p);
  let stepped = elapsed + 1u;
  let truncated = stepped >= envArgs.maxEpisodeSteps;
  var transition = EnvTransition(reached, reached, reward, terminated, truncated, stepped, episode);
  // A branch, not a select: a reset costs more than the physics, and resets are rare.
  if (terminated || truncated) {
    transition.episode = episode + 1u;
    transition.next = episode_start(seed, p, env, transition.episode);
    transition.elapsed = 0u;
  }
  return transition;
}
