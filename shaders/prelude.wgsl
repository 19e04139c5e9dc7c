// Index helpers shared by every kernel declared with defineKernel() (src/graph/kernel-def.ts), added to each
// such file at load together with its generated uniform structs and `override WG` (the declared workgroup size).

// The flat index of this thread in a 1-D launch (grid1d folds more than 65535 workgroups into y).
fn thread_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG; }

// Element i of a 'vec8u' uniform field (a shape or strides of rank <= 8).
fn at(v: array<vec4<u32>, 2>, i: u32) -> u32 { return v[i / 4u][i % 4u]; }
