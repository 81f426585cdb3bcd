// common.wgsl — helpers every kernel family shares (no bindings, no entry points).
// Prepended by the wrappers before a family's own source; needs the family's
// `override WG: u32` (its workgroup size along x).

// The linear invocation index of a 1-D dispatch split over x and y (see
// Kernel.workgroupsFor in src/gpu/kernel.ts): gid.x + gid.y · nwg.x · WG.
fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}
