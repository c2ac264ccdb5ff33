// Demo data: the MNIST training digits from the compact binary that vite.config.ts packs (fetched once, with
// progress), and a folder of the user's own images decoded by the browser and resized to 64x64.
import { squareResize, type ImageSource } from 'kiln/gan';

/** Bytes received so far and the total (0 when the server does not say). */
export type Progress = (loaded: number, total: number) => void;

const MNIST_URL = `${import.meta.env.BASE_URL}mnist-digits.bin.gz`;
/** The digits and their labels (0-9). */
export type LabelledDigits = ImageSource & { labels: Int32Array };
let mnist: Promise<LabelledDigits> | null = null;
const listeners = new Set<Progress>();

/**
 * The GAN training split (80% of each class) of the `mnist` package's digits. One download per page: callers
 * that arrive while it is in flight share it, and `onProgress` hears about it until the returned promise
 * settles (or `stop()` is called by a caller that lost interest).
 */
export function mnistDigits(onProgress?: Progress): { done: Promise<LabelledDigits>; stop: () => void } {
  if (onProgress) listeners.add(onProgress);
  mnist ??= fetchMnist().catch((e: unknown) => { mnist = null; throw e; });
  const stop = () => { if (onProgress) listeners.delete(onProgress); };
  return { done: mnist.finally(stop), stop };
}

async function fetchMnist(): Promise<LabelledDigits> {
  const res = await fetch(MNIST_URL);
  if (!res.ok || !res.body) throw new Error(`MNIST digits: ${MNIST_URL} answered ${res.status}`);
  const total = Number(res.headers.get('content-length') ?? 0);
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    for (const l of listeners) l(loaded, total);
  }
  const raw = new Uint8Array(await new Response(new Blob(chunks as Uint8Array<ArrayBuffer>[]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  const dv = new DataView(raw.buffer);
  if (String.fromCharCode(...raw.subarray(0, 4)) !== 'KMN2') throw new Error('MNIST digits: not a KMN2 file');
  const n = dv.getUint32(4, true);
  const table = new Float32Array(256);
  for (let i = 0; i < 256; i++) table[i] = dv.getFloat32(8 + 4 * i, true);
  if (raw.length !== 8 + 1024 + n * 785) throw new Error(`MNIST digits: expected ${n} digits (${8 + 1024 + n * 785} bytes), got ${raw.length} bytes`);
  const px = raw.subarray(8 + 1024, 8 + 1024 + n * 784);
  const images = new Float32Array(px.length);
  for (let i = 0; i < px.length; i++) images[i] = table[px[i]];
  return { images, channels: 1, side: 28, labels: Int32Array.from(raw.subarray(8 + 1024 + n * 784)) };
}

/** Decodes dropped or picked image files to planar RGB 64x64 in [0, 1]; undecodable files are counted. */
export async function imageFiles(files: File[], size = 64): Promise<ImageSource & { count: number; skipped: number }> {
  const imgs = files.filter((f) => /^image\/(png|jpeg)$/.test(f.type) || /\.(png|jpe?g)$/i.test(f.name));
  if (!imgs.length) throw new Error(`no PNG or JPEG images among the ${files.length} chosen file(s)`);
  const out = new Float32Array(imgs.length * 3 * size * size);
  let n = 0;
  for (const f of imgs) {
    try {
      const bmp = await createImageBitmap(f);
      const c = new OffscreenCanvas(bmp.width, bmp.height);
      const g = c.getContext('2d')!;
      g.drawImage(bmp, 0, 0);
      const d = g.getImageData(0, 0, bmp.width, bmp.height);
      out.set(squareResize(d.data, bmp.width, bmp.height, 4, size, 3), n * 3 * size * size);
      n++;
    } catch { /* counted below */ }
  }
  if (!n) throw new Error(`none of the ${imgs.length} image file(s) could be decoded`);
  return { images: out.subarray(0, n * 3 * size * size), channels: 3, side: size, count: n, skipped: imgs.length - n };
}
