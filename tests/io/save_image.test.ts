// io.saveImage as torchvision.utils.save_image: grid layout, normalisation, compressed PNG that decodes back.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoGpuErrors } from '../helpers.js';
import * as kiln from '../../src/node.js';

beforeAll(async () => { await kiln.init(); });
afterEach(() => expectNoGpuErrors());

describe('saveImage', () => {
  it('tiles [N, 1, H, W] into RGB with padding 2, nrow per row, normalize by valueRange', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'kiln-img-')), 'grid.png');
    // 3 images of 2x2, values -1 (black) .. 1 (white)
    const t = kiln.tensor(Float32Array.from({ length: 12 }, (_, i) => (i < 4 ? -1 : i < 8 ? 0 : 1)), [3, 1, 2, 2]);
    await kiln.io.saveImage(t, path, { nrow: 2, normalize: true, valueRange: [-1, 1] });
    const png = PNG.sync.read(readFileSync(path));
    // torchvision: width = 2 * (2 + 2) + 2, height = 2 rows * (2 + 2) + 2
    expect([png.width, png.height]).toEqual([10, 10]);
    const at = (x: number, y: number) => Array.from(png.data.subarray((y * 10 + x) * 4, (y * 10 + x) * 4 + 3));
    expect(at(0, 0)).toEqual([0, 0, 0]); // padding
    expect(at(2, 2)).toEqual([0, 0, 0]); // image 0 = -1
    expect(at(6, 2)).toEqual([128, 128, 128]); // image 1 = 0 -> 0.5 * 255 + 0.5
    expect(at(2, 6)).toEqual([255, 255, 255]); // image 2 = 1
    expect(at(6, 6)).toEqual([0, 0, 0]); // empty cell holds padValue
  });

  it('normalize without a range uses the min and max; a single image has no padding', async () => {
    const png = PNG.sync.read(Buffer.from(await kiln.io.imageToPng(kiln.tensor([[[2, 4], [6, 10]]]), { normalize: true })));
    expect([png.width, png.height]).toEqual([2, 2]);
    expect([png.data[0], png.data[4], png.data[8], png.data[12]]).toEqual([0, 64, 128, 255]);
    expect(() => kiln.io.makeGrid(new Float32Array(4), [1, 1, 2, 2], { value_range: [0, 1] } as never)).toThrow(/unknown option 'value_range' \(did you mean 'valueRange'\?\)/);
  });

  it('PNGs are deflate-compressed: a flat 256x256 grid takes a small fraction of its raw size', () => {
    const grid = new Float32Array(3 * 256 * 256).fill(0.25);
    const png = kiln.io.gridToPng(grid, [3, 256, 256]);
    expect(png.length).toBeLessThan(3 * 256 * 256 / 20);
    const idat = png.subarray(8 + 25 + 8, png.length - 12 - 4);
    expect(inflateSync(idat).length).toBe(256 * (256 * 3 + 1));
    const back = PNG.sync.read(Buffer.from(png));
    expect(back.data[0]).toBe(64);
  });
});
