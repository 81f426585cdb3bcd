/**
 * The peer we compare against in the browser: PPO on CartPole-v1 written the
 * way a TF.js user writes it (CleanRL's ppo.py ported): the policy and value
 * networks and the whole update in TF.js tensors on the chosen backend, the
 * envs stepped in JavaScript on the CPU (the float64 CartPole reference, which
 * follows Gymnasium), actions sampled in JavaScript from the logits read back
 * every step. Same shapes and update schedule as our trainer's configuration;
 * only throughput is compared, not learning.
 *
 * Simplifications that favour the peer (less work than ours): truncation is
 * treated as termination (no bootstrap from the final observation), and there
 * is no value clipping, entropy term or gradient clipping.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { CARTPOLE_V1, cartpoleResetState64, cartpoleStep64 } from '../../src/reference/cartpole';
import { VecEnvRef, type EnvModel64 } from '../../src/reference/vecEnvRef';
import { mulberry32 } from '../../src/core/prng';

export interface PeerConfig {
  numEnvs: number;
  stepsPerEnv: number;
  epochs: number;
  minibatch: number;
  hidden: number;
  lr: number;
  valueLr: number;
  gamma: number;
  lambda: number;
  clip: number;
  seed: number;
}

export const PEER_BACKENDS = ['webgl', 'webgpu'] as const;
export type PeerBackend = (typeof PEER_BACKENDS)[number];

const CARTPOLE_MODEL: EnvModel64 = {
  stateDim: 4,
  obsDim: 4,
  maxEpisodeSteps: 500,
  reset: (seed, env, episode) => cartpoleResetState64(seed, env, episode),
  step: (state, action) => ({ ...cartpoleStep64(state, action, CARTPOLE_V1), reward: 1 }),
  obs: (state) => Array.from(state),
};

interface Dense {
  w: tf.Variable;
  b: tf.Variable;
}

/** PyTorch's default Linear init: weights and biases uniform in ±1/√fan_in. */
function dense(inDim: number, outDim: number, seed: number): Dense {
  const bound = 1 / Math.sqrt(inDim);
  return {
    w: tf.variable(tf.randomUniform([inDim, outDim], -bound, bound, 'float32', seed)),
    b: tf.variable(tf.randomUniform([outDim], -bound, bound, 'float32', seed + 1)),
  };
}

function network(sizes: number[], seed: number): Dense[] {
  return sizes.slice(1).map((out, i) => dense(sizes[i], out, seed + 2 * i));
}

function forward(layers: Dense[], x: tf.Tensor2D): tf.Tensor2D {
  let h = x;
  layers.forEach((layer, i) => {
    const z = tf.add(tf.matMul(h, layer.w), layer.b) as tf.Tensor2D;
    h = i < layers.length - 1 ? tf.tanh(z) : z;
  });
  return h;
}

const variables = (layers: Dense[]) => layers.flatMap((l) => [l.w, l.b]);

export interface PeerTrainer {
  backend: string;
  /** One PPO iteration; resolves when its GPU work is done. Returns the mean return of episodes that ended. */
  iterate(): Promise<number | null>;
  dispose(): void;
}

export async function makePeerTrainer(backend: PeerBackend, c: PeerConfig): Promise<PeerTrainer> {
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} is not available here`);
  await tf.ready();
  const N = c.numEnvs;
  const T = c.stepsPerEnv;
  const B = N * T;
  const policy = network([4, c.hidden, c.hidden, 2], c.seed * 16);
  const value = network([4, c.hidden, c.hidden, 1], c.seed * 16 + 8);
  const policyOpt = tf.train.adam(c.lr);
  const valueOpt = tf.train.adam(c.valueLr);
  const env = new VecEnvRef(CARTPOLE_MODEL, N, c.seed);
  const random = mulberry32(c.seed);
  let obs = Float32Array.from({ length: N * 4 }, (_, i) => env.state[i]);
  const episodeReturn = new Float64Array(N);

  const obsBuf = new Float32Array(B * 4);
  const actionBuf = new Int32Array(B);
  const logpBuf = new Float32Array(B);
  const valueBuf = new Float32Array(B + N);
  const rewardBuf = new Float32Array(B);
  const doneBuf = new Uint8Array(B);

  async function iterate(): Promise<number | null> {
    const finished: number[] = [];
    for (let t = 0; t < T; t++) {
      const [logits, values] = tf.tidy(() => {
        const x = tf.tensor2d(obs, [N, 4]);
        return [tf.logSoftmax(forward(policy, x)), forward(value, x)];
      });
      const [logp, v] = await Promise.all([logits.data(), values.data()]);
      logits.dispose();
      values.dispose();
      const actions = new Int32Array(N);
      for (let e = 0; e < N; e++) {
        const a = random() < Math.exp(logp[2 * e]) ? 0 : 1;
        actions[e] = a;
        logpBuf[t * N + e] = logp[2 * e + a];
      }
      obsBuf.set(obs, t * N * 4);
      actionBuf.set(actions, t * N);
      valueBuf.set(v, t * N);
      const r = env.step(actions);
      for (let e = 0; e < N; e++) {
        rewardBuf[t * N + e] = r.reward[e];
        const done = r.terminated[e] || r.truncated[e];
        doneBuf[t * N + e] = done;
        episodeReturn[e] += r.reward[e];
        if (done) {
          finished.push(episodeReturn[e]);
          episodeReturn[e] = 0;
        }
      }
      obs = Float32Array.from(r.obs);
    }
    const last = tf.tidy(() => forward(value, tf.tensor2d(obs, [N, 4])));
    valueBuf.set(await last.data(), B);
    last.dispose();

    // GAE on the CPU, then advantages normalised over the batch.
    const advantages = new Float32Array(B);
    const returns = new Float32Array(B);
    for (let e = 0; e < N; e++) {
      let gae = 0;
      for (let t = T - 1; t >= 0; t--) {
        const i = t * N + e;
        const notDone = 1 - doneBuf[i];
        const delta = rewardBuf[i] + c.gamma * valueBuf[i + N] * notDone - valueBuf[i];
        gae = delta + c.gamma * c.lambda * notDone * gae;
        advantages[i] = gae;
        returns[i] = gae + valueBuf[i];
      }
    }
    let mean = 0;
    for (const a of advantages) mean += a / B;
    let variance = 0;
    for (const a of advantages) variance += (a - mean) ** 2 / B;
    const std = Math.sqrt(variance) + 1e-8;
    for (let i = 0; i < B; i++) advantages[i] = (advantages[i] - mean) / std;

    const batch = {
      obs: tf.tensor2d(obsBuf, [B, 4]),
      actions: tf.tensor1d(actionBuf, 'int32'),
      logpOld: tf.tensor1d(logpBuf),
      advantages: tf.tensor1d(advantages),
      returns: tf.tensor1d(returns),
    };
    const minibatches = Math.floor(B / c.minibatch);
    const order = new Int32Array(B);
    for (let epoch = 0; epoch < c.epochs; epoch++) {
      order.forEach((_, i) => (order[i] = i));
      for (let i = B - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (let m = 0; m < minibatches; m++) {
        tf.tidy(() => {
          const idx = tf.tensor1d(order.subarray(m * c.minibatch, (m + 1) * c.minibatch), 'int32');
          const x = tf.gather(batch.obs, idx) as tf.Tensor2D;
          const actions = tf.gather(batch.actions, idx);
          const logpOld = tf.gather(batch.logpOld, idx);
          const adv = tf.gather(batch.advantages, idx);
          const ret = tf.gather(batch.returns, idx);
          policyOpt.minimize(
            () => {
              const logp = tf.sum(tf.mul(tf.logSoftmax(forward(policy, x)), tf.oneHot(actions, 2)), 1);
              const ratio = tf.exp(tf.sub(logp, logpOld));
              const surrogate = tf.minimum(tf.mul(ratio, adv), tf.mul(tf.clipByValue(ratio, 1 - c.clip, 1 + c.clip), adv));
              return tf.neg(tf.mean(surrogate)) as tf.Scalar;
            },
            false,
            variables(policy),
          );
          valueOpt.minimize(() => tf.mean(tf.square(tf.sub(tf.reshape(forward(value, x), [-1]), ret))) as tf.Scalar, false, variables(value));
        });
      }
    }
    Object.values(batch).forEach((t) => t.dispose());
    // Wait for the update's GPU work: read one parameter back.
    await policy[0].b.data();
    return finished.length ? finished.reduce((s, x) => s + x, 0) / finished.length : null;
  }

  return {
    backend,
    iterate,
    dispose() {
      for (const v of [...variables(policy), ...variables(value)]) v.dispose();
      policyOpt.dispose();
      valueOpt.dispose();
    },
  };
}
