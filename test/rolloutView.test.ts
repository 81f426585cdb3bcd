/**
 * The rollout view's render pipeline (shaders/rollout_view.wgsl) against its
 * float64 reference (src/reference/rolloutView.ts): every drawn env, seeded
 * random observations, actions and done flags in a rollout's layout, drawn in
 * a grid and overlaid, into an rgba8unorm texture read back here (the Studio
 * never reads it back). Tolerance: 10/255 per channel: 8-bit blending rounds
 * at each of the few overlapping draws (lavapipe stays within 3/255), and
 * SwiftShader's varyings put antialiased edges up to ~0.035 px off (0.033 seen).
 * A population's buffers (agent-major): agent k's drawing equals, pixel for
 * pixel, the drawing of a single run holding agent k's block.
 */
import { describe, expect, it } from 'vitest';
import { storageBuffer } from '../src/gpu/buffers';
import { envSpec } from '../src/core/envSpecs';
import { ENV_VIEWS, RolloutView, type ViewFrame } from '../src/kernels/rolloutView';
import { rolloutViewReference } from '../src/reference/rolloutView';
import { seededRandom, testGpu } from './helpers';

const N = 6;
const T = 3;
const WIDTH = 192;
const HEIGHT = 96;
const TOLERANCE = 10 / 255;

/** One observation as the env produces it, from uniform draws. */
function randomObs(id: string, rand: () => number): number[] {
  const angle = () => (rand() * 2 - 1) * Math.PI;
  if (id === 'CartPole-v1') return [(rand() * 2 - 1) * 2.4, rand() - 0.5, (rand() * 2 - 1) * 0.2, rand() - 0.5];
  if (id === 'Acrobot-v1') {
    const [a, b] = [angle(), angle()];
    return [Math.cos(a), Math.sin(a), Math.cos(b), Math.sin(b), rand(), rand()];
  }
  if (id.startsWith('MountainCar')) return [-1.2 + 1.8 * rand(), (rand() * 2 - 1) * 0.07];
  const a = angle();
  return [Math.cos(a), Math.sin(a), rand()];
}

/** Action bits: indices for discrete envs (zeros included: no push), box components past the bounds too (the view clips). */
function randomActionBits(id: string, env: number, rand: () => number): number {
  const spec = envSpec(id);
  if (spec.action.kind === 'discrete') return Math.floor(rand() * spec.action.n);
  const value = env === 0 ? 0 : (rand() * 2 - 1) * spec.action.high[0] * 1.5;
  return new Uint32Array(new Float32Array([value]).buffer)[0];
}

async function drawAndRead(view: RolloutView, frame: ViewFrame): Promise<Float64Array> {
  const gpu = await testGpu();
  const device = gpu.device;
  const texture = device.createTexture({ label: 'rolloutView.test.target', size: [WIDTH, HEIGHT], format: 'rgba8unorm', usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_SRC });
  const bytesPerRow = WIDTH * 4;
  const readback = device.createBuffer({ label: 'rolloutView.test.readback', size: bytesPerRow * HEIGHT, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginRenderPass({ colorAttachments: [{ view: texture.createView(), loadOp: 'clear', storeOp: 'store', clearValue: [0, 0, 0, 0] }] });
  view.encode(pass, frame);
  pass.end();
  encoder.copyTextureToBuffer({ texture }, { buffer: readback, bytesPerRow }, [WIDTH, HEIGHT]);
  device.queue.submit([encoder.finish()]);
  await readback.mapAsync(GPUMapMode.READ);
  const pixels = Float64Array.from(new Uint8Array(readback.getMappedRange()), (v) => v / 255);
  readback.unmap();
  readback.destroy();
  texture.destroy();
  await gpu.sync();
  return pixels;
}

describe('rollout view', () => {
  it.each(Object.keys(ENV_VIEWS))('%s: the GPU image matches the float64 reference, in a grid and overlaid', async (id) => {
    const gpu = await testGpu();
    const spec = envSpec(id);
    const actionDim = spec.action.kind === 'discrete' ? 1 : spec.action.dim;
    const rand = seededRandom(Object.keys(ENV_VIEWS).indexOf(id) + 11);
    const obs = new Float32Array((T + 1) * N * spec.obsDim);
    for (let row = 0; row < (T + 1) * N; row++) obs.set(randomObs(id, rand), row * spec.obsDim);
    const actions = new Uint32Array(T * N * actionDim);
    for (let i = 0; i < T * N; i++) actions[i * actionDim] = randomActionBits(id, i % N, rand);
    const doneFlags = Uint32Array.from({ length: T * N }, () => Math.floor(rand() * 4));
    const replay = {
      spec,
      numEnvs: N,
      numSteps: T,
      obs: storageBuffer(gpu, 'rolloutView.test.obs', obs),
      actions: storageBuffer(gpu, 'rolloutView.test.actions', actions),
      doneFlags: storageBuffer(gpu, 'rolloutView.test.doneFlags', doneFlags),
    };
    const view = await RolloutView.create(gpu, replay, 'rgba8unorm');
    const { view: kind, world } = ENV_VIEWS[id];
    const layouts: ViewFrame[] = [
      { step: 1, columns: 3, rows: 2, envAlpha: 1, width: WIDTH, height: HEIGHT },
      { step: 2, columns: 1, rows: 1, shownEnvs: 4, envAlpha: 0.5, width: WIDTH, height: HEIGHT },
    ];
    for (const frame of layouts) {
      const actual = await drawAndRead(view, frame);
      const expected = rolloutViewReference({
        view: kind,
        world,
        numEnvs: N,
        shownEnvs: frame.shownEnvs ?? N,
        step: frame.step,
        obsDim: spec.obsDim,
        actionDim,
        obs,
        actions,
        doneFlags,
        columns: frame.columns,
        rows: frame.rows,
        envAlpha: frame.envAlpha,
        width: WIDTH,
        height: HEIGHT,
      });
      let worst = 0;
      let worstAt = -1;
      let covered = 0;
      for (let i = 0; i < expected.length; i++) {
        const error = Math.abs(actual[i] - expected[i]);
        if (error > worst) [worst, worstAt] = [error, i];
        if (i % 4 === 3 && expected[i] > 0.5) covered++;
      }
      const pixel = Math.floor(worstAt / 4);
      expect(worst, `${id} ${frame.columns}×${frame.rows}: worst channel error at pixel (${pixel % WIDTH}, ${Math.floor(pixel / WIDTH)})`).toBeLessThanOrEqual(TOLERANCE);
      // The drawing covers something: at least a body per shown env.
      expect(covered).toBeGreaterThan(20 * (frame.shownEnvs ?? N));
    }
    view.destroy();
    for (const buffer of [replay.obs, replay.actions, replay.doneFlags]) buffer.destroy();
  });

  it.each(['CartPole-v1', 'Pendulum-v1'])("%s: agent k of a population's buffers draws exactly what a single run of agent k's rollout draws", async (id) => {
    const gpu = await testGpu();
    const spec = envSpec(id);
    const actionDim = spec.action.kind === 'discrete' ? 1 : spec.action.dim;
    const P = 3;
    const rand = seededRandom(Object.keys(ENV_VIEWS).indexOf(id) + 101);
    // Agent-major blocks, each in a single run's layout, different for every agent.
    const obs = new Float32Array(P * (T + 1) * N * spec.obsDim);
    for (let row = 0; row < P * (T + 1) * N; row++) obs.set(randomObs(id, rand), row * spec.obsDim);
    const actions = new Uint32Array(P * T * N * actionDim);
    for (let i = 0; i < P * T * N; i++) actions[i * actionDim] = randomActionBits(id, i % N, rand);
    const doneFlags = Uint32Array.from({ length: P * T * N }, () => Math.floor(rand() * 4));
    const replayOf = (label: string, o: Float32Array, a: Uint32Array, d: Uint32Array) => ({
      spec,
      numEnvs: N,
      numSteps: T,
      obs: storageBuffer(gpu, `rolloutView.test.${label}.obs`, o),
      actions: storageBuffer(gpu, `rolloutView.test.${label}.actions`, a),
      doneFlags: storageBuffer(gpu, `rolloutView.test.${label}.doneFlags`, d),
    });
    const population = replayOf('population', obs, actions, doneFlags);
    const view = await RolloutView.create(gpu, population, 'rgba8unorm');
    expect(view.agents).toBe(P);
    const frame: ViewFrame = { step: 2, columns: 3, rows: 2, envAlpha: 0.8, width: WIDTH, height: HEIGHT };
    const images: Float64Array[] = [];
    for (let k = 0; k < P; k++) {
      const single = replayOf(
        `agent${k}`,
        obs.slice(k * (T + 1) * N * spec.obsDim, (k + 1) * (T + 1) * N * spec.obsDim),
        actions.slice(k * T * N * actionDim, (k + 1) * T * N * actionDim),
        doneFlags.slice(k * T * N, (k + 1) * T * N),
      );
      const singleView = await RolloutView.create(gpu, single, 'rgba8unorm');
      expect(singleView.agents).toBe(1);
      const expected = await drawAndRead(singleView, frame);
      const actual = await drawAndRead(view, { ...frame, agent: k });
      expect(actual.some((v) => v > 0), `agent ${k} draws something`).toBe(true);
      expect(actual, `agent ${k}`).toEqual(expected);
      images.push(actual);
      singleView.destroy();
      for (const buffer of [single.obs, single.actions, single.doneFlags]) buffer.destroy();
    }
    // The agents' rollouts differ, so their drawings do: the offset is really applied.
    expect(images[1]).not.toEqual(images[0]);
    expect(images[2]).not.toEqual(images[1]);
    expect(() => view.encode({} as GPURenderPassEncoder, { ...frame, agent: P })).toThrow(`rolloutView: agent must be an integer in [0, ${P - 1}] (the buffers hold ${P} agents' rollouts), got ${P}`);
    view.destroy();
    for (const buffer of [population.obs, population.actions, population.doneFlags]) buffer.destroy();
  });

  it('names an env it has no drawing for, and a step outside the rollout', async () => {
    const gpu = await testGpu();
    const buffer = storageBuffer(gpu, 'rolloutView.test.buffer', 64);
    const replay = { spec: { ...envSpec('CartPole-v1'), id: 'Blank-v0' }, numEnvs: 1, numSteps: 2, obs: buffer, actions: buffer, doneFlags: buffer };
    await expect(RolloutView.create(gpu, replay, 'rgba8unorm')).rejects.toThrow('rolloutView: no drawing for env "Blank-v0" (drawn: CartPole-v1, Acrobot-v1, MountainCar-v0, MountainCarContinuous-v0, Pendulum-v1)');
    const view = await RolloutView.create(gpu, { ...replay, spec: envSpec('CartPole-v1') }, 'rgba8unorm');
    expect(() => view.encode({} as GPURenderPassEncoder, { step: 2, columns: 1, rows: 1, envAlpha: 1, width: 8, height: 8 })).toThrow('rolloutView: step must be an integer in [0, 1], got 2');
    view.destroy();
    buffer.destroy();
  });
});
