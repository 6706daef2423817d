/**
 * The editor's run and training state, outside React: one RunSession per page owns the runtime
 * choice, the last run's per-node states and outputs, on-demand tensor peeks and the training loop
 * (Train / Pause / Stop / Save checkpoint). React reads it through useSyncExternalStore (index.tsx);
 * tests drive it directly with a Node runtime.
 *
 * Per-node state comes from the runtime's events:
 *   run-started → every node the run needs is queued;  node-started → running;
 *   node-progress → running with done/total (sampler steps, training steps);
 *   node-finished → done (with ms) or cached;  node-error → error (with the message).
 *
 * Training: Pause and Stop both abort rt.train between steps (the models stay trained in the
 * runtime's cache, Adam's moments in its optimizer store). Resume after Pause continues to the same
 * target step; Train after Stop trains another `iterations` steps; both continue the step count, so
 * a Dataset serves the next batches rather than the first ones again. Reset drops the history and
 * the cached models (they rebuild from their seeds or weights files).
 */
import { GraphError, type GraphDoc, type GraphIssue } from '../../graph/index.ts';
import {
  canonicalJson,
  imageGrid,
  recipeKey,
  serializeSafetensors,
  type BackendInfo,
  type BackendRequest,
  type CacheStats,
  type NamedTensor,
  type OutputValue,
  type RGBAImage,
  type RunEvent,
  type Runtime,
  type TensorData,
  type TrainStep,
} from '../../runtime/index.ts';

export type NodeRunStatus = 'idle' | 'queued' | 'running' | 'cached' | 'done' | 'error';
export interface NodeRunState {
  status: NodeRunStatus;
  ms?: number;
  /** 0..1 while a sampler or trainer reports steps */
  progress?: number;
  message?: string;
  /** "step 3/10" while a node reports progress. */
  detail?: string;
}

export type RunStatus = 'idle' | 'running' | 'done' | 'error' | 'stopped';
export type TrainPhase = 'idle' | 'training' | 'paused' | 'stopped' | 'done' | 'error';
export type PortValues = Record<string, OutputValue | OutputValue[]>;

export interface TrainState {
  phase: TrainPhase;
  trainer?: string;
  /** Every step trained in this session, in order (losses by optimizer id). */
  history: TrainStep[];
  /** The next step to train (= steps done, counted from 0). */
  stepsDone: number;
  /** The step the current (or paused) training run stops at. */
  target: number;
  stepsPerSec?: number;
  message?: string;
  /** The last checkpoint saved: the step and each builder's new `weights` reference. */
  checkpoint?: { step: number; refs: Record<string, string> };
  saving?: boolean;
}

export type CacheView = CacheStats & { backendBytes: number; numTensors: number; gpuBytes?: number };

export interface RunSnapshot {
  backendRequest: BackendRequest;
  backend?: BackendInfo;
  status: RunStatus;
  error?: string;
  states: Record<string, NodeRunState>;
  /** The last run's display values by node id, then port. */
  outputs: Record<string, PortValues>;
  /** ImageOutput pictures of the last run, gridded as the CLI's PNGs are. */
  images: Record<string, RGBAImage>;
  /** Values read on demand (a node's thumbnail button), by node id, then port. */
  peeks: Record<string, PortValues>;
  cache?: CacheView;
  train: TrainState;
  lastRun?: { ms: number; nodes: Record<string, { status: 'ran' | 'cached'; ms: number; bytes: number }> };
}

export interface SessionOptions {
  backend: BackendRequest;
  getRuntime(backend: BackendRequest): Promise<Runtime>;
  /** Stores checkpoint weights (IndexedDB in the page) and returns the key to reference them by. */
  putWeights?(key: string, bytes: Uint8Array): Promise<string>;
}

/** An undoable edit of the open graph (the editor's store). */
export type EditFn = (label: string, recipe: (draft: GraphDoc) => void) => void;

const emptyTrain = (): TrainState => ({ phase: 'idle', history: [], stepsDone: 0, target: 0 });
const isTensorData = (v: unknown): v is TensorData =>
  typeof v === 'object' && v !== null && Array.isArray((v as TensorData).shape) && ArrayBuffer.isView((v as TensorData).data);
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
/** Each node's recipe key without run-time extras (weights digests, trained versions): what an edit changes. */
function recipesOf(rt: Runtime, doc: GraphDoc): Map<string, string> {
  const keys = new Map<string, string>();
  const plan = rt.compile(doc).plan;
  if (plan) for (const n of plan.nodes) keys.set(n.id, recipeKey(n, keys, rt.backend.name));
  return keys;
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'graph';

export class RunSession {
  private snap: RunSnapshot;
  private readonly listeners = new Set<() => void>();
  private doc: GraphDoc;
  private edit: EditFn = () => {};
  private runAbort?: AbortController;
  private trainAbort?: AbortController;
  private pauseRequested = false;
  private pinned: string[] = [];
  private rtPromise?: Promise<Runtime>;
  private runtime?: Runtime;
  /** Each node's recipe at the last run or training, to tell which states an edit made stale. */
  private recipes = new Map<string, string>();

  constructor(
    doc: GraphDoc,
    private readonly opts: SessionOptions,
  ) {
    this.doc = doc;
    this.snap = { backendRequest: opts.backend, status: 'idle', states: {}, outputs: {}, images: {}, peeks: {}, train: emptyTrain() };
  }

  // ---- the store React subscribes to -----------------------------------------------------------

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  getSnapshot = (): RunSnapshot => this.snap;

  private set(patch: Partial<RunSnapshot>): void {
    this.snap = { ...this.snap, ...patch };
    for (const fn of this.listeners) fn();
  }
  private setTrain(patch: Partial<TrainState>): void {
    this.set({ train: { ...this.snap.train, ...patch } });
  }
  private setNode(id: string, state: NodeRunState): void {
    this.set({ states: { ...this.snap.states, [id]: state } });
  }

  /**
   * The open graph changed: nodes whose recipe (kind, params, inputs' recipes) changed since the
   * last run lose their state, outputs and pictures, so a badge never claims "cached" or "done"
   * for what was edited and a picture never stands for a graph that would not draw it. When
   * nothing of the last run is left (another graph was opened), the status goes back to idle.
   */
  setDoc(doc: GraphDoc): void {
    if (doc === this.doc) return;
    this.doc = doc;
    if (!this.recipes.size || !this.runtime || this.busy) return;
    const now = recipesOf(this.runtime, doc);
    const stale = (id: string) => now.get(id) !== this.recipes.get(id);
    const keep = <T,>(m: Record<string, T>) => Object.fromEntries(Object.entries(m).filter(([id]) => !stale(id)));
    const s = this.snap;
    if (![...Object.keys(s.states), ...Object.keys(s.outputs), ...Object.keys(s.peeks)].some(stale)) return;
    const states = keep(s.states);
    const left = Object.keys(states).length > 0;
    this.set({
      states,
      outputs: keep(s.outputs),
      images: keep(s.images),
      peeks: keep(s.peeks),
      ...(left ? {} : { status: 'idle' as const, error: undefined, lastRun: undefined }),
    });
  }

  /** Message for a problem found outside a run (an unknown ?backend=). */
  notice(message: string): void {
    this.set({ status: 'error', error: message });
  }
  setEdit(edit: EditFn): void {
    this.edit = edit;
  }
  get busy(): boolean {
    return this.snap.status === 'running' || this.snap.train.phase === 'training';
  }

  // ---- backend ----------------------------------------------------------------------------------

  /** Starts (or switches to) the runtime for a backend request; runs nothing. */
  async start(request: BackendRequest = this.snap.backendRequest): Promise<Runtime | undefined> {
    if (request !== this.snap.backendRequest || !this.rtPromise) {
      if (this.busy && request !== this.snap.backendRequest) return undefined;
      this.unpinAll();
      // Another backend is another cache: states, outputs and trained models belong to the old one.
      this.set({ backendRequest: request, backend: undefined, status: 'idle', error: undefined, states: {}, outputs: {}, images: {}, peeks: {}, cache: undefined, train: emptyTrain() });
      this.rtPromise = this.opts.getRuntime(request);
    }
    const pending = this.rtPromise;
    try {
      const rt = await pending;
      if (pending === this.rtPromise && this.snap.backend !== rt.backend) {
        this.runtime = rt;
        this.recipes.clear();
        this.set({ backend: rt.backend, cache: rt.cacheStats() });
      }
      return rt;
    } catch (err) {
      if (pending === this.rtPromise) {
        this.rtPromise = undefined;
        this.set({ status: 'error', error: `cannot start the ${request} backend: ${messageOf(err)}` });
      }
      return undefined;
    }
  }

  // ---- runs -------------------------------------------------------------------------------------

  async run(): Promise<void> {
    if (this.busy) return;
    const rt = await this.start();
    if (!rt || this.busy) return;
    this.set({ status: 'running', error: undefined, states: {} });
    const doc = this.doc;
    this.recipes = recipesOf(rt, doc);
    const abort = (this.runAbort = new AbortController());
    try {
      const res = await rt.run(doc, { signal: abort.signal, onEvent: (e) => this.onEvent(e) });
      const images: Record<string, RGBAImage> = {};
      const plan = rt.compile(doc).plan;
      for (const [id, ports] of Object.entries(res.outputs)) {
        const node = plan?.byId.get(id);
        if (node?.kind.type === 'ImageOutput' && isTensorData(ports.image)) images[id] = imageGrid(ports.image, Number(node.params.columns ?? 0));
      }
      // Pin what the previews show, so the cache keeps it while it is on screen.
      this.unpinAll();
      for (const id of Object.keys(images)) if (res.nodes[id] && rt.pin(res.nodes[id].key)) this.pinned.push(res.nodes[id].key);
      const nodes = Object.fromEntries(Object.entries(res.nodes).map(([id, n]) => [id, { status: n.status, ms: n.ms, bytes: n.bytes }]));
      this.set({ status: 'done', outputs: res.outputs, images, peeks: {}, lastRun: { ms: res.ms, nodes } });
    } catch (err) {
      this.failed(err, abort.signal.aborted, (s) => this.set({ status: s }));
    } finally {
      this.runAbort = undefined;
      this.set({ cache: rt.cacheStats() });
    }
  }

  /** Stop: cancels the run between nodes or sampler steps, or the training between steps. */
  stop(): void {
    this.runAbort?.abort();
    if (this.snap.train.phase === 'training') this.stopTraining();
  }

  /** Reads every output of one node (the thumbnail button): a run of just what it needs, mostly cache hits. */
  async peek(nodeId: string): Promise<void> {
    if (this.busy) return;
    const rt = await this.start();
    if (!rt || this.busy) return;
    this.set({ status: 'running', error: undefined });
    try {
      const res = await rt.run(this.doc, { outputs: [nodeId], onEvent: (e) => this.onEvent(e, false) });
      this.set({ status: 'done', peeks: { ...this.snap.peeks, [nodeId]: res.outputs[nodeId] ?? {} } });
    } catch (err) {
      this.failed(err, false, (s) => this.set({ status: s }));
    } finally {
      this.set({ cache: rt.cacheStats() });
    }
  }

  async clearCache(): Promise<void> {
    if (this.busy) return;
    const rt = await this.start();
    if (!rt) return;
    this.unpinAll();
    rt.clearCache();
    this.set({ cache: rt.cacheStats() });
  }

  private unpinAll(): void {
    const rt = this.rtPromise;
    const keys = this.pinned;
    this.pinned = [];
    if (keys.length && rt) void rt.then((r) => keys.forEach((k) => r.pin(k, false)), () => {});
  }

  private onEvent(e: RunEvent, queue = true): void {
    switch (e.type) {
      case 'run-started':
        if (queue) {
          const states = { ...this.snap.states };
          for (const id of e.nodes) states[id] = { status: 'queued' };
          this.set({ states });
        }
        return;
      case 'node-started':
        return this.setNode(e.nodeId, { status: 'running' });
      case 'node-progress': {
        if (e.nodeId === this.snap.train.trainer && this.snap.train.phase === 'training') return this.onTrainStep(e);
        return this.setNode(e.nodeId, { status: 'running', progress: e.total ? e.done / e.total : undefined, detail: `step ${e.done}/${e.total}` });
      }
      case 'node-finished':
        return this.setNode(e.nodeId, { status: e.status === 'cached' ? 'cached' : 'done', ms: e.ms });
      case 'node-error':
        // a cancel is reported on the node it landed in; that node did not fail
        return this.setNode(e.nodeId, e.error.code === 'cancelled' ? { status: 'idle' } : { status: 'error', message: e.error.message });
      case 'run-finished':
        return;
    }
  }

  /** After a failed or cancelled run: nodes left queued or running go back to idle; errors land on their nodes. */
  private failed(err: unknown, cancelled: boolean, setStatus: (s: RunStatus) => void): void {
    const states = { ...this.snap.states };
    for (const [id, s] of Object.entries(states)) if (s.status === 'queued' || s.status === 'running') states[id] = { status: 'idle' };
    const issues: GraphIssue[] = err instanceof GraphError ? err.errors : [];
    const isCancel = cancelled || (issues.length > 0 && issues.every((i) => i.code === 'cancelled'));
    if (!isCancel) for (const i of issues) if (i.nodeId) states[i.nodeId] = { status: 'error', message: i.message };
    this.set({ states, error: isCancel ? undefined : messageOf(err) });
    setStatus(isCancel ? 'stopped' : 'error');
  }

  // ---- training ---------------------------------------------------------------------------------

  /** The trainer node ids of the open graph. */
  trainers(): string[] {
    return this.doc.nodes.filter((n) => n.type === 'Trainer').map((n) => n.id);
  }

  /** Train, or resume after Pause. Continues the step count of the same trainer. */
  async train(trainerId?: string): Promise<void> {
    if (this.busy) return;
    const rt = await this.start();
    if (!rt) return;
    const doc = this.doc;
    const { plan, errors } = rt.compile(doc);
    if (!plan) return this.failed(new GraphError(errors), false, (s) => this.set({ status: s }));
    const trainer = trainerId ?? plan.nodes.find((n) => n.kind.training?.role === 'trainer')?.id;
    const node = trainer ? plan.byId.get(trainer) : undefined;
    if (!trainer || !node) return this.setTrain({ phase: 'error', message: 'this graph has no Trainer node' });
    this.recipes = recipesOf(rt, doc);
    const t = this.snap.train.trainer === trainer ? this.snap.train : { ...emptyTrain(), trainer };
    const start = t.stepsDone;
    const target = t.phase === 'paused' && t.target > start ? t.target : start + Number(node.params.iterations);
    this.pauseRequested = false;
    const abort = (this.trainAbort = new AbortController());
    this.stepTimes = [];
    this.set({ error: undefined, train: { ...t, trainer, phase: 'training', target, message: undefined, stepsPerSec: undefined } });
    this.setNode(trainer, { status: 'running', progress: start / target, detail: `step ${start}/${target}` });
    try {
      const optimizerState = this.savedOptimizerState(doc);
      const res = await rt.train(doc, { trainer, steps: target - start, startStep: start, signal: abort.signal, onEvent: (e) => this.onEvent(e), ...(optimizerState ? { optimizerState } : {}) });
      this.setTrain({ phase: 'done', message: `trained to step ${this.snap.train.stepsDone}` });
      this.setNode(trainer, { status: 'done', ms: res.ms, detail: `step ${this.snap.train.stepsDone}/${target}` });
    } catch (err) {
      const cancelled = abort.signal.aborted;
      const done = this.snap.train.stepsDone;
      if (cancelled) {
        const phase = this.pauseRequested ? 'paused' : 'stopped';
        this.setTrain({ phase, message: `${phase} at step ${done}` });
        this.setNode(trainer, { status: 'idle', detail: `${phase} at step ${done}/${target}` });
      } else {
        this.failed(err, false, () => {});
        this.setTrain({ phase: 'error', message: messageOf(err) });
      }
    } finally {
      this.trainAbort = undefined;
      this.set({ cache: rt.cacheStats() });
    }
  }

  pause(): void {
    if (this.snap.train.phase !== 'training') return;
    this.pauseRequested = true;
    this.trainAbort?.abort();
  }

  stopTraining(): void {
    if (this.snap.train.phase === 'paused') return this.setTrain({ phase: 'stopped', message: `stopped at step ${this.snap.train.stepsDone}` });
    if (this.snap.train.phase !== 'training') return;
    this.pauseRequested = false;
    this.trainAbort?.abort();
  }

  /** Forget the history and the trained models (they rebuild from their seeds or weights). */
  async resetTraining(): Promise<void> {
    if (this.busy) return;
    this.set({ train: emptyTrain(), states: {} });
    await this.clearCache();
  }

  /**
   * The optimizer state saved with the last checkpoint, handed to the first Train after it: the
   * builders then rebuild from the stored weights (new models, so the runtime's optimizers would
   * start from zero), and this carries Adam's moments over, so training on continues the straight
   * run exactly. Only while the graph still points at those weights, and per optimizer only while
   * its params are unchanged.
   */
  private afterCheckpoint?: { refs: Record<string, string>; state: Record<string, Map<string, NamedTensor>>; params: Record<string, string> };
  private savedOptimizerState(doc: GraphDoc): Record<string, Map<string, NamedTensor>> | undefined {
    const saved = this.afterCheckpoint;
    this.afterCheckpoint = undefined;
    if (!saved) return undefined;
    const byId = new Map(doc.nodes.map((n) => [n.id, n]));
    if (!Object.entries(saved.refs).every(([id, ref]) => byId.get(id)?.params.weights === ref)) return undefined;
    const state = Object.fromEntries(Object.entries(saved.state).filter(([id]) => byId.has(id) && canonicalJson(byId.get(id)!.params) === saved.params[id]));
    return Object.keys(state).length ? state : undefined;
  }

  private stepTimes: number[] = [];
  private onTrainStep(e: Extract<RunEvent, { type: 'node-progress' }>): void {
    const step = e.info as unknown as TrainStep;
    const now = performance.now();
    this.stepTimes.push(now);
    if (this.stepTimes.length > 20) this.stepTimes.shift();
    const n = this.stepTimes.length;
    const stepsPerSec = n > 1 ? ((n - 1) * 1000) / (now - this.stepTimes[0]) : undefined;
    const t = this.snap.train;
    const stepsDone = step.step + 1;
    this.set({
      train: { ...t, history: [...t.history, { step: step.step, losses: step.losses, skipped: step.skipped }], stepsDone, ...(stepsPerSec ? { stepsPerSec } : {}) },
      states: { ...this.snap.states, [e.nodeId]: { status: 'running', progress: stepsDone / t.target, detail: `step ${stepsDone}/${t.target}` } },
    });
  }

  /**
   * Save checkpoint: read the trained models' weights back (zero training steps), store each as
   * safetensors (IndexedDB in the page) and point its builder's `weights` param at it, as one
   * undoable edit, so the graph references what was trained.
   */
  async saveCheckpoint(): Promise<void> {
    const t = this.snap.train;
    if (this.busy || !t.trainer || !t.history.length || !this.opts.putWeights) return;
    const rt = await this.start();
    if (!rt) return;
    const doc = this.doc;
    this.setTrain({ saving: true, message: 'saving…' });
    try {
      const res = await rt.train(doc, { trainer: t.trainer, steps: 0, startStep: t.stepsDone, exportWeights: true });
      const refs: Record<string, string> = {};
      for (const [builder, tensors] of Object.entries(res.weights ?? {})) {
        const metadata = { graph: doc.name, node: builder, step: String(t.stepsDone), backend: rt.backend.name };
        const key = `${slug(doc.name)}/${builder}/step-${t.stepsDone}`;
        const stored = await this.opts.putWeights(key, serializeSafetensors(tensors, metadata));
        refs[builder] = `idb:${stored || key}`;
      }
      if (!Object.keys(refs).length) throw new Error('no trained model exports weights');
      const params = Object.fromEntries(doc.nodes.filter((n) => res.optimizerState?.[n.id]).map((n) => [n.id, canonicalJson(n.params)]));
      this.afterCheckpoint = res.optimizerState ? { refs, state: res.optimizerState, params } : undefined;
      this.edit(`Use the weights trained to step ${t.stepsDone}`, (draft) => {
        for (const n of draft.nodes) if (refs[n.id]) n.params.weights = refs[n.id];
      });
      this.setTrain({ saving: false, checkpoint: { step: t.stepsDone, refs }, message: `saved step ${t.stepsDone}: ${Object.keys(refs).join(', ')}` });
    } catch (err) {
      this.setTrain({ saving: false, message: `could not save the checkpoint: ${messageOf(err)}` });
    } finally {
      this.set({ cache: rt.cacheStats() });
    }
  }
}
