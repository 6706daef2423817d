/**
 * execute(plan, options): run what the requested outputs need, in topological order.
 *
 *  1. needed set: the requested nodes and everything upstream of them
 *  2. Merkle keys in one pass: key = H(kind, kind version, params, input keys, backend)
 *     (never the node id or position, so moving or renaming misses nothing)
 *  3. per node: cache hit -> lease; miss -> run in a tfjs scope, keep the outputs, offer them to
 *     the cache; values the cache refuses belong to this run and are freed after their last use
 *  4. cancel (AbortSignal) between nodes and inside loops; on cancel or error every value this run
 *     owns is freed and every lease released, so the cache stays consistent
 */
import * as tf from '@tensorflow/tfjs';
import { GraphError, type GraphIssue } from '../graph/index.ts';
import type { TensorCache } from './cache.ts';
import type { Plan, PlanNode } from './compile.ts';
import type { ProgressInfo } from './define.ts';
import { hashString } from './hash.ts';
import { formatShape } from './ports.ts';
import { disposeValues, isResource, isTensor, materialize, tensorsOf, valueBytes, type OutputValue, type Value, type Values } from './values.ts';

export type RunEvent =
  | { type: 'run-started'; nodes: string[]; backend: string }
  | { type: 'node-started'; nodeId: string }
  | { type: 'node-progress'; nodeId: string; done: number; total: number; info?: ProgressInfo }
  | { type: 'node-finished'; nodeId: string; status: 'ran' | 'cached'; ms: number; bytes: number }
  | { type: 'node-error'; nodeId: string; error: GraphIssue }
  | { type: 'run-finished'; ok: boolean; ms: number; errors?: GraphIssue[] };

export interface ExecuteOptions {
  /** Node ids whose values to return; default: every sink (a node with display values). */
  outputs?: string[];
  backend: string;
  cache: TensorCache;
  signal?: AbortSignal;
  onEvent?: (e: RunEvent) => void;
  /** How nodes read files the graph refers to (weights). */
  readFile?: (path: string) => Promise<Uint8Array>;
  /** Nodes whose values stay alive after the run (the trainer's models and static inputs); see RunResult.held. */
  hold?: string[];
}

export interface HeldValues {
  values: Map<string, Values>;
  /** Let go of the held values (release cache leases, free what the run owned). Call once. */
  release(): void;
}

export interface NodeReport {
  status: 'ran' | 'cached';
  ms: number;
  bytes: number;
  key: string;
}

export interface RunResult {
  /** Values by node id, then by port (outputs and display values), read back as plain data. */
  outputs: Record<string, Record<string, OutputValue | OutputValue[]>>;
  nodes: Record<string, NodeReport>;
  backend: string;
  ms: number;
  /** Present when ExecuteOptions.hold named nodes. */
  held?: HeldValues;
}

let nonce = 0;
/** The signal of a run that cannot be cancelled: one shared object, not one per node. */
export const NEVER = new AbortController().signal;

/**
 * A node's cache key: H(kind, kind version, canonical params, its inputs' keys, backend, extra).
 * `extra` carries what only run time knows: a weights file's digest, the versions of trained models
 * on its inputs, a nonce for volatile nodes. Never the node id or position.
 */
export function recipeKey(n: PlanNode, inputKeys: Map<string, string>, backend: string, extra: string[] = []): string {
  let inputs = '';
  for (const [port, srcs] of Object.entries(n.inputs)) {
    inputs += `${JSON.stringify(port)}:`;
    for (const s of srcs) inputs += `${inputKeys.get(s.node)}:${JSON.stringify(s.port)},`;
    inputs += ';';
  }
  const volatile = typeof n.kind.volatile === 'function' ? n.kind.volatile(n.params) : !!n.kind.volatile;
  if (volatile) extra = [...extra, `volatile:${++nonce}:${Math.random()}`];
  return hashString(`${staticRecipe(n)}|${inputs}|${backend}|${extra.join('|')}`);
}

/**
 * The part of a node's recipe fixed at compile time. Params come out of compile keyed in the kind's
 * declared order with JSON values, so plain JSON.stringify is already canonical for them (an
 * object-valued param in another key order could only cost a cache miss, never a wrong hit).
 */
const staticRecipe = (n: PlanNode): string => `${n.kind.type}@${n.kind.version}${JSON.stringify(n.params)}`;

export function neededNodes(plan: Plan, outputs: string[]): string[] {
  const needed = new Set<string>();
  const stack = [...outputs];
  while (stack.length) {
    const id = stack.pop()!;
    if (needed.has(id)) continue;
    needed.add(id);
    for (const srcs of Object.values(plan.byId.get(id)!.inputs)) for (const s of srcs) stack.push(s.node);
  }
  return plan.nodes.map((n) => n.id).filter((id) => needed.has(id));
}

export function defaultOutputs(plan: Plan): string[] {
  const sinks = plan.nodes.filter((n) => Object.keys(n.kind.display).length > 0).map((n) => n.id);
  if (sinks.length) return sinks;
  const fed = new Set(plan.nodes.flatMap((n) => Object.values(n.inputs).flatMap((srcs) => srcs.map((s) => s.node))));
  return plan.nodes.filter((n) => !fed.has(n.id)).map((n) => n.id);
}

export async function execute(plan: Plan, opts: ExecuteOptions): Promise<RunResult> {
  const t0 = performance.now();
  const emit = opts.onEvent ?? (() => {});
  const requested = opts.outputs ?? defaultOutputs(plan);
  const unknown = requested.filter((id) => !plan.byId.has(id));
  if (unknown.length) {
    throw new GraphError(unknown.map((id) => ({ code: 'unknown-output', nodeId: id, message: `no node "${id}" to output` })));
  }
  const holdIds = new Set(opts.hold ?? []);
  const order = neededNodes(plan, [...requested, ...holdIds]);
  const keys = new Map<string, string>();
  const readFile = opts.readFile ?? noFiles;
  const wanted = new Set(requested);

  // How many consumers in this run still need each node's values.
  const uses = new Map<string, number>(order.map((id) => [id, 0]));
  for (const id of order) for (const srcs of Object.values(plan.byId.get(id)!.inputs)) for (const s of srcs) uses.set(s.node, uses.get(s.node)! + 1);
  for (const id of holdIds) uses.set(id, uses.get(id)! + 1); // never reaches 0 inside the run

  const live = new Map<string, { values: Values; owner: 'cache' | 'run' }>();
  const release = (id: string) => {
    const held = live.get(id);
    if (!held) return;
    live.delete(id);
    if (held.owner === 'cache') opts.cache.release(keys.get(id)!);
    else disposeValues(held.values);
  };

  const result: RunResult = { outputs: {}, nodes: {}, backend: opts.backend, ms: 0 };
  emit({ type: 'run-started', nodes: order, backend: opts.backend });
  let ok = false;
  try {
    for (const id of order) {
      // cpu and wasm finish whole graphs in microtasks; let a cancel (Stop, Ctrl-C) get in.
      if (opts.signal) await yieldToEventLoop();
      throwIfAborted(opts.signal, id);
      const node = plan.byId.get(id)!;
      const key = node.kind.fingerprint ? await nodeKey(node, keys, live, opts.backend, readFile) : resourceAwareKey(node, keys, live, opts.backend, []);
      keys.set(id, key);
      emit({ type: 'node-started', nodeId: id });
      const started = performance.now();
      let status: NodeReport['status'] = 'cached';
      let values = opts.cache.acquire(key);
      if (values) live.set(id, { values, owner: 'cache' });
      else {
        status = 'ran';
        values = await runNode(node, live, opts, emit, readFile);
        const ms = performance.now() - started;
        live.set(id, { values, owner: opts.cache.put(key, values, ms) ? 'cache' : 'run' });
      }
      const ms = performance.now() - started;
      const bytes = valueBytes(values);
      result.nodes[id] = { status, ms, bytes, key };
      if (wanted.has(id)) result.outputs[id] = await materializeAll(values);
      emit({ type: 'node-finished', nodeId: id, status, ms, bytes });
      // Inputs whose last consumer just ran are released now, not at the end of the run.
      for (const srcs of Object.values(node.inputs)) {
        for (const s of srcs) {
          const left = uses.get(s.node)! - 1;
          uses.set(s.node, left);
          if (left === 0) release(s.node);
        }
      }
      if (uses.get(id) === 0) release(id);
    }
    ok = true;
  } catch (err) {
    const issues = err instanceof GraphError ? err.errors : [{ code: 'node-failed' as const, message: String(err) }];
    for (const issue of issues) if (issue.nodeId) emit({ type: 'node-error', nodeId: issue.nodeId, error: issue });
    emit({ type: 'run-finished', ok: false, ms: performance.now() - t0, errors: issues });
    throw err instanceof GraphError ? err : new GraphError(issues);
  } finally {
    for (const id of [...live.keys()]) if (!ok || !holdIds.has(id)) release(id);
    opts.cache.enforceBudget();
  }
  if (holdIds.size) {
    let released = false;
    result.held = {
      values: new Map([...holdIds].map((id) => [id, live.get(id)!.values])),
      release: () => {
        if (released) return;
        released = true;
        for (const id of holdIds) release(id);
        opts.cache.enforceBudget();
      },
    };
  }
  result.ms = performance.now() - t0;
  emit({ type: 'run-finished', ok: true, ms: result.ms });
  return result;
}

async function nodeKey(
  node: PlanNode,
  keys: Map<string, string>,
  live: Map<string, { values: Values }>,
  backend: string,
  readFile: (file: string) => Promise<Uint8Array>,
): Promise<string> {
  const extra: string[] = [];
  if (node.kind.fingerprint) {
    try {
      extra.push(await node.kind.fingerprint(node.params, { readFile }));
    } catch (err) {
      throw new GraphError([{ code: 'node-failed', nodeId: node.id, message: `${node.kind.type}: ${(err as Error).message}` }]);
    }
  }
  return resourceAwareKey(node, keys, live, backend, extra);
}

/** recipeKey plus the versions of trained models on the node's inputs. */
function resourceAwareKey(node: PlanNode, keys: Map<string, string>, live: Map<string, { values: Values }>, backend: string, extra: string[]): string {
  for (const srcs of Object.values(node.inputs)) {
    for (const s of srcs) {
      const v = live.get(s.node)?.values[s.port];
      if (isResource(v) && v.version) extra.push(`${s.node}.${s.port}:${v.uid}@${v.version}`);
    }
  }
  return recipeKey(node, keys, backend, extra);
}

async function runNode(
  node: PlanNode,
  live: Map<string, { values: Values }>,
  opts: ExecuteOptions,
  emit: (e: RunEvent) => void,
  readFile: (file: string) => Promise<Uint8Array>,
): Promise<Values> {
  const inputs: Record<string, Value | Value[] | undefined> = {};
  const inputTensors = new Set<tf.Tensor>();
  for (const [port, spec] of Object.entries(node.kind.inputs)) {
    const vals = (node.inputs[port] ?? []).map((s) => live.get(s.node)!.values[s.port] as Value);
    vals.forEach((v) => isTensor(v) && inputTensors.add(v));
    inputs[port] = spec.multi ? vals : vals[0];
  }
  const ctx = {
    nodeId: node.id,
    params: node.params,
    inputs,
    backend: opts.backend,
    signal: opts.signal ?? NEVER,
    progress: (done: number, total: number, info?: ProgressInfo) => emit({ type: 'node-progress', nodeId: node.id, done, total, info }),
    throwIfAborted: () => throwIfAborted(opts.signal, node.id),
    readFile,
    step: 0,
  };
  // The scope frees every tensor the node made except its outputs. tfjs scopes are not
  // async-aware, which is why runtimes take a global lock around each run (runtime.ts).
  tf.engine().startScope();
  let out: Values;
  try {
    out = await node.kind.run(ctx);
    out = ownOutputs(node, out, inputTensors);
  } catch (err) {
    tf.engine().endScope();
    if (err instanceof GraphError) throw err;
    throw new GraphError([{ code: 'node-failed', nodeId: node.id, message: `${node.kind.type} failed: ${(err as Error)?.message ?? String(err)}` }]);
  }
  tf.engine().endScope(tensorsOf(out));
  return out;
}

/** Check the node returned what it declared, and copy any input it passed straight through. */
function ownOutputs(node: PlanNode, out: Values, inputTensors: Set<tf.Tensor>): Values {
  const owned: Values = {};
  const declared = { ...node.kind.outputs, ...node.kind.display };
  for (const port of Object.keys(declared)) {
    const v = out[port];
    if (v === undefined) throw new Error(`returned no value for "${port}"`);
    const expected = node.types[port];
    if (isTensor(v) && expected?.kind === 'tensor' && expected.shape) {
      const ok = v.rank === expected.shape.length && expected.shape.every((d, i) => typeof d !== 'number' || d === v.shape[i]);
      if (!ok) throw new Error(`"${port}" came out ${formatShape(v.shape)} but was inferred as ${formatShape(expected.shape)}`);
    }
    owned[port] = isTensor(v) && inputTensors.has(v) ? v.clone() : v;
  }
  return owned;
}

async function materializeAll(values: Values): Promise<Record<string, OutputValue | OutputValue[]>> {
  const out: Record<string, OutputValue | OutputValue[]> = {};
  for (const [port, v] of Object.entries(values)) out[port] = await materialize(v);
  return out;
}

/** For runtimes given no file access. */
export const noFiles = (file: string): Promise<Uint8Array> => Promise.reject(new Error(`no file access in this runtime (reading "${file}")`));

/** A macrotask turn: setImmediate in Node, a MessageChannel hop in browsers (no 4 ms clamp). */
export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(null);
  });
}

function throwIfAborted(signal: AbortSignal | undefined, nodeId: string): void {
  if (signal?.aborted) throw new GraphError([{ code: 'cancelled', nodeId, message: 'the run was cancelled' }]);
}
