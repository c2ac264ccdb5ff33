// A tensor's handle on GPU memory: a pooled (or app-owned) buffer shared by a tensor and its views, reference
// counted, tied to the backend that made it.
import type { Backend } from './backend.js';
import type { PooledBuffer } from './pool.js';

export class Storage {
  refs = 1;
  constructor(readonly backend: Backend, readonly buf: PooledBuffer, readonly byteOffset = 0,
    readonly external = false) {}

  retain(): this { this.refs++; return this; }

  release(): void {
    if (--this.refs > 0) return;
    if (!this.external) this.backend.release(this.buf);
  }
}
