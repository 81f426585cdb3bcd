// The agents' seeds as a uniform, for kernels that already bind WebGPU's default
// 8 storage buffers (rollout's act_and_step, vec_env's step, ppo's gather) and so
// cannot bind the agents' AgentParams records as a 9th. Seeds never change on the
// GPU, so src/gpu/agents.ts (agentSeedsUniform) copies them once from the records:
// 4 per vec4, agent a's at row a / 4, lane a % 4 (AGENT_SEED_ROWS · 4 = MAX_POPULATION).
// A family loading this file binds `var<uniform> agentSeeds: AgentSeeds;`.
struct AgentSeeds {
  seeds: array<vec4<u32>, AGENT_SEED_ROWS>,
}

// Agent a's seed (its AgentParams seed).
fn agent_seed(agent: u32) -> u32 {
  return agentSeeds.seeds[agent / 4u][agent % 4u];
}
