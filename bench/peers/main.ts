/**
 * The peer page: the same PPO configuration trained by our trainer (WebGPU)
 * and by TF.js (its WebGL or WebGPU backend), in one page on one machine.
 * Exposes `window.webgpuRlPeers` (PeersPageApi); bench/peers.ts drives it.
 */
import { describeAdapter, requestGpu } from '../../src/gpu/device';
import { resolveConfig } from '../../src/core/config';
import { makeTrainer } from '../../src/train/trainer';
import { makePeerTrainer, type PeerBackend, type PeerConfig } from './tfjsPpo';

export interface PeerRun {
  /** What ran: ours, or tfjs-webgl / tfjs-webgpu. */
  runner: string;
  /** The device underneath: our WebGPU adapter, or the WebGL renderer string. */
  device: string;
  /** Seconds per measured iteration (after warm-up), in order. */
  seconds: number[];
  batchSize: number;
  lastMeanReturn: number | null;
}

export interface PeersPageApi {
  run(runner: 'ours' | PeerBackend, config: PeerConfig, warmup: number, iters: number): Promise<PeerRun>;
}

const status = document.getElementById('status')!;
const log = (line: string) => console.log(`[bench] ${line}`);

function webglRenderer(): string {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return 'no WebGL 2';
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return info ? `${gl.getParameter(info.UNMASKED_VENDOR_WEBGL)} — ${gl.getParameter(info.UNMASKED_RENDERER_WEBGL)}` : String(gl.getParameter(gl.RENDERER));
}

async function webgpuAdapter(): Promise<string> {
  const info = (await navigator.gpu.requestAdapter())?.info;
  return info ? `${info.vendor} / ${info.architecture} — ${info.description || 'no description'}` : 'no WebGPU adapter';
}

async function timed(label: string, warmup: number, iters: number, iterate: () => Promise<number | null>) {
  const seconds: number[] = [];
  let lastMeanReturn: number | null = null;
  for (let k = 0; k < warmup + iters; k++) {
    const t0 = performance.now();
    lastMeanReturn = (await iterate()) ?? lastMeanReturn;
    const s = (performance.now() - t0) / 1000;
    if (k >= warmup) seconds.push(s);
    log(`${label}: iteration ${k}${k < warmup ? ' (warm-up)' : ''} ${s.toFixed(3)} s`);
  }
  return { seconds, lastMeanReturn };
}

const api: PeersPageApi = {
  async run(runner, c, warmup, iters) {
    status.textContent = `Running ${runner}…`;
    const batchSize = c.numEnvs * c.stepsPerEnv;
    if (runner === 'ours') {
      const gpu = await requestGpu({ quiet: true });
      try {
        const config = resolveConfig({
          algo: 'ppo',
          numEnvs: c.numEnvs,
          stepsPerIter: batchSize,
          epochs: c.epochs,
          minibatch: c.minibatch,
          hidden: c.hidden,
          lr: c.lr,
          valueLr: c.valueLr,
          gamma: c.gamma,
          lambda: c.lambda,
          clip: c.clip,
          seed: c.seed,
        });
        const trainer = await makeTrainer(gpu, config);
        try {
          const { seconds, lastMeanReturn } = await timed('ours', warmup, iters, async () => (await trainer.step()).mean_return);
          return { runner: 'ours', device: describeAdapter(gpu.adapter), seconds, batchSize, lastMeanReturn };
        } finally {
          trainer.destroy();
        }
      } finally {
        gpu.destroy();
      }
    }
    const peer = await makePeerTrainer(runner, c);
    try {
      const { seconds, lastMeanReturn } = await timed(`tfjs-${runner}`, warmup, iters, () => peer.iterate());
      const device = runner === 'webgl' ? webglRenderer() : await webgpuAdapter();
      return { runner: `tfjs-${runner}`, device, seconds, batchSize, lastMeanReturn };
    } finally {
      peer.dispose();
      status.textContent = `Finished ${runner}.`;
    }
  },
};

(window as unknown as { webgpuRlPeers: PeersPageApi }).webgpuRlPeers = api;
status.textContent = 'Ready.';
document.body.dataset.state = 'ready';
