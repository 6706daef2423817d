/**
 * A graph inside a PNG: an iTXt chunk with the keyword `weft.graph` holding the graph JSON
 * (UTF-8, uncompressed), so an image Weft exported opens as the graph that drew it. Pure
 * TypeScript on Uint8Array, for the browser and Node alike.
 *
 * PNG (ISO/IEC 15948, W3C PNG 3rd ed.): an 8-byte signature, then chunks
 *   length (u32 BE, ≤ 2^31-1) | type (4 ASCII letters) | data (length bytes) | CRC-32 (type + data)
 * IHDR first, IEND last. iTXt data (§11.3.3.4):
 *   keyword (1-79 Latin-1) \0 | compression flag | method | language tag \0 | translated keyword \0 | text
 * Readers skip chunks they do not know, so the picture is unchanged for every other program.
 */
import { deflate } from './bytes.ts';
import { parseGraph, serializeGraph, type ParseResult } from './load.ts';
import type { GraphDoc } from './types.ts';

export const PNG_GRAPH_KEY = 'weft.graph';
/** The most graph text a PNG may carry; bigger ones were not written by Weft. */
export const MAX_PNG_GRAPH_BYTES = 16 * 1024 * 1024;

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const MAX_CHUNK = 0x7fffffff;

export type PngErrorCode = 'not-png' | 'truncated' | 'chunk-too-large' | 'bad-crc' | 'bad-structure' | 'bad-text-chunk' | 'no-graph';

/** Why a PNG could not be read or carries no graph. */
export class PngError extends Error {
  constructor(
    readonly code: PngErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PngError';
  }
}

export interface PngChunk {
  type: string;
  data: Uint8Array;
}

// ---- CRC-32 (ISO 3309 / ITU-T V.42, polynomial 0xEDB88320, as PNG specifies) -------------------

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

// ---- chunks -------------------------------------------------------------------------------------

export const isPng = (bytes: Uint8Array): boolean => bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);

const u32 = (b: Uint8Array, at: number) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

/**
 * Every chunk, checked: signature, lengths within the file, each CRC, IHDR first, IEND last.
 * Chunk data are views into `png`, not copies. Throws PngError.
 */
export function readChunks(png: Uint8Array): PngChunk[] {
  if (!isPng(png)) throw new PngError('not-png', 'not a PNG file (its first 8 bytes are not the PNG signature)');
  const chunks: PngChunk[] = [];
  let at = 8;
  while (at < png.length) {
    if (at + 8 > png.length) throw new PngError('truncated', `the PNG is cut short: a chunk header at byte ${at} is incomplete`);
    const length = u32(png, at);
    const type = String.fromCharCode(png[at + 4], png[at + 5], png[at + 6], png[at + 7]);
    if (!/^[A-Za-z]{4}$/.test(type)) throw new PngError('bad-structure', `byte ${at + 4} should start a chunk type (4 letters), got ${JSON.stringify(type)}`);
    if (length > MAX_CHUNK) throw new PngError('chunk-too-large', `chunk ${type} claims ${length} bytes, more than PNG allows (2^31-1)`);
    const end = at + 8 + length;
    if (end + 4 > png.length) {
      throw new PngError('truncated', `the PNG is cut short: chunk ${type} at byte ${at} claims ${length} bytes, but only ${Math.max(0, png.length - at - 12)} remain`);
    }
    const stored = u32(png, end);
    const actual = crc32(png, at + 4, end);
    if (stored !== actual) throw new PngError('bad-crc', `chunk ${type} at byte ${at} is damaged (CRC ${hex(stored)} stored, ${hex(actual)} computed)`);
    if (chunks.length === 0 && type !== 'IHDR') throw new PngError('bad-structure', `the first chunk must be IHDR, got ${type}`);
    chunks.push({ type, data: png.subarray(at + 8, end) });
    at = end + 4;
    if (type === 'IEND') break;
  }
  if (chunks.length === 0) throw new PngError('truncated', 'the PNG has a signature but no chunks');
  if (chunks[chunks.length - 1].type !== 'IEND') throw new PngError('truncated', 'the PNG is cut short: it has no IEND chunk');
  return chunks;
}

/** Signature + chunks, each with its length and CRC. */
export function writeChunks(chunks: readonly PngChunk[]): Uint8Array {
  const size = 8 + chunks.reduce((n, c) => n + 12 + c.data.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(SIGNATURE);
  let at = 8;
  for (const c of chunks) {
    view.setUint32(at, c.data.length);
    for (let i = 0; i < 4; i++) out[at + 4 + i] = c.type.charCodeAt(i);
    out.set(c.data, at + 8);
    view.setUint32(at + 8 + c.data.length, crc32(out, at + 4, at + 8 + c.data.length));
    at += 12 + c.data.length;
  }
  return out;
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

// ---- text chunks --------------------------------------------------------------------------------

function itxt(key: string, text: string): Uint8Array {
  const keyBytes = Uint8Array.from(key, (ch) => ch.charCodeAt(0));
  const body = new TextEncoder().encode(text);
  // keyword \0, compression flag 0, method 0, empty language \0, empty translated keyword \0
  const out = new Uint8Array(keyBytes.length + 5 + body.length);
  out.set(keyBytes);
  out.set(body, keyBytes.length + 5);
  return out;
}

const keywordOf = (data: Uint8Array): string | undefined => {
  const nul = data.indexOf(0);
  return nul > 0 && nul < 80 ? String.fromCharCode(...data.subarray(0, nul)) : undefined;
};

/** The text of an iTXt or tEXt chunk named `key`, or undefined when there is none. Throws PngError. */
export function readText(png: Uint8Array, key: string): string | undefined {
  for (const c of readChunks(png)) {
    if ((c.type !== 'iTXt' && c.type !== 'tEXt') || keywordOf(c.data) !== key) continue;
    if (c.type === 'tEXt') return new TextDecoder('latin1').decode(c.data.subarray(key.length + 1));
    return itxtText(c.data, key);
  }
  return undefined;
}

function itxtText(data: Uint8Array, key: string): string {
  const flagAt = key.length + 1;
  if (data.length < flagAt + 2) throw new PngError('bad-text-chunk', `the ${key} chunk is cut short`);
  if (data[flagAt] !== 0) throw new PngError('bad-text-chunk', `the ${key} chunk is compressed, which this reader does not support (Weft writes it uncompressed)`);
  const langEnd = data.indexOf(0, flagAt + 2);
  const transEnd = langEnd < 0 ? -1 : data.indexOf(0, langEnd + 1);
  if (transEnd < 0) throw new PngError('bad-text-chunk', `the ${key} chunk lacks its language and keyword fields`);
  const body = data.subarray(transEnd + 1);
  if (body.length > MAX_PNG_GRAPH_BYTES) throw new PngError('bad-text-chunk', `the ${key} chunk holds ${body.length} bytes, more than ${MAX_PNG_GRAPH_BYTES}`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new PngError('bad-text-chunk', `the ${key} chunk is not valid UTF-8 text`);
  }
}

/** A copy of `png` with an iTXt chunk `key` = `text` right after IHDR, replacing any earlier one. */
export function embedText(png: Uint8Array, key: string, text: string): Uint8Array {
  if (!/^[\x20-\x7e]{1,79}$/.test(key)) throw new Error(`a PNG text keyword is 1-79 printable Latin-1 characters, got ${JSON.stringify(key)}`);
  const kept = readChunks(png).filter((c) => !((c.type === 'iTXt' || c.type === 'tEXt' || c.type === 'zTXt') && keywordOf(c.data) === key));
  return writeChunks([kept[0], { type: 'iTXt', data: itxt(key, text) }, ...kept.slice(1)]);
}

// ---- graphs -------------------------------------------------------------------------------------

/** `png` with `doc` embedded (the same JSON serializeGraph writes). Throws PngError on a bad PNG. */
export function embedGraph(png: Uint8Array, doc: GraphDoc): Uint8Array {
  return embedText(png, PNG_GRAPH_KEY, serializeGraph(doc));
}

/** The graph JSON a PNG carries. Throws PngError, with code 'no-graph' when it carries none. */
export function graphTextFromPng(png: Uint8Array): string {
  const text = readText(png, PNG_GRAPH_KEY);
  if (text === undefined) throw new PngError('no-graph', `this PNG carries no Weft graph (no "${PNG_GRAPH_KEY}" text chunk); only images exported by Weft do`);
  return text;
}

/** The graph in a PNG, validated. Never throws: a bad PNG is an issue like a bad graph. */
export function parseGraphPng(png: Uint8Array): ParseResult {
  try {
    return parseGraph(graphTextFromPng(png));
  } catch (err) {
    const e = err instanceof PngError ? err : new PngError('bad-structure', String(err));
    return { errors: [{ code: 'invalid-document', message: e.message, detail: { source: 'png', png: e.code } }] };
  }
}

// ---- encoding pixels ----------------------------------------------------------------------------

/**
 * An 8-bit RGBA PNG of `rgba` (width·height·4 bytes, row-major), no filtering, zlib-compressed.
 * Exact pixels, unlike a canvas, whose premultiplied alpha may round translucent colours.
 */
export async function encodeRgbaPng(img: { width: number; height: number; rgba: ArrayLike<number> }): Promise<Uint8Array> {
  const { width, height, rgba } = img;
  if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height))) throw new Error(`a PNG needs a positive whole size, got ${width}x${height}`);
  if (rgba.length !== width * height * 4) throw new Error(`${width}x${height} RGBA needs ${width * height * 4} bytes, got ${rgba.length}`);
  const stride = width * 4;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter type None
    for (let i = 0; i < stride; i++) raw[y * (stride + 1) + 1 + i] = rgba[y * stride + i];
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8); // bit depth 8, colour type 6 (RGBA), deflate, adaptive filters, no interlace
  return writeChunks([
    { type: 'IHDR', data: ihdr },
    { type: 'IDAT', data: await deflate(raw, 'deflate') },
    { type: 'IEND', data: new Uint8Array(0) },
  ]);
}
