// Kiln's Node entry: the whole library, with Dawn (the `webgpu` package) and the CPU Vulkan driver choice
// loaded up front instead of on first init(); plus the library's file-system side (src/node/): io.saveImage,
// image decoding, the ImageFolder / ImageFiles / MNIST datasets, the trainers' folder loader, atomic writes.
import { writeFile } from 'node:fs/promises';
import * as ioBase from './io/index.js';
import { imageToPng, type SaveImageOptions } from './io/save_image.js';
import type { Tensor } from './tensor.js';

export * from './index.js';
export { nodeGpu, type CpuDriver } from './backend/node.js';
export { readImage, imageFiles, ImageFolder, ImageFiles, loadImageFolder } from './node/images.js';
export { loadMnist, MNIST } from './node/mnist.js';
export { writeFileAtomic, readBytes } from './node/files.js';

/**
 * torchvision.utils.save_image: tiles `t` ([N, C, H, W], [C, H, W] or [H, W]) into a grid and writes it as
 * a PNG file; `{ normalize: true, valueRange: [-1, 1] }` for a Tanh generator's output.
 */
export async function saveImage(t: Tensor, path: string, opts: SaveImageOptions = {}): Promise<void> {
  await writeFile(path, await imageToPng(t, opts));
}

/** Kiln's io namespace with saveImage (which writes files) added. */
export const io = { ...ioBase, saveImage };
