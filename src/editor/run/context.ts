/** The RunSession context and the hooks the run components read it through. */
import { createContext, useContext, useSyncExternalStore } from 'react';
import type { GraphDoc } from '../../graph/index.ts';
import type { RGBAImage } from '../../runtime/index.ts';
import type { NodeRunState, RunSession, RunSnapshot } from './session.ts';

export const RunContext = createContext<RunSession | undefined>(undefined);
/** The open graph, as the RunProvider was last given it. */
export const DocContext = createContext<GraphDoc | undefined>(undefined);

/** The session of the surrounding RunProvider (components outside one get undefined). */
export function useRunSession(): RunSession | undefined {
  return useContext(RunContext);
}

const noSubscribe = () => () => {};
const IDLE: NodeRunState = { status: 'idle' };
const NO_IMAGES: Record<string, RGBAImage> = {};

/** A slice of the run state; re-renders only when the slice changes (select must return stable values). */
export function useRunSelect<T>(select: (s: RunSnapshot) => T, fallback: T): T {
  const session = useContext(RunContext);
  return useSyncExternalStore(session ? session.subscribe : noSubscribe, () => (session ? select(session.getSnapshot()) : fallback));
}

export function useNodeRun(id: string): NodeRunState {
  return useRunSelect((s) => s.states[id] ?? IDLE, IDLE);
}

/** The last run's ImageOutput pictures by node id (for PNG export). */
export function useImageOutputs(): Record<string, RGBAImage> {
  return useRunSelect((s) => s.images, NO_IMAGES);
}

/** What the e2e tests read (the seed page's fields, kept, plus the run and training state). */
export interface WeftHook {
  backend?: RunSnapshot['backend'];
  lastResult?: {
    ms: number;
    nodes: NonNullable<RunSnapshot['lastRun']>['nodes'];
    outputs: Record<string, Record<string, number[] | number | string>>;
    image?: { nodeId: string; width: number; height: number };
  };
  error?: string;
  run?: {
    status: RunSnapshot['status'];
    states: RunSnapshot['states'];
    train: { phase: string; stepsDone: number; losses: Record<string, number[]>; stepsPerSec?: number; checkpoint?: RunSnapshot['train']['checkpoint']; message?: string };
  };
  /** The values each plot canvas drew last, by its test id: line name → values. */
  plots?: Record<string, Record<string, number[]>>;
}

export const weftHook = (): WeftHook => ((window as unknown as { __weft?: WeftHook }).__weft ??= {});

declare global {
  /** The run part's fields on `window.__weft` (see src/editor/global.ts). */
  interface WeftGlobal {
    run?: WeftHook['run'];
    plots?: WeftHook['plots'];
  }
}
