/**
 * Content hashing for cache keys. Synchronous on purpose: keys are computed in one topological
 * pass on every run, and WebCrypto's digest is async. Two independent 53-bit lanes (cyrb53
 * mixing) give a 106-bit key, far beyond what a tensor cache can collide on.
 */

function cyrb53(text: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

export function hashString(text: string): string {
  return cyrb53(text, 1).toString(36).padStart(11, '0') + cyrb53(text, 0x9e3779b9).toString(36).padStart(11, '0');
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
