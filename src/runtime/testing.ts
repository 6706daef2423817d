/** Terse graph construction for tests and scripts: graph([['a', 'NoiseSource', {...}]], ['a.out -> b.x']). */
import type { GraphDoc } from '../graph/index.ts';

export type NodeSpec = [id: string, type: string, params?: Record<string, unknown>];

export function graph(nodes: NodeSpec[], wires: string[] = [], name = 'test'): GraphDoc {
  return {
    format: 'weft.graph',
    version: 1,
    name,
    nodes: nodes.map(([id, type, params = {}], i) => ({ id, type, params, position: { x: i * 200, y: 0 } })),
    edges: wires.map((w, i) => {
      const [from, to] = w.split('->').map((s) => s.trim());
      const [fn, fp] = from.split('.');
      const [tn, tp] = to.split('.');
      return { id: `e${i}`, from: { node: fn, port: fp }, to: { node: tn, port: tp } };
    }),
    meta: {},
  };
}
