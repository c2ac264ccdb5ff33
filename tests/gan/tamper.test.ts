// Tampered checkpoints: every edit to the header or the data — a step, a seed, the RNG state, an optimizer's
// step count, swapped or overlapping offsets, a deleted entry, a null header — is refused with a message that
// names the problem; temp files left by killed saves are removed by the next save.
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint, loadSampler, restoreCheckpoint } from '../../src/gan/checkpoint.js';
import { CycleGanTrainer } from '../../src/gan/cyclegan.js';
import { encodeCycleGanCheckpoint, isCycleGanCheckpointBytes, loadCycleGenerator } from '../../src/gan/cyclegan_checkpoint.js';
import { buildCycleGan, cycleGenerator } from '../../src/gan/cyclegan_task.js';
import { buildRun, makeGenerator, type RunConfig } from '../../src/gan/recipes.js';
import { GanTrainer } from '../../src/gan/trainer.js';
import { writeFileAtomic } from '../../src/node/files.js';
import { decodeSealed, encodeSealed } from '../../src/io/safetensors.js';
import { setup } from '../helpers.js';

const config: RunConfig = { recipe: 'gaussian', seed: 7, ema: 0.9 };
const cycConfig: RunConfig = { recipe: 'cyclegan', seed: 3, task: 'toy', steps: 10, batch: 4 };
/** The same tampering, on a GAN checkpoint and on a CycleGAN one (four networks, three Adams, two pools). */
const files: Record<'gan' | 'cyclegan', { bytes: Uint8Array; entry: string; group: string }> = {
  gan: { bytes: new Uint8Array(), entry: 'G_ema.', group: 'D' },
  cyclegan: { bytes: new Uint8Array(), entry: 'G_A.', group: 'D_A' },
};

type Header = Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;

/** The file with its JSON header replaced by `edit(header)` (data bytes unchanged unless `data` is given). */
function rewrite(src: Uint8Array, edit: (h: Header) => unknown, data?: (d: Uint8Array) => Uint8Array): Uint8Array {
  const n = Number(new DataView(src.buffer, src.byteOffset, src.byteLength).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(src.subarray(8, 8 + n))) as Header;
  let json = JSON.stringify(edit(header));
  while ((8 + json.length) % 8) json += ' ';
  const head = new TextEncoder().encode(json);
  const body = data ? data(src.subarray(8 + n)) : src.subarray(8 + n);
  const out = new Uint8Array(8 + head.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(body, 8 + head.length);
  return out;
}

const meta = (h: Header) => h.__metadata__ as Record<string, string>;
const entries = (h: Header) => Object.entries(h).filter(([k]) => k !== '__metadata__') as [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][];

beforeAll(async () => {
  await setup();
  const t = new GanTrainer(buildRun(config));
  for (let i = 0; i < 3; i++) t.trainStep();
  await t.metrics();
  files.gan.bytes = await encodeCheckpoint(t, config);
  t.dispose?.();
  const c = new CycleGanTrainer(buildCycleGan(cycConfig, { kind: 'toy' }));
  for (let i = 0; i < 3; i++) c.trainStep();
  await c.metrics();
  files.cyclegan.bytes = await encodeCycleGanCheckpoint(c, cycConfig);
  c.dispose();
}, 180_000);

describe.each(['gan', 'cyclegan'] as const)('tampered %s checkpoints are refused, naming the problem', (kind) => {
  const f = files[kind];
  const cfg = kind === 'gan' ? config : cycConfig;
  let bytes = f.bytes;
  beforeAll(() => { bytes = f.bytes; });
  it('the untouched file decodes', () => {
    const ck = decodeCheckpoint(bytes, 'ck');
    expect(ck.step).toBe(3);
    expect(ck.optSteps).toEqual(kind === 'gan' ? { G: 3, D: 3 } : { G: 3, D_A: 3, D_B: 3 });
    expect(isCycleGanCheckpointBytes(bytes)).toBe(kind === 'cyclegan');
  });

  const cases: [string, () => Uint8Array, RegExp][] = [
    ['step edited (200 -> 250 style)', () => rewrite(bytes, (h) => { meta(h).step = '4'; return h; }), /ck: metadata optG_step is 3 but step is 4/],
    ['step and optimizer steps edited together', () => rewrite(bytes, (h) => { Object.assign(meta(h), kind === 'gan' ? { step: '9', optG_step: '9', optD_step: '9' } : { step: '9', optG_step: '9', optD_A_step: '9', optD_B_step: '9', pools: JSON.stringify({ A: [36, JSON.parse(meta(h).pools).A[1]], B: [36, JSON.parse(meta(h).pools).B[1]] }) }); return h; }), /ck: the file fails its CRC-32 check over the whole file/],
    ['step negative', () => rewrite(bytes, (h) => { meta(h).step = '-1'; return h; }), /ck: metadata step is "-1", expected a non-negative integer/],
    ['step not an integer', () => rewrite(bytes, (h) => { meta(h).step = '2.5'; return h; }), /ck: metadata step is "2.5", expected a non-negative integer/],
    ['seed changed', () => rewrite(bytes, (h) => { meta(h).config = JSON.stringify({ ...cfg, seed: 8 }); return h; }), /ck: the file fails its CRC-32 check over the whole file/],
    ['config not an object', () => rewrite(bytes, (h) => { meta(h).config = 'null'; return h; }), /ck: metadata config is null, expected an object/],
    ['RNG state {}', () => rewrite(bytes, (h) => { meta(h).rng = '{}'; return h; }), /ck: metadata rng is \{\}, expected \{ seedLo, seedHi, offset \}/],
    ['RNG offset negative', () => rewrite(bytes, (h) => { const r = JSON.parse(meta(h).rng); r.offset = -5; meta(h).rng = JSON.stringify(r); return h; }), /ck: metadata rng.offset is -5/],
    ['RNG seed out of range', () => rewrite(bytes, (h) => { const r = JSON.parse(meta(h).rng); r.seedLo = 2 ** 33; meta(h).rng = JSON.stringify(r); return h; }), /ck: metadata rng.seedLo is 8589934592, expected an integer in \[0, 2\^32\)/],
    ['optimizer step 3 -> 1', () => rewrite(bytes, (h) => { meta(h).optG_step = '1'; return h; }), /ck: metadata optG_step is 1 but step is 3/],
    ['two same-size tensors swap offsets', () => rewrite(bytes, (h) => {
      const es = entries(h);
      const [a, b] = es.filter(([, e]) => e.shape.join() === es.find(([, x]) => es.filter(([, y]) => y.shape.join() === x.shape.join()).length > 1)![1].shape.join());
      [a[1].data_offsets, b[1].data_offsets] = [b[1].data_offsets, a[1].data_offsets];
      return h;
    }), /ck: the file fails its CRC-32 check over the whole file/],
    ['two tensors of different sizes swap offsets', () => rewrite(bytes, (h) => {
      const es = entries(h).sort((x, y) => x[1].data_offsets[0] - y[1].data_offsets[0]);
      const a = es[0]; const b = es.find(([, e]) => e.data_offsets[1] - e.data_offsets[0] !== a[1].data_offsets[1] - a[1].data_offsets[0])!;
      [a[1].data_offsets, b[1].data_offsets] = [b[1].data_offsets, a[1].data_offsets];
      return h;
    }), /ck: .*(data offsets|overlaps|gap before it)/],
    ['overlapping offsets', () => rewrite(bytes, (h) => {
      const es = entries(h).sort((x, y) => x[1].data_offsets[0] - y[1].data_offsets[0]);
      const e = es[1][1]; e.data_offsets = [e.data_offsets[0] - 4, e.data_offsets[1] - 4];
      return h;
    }), /ck: .* starts at data offset \d+, expected \d+: it overlaps the tensor before it/],
    ['an entry deleted from the header', () => rewrite(bytes, (h) => { delete h[entries(h).find(([k]) => k.startsWith(f.entry))![0]]; return h; }), /ck: .*(gap before it|trailing bytes)/],
    ['the last entry deleted with its data', () => {
      let cut = 0;
      return rewrite(bytes, (h) => {
        const es = entries(h).sort((x, y) => x[1].data_offsets[0] - y[1].data_offsets[0]);
        const [k, e] = es[es.length - 1];
        cut = e.data_offsets[1] - e.data_offsets[0];
        delete h[k];
        return h;
      }, (d) => d.subarray(0, d.length - cut));
      // CycleGAN's last entry is pool B's images, a group of one: its absence is named first.
    }, kind === 'gan' ? /ck: the file fails its CRC-32 check over the whole file/ : /ck: has no pool_B tensors/],
    ['a group deleted', () => rewrite(bytes, (h) => {
      let off = 0;
      const kept = entries(h).filter(([k]) => !k.startsWith(`${f.group}.`)).sort((x, y) => x[1].data_offsets[0] - y[1].data_offsets[0]);
      const out: Header = { __metadata__: meta(h) };
      for (const [k, e] of kept) { const n = e.data_offsets[1] - e.data_offsets[0]; out[k] = { ...e, data_offsets: [off, off + n] }; off += n; }
      return out;
    }, () => new Uint8Array(0)), new RegExp(`ck: .*(has no ${f.group} tensors|do not fit)`)],
    ['null header', () => rewrite(bytes, () => null), /ck: header is null, not a JSON object/],
    ['checksum removed', () => rewrite(bytes, (h) => { delete meta(h).crc32_file; return h; }), /ck: the header has no whole-file checksum/],
    ['version 1', () => rewrite(bytes, (h) => { meta(h).version = '1'; return h; }), /ck: checkpoint version "1", this Kiln reads version 2/],
    ['a data byte flipped', () => { const b = Uint8Array.from(bytes); b[b.length - 5] ^= 0x10; return b; }, /ck: the file fails its CRC-32 check over the whole file/],
    ['a header byte flipped inside a string', () => {
      const b = Uint8Array.from(bytes);
      const at = new TextDecoder().decode(b.subarray(0, 4096)).indexOf('"format":"kiln-gan-checkpoint"') + 12;
      b[at] = 'K'.charCodeAt(0);
      return b;
    }, /ck: not a Kiln GAN checkpoint/],
  ];

  if (kind === 'cyclegan') {
    const pools = (h: Header) => JSON.parse(meta(h).pools) as Record<'A' | 'B', [number, number]>;
    cases.push(
      ['a discriminator optimizer step 3 -> 2', () => rewrite(bytes, (h) => { meta(h).optD_B_step = '2'; return h; }), /ck: metadata optD_B_step is 2 but step is 3/],
      ['pool count edited', () => rewrite(bytes, (h) => { const p = pools(h); p.A[0] = 5; meta(h).pools = JSON.stringify(p); return h; }), /ck: metadata pools: pool A holds 5 images but after 3 steps of batch 4 a pool of 50 holds 12/],
      ['pool PRNG state edited', () => rewrite(bytes, (h) => { const p = pools(h); p.B[1] ^= 1; meta(h).pools = JSON.stringify(p); return h; }), /ck: the file fails its CRC-32 check over the whole file/],
      ['pool state out of range', () => rewrite(bytes, (h) => { const p = pools(h); p.B[1] = -1; meta(h).pools = JSON.stringify(p); return h; }), /ck: metadata pools: pool B is \[12,-1\], expected \[count, state\]/],
      ['pools removed', () => rewrite(bytes, (h) => { delete meta(h).pools; return h; }), /ck: metadata pools is missing/],
      ['pools not JSON', () => rewrite(bytes, (h) => { meta(h).pools = '{'; return h; }), /ck: metadata pools: .*JSON/],
      ['recipe swapped to a GAN one', () => rewrite(bytes, (h) => { meta(h).config = JSON.stringify(config); return h; }), /ck: unexpected metadata "optD_A_step", "optD_B_step", "pools": edited header/],
    );
  }

  it.each(cases)('%s', (_name, make, re) => {
    const tampered = make();
    expect(() => decodeCheckpoint(tampered, 'ck')).toThrow(re);
  });

  it('sample refuses a tampered file before loading anything', () => {
    const tampered = rewrite(bytes, (h) => { meta(h).config = JSON.stringify({ ...cfg, seed: 1 }); return h; });
    const load = kind === 'gan' ? () => loadSampler(makeGenerator(config), decodeCheckpoint(tampered, 'ck'))
      : () => loadCycleGenerator(cycleGenerator(cycConfig), decodeCheckpoint(tampered, 'ck'), 'G_A');
    expect(load).toThrow(/CRC-32 check over the whole file/);
  });

  it('a checkpoint of the other kind of trainer is refused by the restore', () => {
    const ck = decodeCheckpoint(bytes, 'ck');
    if (kind === 'cyclegan') expect(() => restoreCheckpoint(new GanTrainer(buildRun(config)), ck)).toThrow(/a cyclegan run, not a D-then-G GAN/);
    else expect(() => loadCycleGenerator(cycleGenerator(cycConfig), ck, 'G_A')).toThrow(/has no G_A tensors/);
  });

});

describe('sealed files', () => {
  it('the seal is generic over entries', () => {
    const t = new Map([['a.x', { dtype: 'F32' as const, shape: [2], data: Float32Array.from([1, 2]) }], ['b', { dtype: 'I32' as const, shape: [], data: Int32Array.from([3]) }]]);
    const sealed = encodeSealed(t, { note: 'x' });
    expect(decodeSealed(sealed, 'f', (d) => [...d.tensors.keys()])).toEqual(['a.x', 'b']);
    const edited = rewrite(sealed, (h) => { meta(h).note = 'y'; return h; });
    expect(() => decodeSealed(edited, 'f', () => null)).toThrow(/f: the file fails its CRC-32 check/);
  });
});

describe('atomic saves', () => {
  it('temp files left by killed saves are removed by the next save into their folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-tamper-'));
    const target = join(dir, 'step-1.safetensors');
    // What a save killed mid-write leaves: a temp file of a process that no longer runs, and one of ours.
    const dead = `${target}.tmp-999999999-1`;
    writeFileSync(dead, 'partial');
    const other = join(dir, 'other.safetensors.tmp-999999999-1');
    writeFileSync(other, 'partial');
    // A save in progress in a live process (this one's parent) is left alone.
    const live = join(dir, `step-2.safetensors.tmp-${process.ppid}-1`);
    writeFileSync(live, 'writing');
    writeFileAtomic(target, 'data');
    expect(existsSync(dead)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual([`step-2.safetensors.tmp-${process.ppid}-1`, 'step-1.safetensors'].sort());
  });
});
