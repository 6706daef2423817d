/**
 * Trained weights in IndexedDB, referenced from a graph as `idb:<key>` in a builder's `weights`
 * param (browserPlatform.readFile resolves them). A key is the caller's name for a checkpoint
 * (`vae-step500`), or, when none is given, the bytes' own SHA-256 (content-addressed: saving the
 * same weights twice stores them once).
 */
import { readWeights, writeWeights } from './db.ts';

export const IDB_PREFIX = 'idb:';

/** The `weights` param value that points at a stored key. */
export const weightsRef = (key: string): string => `${IDB_PREFIX}${key}`;

/** The key in `idb:<key>` (or a bare key). */
export const weightsKey = (ref: string): string => (ref.startsWith(IDB_PREFIX) ? ref.slice(IDB_PREFIX.length) : ref);

/** `sha256-<first 32 hex digits>` of the bytes. */
export async function contentKey(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return `sha256-${Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * Stores `bytes` under `key` (replacing what was there), or under their content key when `key`
 * is empty. Returns the key; reference it in a graph as weightsRef(key) = `idb:<key>`.
 */
export async function putWeights(key: string, bytes: Uint8Array): Promise<string> {
  const k = weightsKey(key.trim()) || (await contentKey(bytes));
  if (k.length > 200) throw new Error(`a weights key is at most 200 characters, got ${k.length}`);
  await writeWeights(k, bytes);
  return k;
}

/** The bytes stored under `key` (`idb:` prefix optional); throws a readable Error when absent. */
export async function getWeights(key: string): Promise<Uint8Array> {
  const k = weightsKey(key);
  const bytes = await readWeights(k);
  if (!bytes) throw new Error(`no weights "${k}" in this browser's storage (weights saved in another browser or profile are not shared; export them as a file)`);
  return bytes;
}
