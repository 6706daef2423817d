/**
 * The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON { name: { dtype, shape, data_offsets: [begin, end] },
 * "__metadata__"?: { string: string } }, then the raw little-endian tensor bytes.
 *
 * Files come from users and links, so parsing trusts nothing: the header length, every offset,
 * every shape and dtype is checked before a byte is read, and any problem is a SafetensorsError
 * naming the tensor. Pure TypeScript: no tfjs, no Node built-ins (the browser uses it too).
 */

export type SafeDType = 'F32' | 'F16' | 'BF16' | 'I32' | 'U8';
const ITEM_SIZE: Record<SafeDType, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, U8: 1 };

/** Headers over this size are refused (real ones are kilobytes). */
export const MAX_HEADER_BYTES = 16 * 2 ** 20;
/** One tensor over this many elements is refused. */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

export interface NamedTensor {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

export class SafetensorsError extends Error {
  constructor(message: string, readonly tensor?: string) {
    super(tensor ? `tensor "${tensor}": ${message}` : message);
    this.name = 'SafetensorsError';
  }
}

export interface ParsedSafetensors {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

export function parseSafetensors(bytes: Uint8Array): ParsedSafetensors {
  if (bytes.length < 8) throw new SafetensorsError(`file is ${bytes.length} bytes, too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    throw new SafetensorsError(`header length ${headerLen} exceeds the file (${bytes.length} bytes) or the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const n = Number(headerLen);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (err) {
    throw new SafetensorsError(`header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new SafetensorsError('header must be a JSON object');
  const data = bytes.subarray(8 + n);
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  const spans: Array<[number, number, string]> = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = checkMetadata(entry);
      continue;
    }
    const { dtype, shape, begin, end } = checkEntry(name, entry, data.length);
    spans.push([begin, end, name]);
    tensors.set(name, decode(name, dtype, shape, data.subarray(begin, end)));
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) throw new SafetensorsError(`data overlaps tensor "${spans[i - 1][2]}"`, spans[i][2]);
  }
  return { tensors, metadata };
}

function checkMetadata(entry: unknown): Record<string, string> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new SafetensorsError('__metadata__ must be an object of strings');
  for (const [k, v] of Object.entries(entry)) if (typeof v !== 'string') throw new SafetensorsError(`__metadata__.${k} must be a string`);
  return entry as Record<string, string>;
}

function checkEntry(name: string, entry: unknown, dataLength: number) {
  if (typeof entry !== 'object' || entry === null) throw new SafetensorsError('entry must be an object', name);
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in ITEM_SIZE)) {
    throw new SafetensorsError(`unsupported dtype ${JSON.stringify(dtype)}; supported: ${Object.keys(ITEM_SIZE).join(', ')}`, name);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(`shape must be a list of whole numbers, got ${JSON.stringify(shape)}`, name);
  }
  const elements = shape.reduce((a: number, b: number) => a * b, 1);
  if (elements > MAX_TENSOR_ELEMENTS) throw new SafetensorsError(`${elements} elements is over the limit of ${MAX_TENSOR_ELEMENTS}`, name);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new SafetensorsError(`data_offsets must be [begin, end], got ${JSON.stringify(offsets)}`, name);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) throw new SafetensorsError(`data_offsets [${begin}, ${end}] fall outside the ${dataLength} data bytes`, name);
  const want = elements * ITEM_SIZE[dtype as SafeDType];
  if (end - begin !== want) throw new SafetensorsError(`holds ${end - begin} bytes, but ${dtype}${JSON.stringify(shape)} needs ${want}`, name);
  return { dtype: dtype as SafeDType, shape: shape as number[], begin, end };
}

function decode(name: string, dtype: SafeDType, shape: number[], raw: Uint8Array): NamedTensor {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const count = raw.length / ITEM_SIZE[dtype];
  if (dtype === 'I32' || dtype === 'U8') {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) out[i] = dtype === 'I32' ? view.getInt32(i * 4, true) : raw[i];
    return { dtype: 'int32', shape, data: out };
  }
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    if (dtype === 'F32') out[i] = view.getFloat32(i * 4, true);
    else if (dtype === 'BF16') out[i] = bf16(view.getUint16(i * 2, true));
    else out[i] = f16(view.getUint16(i * 2, true));
  }
  if (!out.every(Number.isFinite)) throw new SafetensorsError('contains NaN or infinite values', name);
  return { dtype: 'float32', shape, data: out };
}

const scratch = new DataView(new ArrayBuffer(4));
function bf16(bits: number): number {
  scratch.setUint32(0, bits << 16);
  return scratch.getFloat32(0);
}
function f16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Write tensors (sorted by name, F32/I32) with optional string metadata. */
export function serializeSafetensors(tensors: Map<string, NamedTensor> | Record<string, NamedTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const entries = [...(tensors instanceof Map ? tensors : Object.entries(tensors))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = Object.keys(metadata).length ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, t] of entries) {
    const size = t.data.length * 4;
    header[name] = { dtype: t.dtype === 'int32' ? 'I32' : 'F32', shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = new Uint8Array(json.length + ((8 - ((8 + json.length) % 8)) % 8)).fill(0x20); // pad with spaces: data aligned to 8
  headerBytes.set(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const [, t] of entries) {
    for (let i = 0; i < t.data.length; i++, pos += 4) {
      if (t.dtype === 'int32') view.setInt32(pos, t.data[i], true);
      else view.setFloat32(pos, t.data[i], true);
    }
  }
  return out;
}
