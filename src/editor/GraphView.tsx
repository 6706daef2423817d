/** A read-only React Flow view of a graph document: nodes labelled with type and id, edges with ports. */
import { Background, Controls, Position, ReactFlow, type Edge, type Node } from '@xyflow/react';
import { useMemo } from 'react';
import type { GraphDoc } from '../graph/index.ts';

export function GraphView({ doc }: { doc: GraphDoc }) {
  const nodes = useMemo<Node[]>(
    () =>
      doc.nodes.map((n) => ({
        id: n.id,
        position: n.position,
        // graphs flow left to right: inputs on the left edge, outputs on the right
        sourcePosition: Position.Right,
        targetPosition: Position.Left,
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
