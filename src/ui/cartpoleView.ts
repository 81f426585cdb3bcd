/**
 * A canvas of CartPoles acting with a policy: the current weights of a training
 * run, or a loaded checkpoint's. The envs run on the GPU in their own small
 * rollout (not the trainer's), CHUNK_STEPS steps per submit: each chunk first
 * copies the live policy's weights into the view's network, and its states are
 * read back once and played at CartPole's own rate (tau = 0.02 s per step) with
 * interpolation between steps. Chunks queue behind training iterations on the
 * GPU, so the view keeps enough of them on the way to cover the time a chunk
 * takes to come back (seconds on a CPU fallback, where an iteration is slow);
 * the extra GPU work is GRID_ENVS envs against training's thousands.
 *
 * `data-state` on the canvas: idle (no policy), waiting (for the GPU), animating.
 */
import type { GpuContext } from '../gpu/device';
import type { MlpLayout } from '../nn/mlp';
import { Mlp, MlpKernels } from '../kernels/mlp';
import { Rollout } from '../algos/rollout';
import { CARTPOLE_V1 } from '../envs/cartpoleReference';

const COLUMNS = 6;
const ROWS = 3;
const GRID_ENVS = COLUMNS * ROWS;
/** Steps per GPU submit: 2 s of CartPole time. */
const CHUNK_STEPS = 100;
/** Most chunks on their way at once. */
const MAX_CHUNKS_AHEAD = 12;
const VIEW_SEED = 20_240_601;
/** Frames after a long stall (hidden tab) do not fast-forward more than this. */
const MAX_FRAME_SECONDS = 0.1;

/** Where the shown policy's weights come from. */
export type PolicySource = { layout: MlpLayout; params: GPUBuffer } | { layout: MlpLayout; weights: Float32Array };

/** States after each of CHUNK_STEPS steps ([T][N][4]) and whether the episode ended there ([T][N]). */
interface Chunk {
  states: Float32Array;
  done: Uint32Array;
}

/** The view's own network and rollout, built for one network layout on one device. */
interface ViewRollout {
  layout: MlpLayout;
  policy: Mlp;
  rollout: Rollout;
  /** Staging buffers for chunks on their way, added as more are needed. */
  staging: { buffer: GPUBuffer; busy: boolean }[];
}

function sameLayout(a: MlpLayout, b: MlpLayout): boolean {
  return a.sizes.join() === b.sizes.join() && a.activations.join() === b.activations.join();
}

export class CartPoleView {
  private gpu: GpuContext | null = null;
  private kernels: Promise<MlpKernels> | null = null;
  private view: Promise<ViewRollout> | null = null;
  private source: PolicySource | null = null;
  /** Bumped whenever the source or device changes, so late chunks of the old one are dropped. */
  private generation = 0;
  private chunkIndex = 0;
  /** Chunks read back and not yet played out, in order. */
  private readonly chunks: Chunk[] = [];
  private inFlight = 0;
  /** Chunks are numbered when requested and queued for playing in that order. */
  private nextSequence = 0;
  private playSequence = 0;
  private readonly arrived = new Map<number, Chunk>();
  /** Recent time from a chunk's submit to its readback (a slowly decaying maximum). */
  private latencyMs = 0;
  /** Position in steps inside chunks[0]. */
  private playhead = 0;
  private stepsApplied = 0;
  private readonly lengths = new Uint32Array(GRID_ENVS);
  private readonly endedAt = new Uint32Array(GRID_ENVS);
  private lastFrame = 0;
  private animate = true;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly caption: HTMLElement,
  ) {
    this.canvas.dataset.state = 'idle';
    this.caption.textContent = 'No policy yet: press Train, or load a checkpoint.';
    requestAnimationFrame((t) => this.frame(t));
  }

  /** Uses this device from now on (after a device loss, the new one). */
  attach(gpu: GpuContext | null): void {
    this.gpu = gpu;
    this.kernels = null;
    this.view = null;
    this.follow(null, '');
  }

  /** Shows `source` acting (null: nothing); fresh episodes start. */
  follow(source: PolicySource | null, label: string): void {
    this.source = source;
    this.generation++;
    this.chunks.length = 0;
    this.inFlight = 0;
    this.arrived.clear();
    this.playSequence = this.nextSequence;
    this.playhead = 0;
    this.stepsApplied = 0;
    this.lengths.fill(0);
    this.endedAt.fill(0);
    this.canvas.dataset.state = source ? 'waiting' : 'idle';
    this.caption.textContent = source ? `${label}, ${GRID_ENVS} envs sampling its actions` : 'No policy yet: press Train, or load a checkpoint.';
    if (!source || !this.gpu) return;
    const gpu = this.gpu;
    const generation = this.generation;
    this.view = (this.view ?? Promise.resolve(null))
      .catch(() => null)
      .then((v) => (v && sameLayout(v.layout, source.layout) ? v : this.build(gpu, source.layout)))
      .then((v) => {
        if ('weights' in source) v.policy.setParams(source.weights);
        if (generation === this.generation) v.rollout.reset();
        return v;
      });
  }

  setAnimate(on: boolean): void {
    this.animate = on;
  }

  private async build(gpu: GpuContext, layout: MlpLayout): Promise<ViewRollout> {
    this.kernels ??= MlpKernels.create(gpu);
    const policy = Mlp.create(gpu, await this.kernels, layout, 'cartpoleView.policy');
    const rollout = await Rollout.create(
      gpu,
      policy,
      { numEnvs: GRID_ENVS, numSteps: CHUNK_STEPS, numActions: layout.sizes[layout.sizes.length - 1], seed: VIEW_SEED },
      'cartpoleView',
    );
    return { layout, policy, rollout, staging: [] };
  }

  /** Queues the next chunk: refresh the weights from the live policy, step, copy the states out. */
  private async requestChunk(gpu: GpuContext, source: PolicySource, view: Promise<ViewRollout>): Promise<void> {
    const generation = this.generation;
    const sequence = this.nextSequence++;
    this.inFlight++;
    try {
      // Continuations after the same promise run in request order, so chunks are submitted in sequence.
      const v = await view;
      if (generation !== this.generation) return;
      const statesBytes = CHUNK_STEPS * GRID_ENVS * 16;
      let slot = v.staging.find((s) => !s.busy);
      if (!slot) {
        const buffer = gpu.device.createBuffer({
          label: `cartpoleView.staging${v.staging.length}`,
          size: statesBytes + CHUNK_STEPS * GRID_ENVS * 4,
          usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        });
        slot = { buffer, busy: false };
        v.staging.push(slot);
      }
      slot.busy = true;
      const staging = slot.buffer;
      const { finalObs, doneFlags } = v.rollout.storage;
      v.rollout.setIteration(this.chunkIndex++);
      const encoder = gpu.device.createCommandEncoder({ label: 'cartpoleView.chunk' });
      if ('params' in source) encoder.copyBufferToBuffer(source.params, 0, v.policy.params, 0, Math.min(source.params.size, v.policy.params.size));
      const pass = encoder.beginComputePass({ label: 'cartpoleView.chunk' });
      v.rollout.encode(pass);
      pass.end();
      encoder.copyBufferToBuffer(finalObs, 0, staging, 0, statesBytes);
      encoder.copyBufferToBuffer(doneFlags, 0, staging, statesBytes, CHUNK_STEPS * GRID_ENVS * 4);
      const submitted = performance.now();
      gpu.device.queue.submit([encoder.finish()]);
      try {
        await staging.mapAsync(GPUMapMode.READ);
      } finally {
        slot.busy = false;
      }
      const bytes = staging.getMappedRange().slice(0);
      staging.unmap();
      if (generation !== this.generation) return;
      this.latencyMs = Math.max(0.95 * this.latencyMs, performance.now() - submitted);
      this.arrived.set(sequence, { states: new Float32Array(bytes, 0, statesBytes / 4), done: new Uint32Array(bytes, statesBytes) });
      for (let next = this.arrived.get(this.playSequence); next; next = this.arrived.get(this.playSequence)) {
        this.chunks.push(next);
        this.arrived.delete(this.playSequence++);
      }
    } catch {
      // The device failed; the page reports it and attaches a new one.
      if (generation === this.generation) this.source = null;
    } finally {
      if (generation === this.generation) this.inFlight--;
    }
  }

  /** Requests chunks until what is buffered or on its way covers the readback latency (at least two chunks). */
  private requestAhead(): void {
    if (!this.gpu || !this.source || !this.view) return;
    const wantedSteps = Math.max(2 * CHUNK_STEPS, (1.5 * this.latencyMs) / 1000 / CARTPOLE_V1.tau);
    while (this.inFlight < MAX_CHUNKS_AHEAD && (this.chunks.length + this.inFlight) * CHUNK_STEPS - this.playhead < wantedSteps) {
      void this.requestChunk(this.gpu, this.source, this.view);
    }
  }

  private frame(time: number): void {
    requestAnimationFrame((t) => this.frame(t));
    const seconds = Math.min(MAX_FRAME_SECONDS, (time - this.lastFrame) / 1000);
    this.lastFrame = time;
    if (!this.animate) return;
    this.requestAhead();
    if (this.chunks.length === 0) {
      if (!this.source) this.drawEmpty();
      return;
    }
    this.playhead += seconds / CARTPOLE_V1.tau;
    while (this.playhead >= CHUNK_STEPS && this.chunks.length > 1) {
      this.applySteps(CHUNK_STEPS);
      this.playhead -= CHUNK_STEPS;
      this.chunks.shift();
      this.stepsApplied = 0;
    }
    // The next chunk is late: hold the last state.
    const waiting = this.playhead >= CHUNK_STEPS - 1;
    if (waiting) this.playhead = CHUNK_STEPS - 1;
    this.canvas.dataset.state = waiting ? 'waiting' : 'animating';
    this.applySteps(Math.floor(this.playhead) + 1);
    this.draw();
  }

  /** Episode lengths after the chunk's first `count` steps. */
  private applySteps(count: number): void {
    const { done } = this.chunks[0];
    for (; this.stepsApplied < count; this.stepsApplied++) {
      for (let e = 0; e < GRID_ENVS; e++) {
        if (this.endedAt[e]) this.lengths[e] = 0;
        this.lengths[e]++;
        this.endedAt[e] = done[this.stepsApplied * GRID_ENVS + e];
      }
    }
  }

  private resizeCanvas(): CanvasRenderingContext2D {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(this.canvas.clientWidth * ratio);
    const height = Math.round(this.canvas.clientHeight * ratio);
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    const context = this.canvas.getContext('2d')!;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, this.canvas.clientWidth, this.canvas.clientHeight);
    return context;
  }

  /** Faint upright CartPoles where a policy will act. */
  private drawEmpty(): void {
    if (this.canvas.dataset.drawn === 'empty') return;
    const context = this.resizeCanvas();
    this.canvas.dataset.drawn = 'empty';
    this.lengths.fill(0);
    this.endedAt.fill(0);
    context.globalAlpha = 0.3;
    this.forEachCell((e, left, top, width, height) => this.drawCartPole(context, getComputedStyle(this.canvas).color, left, top, width, height, 0, 0, e));
    context.globalAlpha = 1;
  }

  private forEachCell(draw: (env: number, left: number, top: number, width: number, height: number) => void): void {
    const width = this.canvas.clientWidth / COLUMNS;
    const height = this.canvas.clientHeight / ROWS;
    for (let e = 0; e < GRID_ENVS; e++) draw(e, (e % COLUMNS) * width, Math.floor(e / COLUMNS) * height, width, height);
  }

  private draw(): void {
    const context = this.resizeCanvas();
    this.canvas.dataset.drawn = 'policy';
    const ink = getComputedStyle(this.canvas).color;
    const { states } = this.chunks[0];
    const step = Math.floor(this.playhead);
    const fraction = this.playhead - step;
    const next = step + 1 < CHUNK_STEPS ? states : this.chunks[1]?.states;
    const nextStep = step + 1 < CHUNK_STEPS ? step + 1 : 0;
    this.forEachCell((e, left, top, width, height) => {
      const at = (step * GRID_ENVS + e) * 4;
      let x = states[at];
      let theta = states[at + 2];
      // Between two steps of the same episode, ease from one state to the next.
      if (next && !this.endedAt[e]) {
        const to = (nextStep * GRID_ENVS + e) * 4;
        x += (next[to] - x) * fraction;
        theta += (next[to + 2] - theta) * fraction;
      }
      this.drawCartPole(context, ink, left, top, width, height, x, theta, e);
    });
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
    const ended = this.endedAt[env] !== 0;
    const truncated = ended && this.lengths[env] >= p.maxEpisodeSteps;

    context.strokeStyle = 'rgba(128, 128, 128, 0.35)';
    context.lineWidth = 1;
    context.strokeRect(left + 0.5, top + 0.5, width - 1, height - 1);
    context.beginPath();
    context.moveTo(left + margin, trackY);
    context.lineTo(left + width - margin, trackY);
    context.strokeStyle = ink;
    context.stroke();

    context.fillStyle = ended && !truncated ? '#c62828' : ink;
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
