/**
 * `window.__weft`: what the page exposes for the e2e tests and the bench. One open interface,
 * so each part of the editor adds its own fields by declaration merging.
 */
import type { GraphDoc } from '../graph/index.ts';
import type { BackendInfo } from '../runtime/index.ts';

/** The canvas, driven from a test: the same edits a user makes, through the same store. */
export interface EditorHandle {
  getDoc(): GraphDoc;
  /** Replaces the open graph (one undoable step). */
  open(doc: GraphDoc, name?: string): void;
  undo(): void;
  redo(): void;
  /** Undo step labels, oldest first. */
  history(): string[];
  selected(): string[];
  select(ids: string[]): void;
  /** Auto-layout, resolved once the positions are written. */
  layout(): Promise<void>;
  /** Zooms about the middle of the view. */
  setZoom(zoom: number): void;
}

declare global {
  interface WeftGlobal {
    editor?: EditorHandle;
    backend?: BackendInfo;
    error?: string;
    lastResult?: {
      ms: number;
      nodes: Record<string, { status: string; ms: number }>;
      outputs: Record<string, Record<string, unknown>>;
      image?: { nodeId: string; width: number; height: number };
    };
    [key: string]: unknown;
  }
  interface Window {
    __weft?: WeftGlobal;
  }
}

export const weftGlobal = (): WeftGlobal => (window.__weft ??= {});
