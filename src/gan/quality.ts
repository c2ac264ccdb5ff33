// Measuring generated digits with an MNIST classifier trained by Kiln itself: the fraction of the 10
// classes present among the samples, the mean top-class confidence, and the Fréchet distance between the
// classifier's penultimate features of generated and held-out real digits (FID's recipe, MNIST-sized).
import { F, manualSeed, nn, noGrad, optim, tensor, tidy, type Tensor } from '../index.js';
import { mulberry32, permutation } from '../data/dataset.js';
import { MNIST_PIXELS, type MnistDigits } from '../data/mnist.js';

/** A small CNN on 28x28 digits in [-1, 1]: two strided convs, a 64-unit feature layer, 10 logits. */
export function mnistClassifier(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 16, 5, { stride: 2, padding: 2 }), new nn.ReLU(), // 14x14
    new nn.Conv2d(16, 32, 5, { stride: 2, padding: 2 }), new nn.ReLU(), // 7x7
    new nn.Flatten(), new nn.Linear(32 * 49, 64), new nn.ReLU(), // features
    new nn.Linear(64, 10));
}

/** Index of the feature layer's output in mnistClassifier(): its ReLU. */
const FEATURE_END = 7;

/** Digits `idx` scaled to [-1, 1]; with `shift`, each moved by its own (dx, dy) in [-shift, shift] (augmentation). */
function slice(images: Float32Array, idx: ArrayLike<number>, shift = 0, rand?: () => number): Float32Array {
  const out = new Float32Array(idx.length * MNIST_PIXELS).fill(-1);
  for (let i = 0; i < idx.length; i++) {
    const s = idx[i];
    const dx = shift && rand ? Math.floor(rand() * (2 * shift + 1)) - shift : 0;
    const dy = shift && rand ? Math.floor(rand() * (2 * shift + 1)) - shift : 0;
    for (let y = 0; y < 28; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= 28) continue;
      for (let x = 0; x < 28; x++) {
        const sx = x - dx;
        if (sx >= 0 && sx < 28) out[i * MNIST_PIXELS + y * 28 + x] = images[s * MNIST_PIXELS + sy * 28 + sx] * 2 - 1;
      }
    }
  }
  return out;
}

export interface ClassifierTraining {
  epochs?: number; batch?: number; lr?: number; seed?: number;
  /** Random shifts of up to this many pixels (default 2). */
  shift?: number;
  onEpoch?: (epoch: number, loss: number) => void;
}

/**
 * Trains mnistClassifier() on `train` with Adam and cross-entropy: shuffled each epoch, digits randomly
 * shifted by up to 2 pixels, the learning rate cut 10x for the last quarter of the epochs.
 */
export async function trainClassifier(train: MnistDigits, o: ClassifierTraining = {}): Promise<nn.Sequential> {
  const epochs = o.epochs ?? 8;
  const shift = o.shift ?? 2;
  const rand = mulberry32(o.seed ?? 0);
  const batch = o.batch ?? 64;
  manualSeed(o.seed ?? 0);
  const model = mnistClassifier();
  const opt = new optim.Adam(model.parameters(), { lr: o.lr ?? 2e-3 });
  const n = train.labels.length;
  const per = Math.floor(n / batch);
  for (let e = 0; e < epochs; e++) {
    if (e === Math.ceil(epochs * 0.75)) opt.lr *= 0.1;
    const perm = permutation(n, o.seed ?? 0, e);
    const losses: Tensor[] = [];
    for (let b = 0; b < per; b++) {
      const idx = perm.subarray(b * batch, (b + 1) * batch);
      losses.push(tidy(() => {
        opt.zeroGrad();
        const x = tensor(slice(train.images, idx, shift, rand), [batch, 1, 28, 28]);
        const y = tensor(Int32Array.from(idx, (i) => train.labels[i]), [batch], { dtype: 'int32' });
        const loss = F.crossEntropy(model.forward(x), y);
        loss.backward();
        opt.step();
        return loss.detach().keep();
      }));
      if (losses.length === 50 || b === per - 1) {
        const mean = tidy(() => F.stack(losses).mean().keep());
        const v = await mean.item();
        mean.dispose();
        losses.forEach((t) => t.dispose());
        losses.length = 0;
        if (b === per - 1) o.onEpoch?.(e + 1, v);
      }
    }
  }
  opt.dispose();
  model.eval();
  return model;
}

/** Logits and 64-d features of images [n, 1, 28, 28] in [-1, 1]. */
export function classify(model: nn.Sequential, x: Tensor): { logits: Tensor; features: Tensor } {
  return noGrad(() => {
    let h = x;
    let features: Tensor | null = null;
    model.layers.forEach((m, i) => { h = m.forward(h); if (i === FEATURE_END) features = h; });
    return { logits: h, features: features! };
  });
}

/** Runs the classifier over `images` (n x 784 values in [-1, 1]) in chunks; returns probabilities and features. */
export async function classifyAll(model: nn.Sequential, images: Float32Array, chunk = 250): Promise<{ probs: Float32Array; features: Float32Array; n: number }> {
  const n = images.length / MNIST_PIXELS;
  const probs = new Float32Array(n * 10);
  const features = new Float32Array(n * 64);
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    const [p, f] = tidy(() => {
      const x = tensor(images.subarray(s * MNIST_PIXELS, (s + m) * MNIST_PIXELS), [m, 1, 28, 28]);
      const r = classify(model, x);
      return [F.softmax(r.logits, 1).keep(), r.features.keep()];
    });
    probs.set(await p.toArray(), s * 10);
    features.set(await f.toArray(), s * 64);
    p.dispose(); f.dispose();
  }
  return { probs, features, n };
}

/** Held-out accuracy of the classifier. */
export async function classifierAccuracy(model: nn.Sequential, d: MnistDigits): Promise<number> {
  const { probs, n } = await classifyAll(model, slice(d.images, Array.from({ length: d.labels.length }, (_, i) => i)));
  let ok = 0;
  for (let i = 0; i < n; i++) if (argmax(probs, i * 10, 10) === d.labels[i]) ok++;
  return ok / n;
}

function argmax(v: Float32Array, o: number, n: number): number {
  let b = 0;
  for (let i = 1; i < n; i++) if (v[o + i] > v[o + b]) b = i;
  return b;
}

/** Mean and covariance (unbiased) of rows of an [n, d] matrix, in float64. */
export function meanCov(x: Float32Array, n: number, d: number): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j] / n;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      const da = x[i * d + a] - mean[a];
      for (let b = a; b < d; b++) cov[a * d + b] += da * (x[i * d + b] - mean[b]);
    }
  }
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) { cov[a * d + b] /= n - 1; cov[b * d + a] = cov[a * d + b]; }
  return { mean, cov };
}

/** Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: values and column eigenvectors. */
export function symmetricEigen(a: Float64Array, d: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += m[p * d + q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = m[p * d + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * d + q] - m[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const mkp = m[k * d + p]; const mkq = m[k * d + q];
          m[k * d + p] = c * mkp - s * mkq; m[k * d + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < d; k++) {
          const mpk = m[p * d + k]; const mqk = m[q * d + k];
          m[p * d + k] = c * mpk - s * mqk; m[q * d + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p]; const vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq; v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = m[i * d + i];
  return { values, vectors: v };
}

/** Symmetric PSD square root via the eigen-decomposition (negative round-off eigenvalues clipped to 0). */
function sqrtPsd(a: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const s = Math.sqrt(Math.max(0, values[k]));
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out[i * d + j] += vectors[i * d + k] * s * vectors[j * d + k];
  }
  return out;
}

/**
 * Fréchet distance between Gaussians fitted to two feature sets:
 * |mu1 - mu2|^2 + tr(C1) + tr(C2) - 2 tr((C1^1/2 C2 C1^1/2)^1/2).
 */
export function frechetDistance(a: { mean: Float64Array; cov: Float64Array }, b: { mean: Float64Array; cov: Float64Array }, d: number): number {
  let dist = 0;
  for (let i = 0; i < d; i++) dist += (a.mean[i] - b.mean[i]) ** 2;
  const s1 = sqrtPsd(a.cov, d);
  const m = new Float64Array(d * d);
  const tmp = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) { const x = s1[i * d + k]; if (x) for (let j = 0; j < d; j++) tmp[i * d + j] += x * b.cov[k * d + j]; }
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) { const x = tmp[i * d + k]; if (x) for (let j = 0; j < d; j++) m[i * d + j] += x * s1[k * d + j]; }
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) { const s = (m[i * d + j] + m[j * d + i]) / 2; m[i * d + j] = s; m[j * d + i] = s; }
  const { values } = symmetricEigen(m, d);
  let tr = 0;
  for (let i = 0; i < d; i++) tr += a.cov[i * d + i] + b.cov[i * d + i];
  for (const v of values) tr -= 2 * Math.sqrt(Math.max(0, v));
  return dist + tr;
}

export interface DigitQuality {
  samples: number;
  /** Fraction of the 10 digit classes that are the top class of at least one sample. */
  classCoverage: number;
  /** Mean probability of each sample's top class. */
  meanConfidence: number;
  /** Fréchet distance between classifier features of the samples and of held-out real digits. */
  frechet: number;
  /** The same distance between two halves of the held-out digits: the floor a perfect generator reaches. */
  frechetRealFloor: number;
  /** Samples per predicted class. */
  histogram: number[];
}

/** Scores generated digits [n, 784] in [-1, 1] against held-out real digits. */
export async function digitQuality(model: nn.Sequential, generated: Float32Array, heldOut: MnistDigits): Promise<DigitQuality> {
  const g = await classifyAll(model, generated);
  const realIdx = Array.from({ length: heldOut.labels.length }, (_, i) => i);
  const r = await classifyAll(model, slice(heldOut.images, realIdx));
  const histogram = new Array(10).fill(0);
  let conf = 0;
  for (let i = 0; i < g.n; i++) {
    const k = argmax(g.probs, i * 10, 10);
    histogram[k]++;
    conf += g.probs[i * 10 + k];
  }
  const fg = meanCov(g.features, g.n, 64);
  const fr = meanCov(r.features, r.n, 64);
  // Held-out digits are ordered by class: split them into even and odd rows, not first and second half.
  const half = r.n >> 1;
  const rows = (odd: number) => {
    const out = new Float32Array(half * 64);
    for (let i = 0; i < half; i++) out.set(r.features.subarray((2 * i + odd) * 64, (2 * i + odd + 1) * 64), i * 64);
    return meanCov(out, half, 64);
  };
  const h1 = rows(0);
  const h2 = rows(1);
  return {
    samples: g.n, classCoverage: histogram.filter((c) => c > 0).length / 10, meanConfidence: conf / g.n,
    frechet: frechetDistance(fg, fr, 64), frechetRealFloor: frechetDistance(h1, h2, 64), histogram,
  };
}
