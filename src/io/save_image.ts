// torchvision.utils.make_grid and save_image's encoding: images [N, C, H, W] tiled into one picture and
// encoded as PNG bytes. Writing the file is the Node entry's job (kiln/node's io.saveImage).
import type { Tensor } from '../tensor.js';
import { arg, argTypes as T, bindArgs } from '../signature.js';
import { encodePng } from './png.js';
import { tensorArg } from '../ops/args.js';

export interface SaveImageOptions {
  /** Images per row (default 8). */
  nrow?: number;
  /** Pixels between and around the tiles (default 2). */
  padding?: number;
  /** Shift and scale to [0, 1] by valueRange, or by the images' min and max. */
  normalize?: boolean;
  /** [min, max] mapped to [0, 1] when normalize is set (PyTorch's value_range). */
  valueRange?: [number, number] | null;
  /** Normalize each image by its own min and max. */
  scaleEach?: boolean;
  /** Value of the padding pixels (default 0). */
  padValue?: number;
}

const rangeType = {
  expected: 'null or [min, max]',
  check: (v: unknown) => v === null || (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number') && v[0] < v[1]),
};

/** make_grid's options and the images' [N, C, H, W], checked (host-only, before any readback). */
function gridArgs(shape: readonly number[], opts: SaveImageOptions): { o: Required<SaveImageOptions>; dims: number[] } {
  const o = bindArgs<Required<SaveImageOptions>>('saveImage', [arg('nrow', T.int(1), 8), arg('padding', T.int(0), 2),
    arg('normalize', T.boolean(), false), arg('valueRange', rangeType, null), arg('scaleEach', T.boolean(), false),
    arg('padValue', T.number(), 0)], [opts]);
  const dims = shape.length === 4 ? [...shape] : shape.length === 3 ? [1, ...shape] : shape.length === 2 ? [1, 1, ...shape] : [];
  if (dims.length === 0) throw new Error(`saveImage: expected images [N, C, H, W], [C, H, W] or [H, W], got [${shape.join(', ')}]`);
  return { o, dims };
}

/**
 * make_grid on host values: returns the grid [3 or C, H', W'] in the images' units (normalised when asked).
 * One-channel images become three channels, and a single image is returned without padding, as torchvision.
 */
export function makeGrid(values: Float32Array, shape: readonly number[], opts: SaveImageOptions = {}):
  { data: Float32Array; shape: [number, number, number] } {
  const { o, dims } = gridArgs(shape, opts);
  let [n, c, h, w] = dims;
  let v = values;
  if (c === 1) {
    // torchvision repeats a single channel into RGB.
    v = new Float32Array(n * 3 * h * w);
    for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) v.set(values.subarray(i * h * w, (i + 1) * h * w), (i * 3 + k) * h * w);
    c = 3;
  }
  if (o.normalize) {
    v = Float32Array.from(v);
    const norm = (a: Float32Array) => {
      let lo = o.valueRange?.[0] ?? Infinity;
      let hi = o.valueRange?.[1] ?? -Infinity;
      if (!o.valueRange) for (const x of a) { if (x < lo) lo = x; if (x > hi) hi = x; }
      const scale = 1 / Math.max(hi - lo, 1e-5);
      for (let i = 0; i < a.length; i++) a[i] = (Math.min(Math.max(a[i], lo), hi) - lo) * scale;
    };
    if (o.scaleEach) for (let i = 0; i < n; i++) norm(v.subarray(i * c * h * w, (i + 1) * c * h * w));
    else norm(v);
  }
  if (n === 1) return { data: v.subarray(0, c * h * w), shape: [c, h, w] };
  const xmaps = Math.min(o.nrow, n);
  const ymaps = Math.ceil(n / xmaps);
  const p = o.padding;
  const gh = (h + p) * ymaps + p;
  const gw = (w + p) * xmaps + p;
  const grid = new Float32Array(c * gh * gw).fill(o.padValue);
  for (let i = 0; i < n; i++) {
    const x0 = (i % xmaps) * (w + p) + p;
    const y0 = Math.floor(i / xmaps) * (h + p) + p;
    for (let k = 0; k < c; k++) for (let y = 0; y < h; y++) {
      grid.set(v.subarray(((i * c + k) * h + y) * w, ((i * c + k) * h + y + 1) * w), (k * gh + y0 + y) * gw + x0);
    }
  }
  return { data: grid, shape: [c, gh, gw] };
}

/** A grid [C, H, W] with values in [0, 1] as 8-bit PNG bytes: round(x * 255) clamped, as save_image. */
export function gridToPng(grid: Float32Array, [c, h, w]: readonly number[]): Uint8Array {
  if (c !== 3 && c !== 4) throw new Error(`saveImage: images must have 1, 3 or 4 channels, got ${c}`);
  const px = new Uint8Array(h * w * c);
  for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) {
    const x = grid[k * h * w + i] * 255 + 0.5;
    px[i * c + k] = Number.isNaN(x) ? 0 : Math.min(255, Math.max(0, Math.floor(x)));
  }
  return encodePng(px, w, h, c as 3 | 4);
}

/** save_image without the file: reads the tensor back and returns the PNG bytes of its grid. */
export async function imageToPng(t: Tensor, opts: SaveImageOptions = {}): Promise<Uint8Array> {
  tensorArg('saveImage', 'tensor', t);
  gridArgs(t.shape, opts);
  const values = await t.toArray();
  const g = makeGrid(values instanceof Float32Array ? values : Float32Array.from(values), t.shape, opts);
  return gridToPng(g.data, g.shape);
}
