/**
 * The zod schema of graph format 1. Objects are "loose": fields Weft does not know survive a
 * load/save round trip untouched (a newer editor's annotations, a user's notes).
 */
import { z } from 'zod';
import { GRAPH_FORMAT, GRAPH_VERSION } from './types.ts';

/** Generous limits that stop a hostile document before it costs memory or time. */
export const DOC_LIMITS = { nodes: 20_000, edges: 80_000, idLength: 200 };

const id = z.string().min(1, 'must not be empty').max(DOC_LIMITS.idLength);

const portRef = z.looseObject({ node: id, port: id });

export const nodeSchema = z.looseObject({
  id,
  type: z.string().min(1).max(200),
  v: z.number().int().min(1).optional(),
  params: z.record(z.string(), z.unknown()).default({}),
  position: z.looseObject({ x: z.number(), y: z.number() }).default({ x: 0, y: 0 }),
});

export const edgeSchema = z.looseObject({ id, from: portRef, to: portRef });

export const docSchema = z.looseObject({
  format: z.literal(GRAPH_FORMAT),
  version: z.literal(GRAPH_VERSION),
  name: z.string().max(500).default('Untitled'),
  nodes: z.array(nodeSchema).max(DOC_LIMITS.nodes),
  edges: z.array(edgeSchema).max(DOC_LIMITS.edges).default([]),
  meta: z.record(z.string(), z.unknown()).default({}),
});
