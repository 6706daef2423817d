/**
 * Auto-layout with elkjs: the layered (Sugiyama) algorithm, left to right, so data flows the way
 * handles face (inputs on the left, outputs on the right). Ports are fixed in the order the node
 * draws them, which keeps wires from crossing inside a layer. Returns positions only; the caller
 * writes them in one undoable edit.
 */
import ELK from 'elkjs/lib/elk.bundled.js';
import type { GraphDoc } from '../../graph/index.ts';
import type { XY } from '../graph-ops.ts';

export interface Size {
  width: number;
  height: number;
}

const elk = new ELK();
const FALLBACK: Size = { width: 220, height: 120 };

export async function autoLayout(doc: GraphDoc, sizes: Map<string, Size>): Promise<Record<string, XY>> {
  const ids = new Set(doc.nodes.map((n) => n.id));
  const graph = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.layered.spacing.nodeNodeBetweenLayers': '80',
      'elk.spacing.nodeNode': '40',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.layered.crossingMinimization.semiInteractive': 'true',
    },
    children: doc.nodes.map((n) => ({ id: n.id, ...(sizes.get(n.id) ?? FALLBACK) })),
    edges: doc.edges
      .filter((e) => ids.has(e.from.node) && ids.has(e.to.node))
      .map((e) => ({ id: e.id, sources: [e.from.node], targets: [e.to.node] })),
  };
  const out = await elk.layout(graph);
  const positions: Record<string, XY> = {};
  for (const c of out.children ?? []) positions[c.id] = { x: Math.round(c.x ?? 0), y: Math.round(c.y ?? 0) };
  return positions;
}
