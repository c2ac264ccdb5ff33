// What the trainers read real samples from: host samples (images [c, h, w] or points [2]) drawn in the
// batches of a DataLoader over a TensorDataset (seeded shuffle per epoch, dropLast), addressed by step index
// so a resumed run sees the same batches; and samples prepared once through the transforms (Pad, Normalize).
import { tensor } from '../ops/functional.js';
import type { Tensor } from '../tensor.js';
import type { Dataset } from './dataset.js';
import { DataLoader, TensorDataset, type HostArray } from './loader.js';

export class ImageDataset implements Dataset {
  readonly size: number;
  readonly sampleShape: number[];
  /** The samples, as torch.utils.data.TensorDataset. */
  readonly dataset: TensorDataset;
  private readonly sampleLen: number;
  private readonly loaders = new Map<number, DataLoader<HostArray[]>>();
  private cached: { loader: DataLoader<HostArray[]>; epoch: number; batches: Uint32Array[] } | null = null;

  /** `images` holds `n` samples of shape `shape`, already scaled; `seed` fixes the shuffle of every epoch. */
  constructor(readonly images: Float32Array, shape: readonly number[], readonly seed = 0) {
    if (!(images instanceof Float32Array)) throw new Error('ImageDataset: images must be a Float32Array');
    if (!Array.isArray(shape) || shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new Error(`ImageDataset: sample shape must be positive integers (e.g. [c, h, w]), got ${JSON.stringify(shape)}`);
    }
    this.sampleShape = [...shape];
    this.sampleLen = shape.reduce((a, b) => a * b, 1);
    if (images.length === 0 || images.length % this.sampleLen !== 0) {
      throw new Error(`ImageDataset: ${images.length} values do not split into samples of shape [${shape.join(', ')}]`);
    }
    this.size = images.length / this.sampleLen;
    this.dataset = new TensorDataset({ data: images, shape: [this.size, ...shape] });
  }

  /** Samples of shape `shape` passed once through `transform` (e.g. Compose([Pad(2), Normalize([0.5], [0.5])])). */
  static from(values: Float32Array, shape: readonly number[], transform: (x: HostArray) => HostArray, seed = 0): ImageDataset {
    const m = mapSamples(values, shape, transform);
    return new ImageDataset(m.data, m.shape, seed);
  }

  /** The DataLoader of a batch size: seeded shuffle, dropLast (a partial last batch would change the compiled step's shapes). */
  loader(batchSize: number): DataLoader<HostArray[]> {
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > this.size) {
      throw new Error(`ImageDataset: batch size ${batchSize} must be an integer in [1, ${this.size}]`);
    }
    let l = this.loaders.get(batchSize);
    if (!l) { l = new DataLoader(this.dataset, { batchSize, shuffle: true, seed: this.seed, dropLast: true }); this.loaders.set(batchSize, l); }
    return l;
  }

  /** Batches per epoch (the last partial batch is dropped, as drop_last=True). */
  batchesPerEpoch(batchSize: number): number { return this.loader(batchSize).length; }

  /** The sample indices of batch `index`, counted across epochs: batch index % length of epoch index / length. */
  indices(index: number, batchSize: number): Uint32Array {
    const loader = this.loader(batchSize);
    if (!Number.isInteger(index) || index < 0) throw new Error(`ImageDataset: batch index must be a non-negative integer, got ${index}`);
    const epoch = Math.floor(index / loader.length);
    if (this.cached?.loader !== loader || this.cached.epoch !== epoch) this.cached = { loader, epoch, batches: loader.batchIndices(epoch) };
    return this.cached.batches[index % loader.length];
  }

  batch(index: number, batchSize: number): Tensor {
    return tensor(this.hostBatch(index, batchSize), [batchSize, ...this.sampleShape]);
  }

  /** Batch `index` on the host: a compiled step writes it straight into its input buffer. */
  hostBatch(index: number, batchSize: number): Float32Array {
    const idx = this.indices(index, batchSize);
    const out = new Float32Array(batchSize * this.sampleLen);
    idx.forEach((s, i) => out.set(this.dataset.get(s)[0].data, i * this.sampleLen));
    return out;
  }
}

/** Runs every sample of `values` ([n, ...shape]) through `transform`; the results must share one shape. */
export function mapSamples(values: Float32Array, shape: readonly number[], transform: (x: HostArray) => HostArray): { data: Float32Array; shape: number[] } {
  const per = shape.reduce((a, b) => a * b, 1);
  if (per === 0 || values.length % per !== 0) throw new Error(`mapSamples: ${values.length} values do not split into samples of shape [${shape.join(', ')}]`);
  const n = values.length / per;
  let out: Float32Array | null = null;
  let outShape: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = transform({ data: values.subarray(i * per, (i + 1) * per), shape });
    if (!out) { outShape = [...r.shape]; out = new Float32Array(n * r.data.length); }
    if (r.shape.join(',') !== outShape.join(',')) throw new Error(`mapSamples: sample ${i} became [${r.shape.join(', ')}], sample 0 [${outShape.join(', ')}]`);
    out.set(r.data, i * r.data.length);
  }
  return { data: out ?? new Float32Array(0), shape: outShape };
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
