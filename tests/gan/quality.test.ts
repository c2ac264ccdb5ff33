// Quality metrics: the Fréchet distance and its eigen-solver against closed forms, and digitQuality on real
// held-out digits through a briefly trained classifier (the pipeline `kiln eval` runs).
import { beforeAll, describe, expect, it } from 'vitest';
import { splitMnist } from '../../src/data/mnist.js';
import { classifierAccuracy, digitQuality, frechetDistance, meanCov, symmetricEigen, trainClassifier } from '../../src/gan/quality.js';
import { loadMnist } from '../../src/node/mnist.js';
import { setup } from '../helpers.js';

beforeAll(async () => { await setup(); });

describe('Fréchet distance', () => {
  it('symmetricEigen reconstructs the matrix', () => {
    const d = 5;
    const a = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) { const v = Math.sin(i * 7 + j * 3) + (i === j ? 3 : 0); a[i * d + j] = v; a[j * d + i] = v; }
    const { values, vectors } = symmetricEigen(a, d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += vectors[i * d + k] * values[k] * vectors[j * d + k];
      expect(s).toBeCloseTo(a[i * d + j], 9);
    }
  });
  it('matches the closed form for diagonal Gaussians and is 0 for identical ones', () => {
    // Diagonal covariances: FD = |mu1 - mu2|^2 + sum (s1 - s2)^2 with s the standard deviations.
    const g = (mu: number[], v: number[]) => ({ mean: Float64Array.from(mu), cov: Float64Array.from([v[0], 0, 0, v[1]]) });
    expect(frechetDistance(g([0, 0], [4, 1]), g([1, 2], [1, 9]), 2)).toBeCloseTo(5 + 1 + 4, 9);
    expect(frechetDistance(g([1, 2], [4, 1]), g([1, 2], [4, 1]), 2)).toBeCloseTo(0, 9);
    const x = new Float32Array([1, 2, 3, 4, 5, 7]);
    const mc = meanCov(x, 3, 2);
    expect(mc.mean[0]).toBeCloseTo(3, 12);
    expect(mc.mean[1]).toBeCloseTo(13 / 3, 12);
    expect(mc.cov[0]).toBeCloseTo(4, 9);
  });
});

describe('digit quality', () => {
  it('a briefly trained classifier scores held-out real digits as real, and noise as not', async () => {
    const { train, heldOut } = splitMnist(loadMnist());
    const small = { images: train.images.subarray(0, 1000 * 784), labels: train.labels.subarray(0, 1000) };
    // The split is class-ordered: take 100 of each class.
    const idx = Array.from({ length: 10 }, (_, c) => [...train.labels.keys()].filter((i) => train.labels[i] === c).slice(0, 100)).flat();
    small.images = new Float32Array(idx.length * 784);
    idx.forEach((s, i) => small.images.set(train.images.subarray(s * 784, (s + 1) * 784), i * 784));
    small.labels = Int32Array.from(idx, (i) => train.labels[i]);
    const model = await trainClassifier(small, { epochs: 2, batch: 50 });
    const acc = await classifierAccuracy(model, heldOut);
    expect(acc).toBeGreaterThan(0.6);
    const held = heldOut.images.map((v) => v * 2 - 1);
    const real = await digitQuality(model, held.subarray(0, 1000 * 784), heldOut);
    const noise = await digitQuality(model, new Float32Array(500 * 784).map((_, i) => Math.sin(i * 12.9898) > 0 ? 1 : -1), heldOut);
    expect(real.samples).toBe(1000);
    expect(real.frechet).toBeLessThan(noise.frechet);
    expect(real.frechetRealFloor).toBeLessThan(noise.frechet);
    expect(real.classCoverage).toBeGreaterThanOrEqual(0.5);
    expect(real.histogram.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(real.meanConfidence).toBeGreaterThan(0.1);
  }, 180_000);
});
