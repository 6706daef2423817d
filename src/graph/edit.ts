/** Small immutable edits on documents, shared by the CLI (--set) and scripts. */
import type { GraphDoc } from './types.ts';

/** A copy of `doc` with one node param replaced. Throws when the node does not exist. */
export function setParam(doc: GraphDoc, nodeId: string, param: string, value: unknown): GraphDoc {
  if (!doc.nodes.some((n) => n.id === nodeId)) {
    throw new Error(`no node "${nodeId}"; nodes are ${doc.nodes.map((n) => `"${n.id}"`).join(', ')}`);
  }
  return { ...doc, nodes: doc.nodes.map((n) => (n.id === nodeId ? { ...n, params: { ...n.params, [param]: value } } : n)) };
}
