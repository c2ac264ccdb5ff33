// The kiln command end to end (a real process on Dawn): train writes its outputs, resume from a periodic
// checkpoint ends bit-identical to the uninterrupted run, sample and eval read checkpoints, bad input gets
// a one-line error and exit code 1; and atomic writes never replace a good file on failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/cli/files.js';

const root = new URL('../..', import.meta.url).pathname;

function kiln(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr.split('\n').filter((l) => !/artificially|XDG_RUNTIME/.test(l)).join('\n') };
}

describe('kiln CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-cli-'));

  it('train gaussian writes samples, losses, plot, checkpoints and a summary; resume matches', () => {
    const a = join(dir, 'a');
    const r = kiln('train', 'gaussian', '--steps', '200', '--every', '100', '--seed', '2', '--ema', '0.99', '--out', a);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/implied Gaussian: mean error \d/);
    expect(readdirSync(join(a, 'samples')).sort()).toEqual(['step-100.png', 'step-200.png']);
    expect(readdirSync(join(a, 'checkpoints')).sort()).toEqual(['final.safetensors', 'step-100.safetensors']);
    const csv = readFileSync(join(a, 'losses.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('step,d_loss,g_loss,real_score,fake_score');
    expect(csv.length).toBe(201);
    expect(csv[200].split(',').map(Number).every(Number.isFinite)).toBe(true);
    expect(readFileSync(join(a, 'losses.svg'), 'utf8')).toMatch(/^<svg/);
    const png = readFileSync(join(a, 'samples', 'step-200.png'));
    expect([...png.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
    const summary = JSON.parse(readFileSync(join(a, 'summary.json'), 'utf8'));
    expect(summary.steps).toBe(200);
    expect(summary.gaussian.sampler).toBe('ema');
    expect(Number.isFinite(summary.gaussian.meanError)).toBe(true);

    const b = join(dir, 'b');
    const r2 = kiln('train', '--resume', join(a, 'checkpoints', 'step-100.safetensors'), '--steps', '200', '--every', '100', '--out', b);
    expect(r2.code).toBe(0);
    expect(r2.out).toMatch(/resumed from .* at step 100/);
    const fa = readFileSync(join(a, 'checkpoints', 'final.safetensors'));
    const fb = readFileSync(join(b, 'checkpoints', 'final.safetensors'));
    expect(fb.equals(fa)).toBe(true);

    // Writing samples does not shift the run's random stream: a run without the intermediate sample ends the
    // same — also with tune() picking other matmul workgroup shapes (each output keeps its summation order).
    const c = join(dir, 'c');
    const rc = kiln('train', 'gaussian', '--steps', '200', '--every', '1000', '--seed', '2', '--ema', '0.99', '--tune', '--out', c);
    expect(rc.code).toBe(0);
    expect(rc.out).toMatch(/tune: matmul workgroups NN \d+x\d+, NT \d+x\d+, TN \d+x\d+/);
    expect(readFileSync(join(c, 'checkpoints', 'final.safetensors')).equals(fa)).toBe(true);

    const grid = join(dir, 'grid.png');
    const s = kiln('sample', '--checkpoint', join(a, 'checkpoints', 'final.safetensors'), '--n', '300', '--out', grid);
    expect(s.code).toBe(0);
    expect(existsSync(grid)).toBe(true);
    const e = kiln('eval', '--checkpoint', join(a, 'checkpoints', 'final.safetensors'));
    expect(e.code).toBe(0);
    expect(JSON.parse(e.out.slice(e.out.indexOf('{'))).meanError).toBeCloseTo(summary.gaussian.meanError, 6);
  }, 300_000);

  it('bad input: one clear line on stderr, exit code 1, nothing trained', () => {
    const cases: [string[], RegExp][] = [
      [['train', 'gaussian', '--batch', '0'], /--batch must be an integer >= 1, got '0'/],
      [['train', 'gan'], /name a recipe: gaussian, mnist-mlp, dcgan \(got 'gan'\)/],
      [['train', 'gaussian', '--lr'], /option --lr needs a value/],
      [['train', 'gaussian', '--bogus', '1'], /unknown option --bogus/],
      [['train', 'dcgan', '--size', '48'], /--size must be 32 or 64, got '48'/],
      [['train', 'gaussian', '--preset', 'x'], /--preset must be needle or d2l, got 'x'/],
      [['sample', '--checkpoint', join(dir, 'missing.safetensors')], /cannot read checkpoint .*missing.safetensors: ENOENT/],
      [['frobnicate'], /unknown command 'frobnicate'/],
    ];
    for (const [args, msg] of cases) {
      const r = kiln(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(msg);
    }
  }, 300_000);

  it('writeFileAtomic replaces a file whole and leaves the old one on failure', () => {
    const p = join(dir, 'x', 'file.bin');
    writeFileAtomic(p, 'first');
    writeFileAtomic(p, 'second');
    expect(readFileSync(p, 'utf8')).toBe('second');
    // The target is a non-empty directory: the rename fails, the temp file is removed.
    const d = join(dir, 'x', 'adir');
    mkdirSync(d);
    writeFileSync(join(d, 'keep'), 'kept');
    expect(() => writeFileAtomic(d, 'new')).toThrow(/could not write .*adir/);
    expect(readFileSync(join(d, 'keep'), 'utf8')).toBe('kept');
    expect(readdirSync(join(dir, 'x')).sort()).toEqual(['adir', 'file.bin']);
  });
});
