/**
 * Format migrations: each step upgrades a document by exactly one version, so a graph saved by
 * any earlier Weft walks forward step by step. Add a step (and a frozen fixture under
 * graphs/legacy/) whenever the format changes.
 *
 * Format 0 was the pre-release shape: nodes keyed by id in an object, inputs written inline as
 * "node.port" strings, positions as [x, y] pairs, and a `title` instead of `name`:
 *
 *   { "weft": 0, "title": "t", "nodes": { "a": { "kind": "Add", "params": {},
 *     "inputs": { "a": "noise.out" }, "xy": [10, 20] } } }
 */
import { GRAPH_FORMAT, GRAPH_VERSION, type GraphIssue } from './types.ts';

type Json = Record<string, unknown>;
export interface FormatMigration {
  from: number;
  up: (doc: Json) => Json;
}

const isObj = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

function v0ToV1(doc: Json): Json {
  const { weft: _weft, title, nodes: nodeMap, ...rest } = doc;
  if (!isObj(nodeMap)) throw new Error('format 0 "nodes" must be an object keyed by node id');
  const nodes: Json[] = [];
  const edges: Json[] = [];
  for (const [id, raw] of Object.entries(nodeMap)) {
    if (!isObj(raw)) throw new Error(`format 0 node "${id}" must be an object`);
    const { kind, inputs, xy, ...nodeRest } = raw;
    const [x, y] = Array.isArray(xy) ? xy : [0, 0];
    nodes.push({ ...nodeRest, id, type: kind, position: { x, y } });
    for (const [port, src] of Object.entries(isObj(inputs) ? inputs : {})) {
      const sources = Array.isArray(src) ? src : [src];
      sources.forEach((s, i) => {
        const text = String(s);
        const dot = text.lastIndexOf('.');
        if (dot <= 0) throw new Error(`format 0 input "${id}.${port}" must read "node.port", got "${text}"`);
        const edgeId = `e_${id}_${port}${sources.length > 1 ? `_${i}` : ''}`;
        edges.push({ id: edgeId, from: { node: text.slice(0, dot), port: text.slice(dot + 1) }, to: { node: id, port } });
      });
    }
  }
  return { format: GRAPH_FORMAT, version: 1, name: typeof title === 'string' ? title : 'Untitled', nodes, edges, meta: {}, ...rest };
}

export const FORMAT_MIGRATIONS: FormatMigration[] = [{ from: 0, up: v0ToV1 }];

/** Which format version a raw document claims, or an issue saying why it is not a Weft graph. */
export function detectVersion(raw: unknown): { version: number } | { issue: GraphIssue } {
  if (!isObj(raw)) return { issue: { code: 'invalid-document', message: 'a graph must be a JSON object' } };
  if (raw.format === GRAPH_FORMAT) {
    if (typeof raw.version !== 'number' || !Number.isInteger(raw.version) || raw.version < 0) {
      return { issue: { code: 'invalid-document', message: `"version" must be a whole number, got ${JSON.stringify(raw.version)}` } };
    }
    return { version: raw.version };
  }
  if (raw.weft === 0) return { version: 0 };
  return {
    issue: {
      code: 'unknown-format',
      message: `not a Weft graph: expected "format": "${GRAPH_FORMAT}", got ${JSON.stringify(raw.format ?? null)}`,
    },
  };
}

/** Walk a raw document forward to the current version, one step at a time. */
export function migrateDocument(raw: unknown, migrations = FORMAT_MIGRATIONS): { doc?: Json; errors: GraphIssue[] } {
  const detected = detectVersion(raw);
  if ('issue' in detected) return { errors: [detected.issue] };
  let version = detected.version;
  if (version > GRAPH_VERSION) {
    return {
      errors: [
        {
          code: 'unsupported-version',
          message: `this graph is format version ${version}, newer than this Weft understands (up to ${GRAPH_VERSION}); update Weft to open it`,
          detail: { version, supported: GRAPH_VERSION },
        },
      ],
    };
  }
  let doc = raw as Json;
  while (version < GRAPH_VERSION) {
    const step = migrations.find((m) => m.from === version);
    if (!step) return { errors: [{ code: 'migration-failed', message: `no migration from format version ${version}` }] };
    try {
      doc = step.up(doc);
    } catch (err) {
      return { errors: [{ code: 'migration-failed', message: `migrating from version ${version}: ${(err as Error).message}` }] };
    }
    version += 1;
  }
  return { doc, errors: [] };
}
