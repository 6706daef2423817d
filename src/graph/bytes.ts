/**
 * Byte helpers the share link and the PNG chunk share: base64url, and deflate through the
 * Compression Streams API (in every current browser and in Node ≥ 18), with a cap on how much a
 * stream may inflate to, so a small hostile input cannot expand into gigabytes.
 * Pure TypeScript on Uint8Array: no Node Buffer, no DOM.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

/** RFC 4648 §5 base64url, without padding (it would need escaping in a URL). */
export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63];
  }
  return out;
}

/** Decodes base64url (padding optional); throws an Error naming the first bad character. */
export function fromBase64Url(text: string): Uint8Array {
  const s = text.replace(/=+$/, '');
  if (s.length % 4 === 1) throw new Error(`base64url text cannot be ${s.length} characters long`);
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? LOOKUP[c] : -1;
    if (v < 0) throw new Error(`character ${JSON.stringify(s[i])} at position ${i} is not base64url`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

export type DeflateFormat = 'deflate' | 'deflate-raw';

/** Compresses with the platform's CompressionStream ('deflate' is zlib-wrapped, as PNG wants). */
export async function deflate(bytes: Uint8Array, format: DeflateFormat): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Inflates, refusing to produce more than `maxBytes` (the stream is cancelled at that point).
 * Throws an Error for corrupt or truncated input and for output over the cap.
 */
export async function inflate(bytes: Uint8Array, format: DeflateFormat, maxBytes: number): Promise<Uint8Array> {
  const reader = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream(format)).getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new Error(`it inflates to more than ${maxBytes} bytes`);
      }
      parts.push(value);
    }
  } catch (err) {
    // Node's and Chromium's streams reject with TypeError or DOMException; say what it means.
    if (err instanceof Error && /inflates to more/.test(err.message)) throw err;
    throw new Error(`the compressed data is damaged (${err instanceof Error ? err.message : String(err)})`);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
