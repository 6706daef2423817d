/**
 * Where the open graph comes from and goes: the start graph, autosave, the file menu (library,
 * examples, import/export, share link, PNG export) and files dropped on the page.
 * The canvas (App.tsx) mounts these; see docs/saving.md for what a user sees.
 */
import { useEffect } from 'react';
import { loadGraph, parseGraph, type GraphDoc } from '../../graph/index.ts';
import { decodeShare, sharePayload } from '../../graph/share.ts';
import { DEFAULT_EXAMPLE, examples } from '../examples.ts';
import { weftGlobal } from '../global.ts';
import { flush, latestAutosave, persistState, scheduleSave, tell } from './autosave.ts';
import { describe } from './files.ts';
import * as db from './db.ts';

export { FileMenu } from './FileMenu.tsx';
import { putWeights } from './weights.ts';
import { browserPlatform } from '../platform.ts';

export { putWeights, getWeights, weightsRef } from './weights.ts';

export type StartSource = 'link' | 'autosave' | 'example' | 'empty';

export interface StartDoc {
  doc: GraphDoc;
  name: string;
  source: StartSource;
  /** Why a higher-priority source was passed over (a damaged link, an unknown example). */
  problems?: string[];
}

/** Removes what the start consumed from the address bar, so a reload reopens the autosave (with the edits). */
function forget(what: 'hash' | 'graph'): void {
  const url = new URL(location.href);
  if (what === 'hash') url.hash = '';
  else url.searchParams.delete('graph');
  history.replaceState(history.state, '', url.href.replace(/#$/, ''));
}

/**
 * The graph the page opens with: a share link in the URL (`#g=...`), else `?graph=<example>`,
 * else the autosaved graph, else the default example. Nothing here runs a graph.
 */
export async function loadStartDoc(): Promise<StartDoc> {
  const problems: string[] = [];
  const payload = sharePayload(location.hash);
  if (payload !== undefined) {
    const { doc, errors } = await decodeShare(payload);
    forget('hash');
    if (doc && !errors.length) {
      forget('graph');
      return started({ doc, name: doc.name || 'Shared graph', source: 'link' });
    }
    problems.push(`could not open the shared graph:\n${describe(errors)}`);
  }
  const example = new URLSearchParams(location.search).get('graph');
  if (example) {
    forget('graph');
    const text = examples[example];
    if (text) return started({ doc: loadGraph(text), name: example, source: 'example' }, problems);
    problems.push(`no example graph "${example}": choose one of ${Object.keys(examples).join(', ')}`);
  }
  try {
    const rec = await latestAutosave();
    if (rec) {
      const { doc, errors } = parseGraph(rec.json);
      if (doc && !errors.length) return started({ doc, name: rec.name, source: 'autosave' }, problems, rec.libraryId);
      problems.push(`the autosaved graph could not be opened:\n${describe(errors)}`);
    }
  } catch (err) {
    problems.push(`could not read the autosave: ${(err as Error).message}`);
  }
  return started({ doc: loadGraph(examples[DEFAULT_EXAMPLE]), name: DEFAULT_EXAMPLE, source: 'example' }, problems);
}

function started(start: StartDoc, problems: string[] = [], libraryId?: string): StartDoc {
  persistState.set({ libraryId });
  if (problems.length) tell(problems.join('\n'), 'error');
  else if (start.source === 'link') tell(`opened the shared graph "${start.name}" (not run: press Run when ready)`);
  weftGlobal().start = { source: start.source, problems };
  return problems.length ? { ...start, problems } : start;
}

/** Saves the open graph to IndexedDB, debounced, on every change; flushes when the page is hidden or closed. */
export function useAutosave(doc: GraphDoc, name: string): void {
  useEffect(() => scheduleSave(doc, name), [doc, name]);
  useEffect(() => {
    const away = () => void flush(true);
    const onVisibility = () => document.visibilityState === 'hidden' && away();
    addEventListener('pagehide', away);
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      removeEventListener('pagehide', away);
      document.removeEventListener('visibilitychange', onVisibility);
      void flush();
    };
  }, []);
}

/** What the e2e tests reach: the DB layer, and a flush to wait on before a reload. */
declare global {
  interface WeftGlobal {
    start?: { source: StartSource; problems: string[] };
    persist?: {
      db: typeof db;
      flush: () => Promise<void>;
      state: typeof persistState.get;
      putWeights: typeof putWeights;
      /** The runtime's file reader: `idb:<key>`, bundled example weights, else HTTP. */
      readFile: (file: string) => Promise<Uint8Array>;
    };
  }
}
if (typeof window !== 'undefined') {
  weftGlobal().persist = { db, flush: () => flush(), state: persistState.get, putWeights, readFile: (f) => browserPlatform.readFile(f) };
}
