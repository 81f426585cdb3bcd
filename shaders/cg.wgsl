// Conjugate gradient for A x = b (A symmetric positive definite, applied by the
// caller's kernel, e.g. the Fisher-vector product), with every scalar on the GPU.
// The seed's conjugate_gradient, formula for formula:
//
//   x = 0, r = b, p = b, rdotr = r·r
//   repeat cgIters times:
//     z = A p
//     α = rdotr / (p·z + 1e-8)
//     x += α p,  r −= α z
//     newrdotr = r·r
//     μ = newrdotr / (rdotr + 1e-8)
//     p = r + μ p
//     rdotr = newrdotr
//     stop once rdotr < residualTol
//
// The stop is a flag in `state`: once cleared, every later iteration's updates
// are no-ops, so all iterations are recorded up front and nothing is read back.
// The dot products (p·z into state.pAp, r·r into state.newResidual, the first
// r·r into state.residual) are deterministic reductions the wrapper records.
//
// Populations: every agent (workgroup id z) solves its own system and stops on
// its own residual. Vectors are agent-major in blocks of whole vec4s
// (stride = count rounded up to 4, the single run's buffer), state is one
// CgState per agent.
//
// Buffers: b, x, r, p, z [agents][stride] f32; state [agents] CgState.
// Dispatch (× agents along z): cg_init, cg_update_solution, cg_update_direction:
// count invocations; cg_begin, cg_advance: one.
override WG: u32 = 64;

struct CgArgs {
  count: u32,
  residualTol: f32,
}

struct CgState {
  // r·r of the current residual (the seed's rdotr)
  residual: f32,
  // p·A p of this iteration
  pAp: f32,
  // r·r after this iteration's update (the seed's newrdotr)
  newResidual: f32,
  // 1 while iterating, 0 once the residual fell below the tolerance
  running: f32,
  // iterations that ran
  iterations: f32,
}

@group(0) @binding(0) var<uniform> args: CgArgs;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> r: array<f32>;
@group(0) @binding(4) var<storage, read_write> p: array<f32>;
@group(0) @binding(5) var<storage, read> z: array<f32>;
@group(0) @binding(6) var<storage, read_write> state: array<CgState>;
@group(0) @binding(7) var<storage, read> stateIn: array<CgState>;

// Floats per agent in the vectors: whole vec4s, as the FVP's aligned kernels read them.
fn vector_stride() -> u32 {
  return (args.count + 3u) / 4u * 4u;
}


@compute @workgroup_size(WG)
fn cg_init(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let n = linear_index(gid, nwg);
  if (n >= args.count) { return; }
  let i = agent * vector_stride() + n;
  x[i] = 0.0;
  r[i] = b[i];
  p[i] = b[i];
}

@compute @workgroup_size(1)
fn cg_begin(@builtin(global_invocation_id) gid: vec3<u32>) {
  let agent = agent_index(gid);
  state[agent].running = 1.0;
  state[agent].iterations = 0.0;
}

@compute @workgroup_size(WG)
fn cg_update_solution(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let n = linear_index(gid, nwg);
  let s = stateIn[agent];
  if (n >= args.count || s.running <= 0.0) { return; }
  let i = agent * vector_stride() + n;
  let alpha = s.residual / (s.pAp + 1e-8);
  x[i] += alpha * p[i];
  r[i] -= alpha * z[i];
}

@compute @workgroup_size(WG)
fn cg_update_direction(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let agent = agent_index(gid);
  let n = linear_index(gid, nwg);
  let s = stateIn[agent];
  if (n >= args.count || s.running <= 0.0) { return; }
  let i = agent * vector_stride() + n;
  let mu = s.newResidual / (s.residual + 1e-8);
  p[i] = r[i] + mu * p[i];
}

@compute @workgroup_size(1)
fn cg_advance(@builtin(global_invocation_id) gid: vec3<u32>) {
  let agent = agent_index(gid);
  if (state[agent].running <= 0.0) { return; }
  state[agent].residual = state[agent].newResidual;
  state[agent].iterations += 1.0;
  if (state[agent].residual < args.residualTol) {
    state[agent].running = 0.0;
  }
}
