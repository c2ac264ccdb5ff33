// Image datasets held on the CPU as NCHW float32 in [-1, 1] (the generator's Tanh range); each batch is a
// shuffled slice uploaded to the GPU, as a PyTorch DataLoader would. Order depends only on (seed, step).
import { tensor } from '../ops/functional.js';
import type { Tensor } from '../tensor.js';
import { permutation, type Dataset } from './dataset.js';

export class ImageDataset implements Dataset {
  readonly size: number;
  readonly sampleShape: number[];
  private readonly sampleLen: number;
  private perm: Uint32Array | null = null;
  private permEpoch = -1;

  /** `images` holds `n` samples of shape [c, h, w], already scaled; `seed` fixes the shuffle of every epoch. */
  constructor(readonly images: Float32Array, shape: [number, number, number], readonly seed = 0) {
    if (!(images instanceof Float32Array)) throw new Error('ImageDataset: images must be a Float32Array');
    if (!Array.isArray(shape) || shape.length !== 3 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new Error(`ImageDataset: sample shape must be [c, h, w] of positive integers, got ${JSON.stringify(shape)}`);
    }
    this.sampleShape = [...shape];
    this.sampleLen = shape[0] * shape[1] * shape[2];
    if (this.sampleLen === 0 || images.length % this.sampleLen !== 0) {
      throw new Error(`ImageDataset: ${images.length} values do not split into samples of shape [${shape.join(', ')}]`);
    }
    this.size = images.length / this.sampleLen;
  }

  /** Batches per epoch (the last partial batch is dropped, as drop_last=True). */
  batchesPerEpoch(batchSize: number): number { return Math.floor(this.size / batchSize); }

  /** The sample indices of batch `index` (epochs are reshuffled). */
  indices(index: number, batchSize: number): Uint32Array {
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > this.size) {
      throw new Error(`ImageDataset: batch size ${batchSize} must be an integer in [1, ${this.size}]`);
    }
    if (!Number.isInteger(index) || index < 0) throw new Error(`ImageDataset: batch index must be a non-negative integer, got ${index}`);
    const per = this.batchesPerEpoch(batchSize);
    const epoch = Math.floor(index / per);
    if (epoch !== this.permEpoch) { this.perm = permutation(this.size, this.seed, epoch); this.permEpoch = epoch; }
    const start = (index % per) * batchSize;
    return this.perm!.subarray(start, start + batchSize);
  }

  batch(index: number, batchSize: number): Tensor {
    return tensor(this.hostBatch(index, batchSize), [batchSize, ...this.sampleShape]);
  }

  hostBatch(index: number, batchSize: number): Float32Array {
    const idx = this.indices(index, batchSize);
    const out = new Float32Array(batchSize * this.sampleLen);
    idx.forEach((s, i) => out.set(this.images.subarray(s * this.sampleLen, (s + 1) * this.sampleLen), i * this.sampleLen));
    return out;
  }
}

/** Maps [0, 1] pixels to [-1, 1]. */
export function toSigned(pixels: Float32Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] * 2 - 1;
  return out;
}

/** Zero-pads square single-channel images of side `from` to side `to` (e.g. MNIST 28 -> 32), centred. */
export function padImages(pixels: Float32Array, from: number, to: number, fill = 0): Float32Array {
  if (to < from) throw new Error(`padImages: cannot pad ${from}x${from} images to ${to}x${to}`);
  const n = pixels.length / (from * from);
  const off = Math.floor((to - from) / 2);
  const out = new Float32Array(n * to * to).fill(fill);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < from; y++) {
      out.set(pixels.subarray(i * from * from + y * from, i * from * from + (y + 1) * from), i * to * to + (y + off) * to + off);
    }
  }
  return out;
}

/**
 * Centre-crops an interleaved RGB(A) image to a square and resizes it to size x size with box (area)
 * filtering, returning planar [channels, size, size] in [0, 1]. channels 1 averages R, G and B.
 */
export function squareResize(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, stride: number,
  size: number, channels: 1 | 3): Float32Array {
  const side = Math.min(width, height);
  const x0 = Math.floor((width - side) / 2);
  const y0 = Math.floor((height - side) / 2);
  const out = new Float32Array(channels * size * size);
  const scale = side / size;
  for (let oy = 0; oy < size; oy++) {
    const ya = y0 + oy * scale;
    const yb = y0 + (oy + 1) * scale;
    for (let ox = 0; ox < size; ox++) {
      const xa = x0 + ox * scale;
      const xb = x0 + (ox + 1) * scale;
      const acc = [0, 0, 0];
      let wsum = 0;
      for (let y = Math.floor(ya); y < Math.ceil(yb); y++) {
        const wy = Math.min(yb, y + 1) - Math.max(ya, y);
        for (let x = Math.floor(xa); x < Math.ceil(xb); x++) {
          const w = wy * (Math.min(xb, x + 1) - Math.max(xa, x));
          const p = (y * width + x) * stride;
          acc[0] += w * rgba[p]; acc[1] += w * rgba[p + 1]; acc[2] += w * rgba[p + 2];
          wsum += w;
        }
      }
      const o = oy * size + ox;
      if (channels === 1) out[o] = (acc[0] + acc[1] + acc[2]) / (3 * 255 * wsum);
      else for (let c = 0; c < 3; c++) out[c * size * size + o] = acc[c] / (255 * wsum);
    }
  }
  return out;
}
