/**
 * CONTRACT STUB (owned by the persistence/sharing work): where the open graph comes from and goes.
 * The canvas (App.tsx) mounts these; the signatures stay, the bodies grow.
 */
import { loadGraph, type GraphDoc } from '../../graph/index.ts';
import { DEFAULT_EXAMPLE, examples } from '../examples.ts';

export type StartSource = 'link' | 'autosave' | 'example' | 'empty';

/** The graph the page opens with: a share link in the URL, else the autosaved graph, else ?graph=example, else the default example. */
export async function loadStartDoc(): Promise<{ doc: GraphDoc; name: string; source: StartSource }> {
  const q = new URLSearchParams(location.search);
  const name = q.get('graph') || DEFAULT_EXAMPLE;
  const text = examples[name];
  if (!text) throw new Error(`no example graph "${name}": choose one of ${Object.keys(examples).join(', ')}`);
  return { doc: loadGraph(text), name, source: 'example' };
}

/** Saves the open graph to IndexedDB, debounced, on every change. */
export function useAutosave(_doc: GraphDoc, _name: string): void {}

/**
 * Header menu: graph library (open, rename, duplicate, delete), examples gallery, import/export
 * JSON, share link, export PNG with the graph embedded; also opens PNG/JSON files dropped on the page.
 * `onOpen` replaces the open graph (undoable).
 */
export function FileMenu(_: { doc: GraphDoc; name: string; onOpen: (doc: GraphDoc, name: string) => void; onRename: (name: string) => void }) {
  return null;
}
