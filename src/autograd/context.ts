// Process-wide engine state: the current backend, whether gradients are recorded, the tidy() scopes, and the
// random generator's seed and counter.
import type { Backend } from '../backend/backend.js';

let current: Backend | null = null;

export function setBackend(b: Backend | null): void { current = b; }

/** The backend init() set up; a clear error before init(). */
export function backend(): Backend {
  if (!current) throw new Error('kiln: call `await init()` before creating tensors');
  current.check();
  return current;
}

export function hasBackend(): boolean { return current !== null; }

/** The current backend even if its device was lost (for teardown). */
export function currentBackend(): Backend | null { return current; }

let gradEnabled = true;

export function isGradEnabled(): boolean { return gradEnabled; }

/** Runs `fn` without recording the autodiff graph (like torch.no_grad()). `fn` must be synchronous. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    const r = fn();
    if (r instanceof Promise) {
      throw new Error('kiln: noGrad(fn) takes a synchronous function; await outside of it');
    }
    return r;
  } finally {
    gradEnabled = prev;
  }
}

/** Like noGrad, but with grad recording switched on or off explicitly. */
export function withGrad<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try { return fn(); } finally { gradEnabled = prev; }
}

/** Counter-based RNG state: every random op consumes `offset` ranges, so manualSeed(n) replays a run. */
export const rng = { seedLo: 0x2545f491, seedHi: 0x9e3779b9, offset: 0 };

/** Seeds Kiln's on-GPU random generator (like torch.manual_seed). */
export function manualSeed(seed: number): void {
  if (!Number.isFinite(seed)) throw new Error(`manualSeed: seed must be a finite number, got ${seed}`);
  const s = Math.floor(Math.abs(seed));
  rng.seedLo = (s % 0x100000000) >>> 0;
  rng.seedHi = (Math.floor(s / 0x100000000) ^ 0x9e3779b9) >>> 0;
  rng.offset = 0;
}

/** The generator's state, to save in a checkpoint. */
export function getRngState(): { seedLo: number; seedHi: number; offset: number } { return { ...rng }; }

export function setRngState(s: { seedLo: number; seedHi: number; offset: number }): void {
  rng.seedLo = s.seedLo >>> 0;
  rng.seedHi = s.seedHi >>> 0;
  rng.offset = s.offset >>> 0;
}
