// DataLoader, TensorDataset, transforms and the Node datasets, as torch.utils.data / torchvision behave.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectClose, expectNoGpuErrors } from '../helpers.js';
import * as kiln from '../../src/node.js';

const { data } = kiln;
const T = data.transforms;
beforeAll(async () => { await kiln.init(); });
afterEach(() => expectNoGpuErrors());

describe('DataLoader', () => {
  it('batches a TensorDataset in order, with a short last batch unless dropLast', async () => {
    const ds = new data.TensorDataset({ data: Float32Array.from({ length: 10 }, (_, i) => i), shape: [5, 2] },
      { data: Int32Array.of(0, 1, 2, 3, 4), shape: [5] });
    expect(ds.length).toBe(5);
    const loader = new data.DataLoader(ds, { batchSize: 2 });
    expect(loader.length).toBe(3);
    const seen: number[][] = [];
    for await (const [x, y] of loader) {
      expect(x.dtype).toBe('float32');
      expect(y.dtype).toBe('int32');
      seen.push(Array.from(await y.toArray()));
      expect(x.shape).toEqual([y.shape[0], 2]);
    }
    expect(seen).toEqual([[0, 1], [2, 3], [4]]);
    const dropped = new data.DataLoader(ds, { batchSize: 2, dropLast: true });
    let n = 0;
    for await (const _ of dropped) n++;
    expect([n, dropped.length]).toEqual([2, 2]);
  });

  it('a seeded shuffle: a permutation per epoch, the same for the same seed, different across epochs', async () => {
    const ds = new data.TensorDataset([[0], [1], [2], [3], [4], [5], [6], [7]]);
    const order = async (l: kiln.data.DataLoader<kiln.data.HostArray[]>) => {
      const out: number[] = [];
      for await (const [x] of l) out.push(...Array.from(await x.toArray()));
      return out;
    };
    const a = new data.DataLoader(ds, { batchSize: 3, shuffle: true, seed: 7 });
    const b = new data.DataLoader(ds, { batchSize: 3, shuffle: true, seed: 7 });
    const a1 = await order(a);
    expect([...a1].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(await order(b)).toEqual(a1);
    const a2 = await order(a);
    expect(a2).not.toEqual(a1);
    expect(a1).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('refuses bad options and mismatched datasets', () => {
    const ds = new data.TensorDataset([[1], [2]]);
    expect(() => new data.DataLoader(ds, { batch_size: 2 } as never)).toThrow(/DataLoader: unknown option 'batch_size' \(did you mean 'batchSize'\?\)/);
    expect(() => new data.DataLoader(ds, { batchSize: 0 })).toThrow(/batchSize' must be a positive integer/);
    expect(() => new data.TensorDataset([[1], [2]], [[1]])).toThrow(/size mismatch/);
    expect(() => new data.TensorDataset(kiln.zeros([2]).mul(2))).toThrow(/fromTensors/);
  });
});

describe('transforms', () => {
  const img = (c: number, h: number, w: number) => ({ data: Float32Array.from({ length: c * h * w }, (_, i) => i), shape: [c, h, w] });

  it('Normalize([0.5], [0.5]) maps [0, 1] to [-1, 1]; Pad and CenterCrop as torchvision', () => {
    const n = T.Normalize([0.5], [0.5])({ data: Float32Array.of(0, 0.5, 1), shape: [1, 1, 3] });
    expect(Array.from(n.data)).toEqual([-1, 0, 1]);
    const p = T.Pad(1)(img(1, 2, 2));
    expect(p.shape).toEqual([1, 4, 4]);
    expect(Array.from(p.data)).toEqual([0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 3, 0, 0, 0, 0, 0]);
    const c = T.CenterCrop(2)(img(1, 4, 5));
    // torchvision: top = round((4 - 2) / 2) = 1, left = round((5 - 2) / 2) = round(1.5) = 2
    expect(Array.from(c.data)).toEqual([7, 8, 12, 13]);
    expect(T.CenterCrop([6, 5])(img(1, 4, 5)).shape).toEqual([1, 6, 5]);
  });

  it('Resize: the smaller edge to size keeping the aspect ratio, box-averaged when shrinking', () => {
    const r = T.Resize(2)(img(1, 4, 8));
    expect(r.shape).toEqual([1, 2, 4]);
    // each output pixel averages a 2x2 block
    expectClose(r.data, [4.5, 6.5, 8.5, 10.5, 20.5, 22.5, 24.5, 26.5], 'box resize');
    expect(T.Resize([3, 3])(img(3, 2, 2)).shape).toEqual([3, 3, 3]);
  });

  it('Compose(ToTensor, Resize, CenterCrop, Normalize) over decoded RGBA pixels', () => {
    const rgba = new Uint8Array(4 * 6 * 4).fill(255);
    const t = T.Compose<kiln.data.DecodedImage, kiln.data.HostArray>([T.ToTensor(), T.Resize(4), T.CenterCrop(4), T.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])]);
    const out = t({ width: 4, height: 6, data: rgba, channels: 4 });
    expect(out.shape).toEqual([3, 4, 4]);
    expect(Array.from(out.data).every((v) => Math.abs(v - 1) < 1e-6)).toBe(true);
  });

  it('transforms in the wrong order say which comes first', () => {
    const img = { width: 2, height: 2, data: new Uint8Array(16), channels: 4 as const };
    const wrong = T.Compose<kiln.data.DecodedImage, kiln.data.HostArray>([T.Normalize([0.5], [0.5]), T.ToTensor()]);
    expect(() => wrong(img)).toThrow(/Normalize: got a decoded 2x2 image, not a \[C, H, W\] tensor: put ToTensor\(\) first in Compose/);
    const twice = T.Compose<kiln.data.DecodedImage, kiln.data.HostArray>([T.ToTensor(), T.ToTensor()]);
    expect(() => twice(img)).toThrow(/ToTensor: got a \[C, H, W\] float image, which is already a tensor/);
  });
});

describe('Node datasets', () => {
  it('ImageFolder reads class subfolders; batches of [image, label]', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kiln-folder-'));
    for (const [cls, shade] of [['cat', 10], ['dog', 200]] as const) {
      mkdirSync(join(root, cls));
      for (let i = 0; i < 2; i++) {
        const png = new PNG({ width: 3, height: 3 });
        png.data.fill(shade);
        writeFileSync(join(root, cls, `${i}.png`), PNG.sync.write(png));
      }
    }
    const ds = new kiln.ImageFolder(root, T.Compose([T.ToTensor(1), T.Normalize([0.5], [0.5])]));
    expect(ds.classes).toEqual(['cat', 'dog']);
    const loader = new data.DataLoader(ds, { batchSize: 4 });
    for await (const [x, y] of loader) {
      expect(x.shape).toEqual([4, 1, 3, 3]);
      expect(Array.from(await y.toArray())).toEqual([0, 0, 1, 1]);
      const v = await x.toArray();
      expect(v[0]).toBeCloseTo(10 / 255 * 2 - 1, 5);
      expect(v[35]).toBeCloseTo(200 / 255 * 2 - 1, 5);
    }
  });

  it('MNIST from the bundled package', async () => {
    const ds = new kiln.MNIST(T.Normalize([0.5], [0.5]));
    expect(ds.length).toBe(10000);
    const [img, label] = ds.get(0);
    expect(img.shape).toEqual([1, 28, 28]);
    expect(Math.min(...img.data)).toBe(-1);
    expect(label.data[0]).toBeGreaterThanOrEqual(0);
  });

  it('loadImageFolder (the trainers\' folder reader) is ImageFiles with ToTensor, Resize and CenterCrop; undecodable files are listed', () => {
    const root = mkdtempSync(join(tmpdir(), 'kiln-flat-'));
    // 3x1 red | green | blue: the smaller edge is already 1, the centre crop keeps the green pixel.
    const wide = new PNG({ width: 3, height: 1 });
    wide.data.set([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255]);
    writeFileSync(join(root, 'b.png'), PNG.sync.write(wide));
    writeFileSync(join(root, 'a.png'), 'not a png');
    writeFileSync(join(root, 'notes.txt'), 'ignored');
    const f = kiln.loadImageFolder(root, 1, 3);
    expect(f.count).toBe(1);
    expect(f.names).toEqual(['b.png']);
    expect(f.skipped).toHaveLength(1);
    expect(f.skipped[0]).toMatch(/^a\.png \(/);
    expect(Array.from(f.images)).toEqual([0, 1, 0]);
    const same = new kiln.ImageFiles(root, T.Compose([T.ToTensor(3), T.Resize(1), T.CenterCrop(1)]));
    expect(same.files).toEqual(['a.png', 'b.png']);
    expect(Array.from(same.get(1).data)).toEqual(Array.from(f.images));
    expect(() => kiln.loadImageFolder(join(root, 'missing'), 4, 1)).toThrow(/missing: cannot read the folder \(ENOENT\)/);
    const empty = mkdtempSync(join(tmpdir(), 'kiln-empty-'));
    expect(() => kiln.loadImageFolder(empty, 4, 1)).toThrow(/no \.png, \.jpg or \.jpeg images/);
  });
});
