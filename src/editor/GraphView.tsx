/** A read-only React Flow view of a graph document: nodes labelled with type and id, edges with ports. */
import { Background, Controls, ReactFlow, type Edge, type Node } from '@xyflow/react';
import { useMemo } from 'react';
import type { GraphDoc } from '../graph/index.ts';

export function GraphView({ doc }: { doc: GraphDoc }) {
  const nodes = useMemo<Node[]>(
    () =>
      doc.nodes.map((n) => ({
        id: n.id,
        position: n.position,
        data: {
          label: (
            <div className="weft-node" data-testid={`node-${n.id}`}>
              <strong>{n.type}</strong>
              <span>{n.id}</span>
            </div>
          ),
        },
      })),
    [doc],
  );
  const edges = useMemo<Edge[]>(
    () =>
      doc.edges.map((e) => ({
        id: e.id,
        source: e.from.node,
        target: e.to.node,
        label: `${e.from.port} → ${e.to.port}`,
      })),
    [doc],
  );
  return (
    <ReactFlow
      nodes={nodes}
      edges={edges}
      fitView
      nodesDraggable={false}
      nodesConnectable={false}
      elementsSelectable={false}
    >
      <Background />
      <Controls showInteractive={false} />
    </ReactFlow>
  );
}
