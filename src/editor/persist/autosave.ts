/**
 * The autosave of the open graph (one slot, not the library) and the little state the persistence part shares between its
 * hook, its menu and the page start: which library entry the open graph is, when it was last
 * saved, and a message to show.
 *
 * Writes are debounced (DEBOUNCE_MS after the last edit), serialized (one at a time, newest
 * wins) and flushed at once when the page is hidden or closed. A flush also writes the record to
 * localStorage synchronously, because an IndexedDB transaction begun while a page unloads may not
 * finish; the start picks whichever copy is newer, so a reload or a crash loses nothing.
 */
import { serializeGraph, type GraphDoc } from '../../graph/index.ts';
import { readAutosave, writeAutosave, type AutosaveRecord } from './db.ts';

export const DEBOUNCE_MS = 300;
const BACKUP_KEY = 'weft.autosave';

export interface PersistState {
  /**
   * The library entry the open graph was opened from or saved as: "Save" writes to it. The
   * library is written only by an explicit save (an autosave write-through would let an undo
   * past an open write one graph over another).
   */
  libraryId?: string;
  /** When the open graph last reached IndexedDB. */
  savedAt?: number;
  saveError?: string;
  /** A message for the file menu to show (a damaged link, a file that is not a graph...). */
  message?: { text: string; kind: 'info' | 'error'; at: number };
}

let state: PersistState = {};
const listeners = new Set<() => void>();

export const persistState = {
  get: (): PersistState => state,
  set(patch: Partial<PersistState>): void {
    state = { ...state, ...patch };
    for (const l of listeners) l();
  },
  subscribe(l: () => void): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

export function tell(text: string, kind: 'info' | 'error' = 'info'): void {
  persistState.set({ message: { text, kind, at: Date.now() } });
}

// ---- the writer -----------------------------------------------------------------------------------

let pending: AutosaveRecord | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;
let writing: Promise<void> = Promise.resolve();

/** Schedules a save of `doc`; the newest call within DEBOUNCE_MS wins. */
export function scheduleSave(doc: GraphDoc, name: string): void {
  pending = { json: serializeGraph(doc), name, libraryId: state.libraryId, savedAt: Date.now() };
  clearTimeout(timer);
  timer = setTimeout(() => void flush(), DEBOUNCE_MS);
}

/**
 * Writes what is pending now. With `backup` (the page is going away) the record also goes to
 * localStorage synchronously, before the IndexedDB write that may not finish.
 */
export function flush(backup = false): Promise<void> {
  clearTimeout(timer);
  const rec = pending;
  pending = undefined;
  if (!rec) return writing;
  if (backup) {
    try {
      localStorage.setItem(BACKUP_KEY, JSON.stringify(rec));
    } catch {
      // storage full or disabled: the IndexedDB write below is all there is
    }
  }
  writing = writing.then(() => write(rec));
  return writing;
}

async function write(rec: AutosaveRecord): Promise<void> {
  try {
    await writeAutosave(rec);
    dropBackupUpTo(rec.savedAt);
    persistState.set({ savedAt: rec.savedAt, saveError: undefined });
  } catch (err) {
    persistState.set({ saveError: `autosave failed: ${(err as Error).message}` });
  }
}

function readBackup(): AutosaveRecord | undefined {
  try {
    const raw = localStorage.getItem(BACKUP_KEY);
    const rec = raw ? (JSON.parse(raw) as AutosaveRecord) : undefined;
    return rec && typeof rec.json === 'string' && typeof rec.savedAt === 'number' ? rec : undefined;
  } catch {
    return undefined;
  }
}

function dropBackupUpTo(savedAt: number): void {
  const b = readBackup();
  if (b && b.savedAt <= savedAt) localStorage.removeItem(BACKUP_KEY);
}

/** The newer of the IndexedDB autosave and the unload backup. */
export async function latestAutosave(): Promise<AutosaveRecord | undefined> {
  const backup = readBackup();
  let stored: AutosaveRecord | undefined;
  try {
    stored = await readAutosave();
  } catch (err) {
    if (!backup) throw err;
  }
  if (!stored) return backup;
  if (!backup) return stored;
  return backup.savedAt > stored.savedAt ? backup : stored;
}
