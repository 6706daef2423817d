import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GraphError, loadGraph, parseGraph, serializeGraph } from './index.ts';

const read = (p: string) => readFileSync(new URL(`../../graphs/${p}`, import.meta.url), 'utf8');
const minimal = (extra: Record<string, unknown> = {}) => ({
  format: 'weft.graph',
  version: 1,
  name: 't',
  nodes: [{ id: 'n', type: 'NoiseSource', params: {}, position: { x: 0, y: 0 } }],
  edges: [],
  meta: {},
  ...extra,
});

describe('loading graphs', () => {
  it('every example graph loads without issues', () => {
    const files = readdirSync(new URL('../../graphs/', import.meta.url)).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) expect(parseGraph(read(f)).errors, f).toEqual([]);
  });

  it('unknown fields survive a load/save round trip at every level', () => {
    const raw = minimal({
      futureField: { nested: [1, 2] },
      nodes: [
        { id: 'a', type: 'NoiseSource', params: { seed: 3, someday: true }, position: { x: 1, y: 2, z: 9 }, color: 'red' },
        { id: 'b', type: 'Scale', params: {}, position: { x: 0, y: 0 } },
      ],
      edges: [{ id: 'e', from: { node: 'a', port: 'out', label: 'L' }, to: { node: 'b', port: 'x' }, style: 'dashed' }],
    });
    const saved = JSON.parse(serializeGraph(loadGraph(JSON.stringify(raw))));
    expect(saved).toEqual(raw);
  });

  it('malformed JSON is a structured error, not an exception', () => {
    const { doc, errors } = parseGraph('{"format": "weft.graph", "nodes": [');
    expect(doc).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0].code).toBe('malformed-json');
  });

  it('a newer format version is refused with a message saying to update', () => {
    const { errors } = parseGraph(minimal({ version: 7 }));
    expect(errors[0].code).toBe('unsupported-version');
    expect(errors[0].message).toMatch(/version 7.*newer.*update Weft/);
  });

  it('a document that is not a Weft graph says what it expected', () => {
    expect(parseGraph({ hello: 1 }).errors[0].code).toBe('unknown-format');
    expect(parseGraph([1, 2]).errors[0].code).toBe('invalid-document');
    expect(parseGraph('null').errors[0].code).toBe('invalid-document');
  });

  it('schema errors name the node they are in', () => {
    const { errors } = parseGraph(minimal({ nodes: [{ id: 'bad', type: 42, position: { x: 0, y: 0 } }] }));
    expect(errors[0]).toMatchObject({ code: 'invalid-document', nodeId: 'bad' });
    expect(errors[0].message).toContain('nodes.0.type');
  });

  it('duplicate ids and dangling edges are all reported at once', () => {
    const { errors } = parseGraph(
      minimal({
        nodes: [
          { id: 'a', type: 'NoiseSource', params: {}, position: { x: 0, y: 0 } },
          { id: 'a', type: 'Scale', params: {}, position: { x: 0, y: 0 } },
        ],
        edges: [{ id: 'e1', from: { node: 'a', port: 'out' }, to: { node: 'ghost', port: 'x' } }],
      }),
    );
    expect(errors.map((e) => e.code).sort()).toEqual(['dangling-edge', 'duplicate-node-id']);
    expect(errors.find((e) => e.code === 'dangling-edge')).toMatchObject({ nodeId: 'ghost', port: 'x', edgeId: 'e1' });
  });

  it('a document nested absurdly deep is refused before it can overflow anything', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const { errors } = parseGraph(minimal({ meta: { deep } }));
    expect(errors[0]).toMatchObject({ code: 'invalid-document', message: expect.stringContaining('nested more than 64') });
  });

  it('loadGraph throws a GraphError carrying every issue', () => {
    try {
      loadGraph('{');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(GraphError);
      expect((err as GraphError).errors[0].code).toBe('malformed-json');
    }
  });
});

describe('format migrations', () => {
  it('a format 0 graph migrates to format 1 step by step, keeping its unknown fields', () => {
    const doc = loadGraph(read('legacy/format-0-noise-blend.json'));
    expect(doc.version).toBe(1);
    expect(doc.name).toBe('Noise blend (format 0)');
    expect(doc.author).toBe('a format-0 field that must survive');
    expect(doc.nodes.map((n) => n.id)).toEqual(['noiseA', 'noiseB', 'blend', 'preview']);
    expect(doc.nodes[2]).toMatchObject({ type: 'Lerp', position: { x: 240, y: 80 }, note: 'kept' });
    expect(doc.edges.map((e) => `${e.from.node}.${e.from.port}->${e.to.node}.${e.to.port}`)).toEqual([
      'noiseA.out->blend.a',
      'noiseB.out->blend.b',
      'blend.out->preview.image',
    ]);
  });

  it('a broken format 0 input reference is a migration error, not a crash', () => {
    const { errors } = parseGraph({ weft: 0, nodes: { a: { kind: 'Add', inputs: { a: 'nodot' } } } });
    expect(errors[0].code).toBe('migration-failed');
    expect(errors[0].message).toContain('a.a');
  });
});
