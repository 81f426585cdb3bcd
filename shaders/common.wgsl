// common.wgsl — helpers every kernel family shares (no bindings, no entry points).
// Prepended by the wrappers before a family's own source; needs the family's
// `override WG: u32` (its workgroup size along x).

// The linear invocation index of a 1-D dispatch split over x and y (see
// Kernel.workgroupsFor in src/gpu/kernel.ts): gid.x + gid.y · nwg.x · WG.
fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// Populations: a dispatch for P agents has P workgroups along z (Kernel.dispatch's
// `agents`), so an invocation's agent is gid.z (workgroup size 1 along z). Every
// per-agent buffer is agent-major, agent a's block being exactly the buffer a
// single run would use; kernels offset their indices by a · (that block's size).
fn agent_index(gid: vec3<u32>) -> u32 {
  return gid.z;
}
