// batch_norm_channel: what the one-workgroup-per-channel batch norm kernels share: the entry point (workgroup
// c of a grid folded 2-D runs the kernel's fn channel(c, lidx, count) for channel c, count = N*S elements), the
// workgroup size, the flat index of a channel's element and the workgroup's channel sums. Needs the kernel's
// Params p (N, C, S).

// Threads per workgroup (at most 256).
override WG: u32 = 256;
// A channel of up to WG * CACHED elements is read once, into registers.
const CACHED = 32u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lidx: u32) {
  let c = wid.y * nwg.x + wid.x;
  if (c >= p.C) { return; }
  channel(c, lidx, p.N * p.S);
}

// Flat index of element j (of N*S) of channel c.
fn at(c: u32, j: u32) -> u32 {
  let n = j / p.S;
  return (n * p.C + c) * p.S + (j - n * p.S);
}

// The workgroup's sum of v, in a fixed order (so every run rounds alike): up to 16 threads each add a share
// of the partial sums, then every thread adds those. Two barriers, not a log2(WG)-level tree: barriers are
// what a CPU implementation of WebGPU (lavapipe, SwiftShader) pays for most.
var<workgroup> red: array<vec2<f32>, 256>;
var<workgroup> part: array<vec2<f32>, 16>;
fn channel_sum(lidx: u32, v: vec2<f32>) -> vec2<f32> {
  red[lidx] = v;
  workgroupBarrier();
  let parts = min(WG, 16u);
  if (lidx < parts) {
    var t = red[lidx];
    for (var k = lidx + parts; k < WG; k += parts) { t += red[k]; }
    part[lidx] = t;
  }
  workgroupBarrier();
  var r = part[0];
  for (var k = 1u; k < parts; k++) { r += part[k]; }
  return r;
}
