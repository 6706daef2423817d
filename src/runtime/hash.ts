/**
 * Content hashing for cache keys. Synchronous on purpose: keys are computed in one topological
 * pass on every run, and WebCrypto's digest is async. Two independent 53-bit lanes (cyrb53
 * mixing) give a 106-bit key, far beyond what a tensor cache can collide on.
 */

/** Two independent cyrb53 lanes over `text` in one pass, as 22 base-36 characters. */
export function hashString(text: string): string {
  let a1 = 0xdeadbeef ^ 1;
  let a2 = 0x41c6ce57 ^ 1;
  let b1 = 0xdeadbeef ^ 0x9e3779b9;
  let b2 = 0x41c6ce57 ^ 0x9e3779b9;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    a1 = Math.imul(a1 ^ ch, 2654435761);
    a2 = Math.imul(a2 ^ ch, 1597334677);
    b1 = Math.imul(b1 ^ ch, 2654435761);
    b2 = Math.imul(b2 ^ ch, 1597334677);
  }
  return finish(a1, a2).toString(36).padStart(11, '0') + finish(b1, b2).toString(36).padStart(11, '0');
}

function finish(h1: number, h2: number): number {
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** JSON with object keys sorted at every depth, so equal values always hash alike. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

export const hashValue = (value: unknown): string => hashString(canonicalJson(value));

/** Hash raw bytes (a weights file) through the same two lanes, 64 KiB of text at a time. */
export function hashBytes(bytes: Uint8Array): string {
  let acc = `len:${bytes.length};`;
  const chunk = 1 << 16;
  for (let i = 0; i < bytes.length; i += chunk) {
    acc = hashString(acc + String.fromCharCode(...bytes.subarray(i, Math.min(i + chunk, bytes.length))));
  }
  return hashString(acc);
}
