// torch.utils.data for Kiln: map-style datasets of host arrays, and a DataLoader that batches them (seeded
// shuffle, dropLast) into GPU tensors, one upload per field per batch. Iterate with `for await`.
import { tensor } from '../ops/functional.js';
import type { Tensor } from '../tensor.js';
import { arg, argTypes as T, bindArgs } from '../signature.js';
import { permutation } from './dataset.js';

/** A sample field on the host: values row-major in `shape` (float32 or int32). */
export interface HostArray { data: Float32Array | Int32Array; shape: readonly number[] }

/** One sample: a single array (an image) or several fields (image, label). */
export type Sample = HostArray | HostArray[];

/** PyTorch's map-style dataset: `length` samples, fetched by index (async for datasets that decode files). */
export interface MapDataset<S extends Sample = Sample> {
  readonly length: number;
  get(index: number): S | Promise<S>;
}

type Nested = number | Nested[];

function hostArray(what: string, v: HostArray | Nested | Tensor): HostArray {
  if (Array.isArray(v) || typeof v === 'number') {
    const shape: number[] = [];
    let cur: Nested = v;
    while (Array.isArray(cur)) { shape.push(cur.length); cur = cur[0]; }
    const flat: number[] = [];
    const walk = (x: Nested) => { if (Array.isArray(x)) x.forEach(walk); else flat.push(x); };
    walk(v);
    return { data: Float32Array.from(flat), shape };
  }
  if (v && typeof v === 'object' && 'data' in v && 'shape' in v && !('storage' in v)) return checkHostArray(what, v as HostArray);
  const t = v as Tensor;
  if (t.hostData) return { data: t.hostData, shape: t.shape };
  throw new Error(`${what}: the tensor's values are on the GPU only; read them once with ` +
    '`await TensorDataset.fromTensors(...)` or pass host arrays ({ data, shape })');
}

/** A { data, shape } whose data is a Float32Array or Int32Array with exactly shape's element count. */
function checkHostArray(what: string, v: unknown): HostArray {
  const a = v as HostArray;
  if (!a || typeof a !== 'object' || !(a.data instanceof Float32Array || a.data instanceof Int32Array) ||
    !Array.isArray(a.shape) || a.shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${what}: expected a host array { data: Float32Array | Int32Array, shape: number[] }, got ` +
      `${a === null ? 'null' : typeof a !== 'object' ? typeof a : `{ ${Object.keys(a).join(', ')} }` + (a.data ? ` with data a ${a.data.constructor?.name}` : '')}`);
  }
  const n = a.shape.reduce((p, q) => p * q, 1);
  if (n !== a.data.length) throw new Error(`${what}: shape [${a.shape.join(', ')}] needs ${n} values but data holds ${a.data.length}`);
  return a;
}

/**
 * Samples are slices along the first dimension of each array, as torch.utils.data.TensorDataset:
 * `get(i)` is `[images[i], labels[i]]`, a list even for one array (PyTorch's one-element tuple).
 */
export class TensorDataset implements MapDataset<HostArray[]> {
  readonly arrays: HostArray[];
  readonly length: number;
  constructor(...arrays: (HostArray | Nested[] | Tensor)[]) {
    if (arrays.length === 0) throw new Error('TensorDataset: needs at least one array');
    this.arrays = arrays.map((a, i) => hostArray(`TensorDataset (argument ${i + 1})`, a));
    this.length = this.arrays[0].shape[0] ?? 0;
    this.arrays.forEach((a, i) => {
      if (a.shape.length === 0 || a.shape[0] !== this.length) {
        throw new Error(`TensorDataset: size mismatch between tensors: argument ${i + 1} has shape [${a.shape.join(', ')}], ` +
          `the first has ${this.length} samples`);
      }
    });
  }

  /** Reads GPU tensors back once and builds the dataset from their values. */
  static async fromTensors(...tensors: Tensor[]): Promise<TensorDataset> {
    const arrays = await Promise.all(tensors.map(async (t) => ({ data: await t.toArray(), shape: t.shape })));
    return new TensorDataset(...arrays);
  }

  get(index: number): HostArray[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new Error(`TensorDataset: index ${index} is out of range for ${this.length} samples`);
    }
    const out = this.arrays.map((a) => {
      const len = a.data.length / a.shape[0];
      return { data: a.data.subarray(index * len, (index + 1) * len), shape: a.shape.slice(1) };
    });
    return out;
  }
}

/** A dataset whose samples are another dataset's, passed through `transform` (torchvision's `transform=`). */
export class MappedDataset<S extends Sample, R extends Sample> implements MapDataset<R> {
  constructor(readonly source: MapDataset<S>, readonly transform: (s: S) => R) {}
  get length(): number { return this.source.length; }
  async get(index: number): Promise<R> { return this.transform(await this.source.get(index)); }
}

export interface DataLoaderOptions {
  batchSize?: number;
  shuffle?: boolean;
  /** Seed of the shuffle; each pass over the data (epoch) draws a new order from (seed, epoch). */
  seed?: number;
  dropLast?: boolean;
}

type Batch<S> = S extends HostArray[] ? Tensor[] : Tensor;

/**
 * Batches a dataset into tensors: `for await (const [x, y] of loader)`. Shuffled orders depend only on
 * (seed, epoch), so a run is reproducible; `epoch` can be set to resume.
 */
export class DataLoader<S extends Sample = Sample> implements AsyncIterable<Batch<S>> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** Passes started so far (the next pass shuffles with this epoch). */
  epoch = 0;

  constructor(readonly dataset: MapDataset<S>, opts: DataLoaderOptions = {}) {
    if (!dataset || typeof dataset.get !== 'function' || !Number.isInteger(dataset.length)) {
      throw new Error('DataLoader: dataset must have an integer `length` and a `get(index)` method (e.g. a TensorDataset)');
    }
    const o = bindArgs<Required<DataLoaderOptions>>('DataLoader', [arg('batchSize', T.int(1), 1),
      arg('shuffle', T.boolean(), false), arg('seed', T.int(0), 0), arg('dropLast', T.boolean(), false)], [opts]);
    this.batchSize = o.batchSize; this.shuffle = o.shuffle; this.seed = o.seed; this.dropLast = o.dropLast;
  }

  /** Batches per pass (PyTorch's len(loader)). */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample indices of each batch of the next pass. */
  batchIndices(epoch = this.epoch): Uint32Array[] {
    const n = this.dataset.length;
    const order = this.shuffle ? permutation(n, this.seed, epoch) : Uint32Array.from({ length: n }, (_, i) => i);
    const out: Uint32Array[] = [];
    for (let b = 0; b < this.length; b++) out.push(order.subarray(b * this.batchSize, Math.min(n, (b + 1) * this.batchSize)));
    return out;
  }

  /** A plain `for...of` cannot wait for a batch: the error says to use `for await`. */
  [Symbol.iterator](): never {
    throw new Error('DataLoader is async: use for await (const batch of loader)');
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Batch<S>> {
    const batches = this.batchIndices(this.epoch++);
    for (const idx of batches) {
      const samples = await Promise.all(Array.from(idx, (i) => this.dataset.get(i)));
      yield collate(samples) as Batch<S>;
    }
  }
}

/** Stacks samples field by field into one tensor per field (torch's default_collate). */
export function collate(samples: Sample[]): Tensor | Tensor[] {
  const fields = (s: Sample) => (Array.isArray(s) ? s : [s]);
  // Every sample is checked before any upload, so a bad one leaves no tensor behind.
  samples.forEach((s, i) => fields(s).forEach((f, k) => checkHostArray(`DataLoader: the dataset's sample ${i} (field ${k})`, f)));
  const first = fields(samples[0]);
  const out = first.map((f, k) => {
    const len = f.data.length;
    const data = f.data instanceof Int32Array ? new Int32Array(len * samples.length) : new Float32Array(len * samples.length);
    samples.forEach((s, i) => {
      const a = fields(s)[k];
      if (!a || a.data.length !== len || a.shape.join(',') !== f.shape.join(',')) {
        throw new Error(`DataLoader: sample ${i} field ${k} has shape [${a?.shape.join(', ')}] but sample 0 has [${f.shape.join(', ')}]; ` +
          'samples of a batch must have the same shape (resize or crop them with a transform)');
      }
      data.set(a.data, i * len);
    });
    return tensor(data, [samples.length, ...f.shape], { dtype: data instanceof Int32Array ? 'int32' : 'float32' });
  });
  return Array.isArray(samples[0]) ? out : out[0];
}
