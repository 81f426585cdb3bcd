/**
 * The envs that train, as they trained: the last rollout of a run replayed
 * step by step on a WebGPU canvas, drawn from the trainer's rollout buffers by
 * kernels/rolloutView.ts (one instance per env), nothing read back.
 *
 * The device's one queue runs work in order, so a frame waits behind the
 * iterations already queued and then shows the rollout of the last one done.
 * One frame is in flight at a time and a frame is queued only when the step
 * shown changes, so that on a slow (CPU) adapter frames never pile up behind
 * training and the view costs it little.
 *
 * `data-state` on the canvas: idle (nothing to show), waiting (for the first
 * iteration), replaying; `data-frames` counts frames submitted.
 */
import type { GpuContext } from '../gpu/device';
import { RolloutView, type RolloutReplay } from '../kernels/rolloutView';

export type ReplayLayout = 'overlay' | 'grid';

/** Most envs a grid shows (the first ones): past that, cells are too small to read. */
const GRID_ENVS = 256;

export interface ReplaySource {
  replay: RolloutReplay;
  /** Whether the buffers hold a rollout yet (an iteration was queued). */
  ready: () => boolean;
  label: string;
  /** The agent of a population drawn (default 0: a single run's only one). */
  agent?: number;
}

export class ReplayView {
  private gpu: GpuContext | null = null;
  private context: GPUCanvasContext | null = null;
  private format: GPUTextureFormat = 'bgra8unorm';
  private source: ReplaySource | null = null;
  private view: RolloutView | null = null;
  /** Bumped whenever the source or device changes, so a late pipeline of the old one is dropped. */
  private generation = 0;
  private inFlight = false;
  private shownStep = -1;
  private started = 0;
  private frames = 0;
  private layout: ReplayLayout = 'overlay';
  private animate = true;
  private needsDraw = false;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly caption: HTMLElement,
  ) {
    this.show(null);
    requestAnimationFrame((t) => this.frame(t));
  }

  /** Draws with this device from now on (after a device loss, the new one; null: none). */
  attach(gpu: GpuContext | null): void {
    this.show(null);
    this.context?.unconfigure();
    this.gpu = gpu;
    this.context = null;
    this.inFlight = false;
    if (!gpu) return;
    this.context = this.canvas.getContext('webgpu');
    if (!this.context) throw new Error('the env view canvas has no WebGPU context');
    this.format = navigator.gpu.getPreferredCanvasFormat();
    this.context.configure({ device: gpu.device, format: this.format, alphaMode: 'premultiplied' });
  }

  /**
   * Replays `source` (null: nothing). Call with null before its trainer is
   * destroyed: frames already queued are fine, later ones would bind freed buffers.
   */
  show(source: ReplaySource | null): void {
    this.generation++;
    this.view?.destroy();
    this.view = null;
    this.source = source;
    this.shownStep = -1;
    this.needsDraw = true;
    this.canvas.dataset.state = source ? 'waiting' : 'idle';
    if (!source) {
      this.caption.textContent = 'No run yet: press Train.';
      this.clear();
      return;
    }
    const { replay } = source;
    if (!RolloutView.draws(replay.spec.id)) {
      this.source = null;
      this.canvas.dataset.state = 'idle';
      this.caption.textContent = `${replay.spec.id} trains, but has no drawing here.`;
      this.clear();
      return;
    }
    this.caption.textContent = `${source.label}: its last rollout, ${replay.numEnvs.toLocaleString('en-US')} envs × ${replay.numSteps} steps, drawn from the GPU's rollout buffers.`;
    if (!this.gpu) return;
    const generation = this.generation;
    RolloutView.create(this.gpu, replay, this.format).then(
      (view) => {
        if (generation !== this.generation) view.destroy();
        else this.view = view;
      },
      // The device failed; the page reports it and attaches a new one.
      () => undefined,
    );
  }

  setLayout(layout: ReplayLayout): void {
    this.layout = layout;
    this.needsDraw = true;
  }

  setAnimate(on: boolean): void {
    this.animate = on;
    this.needsDraw = true;
  }

  /** Empties the canvas (one clear, no buffers bound). */
  private clear(): void {
    if (!this.gpu || !this.context || this.gpu.destroyed) return;
    this.resize();
    const encoder = this.gpu.device.createCommandEncoder({ label: 'replayView.clear' });
    encoder.beginRenderPass({ label: 'replayView.clear', colorAttachments: [{ view: this.context.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store', clearValue: [0, 0, 0, 0] }] }).end();
    this.gpu.device.queue.submit([encoder.finish()]);
  }

  private resize(): void {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(this.canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(this.canvas.clientHeight * ratio));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
      this.needsDraw = true;
    }
  }

  private frame(time: number): void {
    requestAnimationFrame((t) => this.frame(t));
    const { gpu, context, view, source } = this;
    if (!gpu || !context || !view || !source || this.inFlight || gpu.destroyed) return;
    if (!source.ready()) return;
    if (this.canvas.dataset.state !== 'replaying') {
      this.canvas.dataset.state = 'replaying';
      this.started = time;
    }
    const { numEnvs, numSteps, spec } = view.replay;
    const step = this.animate ? Math.floor(((time - this.started) / 1000) * RolloutView.stepsPerSecond(spec.id)) % numSteps : Math.max(0, this.shownStep);
    this.resize();
    if (step === this.shownStep && !this.needsDraw) return;
    this.shownStep = step;
    this.needsDraw = false;

    const { width, height } = this.canvas;
    const shownEnvs = this.layout === 'grid' ? Math.min(numEnvs, GRID_ENVS) : numEnvs;
    let columns = 1;
    let rows = 1;
    if (this.layout === 'grid') {
      // Cells as close to the world's aspect as the canvas allows.
      const world = RolloutView.world(spec.id);
      const cellAspect = (world.x1 - world.x0) / (world.y1 - world.y0);
      columns = Math.max(1, Math.min(shownEnvs, Math.round(Math.sqrt((shownEnvs * width) / height / cellAspect))));
      rows = Math.ceil(shownEnvs / columns);
    }
    // Overlaid envs are translucent, so that where many crowd reads darker.
    const envAlpha = Math.min(1, 4 / Math.sqrt(Math.ceil(shownEnvs / (columns * rows))));
    const encoder = gpu.device.createCommandEncoder({ label: 'replayView.frame' });
    const pass = encoder.beginRenderPass({
      label: 'replayView.frame',
      colorAttachments: [{ view: context.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store', clearValue: [0, 0, 0, 0] }],
    });
    view.encode(pass, { step, agent: source.agent ?? 0, columns, rows, shownEnvs, envAlpha, width, height });
    pass.end();
    gpu.device.queue.submit([encoder.finish()]);
    this.frames++;
    this.canvas.dataset.frames = String(this.frames);
    this.canvas.dataset.step = String(step);
    this.canvas.dataset.agent = String(source.agent ?? 0);
    this.inFlight = true;
    gpu.device.queue.onSubmittedWorkDone().then(
      () => (this.inFlight = false),
      () => undefined,
    );
  }
}
