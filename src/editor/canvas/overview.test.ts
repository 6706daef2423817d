import type { InternalNode } from '@xyflow/react';
import { describe, expect, it } from 'vitest';
import type { WeftNode } from './NodeCard.tsx';
import { nodePaths } from './Overview.tsx';

/** The parts of React Flow's internal node that the minimap reads. */
function node(id: string, x: number, y: number, size: { width?: number; height?: number }, hidden = false): InternalNode<WeftNode> {
  const userNode = { id, position: { x, y }, data: { color: id.startsWith('s') ? 'blue' : 'grey' } } as unknown as WeftNode;
  return { id, hidden, measured: size, internals: { positionAbsolute: { x, y }, userNode, z: 0 } } as unknown as InternalNode<WeftNode>;
}
const colorOf = (n: WeftNode) => (n.data as unknown as { color: string }).color;

describe('the minimap draws one path per colour', () => {
  it('one rectangle per node at its position and measured size, grouped by fill', () => {
    const paths = nodePaths([node('s1', 0, 0, { width: 200, height: 80 }), node('m1', 300.4, -20.6, { width: 150, height: 60 }), node('s2', 10, 500, { width: 210, height: 90 })], colorOf);
    expect([...paths.keys()]).toEqual(['blue', 'grey']);
    expect(paths.get('blue')).toBe('M0 0h200v80h-200zM10 500h210v90h-210z');
    expect(paths.get('grey')).toBe('M300 -21h150v60h-150z');
  });

  it('leaves hidden nodes out and draws an unmeasured node at an assumed size', () => {
    const paths = nodePaths([node('s1', 0, 0, {}, false), node('m1', 50, 50, { width: 10, height: 10 }, true)], colorOf);
    expect([...paths.keys()]).toEqual(['blue']);
    expect(paths.get('blue')).toMatch(/^M0 0h\d+v\d+h-\d+z$/);
  });

  it('draws nothing for no nodes', () => {
    expect(nodePaths([], colorOf).size).toBe(0);
  });
});
