// Populations from a program: P agents in one trainer, every dispatch covering
// all of them, one submit per iteration. The agents come from a sweep (the
// CLI's --seed 1..8 --lr log:1e-4..1e-2), each one's metrics come back at its
// index, and agent k is, bit for bit, the single run of its config. Then the
// same agents with population-based training, and the best one taken out as an
// ordinary checkpoint.
// Run: npm run build && node examples/population.mjs
import {
  requestGpu,
  resolvePopulation,
  parseSweep,
  makePopulationTrainer,
  makeTrainer,
  populationSummary,
  extractAgent,
  PBT_PERTURB_DEFAULTS,
} from 'webgpu-rl';

const iterations = 4;
const gpu = await requestGpu();
const shared = { algo: 'ppo', preset: 'fast', env: 'CartPole-v1', numEnvs: 16, stepsPerIter: 512, epochs: 2, minibatch: 128 };
const sweeps = new Map([
  ['seed', parseSweep('seed', '1..8')],
  ['lr', parseSweep('lr', 'log:1e-4..1e-2')],
]);
const plan = resolvePopulation(shared, sweeps, 8);
console.log(`${plan.size} agents, sweeping ${plan.swept.join(' and ')}: lr ${plan.agents.map((a) => a.lr.toExponential(1)).join(' ')}`);

// A plain population, and agent 3 trained alone with its own config: the same numbers.
const population = await makePopulationTrainer(gpu, plan.agents);
const single = await makeTrainer(gpu, plan.agents[3]);
for (let i = 0; i < iterations; i++) {
  const agents = await population.step();
  const alone = await single.step();
  for (const field of ['mean_return', 'approx_kl', 'policy_loss', 'value_loss', 'entropy']) {
    if (!Object.is(agents[3][field], alone[field])) throw new Error(`agent 3's ${field} ${agents[3][field]} is not its single run's ${alone[field]}`);
  }
  const s = populationSummary(agents);
  console.log(`iter ${s.iter}  median ${s.median?.toFixed(1) ?? '—'}  best ${s.best?.toFixed(1) ?? '—'} (agent ${s.best_agent})`);
}
console.log('agent 3 = its single run, bit for bit');
population.destroy();
single.destroy();

// The same agents with PBT: every 2 iterations the worst quarter copies the best
// quarter (weights, optimizer, normalisation and here their envs) and perturbs lr, clip, λ.
const pbt = await makePopulationTrainer(gpu, plan.agents, { pbt: { interval: 2, fraction: 0.25, perturb: PBT_PERTURB_DEFAULTS.ppo, envs: 'copy' } });
const histories = plan.agents.map(() => []);
let last = [];
for (let i = 0; i < iterations; i++) {
  last = await pbt.step();
  last.forEach((m, k) => histories[k].push(m));
  const copied = last.flatMap((m, k) => (m.pbt_parent !== null && m.pbt_parent !== undefined ? [`${k}←${m.pbt_parent}`] : []));
  if (copied.length) console.log(`iter ${last[0].iter}: exploit ${copied.join(' ')}`);
}
const best = populationSummary(last).best_agent ?? 0;
const agent = extractAgent(await pbt.checkpoint(histories), best);
console.log(`best agent ${best}: lr ${agent.config.lr.toExponential(2)}, an ordinary checkpoint of ${Object.keys(agent.arrays).length} arrays`);
pbt.destroy();
gpu.destroy();
