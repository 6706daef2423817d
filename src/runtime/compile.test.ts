import { describe, expect, it } from 'vitest';
import { createRegistry } from '../nodes/index.ts';
import { compile } from './compile.ts';
import { defineNode } from './define.ts';
import { int, textParam } from './params.ts';
import { tensor, text } from './ports.ts';
import { Registry } from './registry.ts';
import { graph } from './testing.ts';

const registry = createRegistry();
const errorsOf = (doc: ReturnType<typeof graph>, reg = registry) => compile(doc, reg).errors;

describe('compile', () => {
  it('orders a valid graph topologically and infers shapes', () => {
    const { plan, errors } = compile(
      graph(
        [
          ['out', 'ImageOutput'],
          ['sum', 'Add'],
          ['n', 'NoiseSource', { shape: [2, 4, 4, 3] }],
          ['c', 'Constant', { shape: [1, 1, 1, 3] }],
        ],
        ['n.out -> sum.a', 'c.out -> sum.b', 'sum.out -> out.image'],
      ),
      registry,
    );
    expect(errors).toEqual([]);
    expect(plan!.nodes.map((n) => n.id)).toEqual(['n', 'c', 'sum', 'out']);
    expect(plan!.byId.get('sum')!.types.out).toMatchObject({ kind: 'tensor', shape: [2, 4, 4, 3] });
    expect(plan!.byId.get('n')!.params).toEqual({ shape: [2, 4, 4, 3], seed: 0, distribution: 'normal', volatile: false });
  });

  it('an unknown node type names the node and suggests close kinds', () => {
    const [e] = errorsOf(graph([['x', 'NoiseSorce']]));
    expect(e).toMatchObject({ code: 'unknown-node-type', nodeId: 'x' });
    expect(e.message).toContain('did you mean "NoiseSource"');
  });

  it('an unknown kind is reported once, not again as a missing input downstream', () => {
    const errors = errorsOf(graph([['x', 'NoiseSorce'], ['show', 'ImageOutput']], ['x.out -> show.image']));
    expect(errors.map((e) => e.code)).toEqual(['unknown-node-type']);
  });

  it('an unknown port names the node, the port and the valid ports', () => {
    const errors = errorsOf(graph([['n', 'NoiseSource'], ['s', 'Scale']], ['n.output -> s.x', 'n.out -> s.y']));
    expect(errors).toContainEqual(expect.objectContaining({ code: 'unknown-port', nodeId: 'n', port: 'output', message: expect.stringContaining('"out"') }));
    expect(errors).toContainEqual(expect.objectContaining({ code: 'unknown-port', nodeId: 's', port: 'y', message: expect.stringContaining('"x"') }));
  });

  it('a dangling edge names the missing node', () => {
    expect(errorsOf(graph([['s', 'Scale']], ['ghost.out -> s.x']))).toContainEqual(
      expect.objectContaining({ code: 'dangling-edge', nodeId: 'ghost', edgeId: 'e0' }),
    );
  });

  it('a cycle is reported with the nodes on it', () => {
    const errors = errorsOf(
      graph(
        [['n', 'NoiseSource'], ['a', 'Add'], ['b', 'Scale'], ['c', 'Scale'], ['self', 'Add']],
        ['n.out -> a.a', 'a.out -> b.x', 'b.out -> c.x', 'c.out -> a.b', 'n.out -> self.a', 'self.out -> self.b'],
      ),
    );
    const cycles = errors.filter((e) => e.code === 'cycle');
    expect(cycles.map((e) => (e.detail!.nodes as string[]).slice().sort())).toEqual([['a', 'b', 'c'], ['self']]);
    expect(cycles[0].message).toMatch(/a -> b -> c -> a/);
  });

  it('a type mismatch names the input port and both types', () => {
    const Prompt = defineNode({ type: 'Prompt', category: 'sources', doc: '', inputs: {}, outputs: { text: text() }, params: { text: textParam('hi') }, run: ({ params }) => ({ text: params.text }) });
    const reg = createRegistry().register(Prompt);
    const [e] = errorsOf(graph([['p', 'Prompt'], ['s', 'Scale']], ['p.text -> s.x']), reg);
    expect(e).toMatchObject({ code: 'port-type-mismatch', nodeId: 's', port: 'x' });
    expect(e.message).toContain('expects tensor, got text');
  });

  it('bad params name the param and list the valid choices', () => {
    const errors = errorsOf(graph([['n', 'NoiseSource', { seed: -1, distribution: 'gaussian', shape: [0, 3] }]]));
    expect(errors.map((e) => e.port).sort()).toEqual(['distribution', 'seed', 'shape']);
    expect(errors.every((e) => e.code === 'bad-param' && e.nodeId === 'n')).toBe(true);
    expect(errors.find((e) => e.port === 'distribution')!.message).toContain('"normal", "uniform"');
  });

  it('an absurd noise shape is refused at compile time', () => {
    const [e] = errorsOf(graph([['n', 'NoiseSource', { shape: [100000, 100000] }]]));
    expect(e).toMatchObject({ code: 'bad-param', nodeId: 'n', port: 'shape' });
    expect(e.message).toContain('more than 268,435,456 elements');
  });

  it('an absurd tensor made by broadcasting is refused with the node and port', () => {
    const [e] = errorsOf(
      graph([['a', 'NoiseSource', { shape: [100000, 1] }], ['b', 'NoiseSource', { shape: [1, 100000] }], ['sum', 'Add']], ['a.out -> sum.a', 'b.out -> sum.b']),
    );
    expect(e).toMatchObject({ code: 'tensor-too-large', nodeId: 'sum', port: 'out' });
  });

  it('shapes that do not broadcast are marked on the consuming node', () => {
    const [e] = errorsOf(
      graph([['a', 'NoiseSource', { shape: [1, 8, 8, 3] }], ['b', 'NoiseSource', { shape: [1, 4, 4, 3] }], ['sum', 'Add']], ['a.out -> sum.a', 'b.out -> sum.b']),
    );
    expect(e).toMatchObject({ code: 'shape-mismatch', nodeId: 'sum', port: 'b' });
    expect(e.message).toContain('[1, 8, 8, 3] and [1, 4, 4, 3]');
  });

  it('a declared input shape is checked against what feeds it', () => {
    const [e] = errorsOf(graph([['n', 'NoiseSource', { shape: [8, 8] }], ['img', 'ImageOutput']], ['n.out -> img.image']));
    expect(e).toMatchObject({ code: 'shape-mismatch', nodeId: 'img', port: 'image' });
    expect(e.message).toContain('rank 4');
    const [c] = errorsOf(graph([['n', 'NoiseSource', { shape: [1, 8, 8, 2] }], ['img', 'ImageOutput']], ['n.out -> img.image']));
    expect(c).toMatchObject({ code: 'shape-mismatch', nodeId: 'img', port: 'image', message: expect.stringContaining('2') });
  });

  it('missing and doubly-connected inputs are reported per port', () => {
    const errors = errorsOf(graph([['n', 'NoiseSource'], ['m', 'NoiseSource'], ['s', 'Scale'], ['a', 'Add']], ['n.out -> s.x', 'm.out -> s.x', 'n.out -> a.a']));
    expect(errors).toContainEqual(expect.objectContaining({ code: 'input-already-connected', nodeId: 's', port: 'x', edgeId: 'e1' }));
    expect(errors).toContainEqual(expect.objectContaining({ code: 'missing-input', nodeId: 'a', port: 'b' }));
  });

  it('errors downstream of a broken node are not piled on', () => {
    const errors = errorsOf(graph([['n', 'NoiseSource', { seed: 'x' }], ['s', 'Scale'], ['t', 'Scale']], ['n.out -> s.x', 's.out -> t.x']));
    expect(errors.map((e) => e.nodeId)).toEqual(['n']);
  });
});

describe('node kinds', () => {
  const mk = (version: number) =>
    defineNode({
      type: 'Resize',
      version,
      category: 'math',
      doc: '',
      inputs: {},
      outputs: { out: tensor() },
      params: { size: int(8, { min: 1 }) },
      migrations: version > 1 ? [{ from: 1, up: ({ width, ...rest }) => ({ ...rest, size: width }) }] : [],
      run: () => ({ out: 0 }),
    });

  it('params saved for an older kind version are migrated on compile', () => {
    const reg = new Registry([mk(2)]);
    const doc = graph([['r', 'Resize', { width: 32 }]]);
    doc.nodes[0].v = 1;
    const { plan, errors } = compile(doc, reg);
    expect(errors).toEqual([]);
    expect(plan!.byId.get('r')!.params).toEqual({ size: 32 });
  });

  it('a node saved by a newer kind version is refused clearly', () => {
    const doc = graph([['r', 'Resize']]);
    doc.nodes[0].v = 3;
    const [e] = compile(doc, new Registry([mk(2)])).errors;
    expect(e).toMatchObject({ code: 'bad-param', nodeId: 'r' });
    expect(e.message).toContain('v3');
  });

  it('registering a type twice throws with its name', () => {
    expect(() => new Registry([mk(1), mk(1)])).toThrow('node type "Resize" is registered twice');
  });
});
