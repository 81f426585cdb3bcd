/**
 * A canvas of CartPoles acting with a policy: the current weights of a training
 * run, or a loaded checkpoint's. The grid's envs are simulated on the CPU with
 * the float64 CartPole and MLP references, at CartPole's own rate (tau = 0.02 s
 * per step) and drawn at the display rate with interpolation between steps.
 *
 * Why not on the GPU: the device runs submits in order, so anything the view
 * submitted would wait behind the training iterations already queued — seconds
 * each on a CPU fallback (measured with SwiftShader: a GPU-stepped view stood
 * still most of the time). The view reads the live weights back instead, once a
 * second (a copy of a few thousand floats), and animates them without ever
 * waiting; training loses one tiny copy per second.
 *
 * `data-state` on the canvas: idle (no policy), waiting (for the first weights), animating.
 */
import type { GpuContext } from '../gpu/device';
import type { MlpLayout } from '../nn/mlp';
import { mlpForwardReference } from '../reference/mlp';
import { mulberry32 } from '../core/prng';
import { CARTPOLE_V1, cartpoleResetState64, cartpoleStep64 } from '../reference/cartpole';

const COLUMNS = 6;
const ROWS = 3;
const GRID_ENVS = COLUMNS * ROWS;
const VIEW_SEED = 20_240_601;
/** How often the live weights are read back. */
const REFRESH_MS = 1000;
/** Simulation time per frame; beyond it (huge networks, a stalled tab) the animation slows rather than the page. */
const STEP_BUDGET_MS = 4;
const MAX_FRAME_SECONDS = 0.1;
/** Steps an ended episode stays on screen before its env resets, so a fall can be seen. */
const HOLD_STEPS = 15;

/**
 * Where the shown policy's weights come from: a live GPU buffer (with the
 * weights known when it is chosen, if any, shown until the first readback), or
 * fixed weights.
 */
export type PolicySource = { layout: MlpLayout; params: GPUBuffer; weights: Float32Array | null } | { layout: MlpLayout; weights: Float32Array };

export class CartPoleView {
  private gpu: GpuContext | null = null;
  private source: PolicySource | null = null;
  private weights: Float32Array | null = null;
  /** Bumped whenever the source or device changes, so a late readback of the old one is dropped. */
  private generation = 0;
  private staging: GPUBuffer | null = null;
  private readingBack = false;
  private lastRefresh = -Infinity;

  private readonly states = new Float64Array(GRID_ENVS * 4);
  private readonly previous = new Float64Array(GRID_ENVS * 4);
  private readonly episodes = new Uint32Array(GRID_ENVS);
  private readonly lengths = new Uint32Array(GRID_ENVS);
  /** Steps left to show an ended episode (0: the episode goes on). */
  private readonly holding = new Uint8Array(GRID_ENVS);
  private random = mulberry32(VIEW_SEED);
  /** Simulated seconds not yet stepped. */
  private pending = 0;
  private lastFrame = 0;
  private animate = true;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly caption: HTMLElement,
  ) {
    this.follow(null, '');
    requestAnimationFrame((t) => this.frame(t));
  }

  /** Uses this device from now on (after a device loss, the new one; null: none). */
  attach(gpu: GpuContext | null): void {
    this.gpu = gpu;
    this.follow(null, '');
  }

  /** Shows `source` acting (null: nothing); every env starts a fresh episode. A policy for another env is not drawn (this view is CartPole's). */
  follow(source: PolicySource | null, label: string, env = 'CartPole-v1'): void {
    const otherEnv = source !== null && env !== 'CartPole-v1';
    if (otherEnv) source = null;
    this.generation++;
    this.source = source;
    this.weights = source?.weights ?? null;
    this.staging?.destroy();
    this.staging = null;
    this.readingBack = false;
    this.lastRefresh = -Infinity;
    this.random = mulberry32(VIEW_SEED);
    this.pending = 0;
    for (let e = 0; e < GRID_ENVS; e++) {
      this.episodes[e] = 0;
      this.startEpisode(e);
    }
    this.canvas.dataset.state = source ? 'waiting' : 'idle';
    this.canvas.dataset.drawn = '';
    this.caption.textContent = source
      ? `${label}, ${GRID_ENVS} envs sampling its actions`
      : otherEnv
        ? `This view draws CartPole-v1; ${env} is trained but not drawn.`
        : 'No policy yet: press Train, or load a checkpoint.';
  }

  setAnimate(on: boolean): void {
    this.animate = on;
  }

  private startEpisode(env: number): void {
    const start = cartpoleResetState64(VIEW_SEED, env, this.episodes[env]++);
    this.states.set(start, env * 4);
    this.previous.set(start, env * 4);
    this.lengths[env] = 0;
    this.holding[env] = 0;
  }

  /** Copies the live policy's weights back, at most once per REFRESH_MS and one copy at a time. */
  private refreshWeights(now: number): void {
    const gpu = this.gpu;
    const source = this.source;
    if (!gpu || !source || !('params' in source) || this.readingBack || now - this.lastRefresh < REFRESH_MS) return;
    const generation = this.generation;
    const bytes = source.layout.paramCount * 4;
    this.staging ??= gpu.device.createBuffer({ label: 'cartpoleView.weights', size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const staging = this.staging;
    const encoder = gpu.device.createCommandEncoder({ label: 'cartpoleView.weights' });
    encoder.copyBufferToBuffer(source.params, 0, staging, 0, bytes);
    gpu.device.queue.submit([encoder.finish()]);
    this.readingBack = true;
    this.lastRefresh = now;
    staging.mapAsync(GPUMapMode.READ).then(
      () => {
        if (generation !== this.generation) return;
        this.weights = new Float32Array(staging.getMappedRange().slice(0));
        staging.unmap();
        this.readingBack = false;
      },
      // The device failed; the page reports it and attaches a new one.
      () => undefined,
    );
  }

  /** One CartPole step of every env, actions sampled from the policy's softmax. */
  private step(layout: MlpLayout, weights: Float32Array): void {
    for (let e = 0; e < GRID_ENVS; e++) if (this.holding[e] === 1) this.startEpisode(e);
    const activations = mlpForwardReference(layout, weights, this.states, GRID_ENVS);
    const logits = activations[activations.length - 1];
    const numActions = layout.sizes[layout.sizes.length - 1];
    for (let e = 0; e < GRID_ENVS; e++) {
      const row = logits.subarray(e * numActions, (e + 1) * numActions);
      const top = Math.max(...row);
      const total = row.reduce((sum, l) => sum + Math.exp(l - top), 0);
      let u = this.random() * total;
      let action = 0;
      while (action < numActions - 1 && (u -= Math.exp(row[action] - top)) >= 0) action++;
      const state = this.states.subarray(e * 4, e * 4 + 4);
      this.previous.set(state, e * 4);
      if (this.holding[e] > 0) {
        this.holding[e]--;
        continue;
      }
      const { next, terminated } = cartpoleStep64(state, action);
      state.set(next);
      this.lengths[e]++;
      if (terminated || this.lengths[e] >= CARTPOLE_V1.maxEpisodeSteps) this.holding[e] = HOLD_STEPS;
    }
  }

  private frame(time: number): void {
    requestAnimationFrame((t) => this.frame(t));
    const seconds = Math.min(MAX_FRAME_SECONDS, (time - this.lastFrame) / 1000);
    this.lastFrame = time;
    if (!this.animate) return;
    if (!this.source) {
      this.drawOnce('empty', 0.3);
      return;
    }
    this.refreshWeights(time);
    const weights = this.weights;
    if (!weights) {
      this.drawOnce('waiting', 0.3);
      return;
    }
    this.canvas.dataset.state = 'animating';
    this.pending += seconds;
    const started = performance.now();
    while (this.pending >= CARTPOLE_V1.tau && performance.now() - started < STEP_BUDGET_MS) {
      this.step(this.source.layout, weights);
      this.pending -= CARTPOLE_V1.tau;
    }
    this.pending = Math.min(this.pending, CARTPOLE_V1.tau);
    this.draw(this.pending / CARTPOLE_V1.tau, 1);
  }

  /** A still frame (no policy, or no weights yet), drawn once. */
  private drawOnce(kind: string, alpha: number): void {
    if (this.canvas.dataset.drawn === kind) return;
    this.canvas.dataset.drawn = kind;
    this.draw(0, alpha);
  }

  private draw(fraction: number, alpha: number): void {
    const ratio = window.devicePixelRatio || 1;
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    if (this.canvas.width !== Math.round(width * ratio) || this.canvas.height !== Math.round(height * ratio)) {
      this.canvas.width = Math.round(width * ratio);
      this.canvas.height = Math.round(height * ratio);
    }
    const context = this.canvas.getContext('2d')!;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    context.globalAlpha = alpha;
    const ink = getComputedStyle(this.canvas).color;
    const cellWidth = width / COLUMNS;
    const cellHeight = height / ROWS;
    for (let e = 0; e < GRID_ENVS; e++) {
      // Ease from the previous step's state to the current one.
      const x = this.previous[e * 4] + (this.states[e * 4] - this.previous[e * 4]) * fraction;
      const theta = this.previous[e * 4 + 2] + (this.states[e * 4 + 2] - this.previous[e * 4 + 2]) * fraction;
      this.drawCartPole(context, ink, (e % COLUMNS) * cellWidth, Math.floor(e / COLUMNS) * cellHeight, cellWidth, cellHeight, x, theta, e);
    }
    context.globalAlpha = 1;
  }

  private drawCartPole(
    context: CanvasRenderingContext2D,
    ink: string,
    left: number,
    top: number,
    width: number,
    height: number,
    x: number,
    theta: number,
    env: number,
  ): void {
    const p = CARTPOLE_V1;
    const margin = 6;
    // Gymnasium's rendering: the track spans ±x threshold, the pole is 2 × half-length long.
    const scale = (width - 2 * margin) / (2 * p.xThreshold);
    const trackY = top + height * 0.78;
    const cartX = left + margin + (x + p.xThreshold) * scale;
    const cartWidth = 0.5 * scale;
    const cartHeight = 0.3 * scale;
    const poleLength = 2 * p.halfLength * scale;
    const fell = this.holding[env] > 0 && this.lengths[env] < p.maxEpisodeSteps;

    context.strokeStyle = 'rgba(128, 128, 128, 0.35)';
    context.lineWidth = 1;
    context.strokeRect(left + 0.5, top + 0.5, width - 1, height - 1);
    context.beginPath();
    context.moveTo(left + margin, trackY);
    context.lineTo(left + width - margin, trackY);
    context.strokeStyle = ink;
    context.stroke();

    context.fillStyle = fell ? '#c62828' : ink;
    context.fillRect(cartX - cartWidth / 2, trackY - cartHeight, cartWidth, cartHeight);
    const pivotY = trackY - cartHeight * 0.75;
    context.beginPath();
    context.moveTo(cartX, pivotY);
    context.lineTo(cartX + poleLength * Math.sin(theta), pivotY - poleLength * Math.cos(theta));
    context.strokeStyle = '#ca9849';
    context.lineWidth = Math.max(3, 0.1 * scale);
    context.lineCap = 'round';
    context.stroke();

    context.fillStyle = ink;
    context.font = '12px system-ui, sans-serif';
    context.fillText(`${this.lengths[env]}`, left + margin, top + 15);
  }
}
