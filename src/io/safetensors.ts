// safetensors: an 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
// then the raw little-endian tensor bytes. The format PyTorch users share weights in (Hugging Face).
// Pure bytes in and out: the CLI does the file I/O.
import { crc32 } from './png.js';

export type SafeDType = 'F32' | 'I32' | 'I64' | 'F64';

export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  data: Float32Array | Int32Array;
}

const BYTES: Record<SafeDType, number> = { F32: 4, I32: 4, I64: 8, F64: 8 };

/** Serialises tensors (in the given order) and string metadata. */
export function encodeSafetensors(tensors: Map<string, SafeTensor>, metadata: Record<string, string> = {}): Uint8Array {
  metadataArg('encodeSafetensors', metadata);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  if (!(tensors instanceof Map)) throw new Error('encodeSafetensors: tensors must be a Map of name -> { dtype, shape, data }');
  for (const [name, t] of tensors) {
    if (t === null || typeof t !== 'object') throw new Error(`encodeSafetensors: ${name}: expected { dtype, shape, data }, got ${String(t)}`);
    if (name === '__metadata__') throw new Error('encodeSafetensors: "__metadata__" is reserved and cannot name a tensor');
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`encodeSafetensors: ${name}: shape must be non-negative integers, got ${JSON.stringify(t.shape)}`);
    }
    if (!(t.data instanceof Float32Array || t.data instanceof Int32Array)) throw new Error(`encodeSafetensors: ${name}: data must be a Float32Array or Int32Array`);
    if (t.dtype !== 'F32' && t.dtype !== 'I32') throw new Error(`encodeSafetensors: ${name}: Kiln writes F32 and I32, got ${t.dtype}`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`encodeSafetensors: ${name}: shape [${t.shape}] needs ${n} values, got ${t.data.length}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8) json += ' ';
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let o = 8 + head.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), o);
    o += t.data.byteLength;
  }
  return out;
}

/** Safetensors metadata is a map of strings to strings (the format's rule, as Python's safetensors enforces). */
export function metadataArg(op: string, metadata: unknown): Record<string, string> {
  if (metadata === undefined) return {};
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata) || metadata instanceof Map) {
    throw new Error(`${op}: metadata must be a plain object of strings, got ${metadata === null ? 'null' : Array.isArray(metadata) ? 'an array' : metadata instanceof Map ? 'a Map' : typeof metadata}`);
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') {
      throw new Error(`${op}: metadata ${JSON.stringify(k)} is ${typeof v} ${JSON.stringify(v) ?? String(v)}; safetensors metadata maps strings to strings (use String(value))`);
    }
  }
  return metadata as Record<string, string>;
}

/** A file's bytes: a Uint8Array (Node's Buffer included), or an ArrayBuffer wrapped without a copy. */
export function bytesArg(what: string, bytes: unknown): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  throw new Error(`${what}: expected the file's bytes as a Uint8Array or ArrayBuffer, got ` +
    (typeof bytes === 'string' ? `the string ${JSON.stringify(bytes.slice(0, 60))} (a path? read the file first, e.g. fs.readFileSync(path))`
      : bytes === null ? 'null' : typeof bytes === 'object' ? `a ${(bytes as object).constructor?.name ?? 'object'}` : typeof bytes));
}

/**
 * Parses a safetensors file, checking every offset and size: a truncated or corrupt file is rejected with an
 * error saying what is wrong. I64 tensors (PyTorch's num_batches_tracked) are read as int32; F64 as float32.
 */
export function decodeSafetensors(bytes: Uint8Array, what = 'safetensors'): { tensors: Map<string, SafeTensor>; metadata: Record<string, string> } {
  bytes = bytesArg(what, bytes);
  if (bytes.length < 8) throw new Error(`${what}: file is ${bytes.length} bytes, too short for a safetensors header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headLen = Number(dv.getBigUint64(0, true));
  if (headLen > bytes.length - 8 || headLen > 100_000_000) {
    throw new Error(`${what}: header length ${headLen} exceeds the file size (${bytes.length} bytes): truncated or not a safetensors file`);
  }
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headLen)));
  } catch (e) {
    throw new Error(`${what}: header is not valid JSON (${(e as Error).message}): corrupt file`);
  }
  const dataStart = 8 + headLen;
  const dataLen = bytes.length - dataStart;
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new Error(`${what}: header is ${header === null ? 'null' : Array.isArray(header) ? 'an array' : typeof header}, not a JSON object: corrupt file`);
  }
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors = new Map<string, SafeTensor>();
  if (typeof metadata !== 'object' || metadata === null || Object.values(metadata).some((v) => typeof v !== 'string')) {
    throw new Error(`${what}: __metadata__ must map names to strings: corrupt file`);
  }
  const entries = Object.entries(header).filter(([k]) => k !== '__metadata__') as [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][];
  for (const [name, e] of entries) {
    if (typeof e !== 'object' || e === null || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) {
      throw new Error(`${what}: header entry ${JSON.stringify(name)} lacks dtype, shape or data_offsets: corrupt file`);
    }
  }
  entries.sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  // The safetensors rules: the entries tile the data bytes exactly, in offset order, with no gap or overlap.
  let expected = 0;
  for (const [name, e] of entries) {
    const [a, b] = e.data_offsets;
    if (a !== expected) {
      throw new Error(`${what}: ${name} starts at data offset ${a}, expected ${expected}: ` +
        `${a < expected ? 'it overlaps the tensor before it' : 'there is a gap before it'} (corrupt file)`);
    }
    if (!Number.isInteger(b) || b < a) throw new Error(`${what}: ${name} has data offsets [${a}, ${b}], which are not ordered (corrupt file)`);
    if (b > dataLen) {
      throw new Error(`${what}: ${name} has data offsets [${a}, ${b}] that do not fit the ${dataLen} data bytes: truncated or corrupt file`);
    }
    expected = b;
  }
  if (expected !== dataLen) {
    throw new Error(`${what}: the tensors cover ${expected} data bytes but the file holds ${dataLen}: trailing bytes (corrupt file)`);
  }
  for (const [name, e] of entries) {
    const dtype = e.dtype as SafeDType;
    if (!(dtype in BYTES)) throw new Error(`${what}: ${name} has unsupported dtype ${e.dtype}`);
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`${what}: ${name} has an invalid shape`);
    const [a, b] = e.data_offsets ?? [];
    const n = e.shape.reduce((x, y) => x * y, 1);
    if (Number.isInteger(a) && Number.isInteger(b) && b - a !== n * BYTES[dtype]) {
      throw new Error(`${what}: ${name} has shape [${e.shape}] of ${dtype}, which needs ${n * BYTES[dtype]} bytes, but its ` +
        `data offsets [${a}, ${b}] hold ${b - a}: the header's shape disagrees with its byte count (corrupt file)`);
    }
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b > dataLen || b - a !== n * BYTES[dtype]) {
      throw new Error(`${what}: ${name} (${dtype} [${e.shape}]) has data offsets [${a}, ${b}] that do not fit the ` +
        `${dataLen} data bytes: truncated or corrupt file`);
    }
    // A copy with its own ArrayBuffer: Node's Buffer.slice() shares memory (raw.buffer would be the whole file).
    const raw = new Uint8Array(bytes.subarray(dataStart + a, dataStart + b));
    let data: Float32Array | Int32Array;
    if (dtype === 'F32') data = new Float32Array(raw.buffer);
    else if (dtype === 'I32') data = new Int32Array(raw.buffer);
    else if (dtype === 'I64') {
      const big = new BigInt64Array(raw.buffer);
      const bad = big.findIndex((v) => v < -2147483648n || v > 2147483647n);
      if (bad >= 0) {
        throw new Error(`${what}: ${name} (I64) holds ${big[bad]} at index ${bad}, outside int32's range; Kiln's integer ` +
          'tensors are int32 and would not hold it');
      }
      data = Int32Array.from(big, (v) => Number(v));
    } else data = Float32Array.from(new Float64Array(raw.buffer));
    tensors.set(name, { dtype: dtype === 'I64' ? 'I32' : dtype === 'F64' ? 'F32' : dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

// ---------------------------------------------------------------- sealed files

/** The metadata key of a sealed file's whole-file CRC-32 (eight lowercase hex digits). */
export const SEAL_KEY = 'crc32_file';
const SEAL_PLACEHOLDER = '00000000';

function sealValueAt(bytes: Uint8Array, headEnd: number, value: string): number {
  const needle = new TextEncoder().encode(`"${SEAL_KEY}":"${value}"`);
  let found = -1;
  outer: for (let i = 8; i + needle.length <= headEnd; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    if (found >= 0) return -2;
    found = i;
  }
  return found < 0 ? -1 : found + needle.length - 1 - value.length;
}

function headerEnd(bytes: Uint8Array): number {
  return 8 + Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
}

/**
 * Safetensors bytes sealed with a CRC-32 of the whole file — header and tensor data — stored in the
 * metadata under `crc32_file`; the sum is taken with that value written as eight zeros, so any edit to the
 * header (a step, a seed, an offset, a deleted entry) or to the data makes `decodeSealed` refuse the file.
 * Generic over entries: any set of tensors and string metadata.
 */
export function encodeSealed(tensors: Map<string, SafeTensor>, metadata: Record<string, string> = {}): Uint8Array {
  if (SEAL_KEY in metadata) throw new Error(`encodeSealed: metadata key "${SEAL_KEY}" is reserved for the checksum`);
  const bytes = encodeSafetensors(tensors, { ...metadata, [SEAL_KEY]: SEAL_PLACEHOLDER });
  const at = sealValueAt(bytes, headerEnd(bytes), SEAL_PLACEHOLDER);
  if (at < 0) throw new Error('encodeSealed: could not place the checksum in the header');
  const hex = crc32(bytes).toString(16).padStart(8, '0');
  bytes.set(new TextEncoder().encode(hex), at);
  return bytes;
}

/**
 * Checks a sealed file's whole-file CRC-32 (see encodeSealed) after `decodeSafetensors`'s structural checks;
 * throws saying what is wrong. `check` runs between the two, so a header field that is out of range or
 * inconsistent is named as such rather than reported as a checksum mismatch.
 */
export function decodeSealed<T>(bytes: Uint8Array, what: string,
  check: (decoded: { tensors: Map<string, SafeTensor>; metadata: Record<string, string> }) => T): T {
  const decoded = decodeSafetensors(bytes, what);
  const result = check(decoded);
  const stored = decoded.metadata[SEAL_KEY];
  if (stored === undefined) throw new Error(`${what}: the header has no whole-file checksum (metadata "${SEAL_KEY}"): not a sealed file, or the entry was removed`);
  if (typeof stored !== 'string' || !/^[0-9a-f]{8}$/.test(stored)) {
    throw new Error(`${what}: the whole-file checksum ${JSON.stringify(stored)} is not eight hex digits: corrupt or edited header`);
  }
  const end = headerEnd(bytes);
  const at = sealValueAt(bytes, end, stored);
  if (at < 0) throw new Error(`${what}: the checksum entry is not written the way Kiln writes it: edited header`);
  const copy = Uint8Array.from(bytes);
  copy.set(new TextEncoder().encode(SEAL_PLACEHOLDER), at);
  const crc = crc32(copy).toString(16).padStart(8, '0');
  if (crc !== stored) {
    throw new Error(`${what}: the file fails its CRC-32 check over the whole file (stored ${stored}, computed ${crc}): ` +
      'the header or the tensor data was changed after saving (corrupt or edited file)');
  }
  return result;
}
