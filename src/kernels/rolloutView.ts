/**
 * Draws a rollout's envs from its GPU buffers (shaders/rollout_view.wgsl): one
 * instance per env, the observations of one rollout step at a time, nothing
 * read back. The caller owns the target (a canvas texture, or any texture of
 * `format`) and picks the step; queued behind the iterations in flight, a draw
 * shows the rollout of the last iteration the GPU finished.
 */
import rolloutViewWgsl from '../../shaders/rollout_view.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { ShaderFamily, perDevice, type StructView } from '../gpu/kernel';
import { uniformBuffer } from '../gpu/buffers';
import type { EnvSpec } from '../envs/env';

/** A world rectangle: x from x0 to x1, y (up) from y0 to y1. */
export interface ViewWorld {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

interface EnvView {
  /** The shader's VIEW override. */
  view: number;
  world: ViewWorld;
  /** Rollout steps shown per second: Gymnasium's render_fps for the env. */
  stepsPerSecond: number;
}

/** The envs this view draws, by id; others have no drawing. */
export const ENV_VIEWS: Readonly<Record<string, EnvView>> = {
  'CartPole-v1': { view: 0, world: { x0: -2.7, x1: 2.7, y0: -0.2, y1: 1.3 }, stepsPerSecond: 50 },
  'Acrobot-v1': { view: 1, world: { x0: -2.2, x1: 2.2, y0: -2.2, y1: 2.2 }, stepsPerSecond: 15 },
  'MountainCar-v0': { view: 2, world: { x0: -1.2, x1: 0.6, y0: 0, y1: 1.15 }, stepsPerSecond: 30 },
  'MountainCarContinuous-v0': { view: 3, world: { x0: -1.2, x1: 0.6, y0: 0, y1: 1.15 }, stepsPerSecond: 30 },
  'Pendulum-v1': { view: 4, world: { x0: -1.3, x1: 1.3, y0: -1.3, y1: 1.3 }, stepsPerSecond: 30 },
};

/** Primitives per scene and per env (SCENE_PRIMITIVES, ENV_PRIMITIVES in the shader): 6 vertices each. */
const SCENE_PRIMITIVES = 26;
const ENV_PRIMITIVES = 2;

/**
 * A rollout's buffers as the view reads them (`Trainer.replay`): obs
 * [T+1][N][obsDim] f32, actions [T][N] EnvAction (i32, or actionDim f32s),
 * doneFlags [T][N] u32 (bit 0 terminated). A population's buffers hold one
 * such block per agent, agent-major; `ViewFrame.agent` picks the one drawn.
 */
export interface RolloutReplay {
  spec: EnvSpec;
  numEnvs: number;
  /** T: the steps a rollout stores. */
  numSteps: number;
  obs: GPUBuffer;
  actions: GPUBuffer;
  doneFlags: GPUBuffer;
}

/** What one draw shows. */
export interface ViewFrame {
  /** The rollout step drawn, in [0, T). */
  step: number;
  /** Cells across and down: env e goes to cell e mod (columns · rows); 1 × 1 overlays every env. */
  columns: number;
  rows: number;
  /** The agent of a population drawn, in [0, agents); default 0 (a single run's only one). */
  agent?: number;
  /** Envs drawn (the first ones); default all. */
  shownEnvs?: number;
  /** Opacity of each env's parts. */
  envAlpha: number;
  /** Target size in pixels. */
  width: number;
  height: number;
}

interface Pipelines {
  scene: GPURenderPipeline;
  env: GPURenderPipeline;
  layout: GPUBindGroupLayout;
  args: StructView;
}

function envView(id: string): EnvView {
  const view = ENV_VIEWS[id];
  if (!view) throw new Error(`rolloutView: no drawing for env "${id}" (drawn: ${Object.keys(ENV_VIEWS).join(', ')})`);
  return view;
}

/** The pipelines for one env's drawing into `format`, compiled once per device. */
function pipelines(gpu: GpuContext, view: number, format: GPUTextureFormat): Promise<Pipelines> {
  return perDevice(gpu, `rolloutView:${view}:${format}`, async () => {
    const family = await ShaderFamily.load(gpu, 'rollout_view', rolloutViewWgsl);
    const label = `rollout_view.${view}`;
    // One layout for both entry points: every buffer the file declares. (Not the
    // per-entry lists: wgsl_reflect 1.6 misses vs_env's reads of `actions` through
    // env_primitive's later switch cases.)
    const { uniforms, storage } = family.reflection;
    const layout = gpu.device.createBindGroupLayout({
      label: `${label}.layout`,
      entries: [
        ...uniforms.map((v) => ({ binding: v.binding, visibility: GPUShaderStage.VERTEX, buffer: { type: 'uniform' as const } })),
        ...storage.map((v) => ({ binding: v.binding, visibility: GPUShaderStage.VERTEX, buffer: { type: 'read-only-storage' as const } })),
      ],
    });
    const pipelineLayout = gpu.device.createPipelineLayout({ label: `${label}.pipelineLayout`, bindGroupLayouts: [layout] });
    const blend: GPUBlendState = {
      color: { srcFactor: 'one', dstFactor: 'one-minus-src-alpha' },
      alpha: { srcFactor: 'one', dstFactor: 'one-minus-src-alpha' },
    };
    const make = (entryPoint: string) =>
      gpu.device.createRenderPipelineAsync({
        label: `${label}.${entryPoint}`,
        layout: pipelineLayout,
        vertex: { module: family.module, entryPoint, constants: { VIEW: view } },
        fragment: { module: family.module, entryPoint: 'fs_capsule', constants: { VIEW: view }, targets: [{ format, blend }] },
        primitive: { topology: 'triangle-list' },
      });
    const [scene, env] = await Promise.all([make('vs_scene'), make('vs_env')]);
    return { scene, env, layout, args: family.struct('ViewArgs') };
  });
}

/**
 * Draws a rollout's envs from its GPU buffers (a `Trainer.replay`) into a render pass, one cell per env,
 * with nothing read back.
 */
export class RolloutView {
  private constructor(
    private readonly gpu: GpuContext,
    readonly replay: RolloutReplay,
    private readonly world: ViewWorld,
    private readonly pipelines: Pipelines,
    private readonly args: GPUBuffer,
    private readonly bindGroup: GPUBindGroup,
  ) {}

  /** Whether `id` has a drawing. */
  static draws(id: string): boolean {
    return id in ENV_VIEWS;
  }

  /** Agents whose rollouts the buffers hold: whole blocks of every buffer (1 for a single run). */
  get agents(): number {
    const { spec, numEnvs, numSteps, obs, actions, doneFlags } = this.replay;
    const actionDim = spec.action.kind === 'discrete' ? 1 : spec.action.dim;
    const blocks = (buffer: GPUBuffer, words: number) => Math.floor(buffer.size / (4 * words));
    return Math.min(blocks(obs, (numSteps + 1) * numEnvs * spec.obsDim), blocks(actions, numSteps * numEnvs * actionDim), blocks(doneFlags, numSteps * numEnvs));
  }

  /** Rollout steps shown per second for `id` (its Gymnasium render rate). */
  static stepsPerSecond(id: string): number {
    return envView(id).stepsPerSecond;
  }

  /** The world rectangle a cell shows for `id` (its aspect decides the grid's shape). */
  static world(id: string): ViewWorld {
    return envView(id).world;
  }

  /** A view of `replay`'s buffers drawing into textures of `format`; `destroy()` releases its one buffer. */
  static async create(gpu: GpuContext, replay: RolloutReplay, format: GPUTextureFormat): Promise<RolloutView> {
    const { view, world } = envView(replay.spec.id);
    const built = await pipelines(gpu, view, format);
    const args = uniformBuffer(gpu, 'rolloutView.args', built.args.paddedSize);
    const bindGroup = gpu.device.createBindGroup({
      label: 'rolloutView.bindGroup',
      layout: built.layout,
      entries: [
        { binding: 0, resource: { buffer: args } },
        { binding: 1, resource: { buffer: replay.obs } },
        { binding: 2, resource: { buffer: replay.actions } },
        { binding: 3, resource: { buffer: replay.doneFlags } },
      ],
    });
    return new RolloutView(gpu, replay, world, built, args, bindGroup);
  }

  /** Queues the frame's arguments and records its draws into `pass` (whose target is `frame.width` × `frame.height`). */
  encode(pass: GPURenderPassEncoder, frame: ViewFrame): void {
    const { spec, numEnvs, numSteps } = this.replay;
    const shownEnvs = Math.min(numEnvs, frame.shownEnvs ?? numEnvs);
    if (!Number.isInteger(frame.step) || frame.step < 0 || frame.step >= numSteps) {
      throw new Error(`rolloutView: step must be an integer in [0, ${numSteps - 1}], got ${frame.step}`);
    }
    const agent = frame.agent ?? 0;
    const agents = this.agents;
    if (!Number.isInteger(agent) || agent < 0 || agent >= agents) {
      throw new Error(`rolloutView: agent must be an integer in [0, ${agents - 1}] (the buffers hold ${agents} agents' rollouts), got ${agent}`);
    }
    const { x0, x1, y0, y1 } = this.world;
    this.gpu.device.queue.writeBuffer(
      this.args,
      0,
      this.pipelines.args.pack({
        numEnvs,
        step: frame.step,
        numSteps,
        agent,
        obsDim: spec.obsDim,
        actionDim: spec.action.kind === 'discrete' ? 1 : spec.action.dim,
        columns: frame.columns,
        rows: frame.rows,
        envAlpha: frame.envAlpha,
        width: frame.width,
        height: frame.height,
        worldMin: [x0, y0],
        worldMax: [x1, y1],
      }),
    );
    pass.setBindGroup(0, this.bindGroup);
    pass.setPipeline(this.pipelines.scene);
    pass.draw(6 * SCENE_PRIMITIVES, Math.min(shownEnvs, frame.columns * frame.rows));
    pass.setPipeline(this.pipelines.env);
    pass.draw(6 * ENV_PRIMITIVES, shownEnvs);
  }

  /** Releases its uniform buffer (the replay belongs to the trainer). */
  destroy(): void {
    this.args.destroy();
  }
}
