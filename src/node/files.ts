// The library's file writes and reads on Node: atomic writes (temp file, fsync, rename) so a failed or
// interrupted save never replaces a good file, with temp files of killed saves cleaned up; and reads that
// say which file could not be read.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join, parse, resolve, sep } from 'node:path';

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
 * Creates `dir` (and its missing parents) one level at a time. Node's recursive mkdirSync loops forever under
 * pseudo file systems such as /proc, where a missing folder can neither be created nor reported as missing.
 */
function makeDirs(dir: string): void {
  const abs = resolve(dir);
  let cur = parse(abs).root;
  for (const part of abs.slice(cur.length).split(sep).filter(Boolean)) {
    cur = join(cur, part);
    try {
      if (statSync(cur).isDirectory()) continue;
      throw new Error(`${cur} exists and is not a folder`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    mkdirSync(cur);
  }
}

/**
 * Makes sure `dir` exists and takes new files (creating it if needed), so a run can refuse a bad output folder
 * before it trains rather than fail at its first save.
 */
export function ensureWritableDir(dir: string, what = 'output folder'): void {
  const probe = join(dir, `.kiln-probe-${process.pid}-${Date.now()}`);
  try {
    makeDirs(dir);
    closeSync(openSync(probe, 'w'));
    rmSync(probe, { force: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`cannot write to ${what} ${dir}: ${err.code ? err.message.split(',')[0] : err.message}`);
  }
}

/**
 * Writes `data` to `path` via a temp file in the same folder and a rename; the old file survives any failure.
 * Temp files left in that folder by earlier saves that were killed are removed first.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  try {
    makeDirs(dirname(path));
  } catch (e) {
    throw new Error(`could not write ${path}: ${(e as Error).message}`);
  }
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
