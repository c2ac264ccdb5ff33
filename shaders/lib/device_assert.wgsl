// device_assert: raises the device-side assert (src/backend/device_assert.ts) through the kernel's
// `dev_assert` binding; the first failing thread records its code, value, index and bound.
fn assert_fail(code: u32, value: u32, index: u32, bound: u32) {
  if (atomicAdd(&dev_assert[1], 1u) == 0u) {
    atomicStore(&dev_assert[0], code); atomicStore(&dev_assert[2], value);
    atomicStore(&dev_assert[3], index); atomicStore(&dev_assert[4], bound);
  }
}
