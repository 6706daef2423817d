/**
 * CONTRACT STUB (owned by the run/train UI work): running and training from the editor.
 * The canvas (App.tsx, node components) mounts these; the signatures stay, the bodies grow.
 */
import { createContext, useContext, type ReactNode } from 'react';
import type { GraphDoc } from '../../graph/index.ts';
import type { RGBAImage } from '../../runtime/index.ts';

export type NodeRunStatus = 'idle' | 'queued' | 'running' | 'cached' | 'done' | 'error';
export interface NodeRunState {
  status: NodeRunStatus;
  ms?: number;
  /** 0..1 while a sampler or trainer reports steps */
  progress?: number;
  message?: string;
}

/** An edit to the open graph through the editor's undoable store (e.g. pointing a builder at saved weights). */
export type EditFn = (label: string, recipe: (draft: GraphDoc) => void) => void;

const Ctx = createContext<{ doc?: GraphDoc; states: Record<string, NodeRunState>; images: Record<string, RGBAImage> }>({ states: {}, images: {} });

/** Wraps the editor: owns the runtime, the last run's per-node states and outputs. */
export function RunProvider({ doc, children }: { doc: GraphDoc; edit: EditFn; children: ReactNode }) {
  return <Ctx.Provider value={{ doc, states: {}, images: {} }}>{children}</Ctx.Provider>;
}

export function useNodeRun(id: string): NodeRunState {
  return useContext(Ctx).states[id] ?? { status: 'idle' };
}

/** The last run's ImageOutput pictures by node id (for PNG export). */
export function useImageOutputs(): Record<string, RGBAImage> {
  return useContext(Ctx).images;
}

/** Header controls: Run / Stop, backend (switchable) and its reason, status, cache stats + clear. */
export function RunToolbar() {
  return null;
}

/** Drawn inside a node (below its widgets): state badge, progress bar, time, error message. */
export function NodeRunBadge(_: { id: string }) {
  return null;
}

/** Drawn inside a node: image / tensor thumbnail on demand / Plot. */
export function NodePreview(_: { id: string; type: string }) {
  return null;
}

/** Side panel: training controls (Train / Pause / Stop), live loss curves, save checkpoint. */
export function TrainPanel() {
  return null;
}
