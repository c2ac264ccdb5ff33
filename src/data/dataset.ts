// What a GAN trainer reads real samples from, and a deterministic shuffle so a resumed run sees the same batches.

import type { Tensor } from '../tensor.js';

/** Real samples, served in fixed batches. */
export interface Dataset {
  readonly size: number;
  /** The sample shape, e.g. [2] or [1, 32, 32]. */
  readonly sampleShape: number[];
  /** The `index`-th batch of `batchSize` samples (the dataset decides order and wrap-around). */
  batch(index: number, batchSize: number): Tensor;
  /** The same batch as host data, for datasets held on the CPU: a compiled step writes it straight into
   * its input buffer (no GPU allocation per step). */
  hostBatch?(index: number, batchSize: number): Float32Array;
  /** The same batch as a range of rows of a tensor the dataset keeps on the GPU (offset in elements), for
   * datasets whose batches are contiguous: a compiled step copies it straight into its input buffer. */
  batchRange?(index: number, batchSize: number): { source: Tensor; offset: number };
}

/** A small seeded PRNG (mulberry32) for CPU-side shuffles; the GPU has its own counter-based generator. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A permutation of 0..n-1 that depends only on (seed, epoch): Fisher-Yates driven by mulberry32. */
export function permutation(n: number, seed: number, epoch: number): Uint32Array {
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) throw new Error(`permutation: n must be an integer in [0, 2^32), got ${n}`);
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`permutation: epoch must be a non-negative integer, got ${epoch}`);
  const r = mulberry32((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0);
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = p[i]; p[i] = p[j]; p[j] = t;
  }
  return p;
}
