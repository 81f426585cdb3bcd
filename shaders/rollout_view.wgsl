// Rollout view: draws the envs of the last rollout straight from the rollout's
// own GPU buffers (src/kernels/rollout.ts), one instance per env, with nothing
// read back. Wrapper: src/kernels/rolloutView.ts (one pipeline per VIEW).
//
// Buffers, bound read-only: a population's, agent-major ([P][...] of the
// single-run layout below), of which `args.agent`'s block is drawn; within it
// index i = t * numEnvs + env, time-major:
//   obs        [T+1][N][obsDim] f32   obs[t] is what env acted on at step t
//   actions    [T][N][actionDim] u32  the EnvAction bits: i32 indices (discrete)
//                                     or f32 components (box), read by bitcast
//   doneFlags  [T][N] u32             bit 0: the step from obs[t] terminated
// Draws, in one render pass (premultiplied-alpha "over" blending, in order):
//   vs_scene   6 × SCENE_PRIMITIVES vertices × cells instances: each cell's
//              still scene (track, hill, goal, pivot)
//   vs_env     6 × ENV_PRIMITIVES vertices × shown-envs instances: each env's
//              moving parts at step `args.step`
// Every primitive is a capsule: the points within `radius` of the segment a→b
// (a disc when a = b, a rounded box when the radius is large). Its quad is the
// capsule grown by one pixel; the fragment stage covers a pixel centre at world
// point p by clamp(0.5 − (dist(p, ab) − radius) · scale, 0, 1), scale in pixels
// per world unit: an edge antialiased over one pixel. Radii are at least
// MIN_RADIUS_PX pixels, so that thin parts stay visible in small cells.
//
// Layout: cell c of a columns × rows grid of the canvas holds env (c mod cells):
// one cell overlays every env (transparency shows where they crowd), a grid
// shows one env per cell. The world rectangle fits each cell, centred, aspect kept.

// Which env the view draws: 0 CartPole, 1 Acrobot, 2 MountainCar (discrete
// push), 3 MountainCarContinuous (force in [-1, 1]), 4 Pendulum.
override VIEW: u32 = 0u;

const SCENE_PRIMITIVES = 26u;
const ENV_PRIMITIVES = 2u;
const HILL_SEGMENTS = 24u;
const MIN_RADIUS_PX = 0.6;
// Fraction of a cell the world rectangle may fill.
const CELL_FILL = 0.92;

const SCENE_INK = vec4f(0.5, 0.5, 0.5, 0.7);
const BODY = vec4f(0.122, 0.467, 0.706, 1.0);
const LIMB = vec4f(0.792, 0.596, 0.286, 1.0);
const FAILED = vec4f(0.776, 0.157, 0.157, 1.0);
const REACHED = vec4f(0.173, 0.627, 0.173, 1.0);

struct ViewArgs {
  numEnvs: u32,
  // The rollout step drawn, in [0, T).
  step: u32,
  // T, the steps a rollout stores: with numEnvs, the size of an agent's block.
  numSteps: u32,
  // The agent of a population whose rollout is drawn (0 for a single run).
  agent: u32,
  obsDim: u32,
  // u32 words per action: 1 for discrete actions, the box's dim otherwise.
  actionDim: u32,
  columns: u32,
  rows: u32,
  // Opacity of each env's parts (below 1 when many share a cell).
  envAlpha: f32,
  // Canvas size in pixels.
  width: f32,
  height: f32,
  // The world rectangle each cell shows: x from worldMin.x to worldMax.x, y up.
  worldMin: vec2f,
  worldMax: vec2f,
}

@group(0) @binding(0) var<uniform> args: ViewArgs;
@group(0) @binding(1) var<storage, read> obs: array<f32>;
@group(0) @binding(2) var<storage, read> actions: array<u32>;
@group(0) @binding(3) var<storage, read> doneFlags: array<u32>;

struct Capsule {
  a: vec2f,
  b: vec2f,
  radius: f32,
  color: vec4f,
}

struct Fragment {
  @builtin(position) position: vec4f,
  // The world point under the fragment (the world-to-pixel map is affine, so linear interpolation is exact).
  @location(0) world: vec2f,
  @location(1) @interpolate(flat) a: vec2f,
  @location(2) @interpolate(flat) b: vec2f,
  // radius (world units), pixels per world unit
  @location(3) @interpolate(flat) radiusScale: vec2f,
  @location(4) @interpolate(flat) color: vec4f,
}

fn capsule(a: vec2f, b: vec2f, radius: f32, color: vec4f) -> Capsule {
  return Capsule(a, b, radius, color);
}

// A primitive that draws nothing (its quad collapses to a point).
fn nothing() -> Capsule {
  return Capsule(vec2f(0.0), vec2f(0.0), 0.0, vec4f(0.0));
}

// MountainCar's track height: Gymnasium's sin(3x) · 0.45 + 0.55.
fn hill(x: f32) -> f32 {
  return sin(3.0 * x) * 0.45 + 0.55;
}

fn mountain_goal() -> f32 {
  return select(0.5, 0.45, VIEW == 3u);
}

fn scene_primitive(k: u32) -> Capsule {
  switch VIEW {
    case 0u: {
      // CartPole's track, ±2.4 (the termination threshold).
      if (k == 0u) { return capsule(vec2f(-2.4, 0.0), vec2f(2.4, 0.0), 0.012, SCENE_INK); }
    }
    case 1u: {
      // Acrobot: the height the tip must pass, and the fixed joint.
      if (k == 0u) { return capsule(vec2f(-2.2, 1.0), vec2f(2.2, 1.0), 0.015, SCENE_INK); }
      if (k == 1u) { return capsule(vec2f(0.0), vec2f(0.0), 0.06, SCENE_INK); }
    }
    case 2u, 3u: {
      // The hill as a polyline over [-1.2, 0.6], then the goal's flag.
      if (k < HILL_SEGMENTS) {
        let x0 = -1.2 + 1.8 * f32(k) / f32(HILL_SEGMENTS);
        let x1 = -1.2 + 1.8 * f32(k + 1u) / f32(HILL_SEGMENTS);
        return capsule(vec2f(x0, hill(x0)), vec2f(x1, hill(x1)), 0.008, SCENE_INK);
      }
      let goal = vec2f(mountain_goal(), hill(mountain_goal()));
      if (k == HILL_SEGMENTS) { return capsule(goal, goal + vec2f(0.0, 0.12), 0.005, SCENE_INK); }
      if (k == HILL_SEGMENTS + 1u) { return capsule(goal + vec2f(0.0, 0.12), goal + vec2f(0.05, 0.1), 0.015, REACHED); }
    }
    default: {
      // Pendulum's pivot.
      if (k == 0u) { return capsule(vec2f(0.0), vec2f(0.0), 0.05, SCENE_INK); }
    }
  }
  return nothing();
}

// Rows (step, env) of the drawn agent: its obs block holds T + 1 steps, its actions and flags T.
fn obs_row(env: u32) -> u32 {
  return (args.agent * (args.numSteps + 1u) + args.step) * args.numEnvs + env;
}

fn step_row(env: u32) -> u32 {
  return (args.agent * args.numSteps + args.step) * args.numEnvs + env;
}

fn observation(env: u32, k: u32) -> f32 {
  return obs[obs_row(env) * args.obsDim + k];
}

fn action_bits(env: u32) -> u32 {
  return actions[step_row(env) * args.actionDim];
}

fn env_primitive(env: u32, k: u32) -> Capsule {
  let terminated = (doneFlags[step_row(env)] & 1u) != 0u;
  switch VIEW {
    case 0u: {
      // obs (x, ẋ, θ, θ̇): a 0.6 × 0.3 cart, red on the step it falls, and the 1.0-long pole from its top.
      let x = observation(env, 0u);
      if (k == 0u) { return capsule(vec2f(x - 0.15, 0.15), vec2f(x + 0.15, 0.15), 0.15, select(BODY, FAILED, terminated)); }
      let theta = observation(env, 2u);
      return capsule(vec2f(x, 0.22), vec2f(x + sin(theta), 0.22 + cos(theta)), 0.05, LIMB);
    }
    case 1u: {
      // obs (cos θ1, sin θ1, cos θ2, sin θ2, ...): links of length 1 hanging down at θ = 0; green when the tip reached the line.
      let c1 = observation(env, 0u);
      let s1 = observation(env, 1u);
      let c2 = observation(env, 2u);
      let s2 = observation(env, 3u);
      let elbow = vec2f(s1, -c1);
      if (k == 0u) { return capsule(vec2f(0.0), elbow, 0.08, BODY); }
      // θ1 + θ2 by the angle-sum identities.
      let tip = elbow + vec2f(s1 * c2 + c1 * s2, -(c1 * c2 - s1 * s2));
      return capsule(elbow, tip, 0.08, select(LIMB, REACHED, terminated));
    }
    case 2u, 3u: {
      // obs (position, velocity): the car along the slope, green at the goal, and the push as a stroke from it.
      let x = observation(env, 0u);
      let along = normalize(vec2f(1.0, 1.35 * cos(3.0 * x)));
      let centre = vec2f(x, hill(x)) + vec2f(-along.y, along.x) * 0.045;
      if (k == 0u) { return capsule(centre - along * 0.05, centre + along * 0.05, 0.04, select(BODY, REACHED, terminated)); }
      let bits = action_bits(env);
      let push = select(f32(bitcast<i32>(bits)) - 1.0, clamp(bitcast<f32>(bits), -1.0, 1.0), VIEW == 3u);
      if (push == 0.0) { return nothing(); }
      return capsule(centre, centre + along * (0.12 * push), 0.015, LIMB);
    }
    default: {
      // obs (cos θ, sin θ, θ̇), θ = 0 upright, counter-clockwise positive: the rod, and the torque in [-2, 2] along the tip's path.
      let c = observation(env, 0u);
      let s = observation(env, 1u);
      let tip = vec2f(-s, c);
      if (k == 0u) { return capsule(vec2f(0.0), tip, 0.08, LIMB); }
      let torque = clamp(bitcast<f32>(action_bits(env)), -2.0, 2.0);
      if (torque == 0.0) { return nothing(); }
      return capsule(tip, tip + vec2f(-c, -s) * (0.2 * torque), 0.04, BODY);
    }
  }
}

// The quad around a capsule in cell `cell`, corner `corner` of its two triangles.
fn place(shape: Capsule, cell: u32, corner: u32) -> Fragment {
  var out: Fragment;
  let cellSize = vec2f(args.width / f32(args.columns), args.height / f32(args.rows));
  let world = args.worldMax - args.worldMin;
  let scale = CELL_FILL * min(cellSize.x / world.x, cellSize.y / world.y);
  let cellCentre = (vec2f(f32(cell % args.columns), f32(cell / args.columns)) + 0.5) * cellSize;
  let worldCentre = 0.5 * (args.worldMin + args.worldMax);
  let radius = max(shape.radius, MIN_RADIUS_PX / scale);
  let grow = radius + 1.0 / scale;
  let ab = shape.b - shape.a;
  let along = select(vec2f(1.0, 0.0), normalize(ab), dot(ab, ab) > 0.0);
  let across = vec2f(-along.y, along.x);
  // Triangles (0, 1, 2) and (2, 1, 3) of the corners a−, a+, b−, b+.
  var corners = array<u32, 6>(0u, 1u, 2u, 2u, 1u, 3u);
  let quadCorner = corners[corner];
  let end = select(shape.a - along * grow, shape.b + along * grow, quadCorner >= 2u);
  let side = select(-1.0, 1.0, (quadCorner & 1u) == 1u);
  let p = end + across * (side * grow);
  let pixel = cellCentre + vec2f(p.x - worldCentre.x, worldCentre.y - p.y) * scale;
  let visible = shape.radius > 0.0;
  out.position = select(vec4f(0.0, 0.0, 0.0, 1.0), vec4f(pixel.x / args.width * 2.0 - 1.0, 1.0 - pixel.y / args.height * 2.0, 0.0, 1.0), visible);
  out.world = p;
  out.a = shape.a;
  out.b = shape.b;
  out.radiusScale = vec2f(radius, scale);
  out.color = shape.color;
  return out;
}

@vertex
fn vs_scene(@builtin(vertex_index) vertex: u32, @builtin(instance_index) cell: u32) -> Fragment {
  return place(scene_primitive(vertex / 6u), cell, vertex % 6u);
}

@vertex
fn vs_env(@builtin(vertex_index) vertex: u32, @builtin(instance_index) env: u32) -> Fragment {
  var shape = env_primitive(env, vertex / 6u);
  shape.color.a *= args.envAlpha;
  return place(shape, env % (args.columns * args.rows), vertex % 6u);
}

@fragment
fn fs_capsule(in: Fragment) -> @location(0) vec4f {
  let pa = in.world - in.a;
  let ba = in.b - in.a;
  let h = clamp(dot(pa, ba) / max(dot(ba, ba), 1e-12), 0.0, 1.0);
  let distance = length(pa - ba * h) - in.radiusScale.x;
  let coverage = clamp(0.5 - distance * in.radiusScale.y, 0.0, 1.0);
  let alpha = in.color.a * coverage;
  return vec4f(in.color.rgb * alpha, alpha);
}
