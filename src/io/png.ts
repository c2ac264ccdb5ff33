// A dependency-free PNG encoder (8-bit gray, RGB or RGBA; filtered rows, deflate-compressed): no compression
// library, so it runs unchanged in Node and in the browser.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

// Deflate with LZ77 (hash chains over a 32 KiB window) and the fixed Huffman code: no library, so the encoder
// runs unchanged in Node and the browser; image grids (flat borders, repeated rows after PNG filtering)
// shrink many times over compared with stored blocks.
const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
  4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

class BitWriter {
  private out: Uint8Array;
  private n = 0;
  private acc = 0;
  private bits = 0;
  constructor(capacity: number) { this.out = new Uint8Array(Math.max(64, capacity)); }
  /** Writes `count` bits of `value`, least significant first. */
  write(value: number, count: number): void {
    this.acc |= value << this.bits;
    this.bits += count;
    while (this.bits >= 8) {
      if (this.n === this.out.length) { const o = new Uint8Array(this.out.length * 2); o.set(this.out); this.out = o; }
      this.out[this.n++] = this.acc & 0xff;
      this.acc >>>= 8;
      this.bits -= 8;
    }
  }
  /** Writes a Huffman code (most significant bit first). */
  code(code: number, len: number): void {
    let r = 0;
    for (let i = 0; i < len; i++) r |= ((code >> i) & 1) << (len - 1 - i);
    this.write(r, len);
  }
  bytes(): Uint8Array { if (this.bits > 0) this.write(0, 8 - this.bits); return this.out.subarray(0, this.n); }
}

function literal(w: BitWriter, v: number): void {
  if (v < 144) w.code(0x30 + v, 8);
  else if (v < 256) w.code(0x190 + v - 144, 9);
  else if (v < 280) w.code(v - 256, 7);
  else w.code(0xc0 + v - 280, 8);
}

function lastIndexAtMost(table: number[], v: number): number {
  let i = table.length - 1;
  while (table[i] > v) i--;
  return i;
}

/** zlib stream: one final deflate block with the fixed Huffman code. */
export function zlibDeflate(raw: Uint8Array): Uint8Array {
  const w = new BitWriter(raw.length / 2 + 64);
  w.write(0x78, 8); w.write(0x01, 8);
  w.write(1, 1); w.write(1, 2); // BFINAL, BTYPE = fixed Huffman
  const HASH = 1 << 15;
  const WINDOW = 32768;
  const head = new Int32Array(HASH).fill(-1);
  const prev = new Int32Array(WINDOW);
  const hash = (i: number) => ((raw[i] << 10) ^ (raw[i + 1] << 5) ^ raw[i + 2]) & (HASH - 1);
  const insert = (i: number) => { if (i + 2 < raw.length) { const h = hash(i); prev[i & (WINDOW - 1)] = head[h]; head[h] = i; } };
  let i = 0;
  while (i < raw.length) {
    let bestLen = 0;
    let bestDist = 0;
    if (i + 2 < raw.length) {
      let cand = head[hash(i)];
      const maxLen = Math.min(258, raw.length - i);
      for (let chain = 0; cand >= 0 && i - cand <= WINDOW && chain < 64; chain++) {
        if (raw[cand + bestLen] === raw[i + bestLen]) {
          let l = 0;
          while (l < maxLen && raw[cand + l] === raw[i + l]) l++;
          if (l > bestLen) { bestLen = l; bestDist = i - cand; if (l === maxLen) break; }
        }
        const next = prev[cand & (WINDOW - 1)];
        if (next >= cand) break;
        cand = next;
      }
    }
    if (bestLen >= 3) {
      const li = lastIndexAtMost(LEN_BASE, bestLen);
      literal(w, 257 + li);
      if (LEN_EXTRA[li]) w.write(bestLen - LEN_BASE[li], LEN_EXTRA[li]);
      const di = lastIndexAtMost(DIST_BASE, bestDist);
      w.code(di, 5);
      if (DIST_EXTRA[di]) w.write(bestDist - DIST_BASE[di], DIST_EXTRA[di]);
      for (let k = 0; k < bestLen; k++) insert(i + k);
      i += bestLen;
    } else {
      literal(w, raw[i]);
      insert(i);
      i++;
    }
  }
  literal(w, 256);
  const body = w.bytes();
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  const ad = adler32(raw);
  const o = body.length;
  out[o] = ad >>> 24; out[o + 1] = (ad >>> 16) & 0xff; out[o + 2] = (ad >>> 8) & 0xff; out[o + 3] = ad & 0xff;
  return out;
}

/** PNG row filters 0-4 (none, sub, up, average, paeth): each row takes the one with the smallest sum of |bytes|. */
function filterRows(pixels: Uint8Array, width: number, height: number, bpp: number): Uint8Array {
  const stride = width * bpp;
  const out = new Uint8Array((stride + 1) * height);
  const cand = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = pixels.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : null;
    let best = -1;
    let bestCost = Infinity;
    for (let f = 0; f <= 4; f++) {
      let cost = 0;
      for (let x = 0; x < stride; x++) {
        const a = x >= bpp ? row[x - bpp] : 0;
        const b = up ? up[x] : 0;
        const c = up && x >= bpp ? up[x - bpp] : 0;
        let pred = 0;
        if (f === 1) pred = a;
        else if (f === 2) pred = b;
        else if (f === 3) pred = (a + b) >> 1;
        else if (f === 4) {
          const p = a + b - c;
          const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
        const v = (row[x] - pred) & 0xff;
        cand[x] = v;
        cost += v < 128 ? v : 256 - v;
      }
      if (cost < bestCost) {
        bestCost = cost; best = f;
        out[y * (stride + 1)] = f;
        out.set(cand, y * (stride + 1) + 1);
      }
    }
    void best;
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

/** Encodes `pixels` (width*height*channels bytes, row-major) as a PNG; channels 1 (gray), 3 (RGB) or 4 (RGBA). */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3 | 4): Uint8Array {
  if (pixels.length !== width * height * channels) {
    throw new Error(`encodePng: expected ${width * height * channels} bytes for ${width}x${height}x${channels}, got ${pixels.length}`);
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  const raw = filterRows(pixels, width, height, channels);
  const parts = [new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlibDeflate(raw)),
    chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/**
 * Tiles images [N, C, H, W] (values in [-1, 1], as a Tanh generator makes them) into a grid with a 2-pixel
 * border, like torchvision's make_grid(normalize to [-1, 1]). Returns bytes ready for encodePng.
 */
export function imageGrid(data: Float32Array, n: number, c: number, h: number, w: number, cols = Math.ceil(Math.sqrt(n))):
  { pixels: Uint8Array; width: number; height: number; channels: 1 | 3 } {
  if (c !== 1 && c !== 3) throw new Error(`imageGrid: images must have 1 or 3 channels, got ${c}`);
  const rows = Math.ceil(n / cols);
  const pad = 2;
  const width = cols * (w + pad) + pad;
  const height = rows * (h + pad) + pad;
  const pixels = new Uint8Array(width * height * c);
  for (let i = 0; i < n; i++) {
    const ox = pad + (i % cols) * (w + pad);
    const oy = pad + Math.floor(i / cols) * (h + pad);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) {
      const v = data[((i * c + ch) * h + y) * w + x];
      const b = Math.round(Math.min(1, Math.max(-1, Number.isFinite(v) ? v : 0)) * 127.5 + 127.5);
      pixels[((oy + y) * width + ox + x) * c + ch] = b;
    }
  }
  return { pixels, width, height, channels: c };
}
