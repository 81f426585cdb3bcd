// PPO's losses opening both networks' input-gradient chains: one dispatch where
// ppo.wgsl's minibatch_losses and mlp.wgsl's backward_input_chain_pair take two
// (the `rows` chains, paired; lavapipe's). The invocation that owns rows
// first .. first + ROWS − 1 of a network's chain first takes those rows' losses
// (policy_loss or value_loss, ppo_losses.wgsl: they store the output gradients
// and statistics as minibatch_losses does), then runs the chain from the
// gradients it holds, so the results are bit-identical to the two dispatches.
// Binds 14 storage buffers: 6 of the chains', 8 of the losses'. (A pair's passes are never
// split: each chain is given the other network's ranges as its high ones, never read.)
// Loaded after mlp.wgsl (MLP_SOURCES), random.wgsl, the distribution module,
// the METRIC_* slots, STAT_*, RECORD_*, METRICS_BLOCK_FLOATS and ppo_losses.wgsl.

@compute @workgroup_size(WG)
fn losses_backward_input_chain_pair(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let i = linear_index(gid, nwg);
  let split = pair_split();
  let isPolicy = i < split;
  let first = select(i - split, i, isPolicy) * ROWS;
  let rows = select(args2.rows, args.rows, isPolicy);
  if (first >= rows) { return; }
  // The network's output gradient rows; rows past the end repeat the last (their results are not stored).
  let last = rows - 1u - first;
  var g: RowGradients;
  for (var j = 0u; j < ROWS; j++) {
    if (j > last) {
      g[j] = g[last];
    } else if (isPolicy) {
      let d = policy_loss(agent, first + j);
      for (var k = 0u; k < ppo.numActions; k++) { g[j][k] = d[k]; }
    } else {
      g[j][0] = value_loss(agent, first + j);
    }
  }
  if (isPolicy) {
    chain_backward_input_from(agent, first, args, &chainLayers, &paramsVec4, &g, &hiddenGrads, &hiddenActs, &hidden2Grads, &hidden2Acts);
  } else {
    chain_backward_input_from(agent, first, args2, &chainLayers2, &params2Vec4, &g, &hidden2Grads, &hidden2Acts, &hiddenGrads, &hiddenActs);
  }
}
