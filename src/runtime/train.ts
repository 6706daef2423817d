/**
 * Training over the same graph that generates. Optimizer nodes name a loss and the models they
 * update; a trainer node lists its optimizers in the order they step (GAN: D then G). Each step,
 * for each optimizer in turn:
 *
 *   1. run the loss's subgraph forward for this step, synchronously, under tf.variableGrads:
 *      stochastic nodes (noise, data) draw from (seed, step), so every step sees a fresh batch
 *   2. clip the gradients' global norm; skip the update when the loss is outside the band
 *   3. apply the update, and bump each model's version so the cache never serves stale results
 *
 * Nodes split in two. Static nodes do not change between steps (builders, which output models
 * whose variables are trained in place, and whatever feeds only them): they run once, through the
 * ordinary cached execution. Dynamic nodes (stochastic, consuming a model, or fed by a dynamic
 * node) run every step, inside the gradient tape, so their `run` must be synchronous.
 */
import * as tf from '@tensorflow/tfjs';
import { GraphError, type GraphIssue } from '../graph/index.ts';
import type { TensorCache } from './cache.ts';
import type { Plan, PlanNode } from './compile.ts';
import type { TrainingRole } from './define.ts';
import { execute, NEVER, noFiles, yieldToEventLoop, type RunEvent } from './execute.ts';
import { canonicalJson } from './hash.ts';
import type { NamedTensor } from './safetensors.ts';
import { isResource, isTensor, type Value, type Values } from './values.ts';

/** A model whose variables an optimizer can update (ModelHandle, flows). */
export interface Trainable {
  variables(): tf.Variable[];
  version?: number;
}
const isTrainable = (v: unknown): v is Trainable & { version: number } => isResource(v) && typeof (v as unknown as Trainable).variables === 'function';

export interface TrainOptions {
  steps: number;
  /** The first step's number (resume from a checkpoint at its step). */
  startStep?: number;
  /** The trainer node to run (default: the only one). */
  trainer?: string;
  signal?: AbortSignal;
  onEvent?: (e: RunEvent) => void;
  /** Read the trained models' weights and the optimizers' state back at the end (for checkpoints): TrainResult.weights and .optimizerState. */
  exportWeights?: boolean;
  /** Optimizer state to continue from (a checkpoint's TrainResult.optimizerState), by optimizer node id. */
  optimizerState?: Record<string, Map<string, NamedTensor>>;
}

export interface TrainStep {
  step: number;
  /** Loss per optimizer node id, before its update. */
  losses: Record<string, number>;
  /** Optimizers whose update was skipped by their band. */
  skipped: string[];
}

export interface TrainResult {
  trainer: string;
  history: TrainStep[];
  ms: number;
  /** With exportWeights: each trained model's weights by builder node id (safetensors-ready). */
  weights?: Record<string, Map<string, NamedTensor>>;
  /**
   * With exportWeights: the averaged weights (an exponential moving average over the updates) of
   * each model whose optimizer keeps one (Optimizer.ema set), by builder node id, in the
   * same form as `weights`. Generate from these; resume from `weights` and `optimizerState`.
   */
  averaged?: Record<string, Map<string, NamedTensor>>;
  /**
   * With exportWeights: each optimizer's state by optimizer node id: `iter` (updates applied) and
   * per trained variable `<builder>.<k>/<slot>` (slot m and v for Adam, momentum for SGD with
   * momentum; k counts the builder's variables in order), so a resumed run continues the same
   * trajectory instead of restarting Adam's moments from zero; slot `ema` holds the running
   * average of an optimizer that keeps one.
   */
  optimizerState?: Record<string, Map<string, NamedTensor>>;
}

interface OptimizerPlan {
  node: PlanNode;
  spec: Extract<TrainingRole<any>, { role: 'optimizer' }>;
  loss: { node: string; port: string };
  models: Array<{ node: string; port: string }>;
  /** Dynamic nodes the loss needs, in topological order. */
  forward: PlanNode[];
}

/**
 * Optimizer state (Adam moments, and the weight averages of an optimizer with `ema` set) lives
 * as long as the runtime, so training resumes smoothly.
 */
export type OptimizerStore = Map<string, StoredOptimizer>;

export interface StoredOptimizer {
  optimizer: tf.Optimizer;
  /** The exponential moving average of each updated variable (in the order of the optimizer's models' variables()). */
  averages?: tf.Variable[];
  dispose(): void;
}

const fail = (code: GraphIssue['code'], nodeId: string | undefined, message: string): never => {
  throw new GraphError([{ code, ...(nodeId ? { nodeId } : {}), message }]);
};

export function planTraining(plan: Plan, trainerId?: string): { trainer: PlanNode; optimizers: OptimizerPlan[]; statics: string[] } {
  const trainers = plan.nodes.filter((n) => n.kind.training?.role === 'trainer');
  const trainer = trainerId ? plan.byId.get(trainerId) : trainers[0];
  if (!trainer || trainer.kind.training?.role !== 'trainer') {
    return fail('not-trainable', trainerId, trainerId ? `"${trainerId}" is not a trainer node` : 'this graph has no trainer node');
  }
  if (!trainerId && trainers.length > 1) fail('not-trainable', undefined, `this graph has ${trainers.length} trainers (${trainers.map((t) => t.id).join(', ')}); name one`);

  const dynamic = new Set<string>();
  for (const n of plan.nodes) {
    const outputsModel = Object.values(n.kind.outputs).some((p) => p.kind === 'model');
    const consumesModel = Object.entries(n.inputs).some(([port, srcs]) => srcs.length && n.kind.inputs[port].kind === 'model');
    const fedByDynamic = Object.values(n.inputs).some((srcs) => srcs.some((s) => dynamic.has(s.node)));
    if (!outputsModel && (n.kind.stochastic || consumesModel || fedByDynamic)) dynamic.add(n.id);
  }

  const optimizers: OptimizerPlan[] = [];
  const statics = new Set<string>();
  const optimizerSources = Object.values(trainer.inputs).flat();
  if (!optimizerSources.length) fail('not-trainable', trainer.id, 'the trainer has no optimizers connected');
  for (const src of optimizerSources) {
    const node = plan.byId.get(src.node)!;
    const spec = node.kind.training;
    if (spec?.role !== 'optimizer') return fail('not-trainable', node.id, `${node.kind.type} is not an optimizer`);
    const loss = node.inputs.loss?.[0];
    const models = node.inputs.models ?? [];
    if (!loss) fail('not-trainable', node.id, 'the optimizer has no loss connected');
    if (!models.length) fail('not-trainable', node.id, 'the optimizer updates no models');
    // The loss's ancestors: dynamic ones run each step, static ones feeding them run once.
    const seen = new Set<string>();
    const stack = [loss.node];
    while (stack.length) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const n = plan.byId.get(id)!;
      if (!dynamic.has(id)) {
        statics.add(id);
        continue;
      }
      if (n.kind.run.constructor.name === 'AsyncFunction') {
        fail('not-trainable', id, `${n.kind.type} runs asynchronously, so it cannot run inside a training step`);
      }
      if (n.kind.differentiable === false) {
        fail('not-trainable', id, `${n.kind.type} has no gradient, so it cannot sit between a model and the loss "${loss.node}"`);
      }
      for (const srcs of Object.values(n.inputs)) for (const s of srcs) stack.push(s.node);
    }
    if (!dynamic.has(loss.node)) fail('not-trainable', node.id, `the loss "${loss.node}" does not depend on any model, so training cannot change it`);
    for (const m of models) statics.add(m.node);
    const forward = plan.nodes.filter((n) => seen.has(n.id) && dynamic.has(n.id));
    optimizers.push({ node, spec, loss, models, forward });
  }
  return { trainer, optimizers, statics: [...statics] };
}

export async function train(
  plan: Plan,
  opts: TrainOptions & { cache: TensorCache; backend: string; readFile?: (path: string) => Promise<Uint8Array>; store: OptimizerStore },
): Promise<TrainResult> {
  const t0 = performance.now();
  const emit = opts.onEvent ?? (() => {});
  const { trainer, optimizers, statics } = planTraining(plan, opts.trainer);
  const base = await execute(plan, { outputs: [], hold: statics, backend: opts.backend, cache: opts.cache, readFile: opts.readFile, signal: opts.signal, onEvent: emit });
  const held = base.held!;
  try {
    for (const n of new Set(optimizers.flatMap((o) => o.forward))) await n.kind.prepare?.(n.params, { readFile: opts.readFile ?? noFiles });
  } catch (err) {
    held.release();
    throw err instanceof GraphError ? err : new GraphError([{ code: 'node-failed', message: `preparing for training: ${(err as Error).message}` }]);
  }
  const history: TrainStep[] = [];
  let weights: TrainResult['weights'];
  let averaged: TrainResult['averaged'];
  let optimizerState: TrainResult['optimizerState'];
  try {
    const models = optimizers.map((o) =>
      o.models.map((m) => {
        const v = held.values.get(m.node)![m.port];
        if (!isTrainable(v)) return fail('not-trainable', o.node.id, `"${m.node}.${m.port}" is not a trainable model`);
        return v;
      }),
    );
    const start = opts.startStep ?? 0;
    for (const [k, o] of optimizers.entries()) {
      const state = opts.optimizerState?.[o.node.id];
      if (state) await restoreOptimizer(o, models[k], state, opts.store);
    }
    if (opts.steps > 0) for (const [k, o] of optimizers.entries()) checkGradients(o, models[k], start, held.values);
    for (let i = 0; i < opts.steps; i++) {
      await yieldToEventLoop(); // let Stop / Ctrl-C in between steps
      if (opts.signal?.aborted) fail('cancelled', trainer.id, `training was cancelled after ${i} steps`);
      const step = start + i;
      const record: TrainStep = { step, losses: {}, skipped: [] };
      for (const [k, o] of optimizers.entries()) {
        const loss = await stepOptimizer(o, models[k], step, held.values, opts);
        record.losses[o.node.id] = loss.value;
        if (loss.skipped) record.skipped.push(o.node.id);
      }
      history.push(record);
      emit({ type: 'node-progress', nodeId: trainer.id, done: i + 1, total: opts.steps, info: { step, losses: record.losses, skipped: record.skipped } });
    }
    if (opts.exportWeights) {
      weights = {};
      for (const o of optimizers) {
        for (const m of o.models) {
          const exportWeights = exporterOf(held.values, m);
          if (exportWeights) weights[m.node] = await exportWeights();
        }
      }
      averaged = await exportAverages(optimizers, models, held.values, opts.store);
      optimizerState = {};
      for (const [k, o] of optimizers.entries()) optimizerState[o.node.id] = await exportOptimizer(o, models[k], opts.store);
    }
  } finally {
    held.release();
  }
  return { trainer: trainer.id, history, ms: performance.now() - t0, ...(weights ? { weights, optimizerState } : {}), ...(averaged && Object.keys(averaged).length ? { averaged } : {}) };
}

async function stepOptimizer(
  o: OptimizerPlan,
  models: Array<Trainable & { version: number }>,
  step: number,
  statics: Map<string, Values>,
  opts: { store: OptimizerStore; backend: string },
): Promise<{ value: number; skipped: boolean }> {
  const vars = models.flatMap((m) => m.variables());
  let value: tf.Scalar;
  let grads: tf.NamedTensorMap;
  // Our own scope around the tape: when tf.variableGrads throws it leaks what it had made (see
  // ENVIRONMENT.md), and ending the scope frees exactly that.
  tf.engine().startScope();
  try {
    ({ value, grads } = tf.variableGrads(() => forwardLoss(o, step, statics), vars));
    tf.engine().endScope([value, ...Object.values(grads)]);
  } catch (err) {
    tf.engine().endScope();
    freeAbandonedTape();
    if (err instanceof GraphError) throw err;
    const msg = (err as Error).message ?? String(err);
    const op = /gradient function not found for (\w+)/i.exec(msg)?.[1];
    return fail('node-failed', o.node.id, op ? `no gradient for the op ${op} on the ${opts.backend} backend` : `a training step failed: ${msg}`);
  }
  const lossValue = (await value.data())[0]; // not dataSync: WebGPU in Node cannot read synchronously
  value.dispose();
  const band = o.spec.band?.(o.node.params) ?? null;
  const skipped = !Number.isFinite(lossValue) || (band !== null && (lossValue < band[0] || lossValue > band[1]));
  const entry = optimizerFor(o, models, opts.store);
  if (!skipped) {
    const clip = o.spec.clipNorm?.(o.node.params) ?? 0;
    const clipped = clip > 0 ? clipByGlobalNorm(grads, clip) : grads;
    entry.optimizer.applyGradients(clipped);
    if (clipped !== grads) tf.dispose(Object.values(clipped));
    for (const m of models) m.version = (m.version ?? 0) + 1;
    const decay = decayOf(o);
    if (decay > 0) updateAverages(entry, vars, decay);
  }
  tf.dispose(Object.values(grads));
  return { value: lossValue, skipped };
}

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  gradient?: unknown;
  saved?: tf.Tensor[];
}
const engineState = () => (tf.engine() as unknown as { state: { gradientDepth: number; activeTape: TapeNode[] | null } }).state;
/** Which graph node recorded which stretch of the tape: [from, to) indices. */
type TapeSpans = Array<{ node: PlanNode; from: number; to: number }>;
const PROBED = Symbol('probed');

/**
 * Before the first update, each optimizer's loss runs forward once on the gradient tape and stops
 * there, without the backward pass. An op on a path from the optimizer's models to its loss that
 * has no gradient (tfjs's gradient registry is global, so none on any backend) is refused now,
 * naming the node that ran it and the op, instead of failing inside a step after other optimizers
 * have already changed their models.
 */
function checkGradients(o: OptimizerPlan, models: Trainable[], step: number, statics: Map<string, Values>): void {
  const vars = models.flatMap((m) => m.variables());
  const spans: TapeSpans = [];
  let missing: { node: PlanNode; op: string } | undefined;
  tf.engine().startScope();
  try {
    tf.variableGrads(() => {
      const loss = forwardLoss(o, step, statics, spans);
      missing = missingGradient(engineState().activeTape ?? [], vars, loss, spans);
      throw PROBED;
    }, vars);
  } catch (err) {
    if (err !== PROBED) {
      if (err instanceof GraphError) throw err;
      fail('node-failed', o.node.id, `a training step failed: ${(err as Error)?.message ?? String(err)}`);
    }
  } finally {
    tf.engine().endScope();
    freeAbandonedTape();
  }
  if (missing) {
    fail('not-trainable', missing.node.id, `${missing.node.kind.type} uses the op ${missing.op}, which has no gradient, between the models of "${o.node.id}" and its loss "${o.loss.node}"`);
  }
}

/** The first tape node without a gradient that lies on a path from the variables to the loss (the nodes tfjs would backpropagate through). */
function missingGradient(tape: TapeNode[], vars: tf.Variable[], loss: tf.Tensor, spans: TapeSpans): { node: PlanNode; op: string } | undefined {
  const fromVars = new Set<number>(vars.map((v) => v.id));
  const reached = new Set<number>();
  for (const n of tape) {
    if (Object.values(n.inputs).some((t) => fromVars.has(t.id))) {
      reached.add(n.id);
      for (const t of n.outputs) fromVars.add(t.id);
    }
  }
  const toLoss = new Set<number>([loss.id]);
  const onPath: TapeNode[] = [];
  for (let i = tape.length - 1; i >= 0; i--) {
    const n = tape[i];
    if (!n.outputs.some((t) => toLoss.has(t.id))) continue;
    for (const t of Object.values(n.inputs)) toLoss.add(t.id);
    if (reached.has(n.id)) onPath.push(n);
  }
  const culprit = onPath.reverse().find((n) => n.gradient == null);
  if (!culprit) return undefined;
  const at = tape.indexOf(culprit);
  const span = spans.find((s) => at >= s.from && at < s.to);
  return span ? { node: span.node, op: culprit.kernelName } : undefined;
}

/** The decay of the weight average an optimizer keeps (Optimizer.ema); 0: none. */
const decayOf = (o: OptimizerPlan): number => o.spec.average?.(o.node.params) ?? 0;

/** A trained model's weights exporter (builders' models have one), if it has one. */
function exporterOf(statics: Map<string, Values>, m: { node: string; port: string }): (() => Promise<Map<string, NamedTensor>>) | undefined {
  const v = statics.get(m.node)![m.port] as unknown as { exportWeights?: () => Promise<Map<string, NamedTensor>> };
  return typeof v.exportWeights === 'function' ? () => v.exportWeights!() : undefined;
}

/** One optimizer (and its state: Adam's moments, weight averages) per optimizer node, params and set of models. */
function optimizerFor(o: OptimizerPlan, models: Trainable[], store: OptimizerStore): StoredOptimizer {
  const key = `${o.node.id}:${canonicalJson(o.node.params)}:${models.map((m) => (m as { uid?: number }).uid).join(',')}`;
  let entry = store.get(key);
  if (!entry) {
    for (const [k, stale] of store) if (k.startsWith(`${o.node.id}:`)) stale.dispose(), store.delete(k); // its models were rebuilt
    const optimizer = o.spec.create(o.node.params);
    const created: StoredOptimizer = {
      optimizer,
      dispose() {
        optimizer.dispose();
        tf.dispose(created.averages ?? []);
        created.averages = undefined;
      },
    };
    store.set(key, (entry = created));
  }
  return entry;
}

/**
 * avg ← decay·avg + (1 − decay)·w for every updated variable, after each update applied. The
 * average starts as a copy of the weights after the first update (or comes from a checkpoint);
 * that start's share decays as decay^updates.
 */
function updateAverages(entry: StoredOptimizer, vars: tf.Variable[], decay: number): void {
  if (!entry.averages) {
    entry.averages = vars.map((v) => tf.variable(v, false));
    return;
  }
  tf.tidy(() => {
    for (const [i, v] of vars.entries()) entry.averages![i].assign(tf.add(tf.mul(entry.averages![i], decay), tf.mul(v, 1 - decay)));
  });
}

/** The averaged weights of every model whose optimizer keeps an average: the model's variables swapped for their averages while it exports. */
async function exportAverages(optimizers: OptimizerPlan[], models: Trainable[][], statics: Map<string, Values>, store: OptimizerStore): Promise<Record<string, Map<string, NamedTensor>>> {
  const out: Record<string, Map<string, NamedTensor>> = {};
  for (const [k, o] of optimizers.entries()) {
    const averages = optimizerFor(o, models[k], store).averages; // only an optimizer with ema set has them
    if (!averages) continue;
    let at = 0;
    for (const [i, m] of o.models.entries()) {
      const vars = models[k][i].variables();
      const mine = averages.slice(at, (at += vars.length));
      const exportWeights = exporterOf(statics, m);
      if (!exportWeights) continue;
      const kept = vars.map((x) => x.clone());
      try {
        vars.forEach((x, j) => x.assign(mine[j]));
        out[m.node] = await exportWeights();
      } finally {
        vars.forEach((x, j) => x.assign(kept[j]));
        tf.dispose(kept);
      }
    }
  }
  return out;
}

/** Checkpoint names for an optimizer's variables, by tfjs variable name: `<builder>.<k>`. */
function stateNames(o: OptimizerPlan, models: Trainable[]): Array<{ v: tf.Variable; name: string }> {
  return models.flatMap((m, i) => m.variables().map((v, k) => ({ v, name: `${o.models[i].node}.${k}` })));
}

async function exportOptimizer(o: OptimizerPlan, models: Trainable[], store: OptimizerStore): Promise<Map<string, NamedTensor>> {
  const names = new Map(stateNames(o, models).map(({ v, name }) => [v.name, name]));
  const out = new Map<string, NamedTensor>();
  const entry = optimizerFor(o, models, store);
  const saved = await entry.optimizer.getWeights();
  for (const { name, tensor } of saved) {
    const cut = name.lastIndexOf('/');
    const key = name === 'iter' ? 'iter' : `${names.get(name.slice(0, cut)) ?? name.slice(0, cut)}/${name.slice(cut + 1)}`;
    out.set(key, { dtype: tensor.dtype === 'int32' ? 'int32' : 'float32', shape: tensor.shape, data: (await tensor.data()) as Float32Array | Int32Array });
  }
  saved[0]?.tensor.dispose(); // the iteration count is a fresh scalar; the moments are the optimizer's own variables
  if (entry.averages) {
    for (const [i, { name }] of stateNames(o, models).entries()) {
      const a = entry.averages[i];
      out.set(`${name}/ema`, { dtype: 'float32', shape: a.shape, data: (await a.data()) as Float32Array });
    }
  }
  return out;
}

/** Load saved state into the optimizer: every slot of every trained variable, with its exact shape, and nothing else. */
async function restoreOptimizer(o: OptimizerPlan, models: Trainable[], state: Map<string, NamedTensor>, store: OptimizerStore): Promise<void> {
  const bad = (why: string): never => fail('node-failed', o.node.id, `the saved optimizer state does not fit "${o.node.id}": ${why}`);
  const slots = o.spec.slots?.(o.node.params) ?? [];
  const iter = state.get('iter');
  if (!iter || iter.data.length !== 1) bad('it has no "iter" count');
  const vars = stateNames(o, models);
  const used = new Set(['iter']);
  const values: Array<{ name: string; tensor: tf.Tensor }> = [{ name: 'iter', tensor: tf.scalar(iter!.data[0], 'int32') }];
  try {
    // tfjs optimizers keep their slots by position in the gradient map, whose keys are variable
    // names: the order an object with those keys iterates in (numeric names ascending).
    const byTfName: Record<string, { v: tf.Variable; name: string }> = {};
    for (const e of vars) byTfName[e.v.name] = e;
    for (const slot of slots) {
      for (const { v, name } of Object.values(byTfName)) {
        const t = state.get(`${name}/${slot}`);
        if (!t) continue; // a variable this optimizer never updated (no gradient reached it)
        if (t.shape.join() !== v.shape.join()) bad(`"${name}/${slot}" is [${t.shape}], the variable is [${v.shape}]`);
        used.add(`${name}/${slot}`);
        values.push({ name: `${v.name}/${slot}`, tensor: tf.tensor(t.data, t.shape, 'float32') });
      }
    }
    // The running average (slot "ema"): every variable's or none (then it starts afresh).
    const averages = vars.map(({ v, name }) => {
      const t = state.get(`${name}/ema`);
      if (t) used.add(`${name}/ema`);
      if (t && t.shape.join() !== v.shape.join()) bad(`"${name}/ema" is [${t.shape}], the variable is [${v.shape}]`);
      return t;
    });
    const extra = [...state.keys()].filter((k) => !used.has(k));
    if (extra.length) bad(`unexpected ${extra.slice(0, 3).map((k) => `"${k}"`).join(', ')}${extra.length > 3 ? ` and ${extra.length - 3} more` : ''} (a different optimizer or model)`);
    if (slots.length === 2 && (values.length - 1) % 2) bad('Adam needs both moments of every variable');
    const restoreAverages = averages.some(Boolean) && decayOf(o) > 0;
    if (restoreAverages && !averages.every(Boolean)) bad('it has a running average ("ema") for some variables but not all');
    const entry = optimizerFor(o, models, store);
    await entry.optimizer.setWeights(values);
    if (restoreAverages) {
      tf.dispose(entry.averages ?? []);
      entry.averages = averages.map((t) => {
        const value = tf.tensor(t!.data, t!.shape, 'float32');
        const v = tf.variable(value, false);
        value.dispose();
        return v;
      });
    }
  } finally {
    tf.dispose(values.map((w) => w.tensor));
  }
}

/** The loss for one step: the dynamic nodes, synchronously, inside the gradient tape. */
function forwardLoss(o: OptimizerPlan, step: number, statics: Map<string, Values>, spans?: TapeSpans): tf.Scalar {
  const values = new Map<string, Values>();
  const read = (id: string, port: string): Value => (values.get(id) ?? statics.get(id)!)[port] as Value;
  for (const n of o.forward) {
    const inputs: Record<string, Value | Value[] | undefined> = {};
    for (const [port, spec] of Object.entries(n.kind.inputs)) {
      const vals = (n.inputs[port] ?? []).map((s) => read(s.node, s.port));
      inputs[port] = spec.multi ? vals : vals[0];
    }
    let out: Values | Promise<Values>;
    const from = engineState().activeTape?.length ?? 0;
    try {
      out = n.kind.run({
      nodeId: n.id,
      params: n.params,
      inputs,
      backend: tf.getBackend(),
      signal: NEVER,
      progress: () => {},
      throwIfAborted: () => {},
      readFile: () => Promise.reject(new Error('files cannot be read inside a training step')),
      step,
      });
    } catch (err) {
      if (err instanceof GraphError) throw err;
      return fail('node-failed', n.id, `${n.kind.type} failed in training step ${step}: ${(err as Error)?.message ?? String(err)}`);
    }
    if (out instanceof Promise) {
      out.catch(() => {});
      fail('not-trainable', n.id, `${n.kind.type} runs asynchronously, so it cannot run inside a training step`);
    }
    values.set(n.id, out as Values);
    spans?.push({ node: n, from, to: engineState().activeTape?.length ?? 0 });
  }
  const loss = read(o.loss.node, o.loss.port);
  if (!isTensor(loss) || loss.size !== 1) return fail('not-trainable', o.loss.node, `the loss must be a scalar tensor, got ${isTensor(loss) ? `shape [${loss.shape}]` : typeof loss}`);
  return loss.reshape([]) as tf.Scalar;
}

/**
 * When a gradient computation fails, tfjs keeps the tape and every tensor the forward pass saved
 * for backprop (it frees them only after a successful backward pass): free them here.
 */
function freeAbandonedTape(): void {
  const state = engineState();
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) if (!t.isDisposed) t.dispose();
  state.activeTape = null;
}

/**
 * g ← g · min(1, c / ‖g‖₂) over all gradients together (on device: no read back). The squared
 * norms are summed by a chain of adds, not tf.addN: on WebGPU (Dawn) addN of eight or more tensors
 * fails its command buffer and returns a stale value.
 */
function clipByGlobalNorm(grads: tf.NamedTensorMap, clip: number): tf.NamedTensorMap {
  return tf.tidy(() => {
    const norm = tf.sqrt(Object.values(grads).map((g) => tf.sum(tf.square(g))).reduce((a, b) => tf.add(a, b)));
    const scale = tf.minimum(1, tf.div(clip, tf.maximum(norm, 1e-12)));
    return Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, scale)]));
  });
}
