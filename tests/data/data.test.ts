// Datasets: the MNIST split, deterministic shuffles, DataLoader batches by step, transforms and resizing (pure TypeScript, plus
// batches uploaded to the GPU).
import { beforeAll, describe, expect, it } from 'vitest';
import { permutation } from '../../src/data/dataset.js';
import { ImageDataset, mapSamples, squareResize } from '../../src/data/images.js';
import { Compose, Normalize, Pad } from '../../src/data/transforms.js';
import { mnistFromClasses, splitMnist } from '../../src/data/mnist.js';
import { loadMnist } from '../../src/node/mnist.js';
import { setup } from '../helpers.js';

beforeAll(async () => { await setup(); });

describe('MNIST', () => {
  it('loads the 10,000 digits of the mnist package and splits each class 80/20', () => {
    const d = loadMnist();
    expect(d.labels.length).toBe(10000);
    expect(d.images.length).toBe(10000 * 784);
    expect(Math.min(...d.images.subarray(0, 784 * 50))).toBe(0);
    expect(Math.max(...d.images.subarray(0, 784 * 50))).toBeLessThanOrEqual(1);
    const { train, heldOut } = splitMnist(d);
    expect(train.labels.length + heldOut.labels.length).toBe(10000);
    const count = (l: Int32Array, c: number) => l.filter((x) => x === c).length;
    expect(count(train.labels, 0)).toBe(800); // 1001 zeros
    expect(count(heldOut.labels, 0)).toBe(201);
    expect(new Set(heldOut.labels).size).toBe(10);
  });
  it('rejects malformed class arrays', () => {
    expect(() => mnistFromClasses([[1, 2, 3]])).toThrow(/expected 10 classes/);
    expect(() => mnistFromClasses(Array.from({ length: 10 }, () => new Array(785).fill(0)))).toThrow(/not a multiple of 784/);
  });
});

describe('shuffling and batches', () => {
  it('permutations depend only on (seed, epoch)', () => {
    const a = permutation(100, 3, 0);
    expect([...a].sort((x, y) => x - y)).toEqual([...Array(100).keys()]);
    expect(permutation(100, 3, 0)).toEqual(a);
    expect(permutation(100, 3, 1)).not.toEqual(a);
    expect(permutation(100, 4, 0)).not.toEqual(a);
  });
  it('ImageDataset serves shuffled, epoch-wrapping batches of whole samples', async () => {
    const n = 10;
    const px = new Float32Array(n * 4).map((_, i) => Math.floor(i / 4));
    const ds = new ImageDataset(px, [1, 2, 2], 7);
    expect(ds.size).toBe(10);
    const seen = [...ds.indices(0, 3), ...ds.indices(1, 3), ...ds.indices(2, 3)];
    expect(new Set(seen).size).toBe(9);
    expect([...ds.indices(3, 3)]).toEqual([...permutation(10, 7, 1).subarray(0, 3)]);
    const b = ds.batch(4, 3);
    expect(b.shape).toEqual([3, 1, 2, 2]);
    const v = await b.toArray();
    const idx = ds.indices(4, 3);
    for (let i = 0; i < 3; i++) expect([...v.subarray(i * 4, i * 4 + 4)]).toEqual([idx[i], idx[i], idx[i], idx[i]]);
    // The batches are a DataLoader's (seeded shuffle, dropLast) over the samples, continued across epochs.
    const loader = ds.loader(3);
    expect(loader).toMatchObject({ batchSize: 3, shuffle: true, seed: 7, dropLast: true, length: 3 });
    expect(loader.batchIndices(1).map((b) => [...b])).toEqual([3, 4, 5].map((i) => [...ds.indices(i, 3)]));
    expect([...ds.hostBatch(4, 3)]).toEqual([...idx].flatMap((i) => [i, i, i, i]));
    expect(new ImageDataset(new Float32Array(6).map((_, i) => i), [2], 1).hostBatch(0, 3).length).toBe(6);
    expect(() => ds.batch(0, 11)).toThrow(/batch size 11 must be an integer in \[1, 10\]/);
    expect(() => new ImageDataset(new Float32Array(7), [1, 2, 2])).toThrow(/do not split into samples/);
  });
  it('prepares samples once through the transforms (MNIST 28 -> 32, [0, 1] -> [-1, 1]) and resizes by area', () => {
    const one = new Float32Array(2 * 28 * 28).fill(1);
    const m = mapSamples(one, [1, 28, 28], Compose([Pad(2), Normalize([0.5], [0.5])]));
    expect(m.shape).toEqual([1, 32, 32]);
    const p = m.data;
    expect(p.length).toBe(2 * 1024);
    expect(p[0]).toBe(-1);
    expect(p[2 * 32 + 2]).toBe(1);
    expect(p[2 * 32 + 1]).toBe(-1);
    expect(p.reduce((a, b) => a + b, 0)).toBe(2 * (784 - (1024 - 784)));
    // Normalize([0.5], [0.5]) is x * 2 - 1 bit for bit on float32 pixels.
    const px = Float32Array.from({ length: 784 }, (_, i) => (i * 7 % 256) / 255);
    expect([...mapSamples(px, [1, 28, 28], Normalize([0.5], [0.5])).data]).toEqual([...px.map((v) => v * 2 - 1)]);
    expect(() => mapSamples(new Float32Array(5), [1, 2, 2], (x) => x)).toThrow(/do not split into samples/);
    // A 4x2 RGBA image (left half red, right half blue) cropped to its centre 2x2 and shrunk to 1x1.
    const rgba = new Uint8Array(4 * 2 * 4);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) rgba.set(x < 2 ? [255, 0, 0, 255] : [0, 0, 255, 255], (y * 4 + x) * 4);
    expect([...squareResize(rgba, 4, 2, 4, 1, 3)]).toEqual([0.5, 0, 0.5]);
    expect([...squareResize(rgba, 4, 2, 4, 2, 3)]).toEqual([1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1]);
    expect(squareResize(rgba, 4, 2, 4, 1, 1)[0]).toBeCloseTo(1 / 3, 6);
  });
});
