import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../nodes/index.ts';
import { compile } from '../../runtime/index.ts';
import { graph } from '../../runtime/testing.ts';
import { setNodeParam } from '../graph-ops.ts';
import { EditorStore } from '../store.ts';
import { emptyCache, nodeInfos } from './view.ts';

const registry = createRegistry();

describe('per-node view info', () => {
  it('an edit keeps the info objects of nodes it does not affect, so their components skip rendering', () => {
    const s = new EditorStore(graph([['a', 'NoiseSource', { shape: [1, 4, 4, 3] }], ['b', 'NoiseSource'], ['g', 'Scale'], ['out', 'ImageOutput']], ['a.out -> g.x', 'g.out -> out.image']));
    const first = nodeInfos(s.doc, registry, compile(s.doc, registry), emptyCache());
    expect(first.info.get('g')!.out!.out).toMatchObject({ kind: 'tensor', shape: [1, 4, 4, 3] });
    s.apply('seed', (d) => setNodeParam(d, 'b', 'seed', 5));
    const second = nodeInfos(s.doc, registry, compile(s.doc, registry), first);
    for (const id of ['a', 'b', 'g', 'out']) expect(second.info.get(id)).toBe(first.info.get(id));
    s.apply('shape', (d) => setNodeParam(d, 'a', 'shape', [1, 4, 4, 5]));
    const third = nodeInfos(s.doc, registry, compile(s.doc, registry), second);
    expect(third.info.get('b')).toBe(second.info.get('b'));
    expect(third.info.get('g')).not.toBe(second.info.get('g'));
    expect(third.info.get('out')!.issues.map((e) => e.code)).toEqual(['shape-mismatch']);
  });

  it('an unknown kind gets the ports its wires name', () => {
    const doc = graph([['x', 'Mystery'], ['out', 'ImageOutput']], ['x.pic -> out.image']);
    const info = nodeInfos(doc, registry, compile(doc, registry), emptyCache()).info.get('x')!;
    expect(info.kind).toBeUndefined();
    expect(info.ghost).toEqual({ inputs: [], outputs: ['pic'] });
    expect(info.issues[0].code).toBe('unknown-node-type');
  });
});
