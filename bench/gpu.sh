#!/usr/bin/env bash
# The whole bench suite on a machine with a GPU, in under 10 minutes, writing
# the tables a CPU run writes (bench/out/<stamp>.json and .html, a section in
# bench/out/runs.md) plus the population case and the paired A/Bs of the
# parameter-gradient reduction, of the chaining, of the networks' pairing, of the rollout's form and of
# Adam's step form.
#
#   bash bench/gpu.sh [label]        (after npm ci; Node runner, Dawn on the system's Vulkan GPU)
#
# Every step has its own time limit, so a slow or hanging step cannot take the
# run past 10 minutes; a step that times out is reported and the rest go on.
# Untested on a GPU so far: none was at hand while it was written (bench/RESULTS.md).
set -uo pipefail
cd "$(dirname "$0")/.."
label=${1:-gpu}
mkdir -p bench/out
log=bench/out/gpu-$(date -u +%Y%m%dT%H%M%SZ).log
status=0

step() { # step SECONDS NAME COMMAND...: runs COMMAND with a time limit, its output into the log
  local limit=$1 name=$2
  shift 2
  echo "== $name (limit ${limit}s)" | tee -a "$log"
  timeout --signal=INT "$limit" "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    echo "== $name: exit $rc$([ "$rc" -eq 124 ] && echo ' (time limit)')" | tee -a "$log"
    status=1
  fi
}

step 60 build npm run --silent build:cli
# Every case, Node only (headless Chromium would fall back to SwiftShader without GPU flags); each
# record names its adapter: on a CPU fallback these figures are not a GPU's. Peak first: the
# training cases are reported as a fraction of its ceiling.
step 240 suite node dist-cli/bench/run.js --node --label "$label" \
  --cases env,rollout,mlp,peak,fused,fvp,cg,ppo,ppo-kl,trpo,reinforce
step 40 solve node dist-cli/bench/run.js --node --label "$label-solve" --cases solve
# Populations (issue 12): aggregate env steps/s at P = 1, 64 and 256 of the seed preset, with P = 1
# again last; on a GPU the ratio should approach P (bench/RESULTS.md reasons it from the counts).
step 40 population node dist-cli/bench/run.js --node --label "$label-population" --cases population \
  --preset seed --population 1,64,256,1 --iters 1 --no-profile
# On a GPU `split` is the default: B = serial, at the seed preset (minibatches of 128) and the target (2 048).
step 40 ab-seed node dist-cli/bench/ab.js --variant serial --preset seed --pairs 5
step 40 ab-target node dist-cli/bench/ab.js --variant serial --pairs 5
# On a GPU the networks chain by default (unmeasured when chosen): B = one dispatch per layer.
step 40 ab-chain node dist-cli/bench/ab.js --variant layers --preset seed --pairs 5
# PPO's two networks share their chains' dispatches by default (unmeasured on a GPU): B = each alone.
step 30 ab-pairs node dist-cli/bench/ab.js --variant alone --pairs 3
# The rollout runs fused on a GPU by default (unmeasured when chosen): B = a policy forward and an
# act-and-step dispatch per step, at the Studio's GPU default (4 096 envs × 16 steps).
step 25 ab-rollout node dist-cli/bench/ab.js --variant rollout-steps --preset fast --envs 4096 --steps-per-iter 65536 --minibatch 8192 --pairs 3
# Adam's step on a GPU: one dispatch, one parameter an invocation by default (unmeasured when chosen):
# B = 8 parameters an invocation (lavapipe's form).
step 15 ab-adam node dist-cli/bench/ab.js --variant adam-per-8 --preset seed --pairs 3
# What Chrome runs on this GPU: 10 storage buffers per stage (expected: the same 6 dispatches per PPO minibatch).
step 30 browser-limit node dist-cli/bench/run.js --node --label "$label-10-storage" --cases ppo --preset fast --storage-buffers 10 --no-profile
echo "bench/gpu.sh: log in $log; tables in bench/out/runs.md" | tee -a "$log"
exit $status
