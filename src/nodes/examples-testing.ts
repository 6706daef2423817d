/** For the example graphs' tests: a graph of graphs/ as it trains from its seeds, with overrides. */
import { readFileSync } from 'node:fs';
import { loadGraph, setParam, type GraphDoc } from '../index.ts';

export const GRAPHS = new URL('../../graphs/', import.meta.url);

/** graphs/<file> with every weights file dropped (each model starts from its seed) and `set` applied (node -> param -> value). */
export function fromSeeds(file: string, set: Record<string, Record<string, unknown>> = {}): GraphDoc {
  let doc = loadGraph(readFileSync(new URL(file, GRAPHS), 'utf8'));
  for (const n of doc.nodes) if (typeof n.params.weights === 'string' && n.params.weights) doc = setParam(doc, n.id, 'weights', '');
  for (const [id, params] of Object.entries(set)) for (const [k, v] of Object.entries(params)) doc = setParam(doc, id, k, v);
  return doc;
}
