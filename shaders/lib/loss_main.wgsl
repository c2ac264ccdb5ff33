// loss_main: the entry point of a loss kernel over p.n terms, each the kernel's fn loss(i). REDUCE 0: thread
// i writes out[i] = loss(i); 1 sum, 2 mean: one workgroup of WG threads sums strided partials, then thread 0
// adds them in order (one barrier; the same bits run to run) and writes out[0]. Every element goes through
// store() (once, at its flat index): compileStep's fusion pass may swap in a fused epilogue or store it
// straight into a slice of a stacked result.
var<workgroup> part: array<f32, WG>;

fn store(i: u32, v: f32) { out[i] = v; }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lidx: u32) {
  if (REDUCE == 0u) {
    let i = flat_index(wid, nwg, lidx, WG);
    if (i < p.n) { store(i, loss(i)); }
    return;
  }
  var s = 0.0;
  for (var i = lidx; i < p.n; i += WG) { s += loss(i); }
  part[lidx] = s;
  workgroupBarrier();
  if (lidx == 0u) {
    var total = 0.0;
    for (var j = 0u; j < WG; j++) { total += part[j]; }
    store(0u, select(total, total / f32(p.n), REDUCE == 2u));
  }
}
