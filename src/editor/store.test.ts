import { describe, expect, it } from 'vitest';
import { GRAPH_FORMAT, type GraphDoc } from '../graph/index.ts';
import { createRegistry } from '../nodes/index.ts';
import { compile } from '../runtime/index.ts';
import { connectionProblem, indexGraph } from './connect.ts';
import { addNode, connect, idFor, deleteItems, fragment, moveNodes, pasteFragment, readFragment, renameNode, setNodeParam } from './graph-ops.ts';
import { EditError, EditorStore } from './store.ts';

const registry = createRegistry();
const kind = (t: string) => registry.get(t)!;
const empty = (): GraphDoc => ({ format: GRAPH_FORMAT, version: 1, name: 't', nodes: [], edges: [], meta: {} });

function blend(): EditorStore {
  const s = new EditorStore(empty());
  s.apply('add', (d) => void addNode(d, kind('NoiseSource'), { x: 0, y: 0 }));
  s.apply('add', (d) => void addNode(d, kind('NoiseSource'), { x: 0, y: 200 }));
  s.apply('add', (d) => void addNode(d, kind('Add'), { x: 300, y: 100 }));
  s.apply('wire', (d) => void connect(d, { node: 'noiseSource', port: 'out' }, { node: 'add', port: 'a' }, false));
  s.apply('wire', (d) => void connect(d, { node: 'noiseSource2', port: 'out' }, { node: 'add', port: 'b' }, false));
  return s;
}

describe('editor store', () => {
  it('new node ids come from the kind: camelCase, unique', () => {
    expect(['NoiseSource', 'VAEDecode', 'UNet', 'MSE', 'KLDivergence', 'ImageOutput'].map(idFor)).toEqual(['noiseSource', 'vaeDecode', 'unet', 'mse', 'klDivergence', 'imageOutput']);
  });

  it('new nodes get unique ids and every param at its default', () => {
    const s = blend();
    expect(s.doc.nodes.map((n) => n.id)).toEqual(['noiseSource', 'noiseSource2', 'add']);
    expect(s.doc.nodes[0].params).toEqual({ shape: [1, 8, 8, 4], seed: 0, distribution: 'normal', volatile: false });
    expect(compile(s.doc, registry).errors).toEqual([]);
  });

  it('undo and redo walk back and forth through exactly the same documents', () => {
    const s = new EditorStore(empty());
    const seen = [JSON.stringify(s.doc)];
    const edits: Array<[string, (d: GraphDoc) => void]> = [
      ['add', (d) => void addNode(d, kind('NoiseSource'), { x: 0, y: 0 })],
      ['add', (d) => void addNode(d, kind('Scale'), { x: 200, y: 0 })],
      ['wire', (d) => void connect(d, { node: 'noiseSource', port: 'out' }, { node: 'scale', port: 'x' }, false)],
      ['param', (d) => setNodeParam(d, 'scale', 'factor', 2)],
      ['move', (d) => moveNodes(d, { scale: { x: 250, y: 40 } })],
      ['rename', (d) => renameNode(d, 'scale', 'gain')],
      ['paste', (d) => void pasteFragment(d, fragment(s.doc, ['noiseSource', 'gain']))],
      ['delete', (d) => deleteItems(d, ['noiseSource'])],
    ];
    for (const [label, recipe] of edits) {
      s.apply(label, recipe);
      seen.push(JSON.stringify(s.doc));
    }
    for (let i = seen.length - 2; i >= 0; i--) {
      s.undo();
      expect(JSON.stringify(s.doc)).toBe(seen[i]);
    }
    for (let i = 1; i < seen.length; i++) {
      s.redo();
      expect(JSON.stringify(s.doc)).toBe(seen[i]);
    }
  });

  it('deleting a node removes its edges in the same step', () => {
    const s = blend();
    s.apply('delete', (d) => deleteItems(d, ['noiseSource']));
    expect(s.doc.edges.map((e) => e.from.node)).toEqual(['noiseSource2']);
    s.undo();
    expect(s.doc.edges).toHaveLength(2);
  });

  it('an edit that would leave a dangling edge or that throws changes nothing', () => {
    const s = blend();
    const before = s.doc;
    expect(() => s.apply('bad', (d) => void d.nodes.splice(0, 1))).toThrow(EditError);
    expect(() => s.apply('half', (d) => {
      d.nodes[0].params.seed = 9;
      throw new Error('boom');
    })).toThrow(/boom/);
    expect(s.doc).toBe(before);
    expect(s.history()).toHaveLength(5);
  });

  it('a single input is replaced by a new wire, a multi input appends', () => {
    const s = blend();
    s.apply('rewire', (d) => void connect(d, { node: 'noiseSource2', port: 'out' }, { node: 'add', port: 'a' }, false));
    expect(s.doc.edges.filter((e) => e.to.port === 'a').map((e) => e.from.node)).toEqual(['noiseSource2']);
    s.apply('add', (d) => void addNode(d, kind('WeightedSum'), { x: 0, y: 0 }));
    s.apply('add', (d) => void addNode(d, kind('MSE'), { x: 0, y: 0 }));
    s.apply('add', (d) => void addNode(d, kind('MSE'), { x: 0, y: 0 }));
    const port = Object.keys(kind('WeightedSum').inputs)[0];
    s.apply('w', (d) => void connect(d, { node: 'mse', port: 'loss' }, { node: 'weightedSum', port }, true));
    s.apply('w', (d) => void connect(d, { node: 'mse2', port: 'loss' }, { node: 'weightedSum', port }, true));
    expect(s.doc.edges.filter((e) => e.to.node === 'weightedSum')).toHaveLength(2);
  });

  it('renaming a node carries its edges; a taken id is refused', () => {
    const s = blend();
    s.apply('rename', (d) => renameNode(d, 'add', 'sum'));
    expect(s.doc.edges.every((e) => e.to.node === 'sum')).toBe(true);
    expect(() => s.apply('rename', (d) => renameNode(d, 'sum', 'noiseSource'))).toThrow(/already called/);
  });

  it('pasting clipboard JSON remaps ids and keeps only inner edges', () => {
    const s = blend();
    const text = JSON.stringify(fragment(s.doc, ['noiseSource', 'add']));
    const frag = readFragment(text)!;
    let added: string[] = [];
    s.apply('paste', (d) => void (added = pasteFragment(d, frag, { x: 1000, y: 1000 })));
    expect(added).toEqual(['noiseSource3', 'add2']);
    const inner = s.doc.edges.filter((e) => e.to.node === 'add2');
    expect(inner.map((e) => `${e.from.node}->${e.to.port}`)).toEqual(['noiseSource3->a']);
    expect(s.doc.nodes.find((n) => n.id === 'noiseSource3')!.position).toEqual({ x: 1000, y: 1000 });
    expect(readFragment('{"not":"a graph"}')).toBeUndefined();
  });
});

describe('connection rules', () => {
  it('refuses a type mismatch with the runtime reason, a self-wire and a cycle', () => {
    const s = blend();
    s.apply('add', (d) => void addNode(d, kind('Text'), { x: 0, y: 0 }));
    const g = indexGraph(s.doc, registry, compile(s.doc, registry).types);
    expect(connectionProblem(g, { node: 'text', port: 'text' }, { node: 'add', port: 'a' })).toMatch(/expects tensor.*got text/);
    expect(connectionProblem(g, { node: 'add', port: 'out' }, { node: 'add', port: 'a' })).toMatch(/itself/);
    expect(connectionProblem(g, { node: 'noiseSource', port: 'out' }, { node: 'add', port: 'b' })).toBeNull();
    s.apply('add', (d) => void addNode(d, kind('Add'), { x: 0, y: 0 }));
    s.apply('w', (d) => void connect(d, { node: 'add', port: 'out' }, { node: 'add2', port: 'a' }, false));
    const g2 = indexGraph(s.doc, registry, compile(s.doc, registry).types);
    expect(connectionProblem(g2, { node: 'add2', port: 'out' }, { node: 'add', port: 'a' })).toMatch(/cycle/);
  });
});
