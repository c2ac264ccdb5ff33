// torchvision.transforms for Kiln, on host images [C, H, W] (float32, row-major): ToTensor from decoded
// pixels, Resize, CenterCrop, Pad, Normalize, Compose. Each transform is a function of one image.
import { arg, argTypes as T, bindArgs } from '../signature.js';
import type { HostArray } from './loader.js';

/** Decoded pixels as browsers (ImageData) and pngjs / jpeg-js give them: interleaved, 8 bits per channel. */
export interface DecodedImage { width: number; height: number; data: Uint8Array | Uint8ClampedArray; channels?: 1 | 3 | 4 }

export type Transform<A = HostArray, B = HostArray> = (x: A) => B;

function chw(what: string, x: HostArray): [number, number, number] {
  const decoded = x as unknown as Partial<DecodedImage> | null;
  if (decoded && !('shape' in decoded) && decoded.width !== undefined && decoded.height !== undefined && decoded.data) {
    throw new Error(`${what}: got a decoded ${decoded.width}x${decoded.height} image, not a [C, H, W] tensor: put ToTensor() first in Compose`);
  }
  if (!x || !x.data || !Array.isArray(x.shape) || x.shape.length !== 3) {
    throw new Error(`${what}: expected an image of shape [C, H, W], got [${x?.shape?.join(', ')}]`);
  }
  return [x.shape[0], x.shape[1], x.shape[2]];
}

const size2 = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** Applies transforms in order (torchvision's Compose). */
export function Compose<A, B>(transforms: ((x: never) => unknown)[]): Transform<A, B> {
  if (!Array.isArray(transforms) || transforms.some((t) => typeof t !== 'function')) {
    throw new Error('Compose: expected an array of transforms (functions)');
  }
  return (x: A) => transforms.reduce<unknown>((v, t) => (t as (y: unknown) => unknown)(v), x) as B;
}

/**
 * Decoded pixels to a float image [C, H, W] in [0, 1] (torchvision's ToTensor); `channels` 1 averages R, G, B
 * (PIL's convert('L') weights differ slightly), 3 drops alpha.
 */
export function ToTensor(channels?: 1 | 3): Transform<DecodedImage, HostArray> {
  return (img) => {
    if (img && 'shape' in (img as object)) {
      throw new Error('ToTensor: got a [C, H, W] float image, which is already a tensor: ToTensor must come first in Compose');
    }
    if (!img || typeof img.width !== 'number' || typeof img.height !== 'number' || !img.data) {
      throw new Error(`ToTensor: expected a decoded image { width, height, data }, got ${img === null ? 'null' : typeof img}`);
    }
    const src = img.channels ?? (img.data.length === img.width * img.height ? 1 : img.data.length === img.width * img.height * 3 ? 3 : 4);
    const c = channels ?? (src === 1 ? 1 : 3);
    const n = img.width * img.height;
    if (img.data.length !== n * src) throw new Error(`ToTensor: ${img.data.length} bytes do not hold a ${img.width}x${img.height} image with ${src} channels`);
    const out = new Float32Array(c * n);
    for (let i = 0; i < n; i++) {
      const p = i * src;
      if (c === 1) out[i] = (src === 1 ? img.data[p] : (img.data[p] + img.data[p + 1] + img.data[p + 2]) / 3) / 255;
      else for (let k = 0; k < 3; k++) out[k * n + i] = img.data[src === 1 ? p : p + k] / 255;
    }
    return { data: out, shape: [c, img.height, img.width] };
  };
}

/** Per-channel (x - mean) / std; Normalize([0.5], [0.5]) maps [0, 1] to [-1, 1]. */
export function Normalize(mean: number[], std: number[]): Transform {
  if (!Array.isArray(mean) || !Array.isArray(std) || mean.length !== std.length || mean.length === 0) {
    throw new Error('Normalize: mean and std must be arrays of the same (non-zero) length');
  }
  if (std.some((s) => s === 0)) throw new Error('Normalize: std evaluated to zero, leading to division by zero');
  return (x) => {
    const [c, h, w] = chw('Normalize', x);
    if (mean.length !== 1 && mean.length !== c) throw new Error(`Normalize: ${mean.length} means for an image with ${c} channels`);
    const out = new Float32Array(x.data.length);
    for (let k = 0; k < c; k++) {
      const m = mean[mean.length === 1 ? 0 : k];
      const s = std[std.length === 1 ? 0 : k];
      for (let i = k * h * w; i < (k + 1) * h * w; i++) out[i] = (x.data[i] - m) / s;
    }
    return { data: out, shape: [c, h, w] };
  };
}

/**
 * Resize(size): an int resizes the smaller edge to `size` keeping the aspect ratio; [h, w] resizes exactly.
 * Downscaling averages the covered source area (antialiased, as torchvision's default); upscaling is bilinear
 * with half-pixel centres. Values may differ from PIL's filters in the last bits.
 */
export function Resize(size: number | [number, number]): Transform {
  bindArgs('Resize', [arg('size', T.pair(1))], [size]);
  return (x) => {
    const [c, h, w] = chw('Resize', x);
    let oh: number, ow: number;
    if (typeof size === 'number') {
      if (h <= w) { oh = size; ow = Math.floor((size * w) / h); } else { ow = size; oh = Math.floor((size * h) / w); }
    } else [oh, ow] = size;
    if (oh === h && ow === w) return x;
    const out = new Float32Array(c * oh * ow);
    const sy = h / oh;
    const sx = w / ow;
    for (let k = 0; k < c; k++) {
      const src = x.data.subarray(k * h * w, (k + 1) * h * w);
      for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
        out[(k * oh + oy) * ow + ox] = sy >= 1 && sx >= 1 ? area(src, w, oy * sy, (oy + 1) * sy, ox * sx, (ox + 1) * sx)
          : bilinear(src, h, w, (oy + 0.5) * sy - 0.5, (ox + 0.5) * sx - 0.5);
      }
    }
    return { data: out, shape: [c, oh, ow] };
  };
}

function area(src: Float32Array | Int32Array, w: number, ya: number, yb: number, xa: number, xb: number): number {
  let acc = 0;
  let wsum = 0;
  for (let y = Math.floor(ya); y < Math.ceil(yb); y++) {
    const wy = Math.min(yb, y + 1) - Math.max(ya, y);
    for (let x = Math.floor(xa); x < Math.ceil(xb); x++) {
      const wt = wy * (Math.min(xb, x + 1) - Math.max(xa, x));
      acc += wt * src[y * w + x];
      wsum += wt;
    }
  }
  return acc / wsum;
}

function bilinear(src: Float32Array | Int32Array, h: number, w: number, y: number, x: number): number {
  const cy = Math.min(Math.max(y, 0), h - 1);
  const cx = Math.min(Math.max(x, 0), w - 1);
  const y0 = Math.floor(cy), x0 = Math.floor(cx);
  const y1 = Math.min(y0 + 1, h - 1), x1 = Math.min(x0 + 1, w - 1);
  const fy = cy - y0, fx = cx - x0;
  return (src[y0 * w + x0] * (1 - fx) + src[y0 * w + x1] * fx) * (1 - fy) + (src[y1 * w + x0] * (1 - fx) + src[y1 * w + x1] * fx) * fy;
}

/** Python's round (half to even), which torchvision's CenterCrop uses for the offsets. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Crops the centre [h, w] (an int for a square); pads with zeros first where the image is smaller, as torchvision. */
export function CenterCrop(size: number | [number, number]): Transform {
  bindArgs('CenterCrop', [arg('size', T.pair(1))], [size]);
  const [th, tw] = size2(size);
  return (x) => {
    let img = x;
    let [c, h, w] = chw('CenterCrop', img);
    if (th > h || tw > w) {
      const l = Math.floor((tw - w) / 2), t = Math.floor((th - h) / 2);
      img = pad(img, [Math.max(l, 0), Math.max(t, 0), Math.max(tw - w - l, 0), Math.max(th - h - t, 0)], 0);
      [c, h, w] = chw('CenterCrop', img);
    }
    const top = roundHalfEven((h - th) / 2);
    const left = roundHalfEven((w - tw) / 2);
    const out = new Float32Array(c * th * tw);
    for (let k = 0; k < c; k++) for (let y = 0; y < th; y++) {
      out.set(img.data.subarray((k * h + top + y) * w + left, (k * h + top + y) * w + left + tw), (k * th + y) * tw);
    }
    return { data: out, shape: [c, th, tw] };
  };
}

function pad(x: HostArray, [l, t, r, b]: number[], fill: number): HostArray {
  const [c, h, w] = chw('Pad', x);
  const oh = h + t + b, ow = w + l + r;
  const out = new Float32Array(c * oh * ow).fill(fill);
  for (let k = 0; k < c; k++) for (let y = 0; y < h; y++) {
    out.set(x.data.subarray((k * h + y) * w, (k * h + y + 1) * w), (k * oh + y + t) * ow + l);
  }
  return { data: out, shape: [c, oh, ow] };
}

/**
 * Pads the borders with `fill` (torchvision's Pad, constant mode): `padding` is one int for all sides,
 * [left/right, top/bottom], or [left, top, right, bottom].
 */
export function Pad(padding: number | number[], fill = 0): Transform {
  const p = typeof padding === 'number' ? [padding, padding, padding, padding]
    : padding.length === 2 ? [padding[0], padding[1], padding[0], padding[1]] : padding;
  if (p.length !== 4 || p.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new Error(`Pad: padding must be a non-negative int or a list of 2 or 4 of them, got ${JSON.stringify(padding)}`);
  }
  if (typeof fill !== 'number') throw new Error(`Pad: fill must be a number, got ${String(fill)}`);
  return (x) => pad(x, p, fill);
}
