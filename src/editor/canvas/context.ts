/**
 * What node components reach without props: the editor's actions (stable for the page's life,
 * so no node re-renders when they are read) and, while a wire is being dragged, where it started
 * (changes twice per drag: every node re-checks its handles then, and only then).
 */
import { createContext } from 'react';
import type { Registry } from '../../runtime/index.ts';
import type { GraphIndex, PortEnd } from '../connect.ts';
import type { EditorStore, Recipe } from '../store.ts';

export interface EditorApi {
  store: EditorStore;
  registry: Registry;
  /** The open graph's index as of the last edit. */
  index(): GraphIndex;
  /** One undoable edit; a refusal is shown to the user and returns false. */
  edit(label: string, recipe: Recipe): boolean;
  setParam(nodeId: string, name: string, value: unknown): void;
  /** Renames a node; returns why not, or null when done. */
  rename(nodeId: string, next: string): string | null;
  notify(text: string, kind?: NoticeKind): void;
}

export type NoticeKind = 'info' | 'error' | 'connect-error';

export interface Connecting extends PortEnd {
  side: 'source' | 'target';
}

export const EditorCtx = createContext<EditorApi | null>(null);
export const ConnectingCtx = createContext<Connecting | null>(null);
