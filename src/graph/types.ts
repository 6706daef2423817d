/**
 * The graph document (format 1) and the structured errors every layer reports.
 * Pure TypeScript: no tfjs, no React, no DOM.
 */

export const GRAPH_FORMAT = 'weft.graph';
export const GRAPH_VERSION = 1;

export interface PortRef {
  node: string;
  port: string;
  [extra: string]: unknown;
}

export interface GraphNode {
  id: string;
  type: string;
  /** The node kind's version the params were written for (absent = 1). */
  v?: number;
  params: Record<string, unknown>;
  position: { x: number; y: number };
  [extra: string]: unknown;
}

export interface GraphEdge {
  id: string;
  from: PortRef;
  to: PortRef;
  [extra: string]: unknown;
}

export interface GraphDoc {
  format: typeof GRAPH_FORMAT;
  version: typeof GRAPH_VERSION;
  name: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
  meta: Record<string, unknown>;
  [extra: string]: unknown;
}

/** Every problem Weft reports about a graph or a run is one of these codes. */
export type IssueCode =
  | 'malformed-json'
  | 'invalid-document'
  | 'unknown-format'
  | 'unsupported-version'
  | 'migration-failed'
  | 'duplicate-node-id'
  | 'duplicate-edge-id'
  | 'unknown-node-type'
  | 'unknown-port'
  | 'dangling-edge'
  | 'input-already-connected'
  | 'missing-input'
  | 'port-type-mismatch'
  | 'cycle'
  | 'bad-param'
  | 'shape-mismatch'
  | 'tensor-too-large'
  | 'unknown-output'
  | 'node-failed'
  | 'not-trainable'
  | 'cancelled';

export interface GraphIssue {
  code: IssueCode;
  message: string;
  nodeId?: string;
  port?: string;
  edgeId?: string;
  /** Extra machine-readable detail (the nodes on a cycle, the valid choices...). */
  detail?: Record<string, unknown>;
}

/** Thrown by the throwing APIs (loadGraph, Runtime.run); carries every issue found. */
export class GraphError extends Error {
  readonly errors: GraphIssue[];
  constructor(errors: GraphIssue[]) {
    super(formatIssues(errors));
    this.name = 'GraphError';
    this.errors = errors;
  }
  get code(): IssueCode | undefined {
    return this.errors[0]?.code;
  }
}

export function formatIssue(e: GraphIssue): string {
  const where = [e.nodeId && `node "${e.nodeId}"`, e.port && `port "${e.port}"`, e.edgeId && `edge "${e.edgeId}"`]
    .filter(Boolean)
    .join(', ');
  return `[${e.code}]${where ? ` ${where}:` : ''} ${e.message}`;
}

export function formatIssues(errors: GraphIssue[]): string {
  if (errors.length === 0) return 'no errors';
  return errors.map(formatIssue).join('\n');
}
