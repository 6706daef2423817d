/**
 * The editor's one source of truth: the open GraphDoc, changed only through `apply(label, recipe)`.
 * Each apply is one immer produceWithPatches: the recipe mutates a draft, and the patches and
 * their inverses become one undo step. A recipe that throws, or leaves the document structurally
 * broken (a dangling edge, a repeated id), changes nothing: edits are all or nothing.
 *
 * Selection, viewport and other view state live outside (in React Flow), never in the history.
 */
import { applyPatches, enablePatches, produceWithPatches, type Patch } from 'immer';
import { checkReferences, type GraphDoc } from '../graph/index.ts';

enablePatches();

export interface HistoryStep {
  label: string;
  patches: Patch[];
  inverse: Patch[];
}

export type Recipe = (draft: GraphDoc) => void | GraphDoc;

/** An edit the store refused (the message says why); the document is unchanged. */
export class EditError extends Error {
  override name = 'EditError';
}

const HISTORY_LIMIT = 500;

export class EditorStore {
  private current: GraphDoc;
  private past: HistoryStep[] = [];
  private future: HistoryStep[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(doc: GraphDoc) {
    this.current = doc;
  }

  get doc(): GraphDoc {
    return this.current;
  }

  /** Applies one edit as one undo step. Returns false when it changed nothing; throws EditError when refused. */
  apply(label: string, recipe: Recipe): boolean {
    let next: GraphDoc;
    let patches: Patch[];
    let inverse: Patch[];
    try {
      [next, patches, inverse] = produceWithPatches(this.current, recipe as (d: GraphDoc) => void);
    } catch (err) {
      throw err instanceof EditError ? err : new EditError(`${label}: ${(err as Error).message}`);
    }
    if (!patches.length) return false;
    const broken = checkReferences(next);
    if (broken.length) throw new EditError(`${label}: refused, it would leave ${broken[0].message}`);
    this.past.push({ label, patches, inverse });
    if (this.past.length > HISTORY_LIMIT) this.past.shift();
    this.future = [];
    this.set(next);
    return true;
  }

  /** Replaces the whole document (opening a graph) as one undoable step. */
  replace(label: string, doc: GraphDoc): void {
    this.apply(label, () => doc);
  }

  undo(): string | undefined {
    const step = this.past.pop();
    if (!step) return undefined;
    this.future.push(step);
    this.set(applyPatches(this.current, step.inverse));
    return step.label;
  }

  redo(): string | undefined {
    const step = this.future.pop();
    if (!step) return undefined;
    this.past.push(step);
    this.set(applyPatches(this.current, step.patches));
    return step.label;
  }

  get canUndo(): boolean {
    return this.past.length > 0;
  }

  get canRedo(): boolean {
    return this.future.length > 0;
  }

  /** Labels of the undo stack, oldest first (for the tests and a history view). */
  history(): string[] {
    return this.past.map((s) => s.label);
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): GraphDoc => this.current;

  private set(doc: GraphDoc): void {
    this.current = doc;
    for (const fn of this.listeners) fn();
  }
}
