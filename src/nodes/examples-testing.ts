/** For the example graphs' tests: a graph of graphs/ as it trains from its seeds, with overrides. */
import { readFileSync } from 'node:fs';
import { isBuilderKind, loadGraph, setParam, type GraphDoc } from '../index.ts';
import { createRegistry } from './index.ts';

const registry = createRegistry();

export const GRAPHS = new URL('../../graphs/', import.meta.url);

/** graphs/<file> with every builder's weights file dropped (each model starts from its seed) and `set` applied (node -> param -> value). */
export function fromSeeds(file: string, set: Record<string, Record<string, unknown>> = {}): GraphDoc {
  let doc = loadGraph(readFileSync(new URL(file, GRAPHS), 'utf8'));
  for (const n of doc.nodes) if (isBuilderKind(registry.get(n.type)) && n.params.weights) doc = setParam(doc, n.id, 'weights', '');
  for (const [id, params] of Object.entries(set)) for (const [k, v] of Object.entries(params)) doc = setParam(doc, id, k, v);
  return doc;
}
