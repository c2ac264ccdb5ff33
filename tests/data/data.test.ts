// Datasets: the MNIST split, deterministic shuffles, batches, padding and resizing (pure TypeScript, plus
// batches uploaded to the GPU).
import { beforeAll, describe, expect, it } from 'vitest';
import { permutation } from '../../src/data/dataset.js';
import { ImageDataset, padImages, squareResize } from '../../src/data/images.js';
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
    expect(() => ds.batch(0, 11)).toThrow(/batch size 11 must be an integer in \[1, 10\]/);
    expect(() => new ImageDataset(new Float32Array(7), [1, 2, 2])).toThrow(/do not split into samples/);
  });
  it('pads 28x28 to 32x32 centred and resizes by area', () => {
    const one = new Float32Array(28 * 28).fill(1);
    const p = padImages(one, 28, 32);
    expect(p.length).toBe(1024);
    expect(p[0]).toBe(0);
    expect(p[2 * 32 + 2]).toBe(1);
    expect(p[2 * 32 + 1]).toBe(0);
    expect(p.reduce((a, b) => a + b, 0)).toBe(784);
    // A 4x2 RGBA image (left half red, right half blue) cropped to its centre 2x2 and shrunk to 1x1.
    const rgba = new Uint8Array(4 * 2 * 4);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) rgba.set(x < 2 ? [255, 0, 0, 255] : [0, 0, 255, 255], (y * 4 + x) * 4);
    expect([...squareResize(rgba, 4, 2, 4, 1, 3)]).toEqual([0.5, 0, 0.5]);
    expect([...squareResize(rgba, 4, 2, 4, 2, 3)]).toEqual([1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1]);
    expect(squareResize(rgba, 4, 2, 4, 1, 1)[0]).toBeCloseTo(1 / 3, 6);
  });
});
