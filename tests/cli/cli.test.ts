// The kiln command end to end (a real process on Dawn): train writes its outputs, resume from a periodic
// checkpoint ends bit-identical to the uninterrupted run, sample and eval read checkpoints, bad input gets
// a one-line error and exit code 1; and atomic writes never replace a good file on failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/node/files.js';
import { mnistClassifier } from '../../src/gan/quality.js';
import { stateDictToSafetensors } from '../../src/io/state_dict.js';
import { setup } from '../helpers.js';

const root = new URL('../..', import.meta.url).pathname;

function kiln(...argv: (string | NodeJS.ProcessEnv)[]): { code: number; out: string; err: string } {
  const env = typeof argv[0] === 'object' ? argv.shift() as NodeJS.ProcessEnv : process.env;
  const args = argv as string[];
  const r = spawnSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 240_000, env });
  // Dawn's limit warnings must not reach the user: stderr is compared as is (only a sandbox's XDG notice is dropped).
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr.split('\n').filter((l) => !/XDG_RUNTIME/.test(l)).join('\n') };
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

  it('bad input: a clear error on stderr (with the usage for usage errors), nothing trained', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    const one = join(dir, 'one');
    mkdirSync(one, { recursive: true });
    writeFileSync(join(one, 'a.png'), readFileSync(join(root, 'tests/fixtures/cyclegan_nets.safetensors')).subarray(0, 100));
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const cases: [string[], RegExp, number][] = [
      // the output folder is checked before training (under /proc, Node's recursive mkdir used to loop forever)
      [['train', 'gaussian', '--steps', '5', '--out', '/proc/kiln-nope'], /cannot write to output folder \/proc\/kiln-nope: ENOENT/, 1],
      [['train', 'gaussian', '--steps', '5', '--out', join(file, 'run')], /cannot write to output folder .*a-file.run: .*a-file exists and is not a folder/, 1],
      [['train', 'gaussian', '--batch', '0'], /--batch must be an integer >= 1, got '0'/, 1],
      [['train', 'gan'], /unknown recipe 'gan' \(name a recipe: gaussian, mnist-mlp, dcgan, cyclegan\)\n\nusage: kiln train/, 2],
      [['train', 'gaussian', '--lr'], /option --lr needs a value/, 2],
      [['train', 'gaussian', '--bogus', '1'], /unknown option --bogus\n\nusage: kiln train gaussian/, 2],
      [['train', 'gaussian', '--ngf', '4'], /unknown option --ngf/, 2],
      [['train', 'dcgan', '--size', '48'], /--size must be 32 or 64, got '48'/, 1],
      [['train', 'gaussian', '--preset', 'x'], /--preset must be needle or d2l, got 'x'/, 1],
      [['train', 'cyclegan', '--data-a', join(dir, 'nope'), '--data-b', empty], /--data-a .*nope: cannot read the folder \(ENOENT\)/, 1],
      [['train', 'cyclegan', '--data-a', empty, '--data-b', empty], /--data-a .*empty: no \.png, \.jpg or \.jpeg images/, 1],
      [['train', 'cyclegan', '--data-a', one, '--data-b', one], /--data-a .*one: none of the 1 images could be decoded/, 1],
      [['train', 'cyclegan', '--data-a', empty], /give both --data-a and --data-b/, 1],
      [['train', 'cyclegan', '--size', '48'], /--size must be 32, 64, 128 or 256, got '48'/, 1],
      [['sample', '--checkpoint', join(dir, 'missing.safetensors')], /cannot read checkpoint .*missing.safetensors: ENOENT/, 1],
      [['sample'], /--checkpoint F is required\n\nusage: kiln sample/, 2],
      [['frobnicate'], /unknown command 'frobnicate'/, 2],
    ];
    for (const [args, msg, code] of cases) {
      const r = kiln(...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.err, args.join(' ')).toMatch(msg);
      expect(r.err, args.join(' ')).not.toMatch(/artificially reduced/);
    }
  }, 300_000);

  it('--help for the command, train, each recipe and sample lists their options', () => {
    const top = kiln('--help');
    expect(top.code).toBe(0);
    for (const r of ['gaussian', 'mnist-mlp', 'dcgan', 'cyclegan']) expect(top.out).toContain(`  ${r}`);
    const t = kiln('train', '--help');
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/--steps N .*\n[\s\S]*--resume CKPT/);
    const c = kiln('train', 'cyclegan', '--help');
    expect(c.code).toBe(0);
    for (const o of ['--data-a DIR', '--data-b DIR', '--size 32|64|128|256', '--ngf N', '--blocks N', '--ndf N', '--batch N', '--steps N']) expect(c.out).toContain(o);
    expect(kiln('train', 'dcgan', '--help').out).toContain('--width N');
    const s = kiln('sample', '--help');
    expect(s.out).toMatch(/--direction a2b\|b2a[\s\S]*--input DIR/);
    expect(top.err + t.err + c.err + s.err).toBe('');
  }, 120_000);

  it('train cyclegan (toy) writes its outputs, resumes bit for bit, and no Dawn warning reaches stderr', () => {
    const a = join(dir, 'cyc');
    const r = kiln('train', 'cyclegan', '--task', 'toy', '--steps', '60', '--every', '30', '--batch', '16', '--out', a);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const csv = readFileSync(join(a, 'losses.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('step,D_A,D_B,G_A,G_B,cycle_A,cycle_B,idt_A,idt_B');
    expect(csv.length).toBe(61);
    expect(readdirSync(join(a, 'samples')).sort()).toEqual(['step-30.png', 'step-60.png']);
    const b = join(dir, 'cyc2');
    const r2 = kiln('train', '--resume', join(a, 'checkpoints', 'step-30.safetensors'), '--out', b);
    expect(r2.code).toBe(0);
    expect(readFileSync(join(b, 'checkpoints', 'final.safetensors')).equals(readFileSync(join(a, 'checkpoints', 'final.safetensors')))).toBe(true);
    const s = kiln('sample', '--checkpoint', join(a, 'checkpoints', 'final.safetensors'), '--direction', 'sideways');
    expect(s.code).toBe(1);
    expect(s.err).toMatch(/--direction must be a2b or b2a, got 'sideways'/);
  }, 300_000);

  it('train cyclegan (digit task, tiny nets) resumes bit for bit; kiln eval scores its checkpoint through the recipe table', async () => {
    // Classifiers with random weights in a private cache: eval's pipeline runs end to end without training them.
    await setup();
    const cache = join(dir, 'cache');
    for (const name of ['mnist-classifier-v1', 'mnist-dilated-classifier-v1']) {
      writeFileAtomic(join(cache, `${name}.safetensors`), await stateDictToSafetensors(mnistClassifier().stateDict(), { heldOutAccuracy: '0.1' }));
    }
    const env = { ...process.env, KILN_CACHE: cache };
    const a = join(dir, 'digits');
    const tiny = ['--ngf', '2', '--blocks', '1', '--ndf', '2', '--seed', '3'];
    const r = kiln(env, 'train', 'cyclegan', ...tiny, '--steps', '6', '--every', '3', '--out', a);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(join(a, 'checkpoints')).sort()).toEqual(['final.safetensors', 'step-3.safetensors']);
    const b = join(dir, 'digits2');
    const r2 = kiln(env, 'train', '--resume', join(a, 'checkpoints', 'step-3.safetensors'), '--out', b);
    expect(r2.code).toBe(0);
    // The resumed run's first step is the compiled step's eager warm-up where the uninterrupted run replayed the
    // fused program: fused kernels round as the eager ones do, so the final checkpoints are byte-identical.
    expect(readFileSync(join(b, 'checkpoints', 'final.safetensors')).equals(readFileSync(join(a, 'checkpoints', 'final.safetensors')))).toBe(true);
    // A resume into a new folder writes the resumed steps' rows only, the same as the uninterrupted run's.
    const rowsOf = (d: string) => readFileSync(join(d, 'losses.csv'), 'utf8').trim().split('\n');
    expect(rowsOf(b)).toEqual([rowsOf(a)[0], ...rowsOf(a).slice(4)]);
    const e = kiln(env, 'eval', '--checkpoint', join(a, 'checkpoints', 'final.safetensors'), '--n', '20');
    expect(e.err).toBe('');
    expect(e.code).toBe(0);
    const q = JSON.parse(e.out.slice(e.out.indexOf('{')));
    expect(q.step).toBe(6);
    for (const d of ['a2b', 'b2a']) {
      expect(q[d].labelPreservation).toBeGreaterThanOrEqual(0);
      expect(q[d].labelPreservation).toBeLessThanOrEqual(1);
      expect(Number.isFinite(q[d].frechet) && q[d].frechet > 0).toBe(true);
      expect(q[d].cycleL1).toBeGreaterThan(0);
    }
    // The toy has no labels to score.
    const t = kiln(env, 'eval', '--checkpoint', join(dir, 'cyc', 'checkpoints', 'final.safetensors'));
    expect(t.code).toBe(1);
    expect(t.err).toMatch(/cyclegan runs are scored on the built-in digit task only/);
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
