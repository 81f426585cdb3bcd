/**
 * The image shaders/rollout_view.wgsl draws, computed in float64 on the CPU:
 * the same capsules per scene and per env, the same cell layout and pixel
 * coverage, composited with premultiplied-alpha "over" in draw order at every
 * pixel centre. For tests of the render pipeline.
 */

export interface Capsule {
  a: [number, number];
  b: [number, number];
  radius: number;
  /** Straight (not premultiplied) RGBA. */
  color: [number, number, number, number];
}

export interface RolloutViewInput {
  /** The shader's VIEW: 0 CartPole, 1 Acrobot, 2 MountainCar, 3 MountainCarContinuous, 4 Pendulum. */
  view: number;
  world: { x0: number; x1: number; y0: number; y1: number };
  numEnvs: number;
  shownEnvs: number;
  step: number;
  obsDim: number;
  actionDim: number;
  /** [T+1][N][obsDim] */
  obs: Float32Array;
  /** [T][N][actionDim] action bits (i32 indices or f32 components). */
  actions: Uint32Array;
  /** [T][N] bit 0 terminated */
  doneFlags: Uint32Array;
  columns: number;
  rows: number;
  envAlpha: number;
  width: number;
  height: number;
}

const HILL_SEGMENTS = 24;
const MIN_RADIUS_PX = 0.6;
const CELL_FILL = 0.92;
const SCENE_INK: Capsule['color'] = [0.5, 0.5, 0.5, 0.7];
const BODY: Capsule['color'] = [0.122, 0.467, 0.706, 1];
const LIMB: Capsule['color'] = [0.792, 0.596, 0.286, 1];
const FAILED: Capsule['color'] = [0.776, 0.157, 0.157, 1];
const REACHED: Capsule['color'] = [0.173, 0.627, 0.173, 1];

const hill = (x: number) => Math.sin(3 * x) * 0.45 + 0.55;
const capsule = (a: [number, number], b: [number, number], radius: number, color: Capsule['color']): Capsule => ({ a, b, radius, color });

/** The still scene of one cell. */
export function sceneCapsules(view: number): Capsule[] {
  if (view === 0) return [capsule([-2.4, 0], [2.4, 0], 0.012, SCENE_INK)];
  if (view === 1) return [capsule([-2.2, 1], [2.2, 1], 0.015, SCENE_INK), capsule([0, 0], [0, 0], 0.06, SCENE_INK)];
  if (view === 2 || view === 3) {
    const out: Capsule[] = [];
    for (let k = 0; k < HILL_SEGMENTS; k++) {
      const x0 = -1.2 + (1.8 * k) / HILL_SEGMENTS;
      const x1 = -1.2 + (1.8 * (k + 1)) / HILL_SEGMENTS;
      out.push(capsule([x0, hill(x0)], [x1, hill(x1)], 0.008, SCENE_INK));
    }
    const gx = view === 3 ? 0.45 : 0.5;
    const gy = hill(gx);
    out.push(capsule([gx, gy], [gx, gy + 0.12], 0.005, SCENE_INK), capsule([gx, gy + 0.12], [gx + 0.05, gy + 0.1], 0.015, REACHED));
    return out;
  }
  return [capsule([0, 0], [0, 0], 0.05, SCENE_INK)];
}

/** One env's moving parts at the input's step (a part that draws nothing is left out). */
export function envCapsules(input: RolloutViewInput, env: number): Capsule[] {
  const { view, step, numEnvs, obsDim, actionDim } = input;
  const o = (k: number) => input.obs[(step * numEnvs + env) * obsDim + k];
  const bits = input.actions[(step * numEnvs + env) * actionDim];
  const asFloat = new Float32Array(new Uint32Array([bits]).buffer)[0];
  const asInt = bits | 0;
  const terminated = (input.doneFlags[step * numEnvs + env] & 1) !== 0;
  if (view === 0) {
    const [x, theta] = [o(0), o(2)];
    return [
      capsule([x - 0.15, 0.15], [x + 0.15, 0.15], 0.15, terminated ? FAILED : BODY),
      capsule([x, 0.22], [x + Math.sin(theta), 0.22 + Math.cos(theta)], 0.05, LIMB),
    ];
  }
  if (view === 1) {
    const [c1, s1, c2, s2] = [o(0), o(1), o(2), o(3)];
    const elbow: [number, number] = [s1, -c1];
    const tip: [number, number] = [elbow[0] + s1 * c2 + c1 * s2, elbow[1] - (c1 * c2 - s1 * s2)];
    return [capsule([0, 0], elbow, 0.08, BODY), capsule(elbow, tip, 0.08, terminated ? REACHED : LIMB)];
  }
  if (view === 2 || view === 3) {
    const x = o(0);
    const slope = 1.35 * Math.cos(3 * x);
    const norm = Math.hypot(1, slope);
    const along = [1 / norm, slope / norm];
    const centre = [x - along[1] * 0.045, hill(x) + along[0] * 0.045];
    const at = (d: number): [number, number] => [centre[0] + along[0] * d, centre[1] + along[1] * d];
    const out = [capsule(at(-0.05), at(0.05), 0.04, terminated ? REACHED : BODY)];
    const push = view === 3 ? Math.min(1, Math.max(-1, asFloat)) : asInt - 1;
    if (push !== 0) out.push(capsule(at(0), at(0.12 * push), 0.015, LIMB));
    return out;
  }
  const [c, s] = [o(0), o(1)];
  const tip: [number, number] = [-s, c];
  const out = [capsule([0, 0], tip, 0.08, LIMB)];
  const torque = Math.min(2, Math.max(-2, asFloat));
  if (torque !== 0) out.push(capsule(tip, [tip[0] - c * 0.2 * torque, tip[1] - s * 0.2 * torque], 0.04, BODY));
  return out;
}

/** Premultiplied RGBA in [0, 1], [height][width][4], rows top to bottom, over a transparent background. */
export function rolloutViewReference(input: RolloutViewInput): Float64Array {
  const { world, columns, rows, width, height } = input;
  const cells = columns * rows;
  const cellW = width / columns;
  const cellH = height / rows;
  const scale = CELL_FILL * Math.min(cellW / (world.x1 - world.x0), cellH / (world.y1 - world.y0));
  const worldCentre = [(world.x0 + world.x1) / 2, (world.y0 + world.y1) / 2];
  const draws: { cell: number; shape: Capsule }[] = [];
  for (let cell = 0; cell < Math.min(input.shownEnvs, cells); cell++) for (const shape of sceneCapsules(input.view)) draws.push({ cell, shape });
  for (let env = 0; env < input.shownEnvs; env++) {
    for (const shape of envCapsules(input, env)) {
      draws.push({ cell: env % cells, shape: { ...shape, color: [shape.color[0], shape.color[1], shape.color[2], shape.color[3] * input.envAlpha] } });
    }
  }
  const image = new Float64Array(width * height * 4);
  for (const { cell, shape } of draws) {
    const cx = ((cell % columns) + 0.5) * cellW;
    const cy = (Math.floor(cell / columns) + 0.5) * cellH;
    const radius = Math.max(shape.radius, MIN_RADIUS_PX / scale);
    const [ax, ay] = shape.a;
    const [bx, by] = shape.b;
    const [dx, dy] = [bx - ax, by - ay];
    const length2 = dx * dx + dy * dy;
    // Only pixels within the capsule's reach (its cell bounds nothing: capsules may cross cells, as on the GPU).
    const pxA = [cx + (ax - worldCentre[0]) * scale, cy + (worldCentre[1] - ay) * scale];
    const pxB = [cx + (bx - worldCentre[0]) * scale, cy + (worldCentre[1] - by) * scale];
    const reach = radius * scale + 2;
    const i0 = Math.max(0, Math.floor(Math.min(pxA[0], pxB[0]) - reach));
    const i1 = Math.min(width - 1, Math.ceil(Math.max(pxA[0], pxB[0]) + reach));
    const j0 = Math.max(0, Math.floor(Math.min(pxA[1], pxB[1]) - reach));
    const j1 = Math.min(height - 1, Math.ceil(Math.max(pxA[1], pxB[1]) + reach));
    for (let j = j0; j <= j1; j++) {
      for (let i = i0; i <= i1; i++) {
        const px = worldCentre[0] + (i + 0.5 - cx) / scale;
        const py = worldCentre[1] - (j + 0.5 - cy) / scale;
        const h = Math.min(1, Math.max(0, ((px - ax) * dx + (py - ay) * dy) / Math.max(length2, 1e-12)));
        const distance = Math.hypot(px - ax - dx * h, py - ay - dy * h) - radius;
        const coverage = Math.min(1, Math.max(0, 0.5 - distance * scale));
        const alpha = shape.color[3] * coverage;
        if (alpha === 0) continue;
        const at = (j * width + i) * 4;
        for (let k = 0; k < 3; k++) image[at + k] = shape.color[k] * alpha + image[at + k] * (1 - alpha);
        image[at + 3] = alpha + image[at + 3] * (1 - alpha);
      }
    }
  }
  return image;
}
