// Device-side asserts: kernels that use values only the GPU knows as indices (class labels, gathered
// indices) check them and record the first violation in one small storage buffer; the next readback reads
// that buffer along with its data and throws an error naming the op and the bad value, as PyTorch's
// device-side asserts do. Cheap: one 32-byte buffer, copied only by readbacks after a checking kernel ran.
//
// WGSL side (append after the kernel's other group-0 bindings; N is the next binding index):
//   @group(0) @binding(N) var<storage, read_write> dev_assert: array<atomic<u32>, 8>;
//   fn assert_fail(code: u32, value: u32, index: u32, bound: u32) {
//     if (atomicAdd(&dev_assert[1], 1u) == 0u) {
//       atomicStore(&dev_assert[0], code); atomicStore(&dev_assert[2], value);
//       atomicStore(&dev_assert[3], index); atomicStore(&dev_assert[4], bound);
//     }
//   }
// and pass the code from `DeviceAsserts.code()` in the kernel's params.

/** What a failing kernel recorded: the value as int32 and as float32 bits, where, and the kernel's bound. */
export interface AssertRecord { int: number; float: number; index: number; bound: number }

export type AssertMessage = (r: AssertRecord) => string;

const WORDS = 8;
const BYTES = WORDS * 4;
const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, STORAGE: 0x80 } as const;

export class DeviceAssertError extends Error {
  constructor(message: string) { super(message); this.name = 'DeviceAssertError'; }
}

export class DeviceAsserts {
  /** Bound by checking kernels as their last group-0 binding. */
  readonly buffer: GPUBuffer;
  private messages: AssertMessage[] = [];
  private codes = new Map<string, number>();
  private staging: GPUBuffer[] = [];
  /** Set once a checking kernel has been recorded: from then on readbacks also copy the flag buffer. */
  private armed = false;

  constructor(private readonly device: GPUDevice) {
    this.buffer = device.createBuffer({ size: BYTES, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
  }

  /**
   * The code a kernel passes to assert_fail for the check `key` (e.g. 'crossEntropy.label'); `message`
   * turns what the kernel recorded into the error text. Calling this arms the readback check.
   */
  code(key: string, message: AssertMessage): number {
    let c = this.codes.get(key);
    if (c === undefined) {
      this.messages.push(message);
      c = this.messages.length;
      this.codes.set(key, c);
    }
    this.armed = true;
    return c;
  }

  /**
   * Encodes a copy of the flag buffer (after everything recorded so far) when a checking kernel has run;
   * returns the function to await once the work is submitted, which throws on a recorded violation.
   */
  encodeCheck(encoder: GPUCommandEncoder): (() => Promise<void>) | null {
    if (!this.armed) return null;
    const staging = this.staging.pop() ?? this.device.createBuffer({ size: BYTES, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    encoder.copyBufferToBuffer(this.buffer, 0, staging, 0, BYTES);
    return async () => {
      await staging.mapAsync(0x1, 0, BYTES);
      const words = new Uint32Array(staging.getMappedRange(0, BYTES).slice(0));
      staging.unmap();
      this.staging.push(staging);
      if (words[1] === 0) return;
      // Cleared before the error, so the same violation is reported once.
      this.device.queue.writeBuffer(this.buffer, 0, new Uint32Array(WORDS));
      const msg = this.messages[words[0] - 1];
      const rec: AssertRecord = {
        int: new Int32Array(words.buffer, 8, 1)[0], float: new Float32Array(words.buffer, 8, 1)[0], index: words[3], bound: words[4],
      };
      throw new DeviceAssertError(`${msg ? msg(rec) : `kiln: unknown device-side assert ${words[0]}`} ` +
        `(detected on the device; ${words[1] > 1 ? `${words[1]} violations` : 'one violation'} in the work before this readback)`);
    };
  }

  destroy(): void {
    this.buffer.destroy();
    this.staging.forEach((b) => b.destroy());
    this.staging = [];
  }
}
