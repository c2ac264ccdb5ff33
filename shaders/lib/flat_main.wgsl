// flat_main: the entry point of a kernel run as a flat range of threads, in workgroups of WG (an override the
// kernel declares with its default) folded into a 2-D grid (prelude's flat_index). Thread t calls the
// kernel's fn run(t), which checks its own bound.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lidx: u32) {
  run(flat_index(wid, nwg, lidx, WG));
}
