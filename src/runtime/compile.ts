/**
 * compile(doc, registry) -> { plan, errors }. Pure and fast (no tfjs work): it runs on every
 * edit so the editor can mark every broken node before anything runs.
 *
 *  1. resolve kinds; upgrade and validate params
 *  2. check edges: ports exist, single inputs take one edge, types agree
 *  3. required inputs are connected
 *  4. cycles (Tarjan's strongly connected components), reported with the nodes on them
 *  5. order the nodes (Kahn, stable in document order)
 *  6. infer output types and shapes in that order; refuse absurd tensor sizes
 */
import { checkReferences, type GraphDoc, type GraphIssue, type GraphNode } from '../graph/index.ts';
import { ShapeError, type AnyNodeKind } from './define.ts';
import { checkParam, MAX_ELEMENTS, type ParamSpec } from './params.ts';
import { describeType, elementCount, formatShape, shapeMismatch, typeMismatch, type Dim, type PortType } from './ports.ts';
import type { Registry } from './registry.ts';

export interface PlanInput {
  node: string;
  port: string;
}

export interface PlanNode {
  id: string;
  kind: AnyNodeKind;
  /** Validated params with defaults filled in and migrations applied. */
  params: Record<string, unknown>;
  /** Sources feeding each connected input port, in edge order. */
  inputs: Record<string, PlanInput[]>;
  /** Inferred output and display types. */
  types: Record<string, PortType>;
}

export interface Plan {
  doc: GraphDoc;
  /** Topological order. */
  nodes: PlanNode[];
  byId: Map<string, PlanNode>;
}

export interface CompileResult {
  plan?: Plan;
  errors: GraphIssue[];
  /**
   * Inferred output and display types of every node that could be inferred, also when other
   * nodes have errors (the editor shows shapes on the healthy part of a half-built graph).
   */
  types: Map<string, Record<string, PortType>>;
}

export function compile(doc: GraphDoc, registry: Registry): CompileResult {
  const errors: GraphIssue[] = checkReferences(doc);
  const nodes = new Map<string, { node: GraphNode; kind?: AnyNodeKind; params?: Record<string, unknown> }>();
  for (const node of doc.nodes) {
    if (nodes.has(node.id)) continue;
    const kind = registry.get(node.type);
    if (!kind) {
      errors.push({
        code: 'unknown-node-type',
        nodeId: node.id,
        message: `unknown node type "${node.type}"${suggest(node.type, registry.types())}`,
        detail: { type: node.type },
      });
      nodes.set(node.id, { node });
      continue;
    }
    nodes.set(node.id, { node, kind, params: resolveParams(node, kind, errors) });
  }

  // 2. edges
  const inputs = new Map<string, Record<string, PlanInput[]>>();
  const adjacency = new Map<string, string[]>([...nodes.keys()].map((id) => [id, []]));
  for (const edge of doc.edges) {
    const src = nodes.get(edge.from.node);
    const dst = nodes.get(edge.to.node);
    if (!src || !dst) continue; // dangling: reported by checkReferences
    adjacency.get(src.node.id)!.push(dst.node.id);
    const connect = () => {
      const byPort = inputs.get(dst.node.id) ?? {};
      inputs.set(dst.node.id, byPort);
      return (byPort[edge.to.port] ??= []);
    };
    if (!src.kind || !dst.kind) {
      // An unknown kind is reported once; its edges still connect the known end (no missing-input).
      if (dst.kind && Object.hasOwn(dst.kind.inputs, edge.to.port)) connect().push({ node: edge.from.node, port: edge.from.port });
      continue;
    }
    const out = Object.hasOwn(src.kind.outputs, edge.from.port) ? src.kind.outputs[edge.from.port] : undefined; // not Object.prototype's "constructor"
    const inp = Object.hasOwn(dst.kind.inputs, edge.to.port) ? dst.kind.inputs[edge.to.port] : undefined;
    if (!out) errors.push(unknownPort(src.node, src.kind, edge.from.port, 'output', edge.id));
    if (!inp) errors.push(unknownPort(dst.node, dst.kind, edge.to.port, 'input', edge.id));
    if (!out || !inp) continue;
    const existing = connect();
    if (existing.length > 0 && !inp.multi) {
      errors.push({
        code: 'input-already-connected',
        nodeId: dst.node.id,
        port: edge.to.port,
        edgeId: edge.id,
        message: `input "${edge.to.port}" takes one edge and is already fed by "${existing[0].node}.${existing[0].port}"`,
      });
      continue;
    }
    const why = typeMismatch(out, inp);
    if (why) {
      errors.push({
        code: 'port-type-mismatch',
        nodeId: dst.node.id,
        port: edge.to.port,
        edgeId: edge.id,
        message: `input "${edge.to.port}" ${why} (from "${src.node.id}.${edge.from.port}")`,
      });
      continue;
    }
    existing.push({ node: edge.from.node, port: edge.from.port });
  }

  // 3. required inputs
  for (const { node, kind } of nodes.values()) {
    if (!kind) continue;
    for (const [port, spec] of Object.entries(kind.inputs)) {
      if (spec.optional || spec.multi || inputs.get(node.id)?.[port]?.length) continue;
      errors.push({ code: 'missing-input', nodeId: node.id, port, message: `input "${port}" (${describeType(spec)}) is not connected` });
    }
  }

  // 4 + 5. cycles, then order
  for (const cycle of findCycles(adjacency)) {
    errors.push({
      code: 'cycle',
      nodeId: cycle[0],
      message: `these nodes form a cycle: ${cycle.join(' -> ')} -> ${cycle[0]}`,
      detail: { nodes: cycle },
    });
  }
  if (errors.some((e) => e.code === 'cycle')) return { errors, types: new Map() };
  const order = topoOrder([...new Set(doc.nodes.map((n) => n.id))], adjacency);

  // 6. types and shapes
  const types = new Map<string, Record<string, PortType>>();
  const broken = new Set(errors.map((e) => e.nodeId).filter((x): x is string => !!x));
  for (const id of order) {
    const entry = nodes.get(id)!;
    if (!entry.kind || broken.has(id)) continue;
    const ins = inputs.get(id) ?? {};
    if (Object.values(ins).some((srcs) => srcs.some((s) => !types.has(s.node)))) continue; // upstream broken
    const inferred = inferNode(entry.node, entry.kind, entry.params!, ins, types, errors);
    if (inferred) types.set(id, inferred);
    else broken.add(id);
  }

  if (errors.length) return { errors, types };
  const planNodes: PlanNode[] = order.map((id) => {
    const { kind, params } = nodes.get(id)!;
    return { id, kind: kind!, params: params!, inputs: inputs.get(id) ?? {}, types: types.get(id)! };
  });
  return { plan: { doc, nodes: planNodes, byId: new Map(planNodes.map((n) => [n.id, n])) }, errors: [], types };
}

function resolveParams(node: GraphNode, kind: AnyNodeKind, errors: GraphIssue[]): Record<string, unknown> | undefined {
  let raw = { ...node.params };
  const from = node.v ?? 1;
  if (from > kind.version) {
    errors.push({
      code: 'bad-param',
      nodeId: node.id,
      message: `node was saved by ${kind.type} v${from}, newer than this Weft's v${kind.version}; update Weft to open it`,
    });
    return undefined;
  }
  for (let v = from; v < kind.version; v++) {
    const step = kind.migrations.find((m) => m.from === v);
    if (!step) continue;
    try {
      raw = step.up(raw);
    } catch (err) {
      errors.push({ code: 'migration-failed', nodeId: node.id, message: `upgrading ${kind.type} params from v${v}: ${(err as Error).message}` });
      return undefined;
    }
  }
  const params: Record<string, unknown> = {};
  let ok = true;
  for (const [name, spec] of Object.entries(kind.params as Record<string, ParamSpec>)) {
    const checked = checkParam(spec, name in raw ? raw[name] : spec.default);
    if (checked.ok) params[name] = checked.value;
    else {
      ok = false;
      errors.push({ code: 'bad-param', nodeId: node.id, port: name, message: `param "${name}" ${checked.message}` });
    }
  }
  return ok ? params : undefined;
}

function inferNode(
  node: GraphNode,
  kind: AnyNodeKind,
  params: Record<string, unknown>,
  ins: Record<string, PlanInput[]>,
  types: Map<string, Record<string, PortType>>,
  errors: GraphIssue[],
): Record<string, PortType> | undefined {
  const inputTypes: Record<string, PortType | PortType[] | undefined> = {};
  const names = new Map<string, Dim>();
  let ok = true;
  for (const [port, spec] of Object.entries(kind.inputs)) {
    const srcTypes = (ins[port] ?? []).map((s) => types.get(s.node)![s.port]);
    for (const t of srcTypes) {
      if (t.kind === 'tensor' && spec.kind === 'tensor' && t.shape && spec.shape) {
        const why = shapeMismatch(t.shape, spec.shape, names);
        if (why) {
          ok = false;
          errors.push({ code: 'shape-mismatch', nodeId: node.id, port, message: `input "${port}" ${why}` });
        }
      }
    }
    inputTypes[port] = spec.multi ? srcTypes : srcTypes[0];
  }
  if (!ok) return undefined;
  let out: Record<string, PortType>;
  try {
    const declared = { ...kind.outputs, ...kind.display } as Record<string, PortType>;
    out = { ...declared, ...(kind.infer ? kind.infer({ params, inputs: inputTypes }) : {}) };
  } catch (err) {
    const port = err instanceof ShapeError ? err.port : undefined;
    errors.push({ code: 'shape-mismatch', nodeId: node.id, ...(port ? { port } : {}), message: (err as Error).message });
    return undefined;
  }
  for (const [port, t] of Object.entries(out)) {
    if (t.kind !== 'tensor' || !t.shape) continue;
    const n = elementCount(t.shape);
    if (n !== null && n > MAX_ELEMENTS) {
      errors.push({
        code: 'tensor-too-large',
        nodeId: node.id,
        port,
        message: `output "${port}" would be ${formatShape(t.shape)}: ${n.toLocaleString('en-US')} elements, over the limit of ${MAX_ELEMENTS.toLocaleString('en-US')}`,
      });
      return undefined;
    }
  }
  return out;
}

function unknownPort(node: GraphNode, kind: AnyNodeKind, port: string, side: 'input' | 'output', edgeId: string): GraphIssue {
  const valid = Object.keys(side === 'input' ? kind.inputs : kind.outputs);
  return {
    code: 'unknown-port',
    nodeId: node.id,
    port,
    edgeId,
    message: `${kind.type} has no ${side} "${port}"; its ${side}s are ${valid.length ? valid.map((p) => `"${p}"`).join(', ') : 'none'}`,
  };
}

/** Strongly connected components with more than one node, or a node wired to itself. */
function findCycles(adjacency: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let next = 0;
  // Iterative Tarjan: a 20,000-node chain must not overflow the call stack.
  for (const root of adjacency.keys()) {
    if (index.has(root)) continue;
    const work: Array<{ id: string; i: number }> = [{ id: root, i: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length) {
      const frame = work[work.length - 1];
      const succ = adjacency.get(frame.id)!;
      if (frame.i < succ.length) {
        const w = succ[frame.i++];
        if (!index.has(w)) {
          index.set(w, next);
          low.set(w, next++);
          stack.push(w);
          onStack.add(w);
          work.push({ id: w, i: 0 });
        } else if (onStack.has(w)) low.set(frame.id, Math.min(low.get(frame.id)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1].id;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.id)!));
      }
      if (low.get(frame.id) === index.get(frame.id)) {
        const scc: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          scc.push(w);
        } while (w !== frame.id);
        if (scc.length > 1 || succ.includes(frame.id)) cycles.push(scc.reverse());
      }
    }
  }
  return cycles;
}

/** Kahn's algorithm; among ready nodes the earliest in document order goes first (a binary heap on rank). */
function topoOrder(ids: string[], adjacency: Map<string, string[]>): string[] {
  const indegree = new Map(ids.map((id) => [id, 0]));
  for (const succ of adjacency.values()) for (const w of succ) indegree.set(w, indegree.get(w)! + 1);
  const rank = new Map(ids.map((id, i) => [id, i]));
  const heap: number[] = [];
  const push = (r: number) => {
    let i = heap.push(r) - 1;
    while (i > 0 && heap[(i - 1) >> 1] > heap[i]) [heap[i], heap[(i - 1) >> 1]] = [heap[(i - 1) >> 1], heap[i]], (i = (i - 1) >> 1);
  };
  const pop = (): number => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && heap[l] < heap[m]) m = l;
        if (r < heap.length && heap[r] < heap[m]) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  };
  ids.forEach((id, i) => indegree.get(id) === 0 && push(i));
  const order: string[] = [];
  while (heap.length) {
    const id = ids[pop()];
    order.push(id);
    for (const w of adjacency.get(id)!) {
      indegree.set(w, indegree.get(w)! - 1);
      if (indegree.get(w) === 0) push(rank.get(w)!);
    }
  }
  return order;
}

function suggest(type: string, known: string[]): string {
  const lower = type.toLowerCase();
  const close = known.filter((k) => editDistance(k.toLowerCase(), lower) <= 2 || k.toLowerCase().includes(lower));
  const list = close.length ? close : known;
  return `; ${close.length ? 'did you mean' : 'known types are'} ${list.slice(0, 12).map((k) => `"${k}"`).join(', ')}${list.length > 12 ? ', ...' : ''}`;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]++;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}
