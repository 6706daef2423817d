/**
 * Loading and saving graph documents: parse -> detect version -> migrate -> validate (zod) ->
 * document-level checks (unique ids, edges that point at existing nodes). Every problem found is
 * returned, so an editor can mark all of them at once; nothing here throws except loadGraph,
 * which wraps the same issues in a GraphError.
 */
import type { z } from 'zod';
import { docSchema } from './schema.ts';
import { migrateDocument } from './migrations.ts';
import { GraphError, type GraphDoc, type GraphIssue } from './types.ts';

export interface ParseResult {
  doc?: GraphDoc;
  errors: GraphIssue[];
}

/** Parse a graph from JSON text or an already-parsed value. Never throws. */
export function parseGraph(input: string | unknown): ParseResult {
  let raw: unknown = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch (err) {
      return { errors: [{ code: 'malformed-json', message: `the graph is not valid JSON: ${(err as Error).message}` }] };
    }
  }
  const depth = nestingDepth(raw, MAX_DEPTH);
  if (depth > MAX_DEPTH) {
    return { errors: [{ code: 'invalid-document', message: `the graph is nested more than ${MAX_DEPTH} levels deep` }] };
  }
  const migrated = migrateDocument(raw);
  if (!migrated.doc) return { errors: migrated.errors };

  const parsed = docSchema.safeParse(migrated.doc);
  if (!parsed.success) return { errors: parsed.error.issues.map((i) => schemaIssue(i, migrated.doc!)) };
  const doc = parsed.data as GraphDoc;
  const errors = checkReferences(doc);
  return errors.length ? { doc, errors } : { doc, errors: [] };
}

/** Parse and throw a GraphError carrying every issue when the graph is not usable. */
export function loadGraph(input: string | unknown): GraphDoc {
  const { doc, errors } = parseGraph(input);
  if (!doc || errors.length) throw new GraphError(errors);
  return doc;
}

/** Stable, human-diffable JSON. Unknown fields written by others are kept. */
export function serializeGraph(doc: GraphDoc): string {
  return JSON.stringify(doc, null, 2) + '\n';
}

/** Deeper documents are refused: nothing real needs it, and saving one would overflow the stack. */
const MAX_DEPTH = 64;

/** Depth of nested arrays/objects, walked without recursion; stops counting past `limit`. */
function nestingDepth(value: unknown, limit: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

function schemaIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>): GraphIssue {
  const path = issue.path.map(String);
  const out: GraphIssue = { code: 'invalid-document', message: `${path.join('.') || '(document)'}: ${issue.message}` };
  const [section, index, field] = issue.path;
  const list = (section === 'nodes' || section === 'edges') && Array.isArray(raw[section]) ? (raw[section] as unknown[]) : undefined;
  const item = list && typeof index === 'number' ? (list[index] as Record<string, unknown> | undefined) : undefined;
  if (section === 'nodes' && item && typeof item.id === 'string') out.nodeId = item.id;
  if (section === 'edges' && item && typeof item.id === 'string') out.edgeId = item.id;
  if (section === 'nodes' && field === 'params' && typeof issue.path[3] === 'string') out.port = issue.path[3];
  return out;
}

export function checkReferences(doc: GraphDoc): GraphIssue[] {
  const errors: GraphIssue[] = [];
  const ids = new Set<string>();
  for (const n of doc.nodes) {
    if (ids.has(n.id)) errors.push({ code: 'duplicate-node-id', nodeId: n.id, message: `two nodes share the id "${n.id}"` });
    ids.add(n.id);
  }
  const edgeIds = new Set<string>();
  for (const e of doc.edges) {
    if (edgeIds.has(e.id)) errors.push({ code: 'duplicate-edge-id', edgeId: e.id, message: `two edges share the id "${e.id}"` });
    edgeIds.add(e.id);
    for (const end of ['from', 'to'] as const) {
      if (!ids.has(e[end].node)) {
        errors.push({
          code: 'dangling-edge',
          edgeId: e.id,
          nodeId: e[end].node,
          port: e[end].port,
          message: `edge "${e.id}" ${end === 'from' ? 'comes from' : 'goes to'} node "${e[end].node}", which is not in the graph`,
        });
      }
    }
  }
  return errors;
}
