// Pure-TypeScript encoders: safetensors round trip and rejection of damaged files; PNG structure.
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../../src/io/safetensors.js';
import { encodePng, imageGrid } from '../../src/io/png.js';

describe('safetensors', () => {
  const tensors = new Map<string, SafeTensor>([
    ['0.weight', { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, Math.PI, 0, -0]) }],
    ['1.num_batches_tracked', { dtype: 'I32', shape: [], data: Int32Array.from([7]) }],
  ]);

  it('round-trips bit-exact with metadata', () => {
    const bytes = encodeSafetensors(tensors, { step: '12' });
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ step: '12' });
    for (const [k, t] of tensors) {
      const b = back.tensors.get(k)!;
      expect(b.shape).toEqual(t.shape);
      expect(new Uint8Array(b.data.buffer)).toEqual(new Uint8Array(t.data.buffer));
    }
  });

  it('decodes from a Node Buffer (whose slice() shares memory) and from a view into a larger buffer', () => {
    const bytes = encodeSafetensors(tensors);
    const padded = new Uint8Array(bytes.length + 24);
    padded.set(bytes, 16);
    for (const src of [Buffer.from(bytes), padded.subarray(16, 16 + bytes.length), Buffer.from(padded).subarray(16, 16 + bytes.length)]) {
      const back = decodeSafetensors(src);
      expect(Array.from(back.tensors.get('0.weight')!.data)).toEqual(Array.from(tensors.get('0.weight')!.data));
      expect(back.tensors.get('0.weight')!.data.length).toBe(6);
      expect(Array.from(back.tensors.get('1.num_batches_tracked')!.data)).toEqual([7]);
    }
  });

  it('rejects truncated and corrupt files clearly', () => {
    const bytes = encodeSafetensors(tensors);
    expect(() => decodeSafetensors(bytes.slice(0, bytes.length - 4), 'ckpt')).toThrow(/ckpt: 0.weight|ckpt: 1.num_batches_tracked.*truncated or corrupt/);
    expect(() => decodeSafetensors(bytes.slice(0, 20), 'ckpt')).toThrow(/header length .* exceeds the file size/);
    const bad = bytes.slice();
    bad[9] = 0x7b; bad[10] = 0x7b;
    expect(() => decodeSafetensors(bad, 'ckpt')).toThrow(/ckpt: header is not valid JSON/);
    expect(() => decodeSafetensors(new Uint8Array(3), 'ckpt')).toThrow(/too short/);
  });
});

describe('png', () => {
  it('writes a valid signature, IHDR and a grid of the right size', () => {
    const g = imageGrid(new Float32Array(4 * 1 * 3 * 3).fill(1), 4, 1, 3, 3);
    expect([g.width, g.height]).toEqual([12, 12]);
    const png = encodePng(g.pixels, g.width, g.height, g.channels);
    expect(Array.from(png.slice(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
    expect(new TextDecoder().decode(png.slice(12, 16))).toBe('IHDR');
    expect(new DataView(png.buffer).getUint32(16)).toBe(12);
    expect(() => encodePng(new Uint8Array(5), 2, 2, 1)).toThrow(/expected 4 bytes/);
  });
});
