/**
 * Test helpers (fast-check arbitraries) for the document's own tests; not part of the API.
 * Random valid graphs: unique ids, edges between existing nodes, unicode names, JSON params and
 * fields Weft does not know (which must survive every round trip).
 */
import fc from 'fast-check';

const id = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' });
const extra = fc.dictionary(fc.constantFrom('note', 'colour', 'x_custom', 'ünïcödé'), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 2 });

export function arbitraryGraph() {
  return fc
    .uniqueArray(id, { minLength: 0, maxLength: 8 })
    .chain((ids) =>
      fc.record({
        name: fc.string({ maxLength: 40, unit: 'grapheme' }),
        nodes: fc.tuple(
          ...ids.map((nodeId) =>
            fc.record({
              id: fc.constant(nodeId),
              type: fc.constantFrom('NoiseSource', 'Add', 'Scale', 'ImageOutput', 'SomeFutureKind'),
              params: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
              position: fc.record({ x: fc.integer({ min: -5000, max: 5000 }), y: fc.double({ min: -5000, max: 5000, noNaN: true }) }),
              extra,
            }),
          ),
        ),
        edges: ids.length
          ? fc.uniqueArray(
              fc.record({ id, from: fc.constantFrom(...ids), to: fc.constantFrom(...ids), fp: fc.constantFrom('out', 'image'), tp: fc.constantFrom('x', 'a') }),
              { selector: (e) => e.id, maxLength: 8 },
            )
          : fc.constant<{ id: string; from: string; to: string; fp: string; tp: string }[]>([]),
        meta: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
      }),
    )
    .map(({ name, nodes, edges, meta }) => ({
      format: 'weft.graph',
      version: 1,
      name,
      nodes: nodes.map(({ extra: more, ...n }) => ({ ...more, ...n })),
      edges: edges.map((e) => ({ id: e.id, from: { node: e.from, port: e.fp }, to: { node: e.to, port: e.tp } })),
      meta,
    }));
}
