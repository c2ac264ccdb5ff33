// Image files on Node: decoding PNG and JPEG, torchvision's ImageFolder (class subfolders), a flat folder of
// images as a dataset, and the trainers' loader of a whole folder (centre-cropped and resized through the
// transforms of src/data), which reports the files it could not decode instead of failing on them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { HostArray, MapDataset } from '../data/loader.js';
import { CenterCrop, Compose, Resize, ToTensor, type DecodedImage } from '../data/transforms.js';

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

/** Decodes a PNG or JPEG file to RGBA pixels. */
export function readImage(path: string): DecodedImage {
  const bytes = readFileSync(path);
  const ext = extname(path).toLowerCase();
  if (ext === '.png') { const p = PNG.sync.read(bytes); return { width: p.width, height: p.height, data: p.data, channels: 4 }; }
  if (ext === '.jpg' || ext === '.jpeg') {
    const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
    return { width: j.width, height: j.height, data: j.data, channels: 4 };
  }
  throw new Error(`readImage: ${path} is not a .png, .jpg or .jpeg file`);
}

/** The .png/.jpg/.jpeg file names in `dir`, sorted; throws naming the folder when it cannot be read or has none. */
export function imageFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => IMAGE_EXT.has(extname(n).toLowerCase())).sort();
  } catch (e) {
    throw new Error(`${dir}: cannot read the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (names.length === 0) throw new Error(`${dir}: no .png, .jpg or .jpeg images in the folder`);
  return names;
}

/**
 * torchvision's ImageFolder: `root/<class>/<image>` (PNG or JPEG), classes sorted by name; each sample is
 * [transform(image), label]. Without a transform the image must already be a HostArray, so pass at least
 * ToTensor(). Files are decoded when a batch asks for them.
 */
export class ImageFolder implements MapDataset<HostArray[]> {
  readonly classes: string[];
  readonly samples: [string, number][];
  constructor(readonly root: string, readonly transform: (img: DecodedImage) => HostArray) {
    if (typeof transform !== 'function') throw new Error('ImageFolder: pass a transform, at least transforms.ToTensor()');
    this.classes = readdirSync(root).filter((d) => statSync(join(root, d)).isDirectory()).sort();
    this.samples = this.classes.flatMap((c, label) => readdirSync(join(root, c)).sort()
      .filter((f) => IMAGE_EXT.has(extname(f).toLowerCase()))
      .map((f): [string, number] => [join(root, c, f), label]));
    if (this.samples.length === 0) throw new Error(`ImageFolder: found no .png/.jpg files in subfolders of ${root}`);
  }
  get length(): number { return this.samples.length; }
  get(index: number): HostArray[] {
    const [path, label] = this.samples[index];
    return [this.transform(readImage(path)), { data: Int32Array.of(label), shape: [] }];
  }
}

/** The images of one flat folder (no classes), sorted by name: samples transform(image). */
export class ImageFiles implements MapDataset<HostArray> {
  readonly files: string[];
  constructor(readonly root: string, readonly transform: (img: DecodedImage) => HostArray) {
    if (typeof transform !== 'function') throw new Error('ImageFiles: pass a transform, at least transforms.ToTensor()');
    this.files = imageFiles(root);
  }
  get length(): number { return this.files.length; }
  get(index: number): HostArray { return this.transform(readImage(join(this.root, this.files[index]))); }
}

/**
 * Every image of a flat folder as the trainers read it: ToTensor(channels), Resize(size) of the smaller edge,
 * CenterCrop(size), planar [n, channels, size, size] in [0, 1]. Files that fail to decode are skipped and
 * listed (name and reason); a folder with none that decodes is an error.
 */
export function loadImageFolder(dir: string, size: number, channels: 1 | 3): { images: Float32Array; count: number; names: string[]; skipped: string[] } {
  const files = new ImageFiles(dir, Compose<DecodedImage, HostArray>([ToTensor(channels), Resize(size), CenterCrop(size)]));
  const per = channels * size * size;
  const out: Float32Array[] = [];
  const names: string[] = [];
  const skipped: string[] = [];
  for (let i = 0; i < files.length; i++) {
    try {
      out.push(files.get(i).data as Float32Array);
      names.push(files.files[i]);
    } catch (e) {
      skipped.push(`${files.files[i]} (${(e as Error).message})`);
    }
  }
  if (out.length === 0) throw new Error(`${dir}: none of the ${files.length} images could be decoded: ${skipped.slice(0, 3).join('; ')}`);
  const images = new Float32Array(out.length * per);
  out.forEach((a, i) => images.set(a, i * per));
  return { images, count: out.length, names, skipped };
}
