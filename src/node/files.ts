// The library's file writes and reads on Node: atomic writes (temp file, fsync, rename) so a failed or
// interrupted save never replaces a good file, with temp files of killed saves cleaned up; and reads that
// say which file could not be read.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

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

/** A file's bytes; `what` names it in the error ("cannot read checkpoint F: ENOENT"). */
export function readBytes(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
