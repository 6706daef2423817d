/**
 * Running and training from the editor. The canvas (App.tsx, node components) mounts these:
 *
 *   <RunProvider doc edit>   owns a RunSession (session.ts): runtime, per-node states, outputs, training
 *   <RunToolbar/>            Run / Stop, status, backend (switchable) and why, cache stats + Clear
 *   <NodeRunBadge id/>       inside a node: state, progress bar, time, error message
 *   <NodePreview id type/>   inside a node: ImageOutput picture, Plot, thumbnails on demand, trainer controls
 *   <TrainPanel/>            side panel: Train / Pause / Stop, live loss curves, steps/s, Save checkpoint
 *
 * Nothing runs by itself: a run or a training starts only from a button. `window.__weft` exposes the
 * backend, a summary of the last run, the run state and the training history for the e2e tests.
 */
import { useEffect, useState, type ReactNode } from 'react';
import type { GraphDoc } from '../../graph/index.ts';
import type { BackendRequest, TensorData } from '../../runtime/index.ts';
import { putWeights } from '../persist/weights.ts';
import { pageRuntime, parseBackend } from '../runtime.ts';
import { DocContext, RunContext, weftHook, type WeftHook } from './context.ts';
import { RunSession, type EditFn, type RunSnapshot } from './session.ts';
import './run.css';

export type { EditFn, NodeRunState, NodeRunStatus, RunSnapshot, RunStatus, TrainPhase, TrainState } from './session.ts';
export { useImageOutputs, useNodeRun, useRunSelect, useRunSession, type WeftHook } from './context.ts';
export { RunToolbar } from './Toolbar.tsx';
export { NodeRunBadge, NodePreview } from './NodeViews.tsx';
export { TrainPanel } from './TrainPanel.tsx';

function requestedBackend(): { backend: BackendRequest; error?: string } {
  try {
    return { backend: parseBackend(new URLSearchParams(location.search).get('backend')) };
  } catch (err) {
    return { backend: 'auto', error: (err as Error).message };
  }
}

/** Wraps the editor: owns the runtime, the last run's per-node states and outputs. */
export function RunProvider({ doc, edit, children }: { doc: GraphDoc; edit: EditFn; children: ReactNode }) {
  const [session] = useState(() => new RunSession(doc, { backend: requestedBackend().backend, getRuntime: pageRuntime, putWeights }));
  session.setEdit(edit);
  useEffect(() => session.setDoc(doc), [session, doc]);
  useEffect(() => {
    const { error } = requestedBackend();
    if (error) weftHook().error = error;
    void session.start().then(() => error && session.notice(`${error} (using auto)`));
    const publish = () => exposeForTests(session.getSnapshot());
    publish();
    return session.subscribe(publish);
  }, [session]);
  return (
    <RunContext.Provider value={session}>
      <DocContext.Provider value={doc}>{children}</DocContext.Provider>
    </RunContext.Provider>
  );
}

const isTensorData = (v: unknown): v is TensorData =>
  typeof v === 'object' && v !== null && Array.isArray((v as TensorData).shape) && ArrayBuffer.isView((v as TensorData).data);

let lastPublished: RunSnapshot | undefined;
function exposeForTests(s: RunSnapshot): void {
  const hook = weftHook();
  if (s.backend) hook.backend = s.backend;
  if (s.error) hook.error = s.error;
  const t = s.train;
  const losses: Record<string, number[]> = {};
  for (const h of t.history) for (const [id, v] of Object.entries(h.losses)) (losses[id] ??= []).push(v);
  hook.run = { status: s.status, states: s.states, train: { phase: t.phase, stepsDone: t.stepsDone, losses, stepsPerSec: t.stepsPerSec, checkpoint: t.checkpoint, message: t.message } };
  if (s.lastRun && s.lastRun !== lastPublished?.lastRun) {
    const outputs: NonNullable<WeftHook['lastResult']>['outputs'] = {};
    for (const [id, ports] of Object.entries(s.outputs)) {
      outputs[id] = {};
      for (const [port, v] of Object.entries(ports)) outputs[id][port] = isTensorData(v) ? v.shape : typeof v === 'number' ? v : String(v);
    }
    const ids = Object.keys(s.images);
    const shown = ids.includes('preview') ? 'preview' : ids[0];
    const image = shown ? { nodeId: shown, width: s.images[shown].width, height: s.images[shown].height } : undefined;
    hook.lastResult = { ms: s.lastRun.ms, nodes: s.lastRun.nodes, outputs, ...(image ? { image } : {}) };
  }
  lastPublished = s;
}
