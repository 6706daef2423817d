/**
 * Weft's IndexedDB database (through idb): the autosave slot of the open graph, the graph library
 * and trained weights. Graphs are stored as the text serializeGraph writes, so what comes back is
 * byte for byte what went in (unknown fields included), and is validated again on the way out.
 *
 * Schema versions: each one is a step in `upgrade`, run in order from the version a browser has;
 * never edit a released step, add the next.
 *   1. stores `session` (the autosave slot, key "autosave"), `graphs` (library, keyPath id, index
 *      by updated time), `weights` (bytes by key)
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

export const DB_NAME = 'weft';
export const DB_VERSION = 1;

export interface AutosaveRecord {
  /** serializeGraph text of the open graph */
  json: string;
  name: string;
  /** The library entry the open graph is, when it was opened from or saved to the library. */
  libraryId?: string;
  savedAt: number;
}

export interface LibraryEntry {
  id: string;
  name: string;
  json: string;
  nodes: number;
  created: number;
  updated: number;
}

export interface WeightsRecord {
  bytes: Uint8Array;
  size: number;
  created: number;
}

interface WeftDB extends DBSchema {
  session: { key: string; value: AutosaveRecord };
  graphs: { key: string; value: LibraryEntry; indexes: { 'by-updated': number } };
  weights: { key: string; value: WeightsRecord };
}

let opened: Promise<IDBPDatabase<WeftDB>> | undefined;

/** The database, opened once per page. Rejects with a readable Error where IndexedDB is unavailable. */
export function weftDb(): Promise<IDBPDatabase<WeftDB>> {
  opened ??= (async () => {
    if (typeof indexedDB === 'undefined') throw new Error('this browser offers no IndexedDB (a private window?): nothing can be saved');
    const db = await openDB<WeftDB>(DB_NAME, DB_VERSION, {
      upgrade(db, oldVersion) {
        if (oldVersion < 1) {
          db.createObjectStore('session');
          db.createObjectStore('graphs', { keyPath: 'id' }).createIndex('by-updated', 'updated');
          db.createObjectStore('weights');
        }
      },
      // Another tab opened a newer schema: step aside so its upgrade can run.
      blocking() {
        db.close();
        opened = undefined;
      },
    });
    return db;
  })();
  opened.catch(() => (opened = undefined));
  return opened;
}

// ---- autosave -------------------------------------------------------------------------------------

export async function writeAutosave(rec: AutosaveRecord): Promise<void> {
  const db = await weftDb();
  // relaxed durability + an explicit commit: the write lands even when the page is closing
  const tx = db.transaction('session', 'readwrite', { durability: 'relaxed' });
  void tx.store.put(rec, 'autosave');
  tx.commit();
  await tx.done;
}

export async function readAutosave(): Promise<AutosaveRecord | undefined> {
  return (await weftDb()).get('session', 'autosave');
}

export async function clearAutosave(): Promise<void> {
  await (await weftDb()).delete('session', 'autosave');
}

// ---- library --------------------------------------------------------------------------------------

const newId = () => (typeof crypto !== 'undefined' && 'randomUUID' in crypto ? crypto.randomUUID() : `g${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`);

/** `name`, or `name 2`, `name 3`... the first not taken by another entry. */
export function uniqueName(name: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const base = name.trim() || 'Untitled';
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(`${base} ${i}`)) return `${base} ${i}`;
}

/** Newest first. */
export async function listGraphs(): Promise<LibraryEntry[]> {
  const all = await (await weftDb()).getAllFromIndex('graphs', 'by-updated');
  return all.reverse();
}

export async function getGraph(id: string): Promise<LibraryEntry | undefined> {
  return (await weftDb()).get('graphs', id);
}

/** Writes `json` to the entry `id` (updating it), or to a new entry with a unique name. */
export async function saveGraph(input: { id?: string; name: string; json: string; nodes: number }): Promise<LibraryEntry> {
  const db = await weftDb();
  const tx = db.transaction('graphs', 'readwrite');
  const now = Date.now();
  const old = input.id ? await tx.store.get(input.id) : undefined;
  let entry: LibraryEntry;
  if (old) {
    entry = { ...old, json: input.json, nodes: input.nodes, updated: now };
  } else {
    const names = (await tx.store.getAll()).map((e) => e.name);
    entry = { id: input.id ?? newId(), name: uniqueName(input.name, names), json: input.json, nodes: input.nodes, created: now, updated: now };
  }
  await tx.store.put(entry);
  await tx.done;
  return entry;
}

/** Renames an entry; the name is made unique among the others. Returns the name given. */
export async function renameGraph(id: string, name: string): Promise<string> {
  const db = await weftDb();
  const tx = db.transaction('graphs', 'readwrite');
  const entry = await tx.store.get(id);
  if (!entry) throw new Error('that graph is no longer in the library');
  const others = (await tx.store.getAll()).filter((e) => e.id !== id).map((e) => e.name);
  entry.name = uniqueName(name, others);
  entry.updated = Date.now();
  await tx.store.put(entry);
  await tx.done;
  return entry.name;
}

export async function duplicateGraph(id: string): Promise<LibraryEntry> {
  const entry = await getGraph(id);
  if (!entry) throw new Error('that graph is no longer in the library');
  return saveGraph({ name: `${entry.name} copy`, json: entry.json, nodes: entry.nodes });
}

export async function deleteGraph(id: string): Promise<void> {
  await (await weftDb()).delete('graphs', id);
}

// ---- weights --------------------------------------------------------------------------------------

export async function writeWeights(key: string, bytes: Uint8Array): Promise<void> {
  // A copy: the caller's array may be a view into a larger buffer, or reused.
  const rec: WeightsRecord = { bytes: bytes.slice(), size: bytes.byteLength, created: Date.now() };
  await (await weftDb()).put('weights', rec, key);
}

export async function readWeights(key: string): Promise<Uint8Array | undefined> {
  const rec = await (await weftDb()).get('weights', key);
  return rec ? new Uint8Array(rec.bytes) : undefined;
}

export async function listWeights(): Promise<Array<{ key: string; size: number; created: number }>> {
  const tx = (await weftDb()).transaction('weights');
  const [keys, recs] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll()]);
  return keys.map((key, i) => ({ key, size: recs[i].size, created: recs[i].created }));
}

export async function deleteWeights(key: string): Promise<void> {
  await (await weftDb()).delete('weights', key);
}

/** Writes the graph of an existing entry (autosave's write-through); false when it was deleted. */
export async function updateGraph(id: string, json: string, nodes: number): Promise<boolean> {
  const db = await weftDb();
  const tx = db.transaction('graphs', 'readwrite');
  const entry = await tx.store.get(id);
  if (entry && entry.json !== json) await tx.store.put({ ...entry, json, nodes, updated: Date.now() });
  await tx.done;
  return !!entry;
}
