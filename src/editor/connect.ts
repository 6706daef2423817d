/**
 * Whether a wire may join two ports, and why not: the runtime's own type rule (typeMismatch, the
 * one compile applies) on the source's inferred type, plus the structural rules a drop must keep
 * (no self-loop, no cycle). Shapes are not checked here: a shape mismatch connects and is then
 * marked on the node by compile, so the user sees it and can fix either end.
 */
import type { GraphDoc } from '../graph/index.ts';
import { typeMismatch, type AnyNodeKind, type PortSpec, type PortType, type Registry } from '../runtime/index.ts';

export interface PortEnd {
  node: string;
  port: string;
}

/** What the checker needs to know about the open graph (rebuilt once per edit). */
export interface GraphIndex {
  doc: GraphDoc;
  registry: Registry;
  /** Inferred output types by node (from compile); declared types stand in where missing. */
  types: Map<string, Record<string, PortType>>;
  kindOf: Map<string, AnyNodeKind | undefined>;
  /** Downstream neighbours of each node. */
  next: Map<string, string[]>;
}

export function indexGraph(doc: GraphDoc, registry: Registry, types: Map<string, Record<string, PortType>>): GraphIndex {
  const kindOf = new Map(doc.nodes.map((n) => [n.id, registry.get(n.type)] as const));
  const next = new Map<string, string[]>();
  for (const e of doc.edges) {
    const list = next.get(e.from.node) ?? [];
    list.push(e.to.node);
    next.set(e.from.node, list);
  }
  return { doc, registry, types, kindOf, next };
}

/** The type a node's output carries: inferred when compile could, else as declared. */
export function outputType(g: GraphIndex, end: PortEnd): PortType | undefined {
  return g.types.get(end.node)?.[end.port] ?? g.kindOf.get(end.node)?.outputs[end.port];
}

export function inputSpec(g: GraphIndex, end: PortEnd): PortSpec | undefined {
  const kind = g.kindOf.get(end.node);
  return kind && Object.hasOwn(kind.inputs, end.port) ? kind.inputs[end.port] : undefined;
}

function reaches(g: GraphIndex, from: string, to: string): boolean {
  const seen = new Set<string>([from]);
  const stack = [from];
  while (stack.length) {
    const id = stack.pop()!;
    if (id === to) return true;
    for (const w of g.next.get(id) ?? []) if (!seen.has(w)) seen.add(w), stack.push(w);
  }
  return false;
}

/** Why `source` (an output) cannot feed `target` (an input), or null when it can. */
export function connectionProblem(g: GraphIndex, source: PortEnd, target: PortEnd): string | null {
  if (source.node === target.node) return 'a node cannot feed itself';
  if (!g.kindOf.get(source.node)) return `"${source.node}" is of an unknown kind; it keeps its wires but takes no new ones`;
  if (!g.kindOf.get(target.node)) return `"${target.node}" is of an unknown kind; it keeps its wires but takes no new ones`;
  const from = outputType(g, source);
  const to = inputSpec(g, target);
  if (!from) return `"${source.node}" has no output "${source.port}"`;
  if (!to) return `"${target.node}" has no input "${target.port}"`;
  const why = typeMismatch(from, to);
  if (why) return `input "${target.port}" of "${target.node}" ${why}`;
  if (reaches(g, target.node, source.node)) return `this wire would make a cycle: "${target.node}" already feeds "${source.node}"`;
  return null;
}

/** The ports of `kind` a wire from this end could join: inputs for an output end, outputs for an input end. */
export function compatiblePorts(g: GraphIndex, end: PortEnd & { side: 'source' | 'target' }, kind: AnyNodeKind): string[] {
  if (end.side === 'source') {
    const from = outputType(g, end);
    if (!from) return [];
    return Object.entries(kind.inputs).filter(([, spec]) => !typeMismatch(from, spec)).map(([p]) => p);
  }
  const to = inputSpec(g, end);
  if (!to) return [];
  return Object.entries(kind.outputs).filter(([, spec]) => !typeMismatch(spec, to)).map(([p]) => p);
}
