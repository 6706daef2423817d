/**
 * What each node shows besides its JSON, derived once per edit from one compile: its issues, the
 * types on its outputs and arriving at its inputs, and for an unknown kind the ports its wires
 * name. A node's info object is reused while its content is unchanged, so a memoised node
 * component re-renders only when something it shows changed (500 nodes, one edit: a few renders).
 */
import type { GraphDoc, GraphIssue } from '../../graph/index.ts';
import type { AnyNodeKind, CompileResult, PortType, Registry } from '../../runtime/index.ts';

export interface NodeInfo {
  kind?: AnyNodeKind;
  issues: GraphIssue[];
  /** Inferred output (and display) types, when compile got that far. */
  out?: Record<string, PortType>;
  /** Types arriving at each connected input, in edge order. */
  in: Record<string, PortType[]>;
  /** An unknown kind's ports, read from its wires so they keep drawing. */
  ghost?: { inputs: string[]; outputs: string[] };
}

export interface InfoCache {
  sig: Map<string, string>;
  info: Map<string, NodeInfo>;
}

export const emptyCache = (): InfoCache => ({ sig: new Map(), info: new Map() });

export function nodeInfos(doc: GraphDoc, registry: Registry, compiled: CompileResult, prev: InfoCache): InfoCache {
  const issues = new Map<string, GraphIssue[]>();
  for (const e of compiled.errors) {
    if (!e.nodeId) continue;
    const list = issues.get(e.nodeId) ?? [];
    list.push(e);
    issues.set(e.nodeId, list);
  }
  const arriving = new Map<string, Record<string, PortType[]>>();
  const ghosts = new Map<string, { inputs: Set<string>; outputs: Set<string> }>();
  const ghost = (id: string) => ghosts.get(id) ?? ghosts.set(id, { inputs: new Set(), outputs: new Set() }).get(id)!;
  const unknown = new Set(doc.nodes.filter((n) => !registry.has(n.type)).map((n) => n.id));
  for (const e of doc.edges) {
    if (unknown.has(e.from.node)) ghost(e.from.node).outputs.add(e.from.port);
    if (unknown.has(e.to.node)) ghost(e.to.node).inputs.add(e.to.port);
    const t = compiled.types.get(e.from.node)?.[e.from.port];
    if (!t) continue;
    const byPort = arriving.get(e.to.node) ?? {};
    (byPort[e.to.port] ??= []).push(t);
    arriving.set(e.to.node, byPort);
  }
  const next = emptyCache();
  for (const n of doc.nodes) {
    const g = ghosts.get(n.id);
    const info: NodeInfo = {
      kind: registry.get(n.type),
      issues: issues.get(n.id) ?? [],
      out: compiled.types.get(n.id),
      in: arriving.get(n.id) ?? {},
      ...(unknown.has(n.id) ? { ghost: { inputs: [...(g?.inputs ?? [])], outputs: [...(g?.outputs ?? [])] } } : {}),
    };
    const sig = `${n.type}\u0000${JSON.stringify([info.issues, info.out, info.in, info.ghost])}`;
    const reuse = prev.sig.get(n.id) === sig ? prev.info.get(n.id) : undefined;
    next.sig.set(n.id, sig);
    next.info.set(n.id, reuse ?? info);
  }
  return next;
}

/** Edges compile refused (wrong type, second wire into a single input): drawn red. */
export function badEdges(compiled: CompileResult): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of compiled.errors) if (e.edgeId) out.set(e.edgeId, e.message);
  return out;
}
