/**
 * Edits on a graph document, written as immer recipes: each mutates a draft and leaves it
 * structurally valid (no edge ever points at a missing node, ids stay unique). The store wraps
 * each call in one undo step. Pure: no React, no DOM.
 */
import { GRAPH_FORMAT, GRAPH_VERSION, parseGraph, type GraphDoc, type GraphEdge, type GraphNode } from '../graph/index.ts';
import type { AnyNodeKind, ParamSpec } from '../runtime/index.ts';

/** One end of a wire: a node's port. */
export interface End {
  node: string;
  port: string;
}

export interface XY {
  x: number;
  y: number;
}

/** `base`, else `base2`, `base3`...: the first name not in `taken`. */
export function uniqueId(base: string, taken: Set<string>): string {
  const stem = base.replace(/\d+$/, '') || 'node';
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${stem}${i}`)) return `${stem}${i}`;
}

/** The default id of a new node: 'NoiseSource' -> 'noiseSource', 'VAEDecode' -> 'vaeDecode', 'UNet' -> 'unet', 'MSE' -> 'mse'. */
export function idFor(type: string): string {
  const caps = /^[A-Z]+/.exec(type)?.[0] ?? '';
  if (caps.length === type.length || caps.length <= 2) return caps.toLowerCase() + type.slice(caps.length);
  return caps.slice(0, -1).toLowerCase() + type.slice(caps.length - 1); // the last capital starts the next word
}

function nextEdgeId(doc: GraphDoc): string {
  const taken = new Set(doc.edges.map((e) => e.id));
  let n = doc.edges.length + 1;
  while (taken.has(`e${n}`)) n++;
  return `e${n}`;
}

/** A node of `kind` with every param at its default, written out so the JSON says what runs. */
export function newNode(kind: AnyNodeKind, id: string, position: XY): GraphNode {
  const params: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(kind.params as Record<string, ParamSpec>)) params[name] = structuredClone(spec.default);
  return { id, type: kind.type, ...(kind.version > 1 ? { v: kind.version } : {}), params, position: { x: Math.round(position.x), y: Math.round(position.y) } };
}

export function addNode(d: GraphDoc, kind: AnyNodeKind, position: XY): string {
  const id = uniqueId(idFor(kind.type), new Set(d.nodes.map((n) => n.id)));
  d.nodes.push(newNode(kind, id, position));
  return id;
}

/**
 * Wires `from` (an output) to `to` (an input). A single input's old edge is replaced; a multi
 * input gets one more (the same wire twice is ignored). Returns the edge id.
 */
export function connect(d: GraphDoc, from: End, to: End, multi: boolean): string {
  const same = d.edges.find((e) => e.from.node === from.node && e.from.port === from.port && e.to.node === to.node && e.to.port === to.port);
  if (same) return same.id;
  if (!multi) d.edges = d.edges.filter((e) => !(e.to.node === to.node && e.to.port === to.port));
  const id = nextEdgeId(d);
  d.edges.push({ id, from: { node: from.node, port: from.port }, to: { node: to.node, port: to.port } });
  return id;
}

/** Removes the nodes, every edge touching them, and the given edges: one consistent step. */
export function deleteItems(d: GraphDoc, nodeIds: Iterable<string>, edgeIds: Iterable<string> = []): void {
  const nodes = new Set(nodeIds);
  const edges = new Set(edgeIds);
  d.nodes = d.nodes.filter((n) => !nodes.has(n.id));
  d.edges = d.edges.filter((e) => !edges.has(e.id) && !nodes.has(e.from.node) && !nodes.has(e.to.node));
}

export function moveNodes(d: GraphDoc, positions: Record<string, XY>): void {
  for (const n of d.nodes) {
    const p = positions[n.id];
    if (p && (n.position.x !== Math.round(p.x) || n.position.y !== Math.round(p.y))) n.position = { x: Math.round(p.x), y: Math.round(p.y) };
  }
}

export function setNodeParam(d: GraphDoc, id: string, name: string, value: unknown): void {
  const n = d.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`no node "${id}"`);
  n.params[name] = value;
}

/** Why `next` cannot be a node id here, or null. */
export function badNodeId(doc: GraphDoc, current: string, next: string): string | null {
  if (!next.trim()) return 'an id cannot be empty';
  if (next !== next.trim()) return 'an id cannot start or end with a space';
  if (next !== current && doc.nodes.some((n) => n.id === next)) return `another node is already called "${next}"`;
  return null;
}

/** Renames a node and every edge end that names it. Throws when the new id is taken or empty. */
export function renameNode(d: GraphDoc, from: string, to: string): void {
  const why = badNodeId(d, from, to);
  if (why) throw new Error(why);
  const n = d.nodes.find((x) => x.id === from);
  if (!n) throw new Error(`no node "${from}"`);
  n.id = to;
  for (const e of d.edges) {
    if (e.from.node === from) e.from.node = to;
    if (e.to.node === from) e.to.node = to;
  }
}

/** The selected nodes and the edges between them, as a graph document (the clipboard format). */
export function fragment(doc: GraphDoc, ids: Iterable<string>): GraphDoc {
  const keep = new Set(ids);
  return {
    format: GRAPH_FORMAT,
    version: GRAPH_VERSION,
    name: 'weft clipboard',
    nodes: doc.nodes.filter((n) => keep.has(n.id)),
    edges: doc.edges.filter((e) => keep.has(e.from.node) && keep.has(e.to.node)),
    meta: {},
  };
}

/** Reads clipboard text as graph JSON; undefined when it is not a Weft graph. */
export function readFragment(text: string): GraphDoc | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || (raw as { format?: unknown }).format !== GRAPH_FORMAT) return undefined;
  return parseGraph(raw).doc; // dangling edges are dropped on paste
}

/**
 * Adds a copy of `frag` with fresh node and edge ids, its top-left corner at `at` (or shifted
 * by 40 px). Edges that do not join two pasted nodes are dropped. Returns the new node ids.
 */
export function pasteFragment(d: GraphDoc, frag: GraphDoc, at?: XY): string[] {
  if (!frag.nodes.length) return [];
  const taken = new Set(d.nodes.map((n) => n.id));
  const rename = new Map<string, string>();
  for (const n of frag.nodes) {
    if (rename.has(n.id)) continue; // a duplicate id in foreign JSON: keep the first
    const id = uniqueId(n.id, taken);
    taken.add(id);
    rename.set(n.id, id);
  }
  const minX = Math.min(...frag.nodes.map((n) => n.position.x));
  const minY = Math.min(...frag.nodes.map((n) => n.position.y));
  const dx = at ? at.x - minX : 40;
  const dy = at ? at.y - minY : 40;
  const added: string[] = [];
  const seen = new Set<string>();
  for (const n of frag.nodes) {
    if (seen.has(n.id)) continue;
    seen.add(n.id);
    const copy = structuredClone(n) as GraphNode;
    copy.id = rename.get(n.id)!;
    copy.position = { x: Math.round(n.position.x + dx), y: Math.round(n.position.y + dy) };
    d.nodes.push(copy);
    added.push(copy.id);
  }
  for (const e of frag.edges) {
    const from = rename.get(e.from.node);
    const to = rename.get(e.to.node);
    if (!from || !to) continue;
    const copy = structuredClone(e) as GraphEdge;
    copy.id = nextEdgeId(d);
    copy.from.node = from;
    copy.to.node = to;
    d.edges.push(copy);
  }
  return added;
}
