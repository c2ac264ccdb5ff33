// Errors the backend raises, and the device-loss notification callers (a trainer, the demo) subscribe to.

export class KilnGpuError extends Error {
  constructor(message: string) { super(message); this.name = 'KilnGpuError'; }
}

/** The GPUDevice Kiln runs on was lost (driver reset, tab backgrounded, `device.destroy()`). Every op and
 * readback after the loss throws this; call `init()` again for a new device (old tensors cannot be used). */
export class KilnDeviceLostError extends KilnGpuError {
  /** GPUDeviceLostInfo.reason: 'destroyed' or 'unknown'. */
  readonly reason: string;
  /** The driver's message, possibly empty. */
  readonly detail: string;
  constructor(reason: string, detail: string) {
    super(`kiln: the GPU device was lost (${reason}${detail ? `: ${detail}` : ''}). Call init() again to get a new ` +
      'device; tensors from the old one cannot be used (reload them from a checkpoint or host copies).');
    this.name = 'KilnDeviceLostError';
    this.reason = reason;
    this.detail = detail;
  }
}

/** A tensor whose storage lives on a device Kiln no longer runs on (shutdown(), init() with another device,
 * or a lost device followed by init()). */
export class KilnStaleTensorError extends KilnGpuError {
  constructor(what: string, why: string) {
    super(`kiln: ${what} was created on a GPU device Kiln no longer uses (${why}); it cannot be used with the ` +
      'current device. Recreate it after init() (from host data or a checkpoint).');
    this.name = 'KilnStaleTensorError';
  }
}

type LostListener = (error: KilnDeviceLostError) => void;
const listeners = new Set<LostListener>();

/**
 * Calls `cb` once each time the device Kiln runs on is lost (not when Kiln itself closes it: shutdown(), or
 * init() moving to another device). Listeners stay registered across init(); the returned function removes it.
 */
export function onDeviceLost(cb: LostListener): () => void {
  if (typeof cb !== 'function') throw new Error(`onDeviceLost: expected a function, got ${String(cb)}`);
  listeners.add(cb);
  return () => { listeners.delete(cb); };
}

/** @internal the backend announces a loss here. A listener that throws does not stop the others. */
export function announceLost(error: KilnDeviceLostError): void {
  for (const cb of [...listeners]) {
    try { cb(error); } catch (e) { console.error('kiln: an onDeviceLost listener threw:', e); }
  }
}
