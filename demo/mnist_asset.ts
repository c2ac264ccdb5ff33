// Build-time (Node) side of the demo's MNIST data: the `mnist` package's training split (80% of each class,
// as the CLI trains on) packed as one small binary the page fetches with a progress bar, instead of 21 MB of
// JSON. The package stores 256 distinct pixel values, so a value table plus one byte per pixel is lossless.
// Format (little-endian): "KMN2", u32 n, f32[256] value table, u8[n * 784] indices, u8[n] labels; then gzip.
// The labels let the CycleGAN tab split the digits into its two disjoint, class-balanced domains.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { MNIST_PIXELS, mnistFromClasses, splitMnist } from '../src/data/mnist.js';

export const MNIST_ASSET = 'mnist-digits.bin.gz';

export function buildMnistAsset(): Buffer {
  const require = createRequire(import.meta.url);
  const classes = Array.from({ length: 10 }, (_, d) =>
    (JSON.parse(readFileSync(require.resolve(`mnist/src/digits/${d}.json`), 'utf8')) as { data: number[] }).data);
  const { images, labels } = splitMnist(mnistFromClasses(classes)).train;
  const values = [...new Set(images)].sort((a, b) => a - b);
  if (values.length > 256) throw new Error(`mnist asset: ${values.length} distinct pixel values do not fit a byte`);
  const index = new Map(values.map((v, i) => [v, i]));
  const n = images.length / MNIST_PIXELS;
  const out = new Uint8Array(8 + 256 * 4 + images.length + n);
  const dv = new DataView(out.buffer);
  out.set([75, 77, 78, 50]); // "KMN2"
  dv.setUint32(4, n, true);
  values.forEach((v, i) => dv.setFloat32(8 + 4 * i, v, true));
  const px = out.subarray(8 + 256 * 4);
  images.forEach((v, i) => { px[i] = index.get(v)!; });
  out.set(labels, 8 + 256 * 4 + images.length);
  return gzipSync(out, { level: 9 });
}
