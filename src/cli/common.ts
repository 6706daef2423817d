/**
 * What every `weft` command shares: exit codes, the error a command throws for a user mistake
 * (printed as one line, never a stack trace), reading a graph file, printing graph issues.
 */
import { readFileSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { formatIssue, type BackendRequest, type GraphError, type GraphIssue } from '../index.ts';
import { graphTextFromPng, isPng, PngError } from '../graph/png.ts';

export const EXIT = {
  ok: 0,
  /** The graph is broken, or the run failed. */
  failed: 1,
  /** Bad command line, or a file that cannot be read or written. */
  usage: 2,
  /** Cancelled with Ctrl-C (128 + SIGINT). */
  cancelled: 130,
} as const;

/** A problem the CLI reports about its own input (flags, --set, files). */
export interface CliIssue {
  code: string;
  message: string;
  nodeId?: string;
  port?: string;
  detail?: Record<string, unknown>;
}

/** A user mistake: main prints the message (or the issues) and exits with `exitCode`. */
export class CliError extends Error {
  readonly issues: CliIssue[];
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
    issues?: CliIssue[],
  ) {
    super(message);
    this.name = 'CliError';
    this.issues = issues ?? [{ code: 'usage', message }];
  }
}

export interface CommandContext {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** Lines for the command's report (stdout). */
  out(line: string): void;
  /** Lines for diagnostics and progress (stderr). */
  err(line: string): void;
}

/** One entry of the dispatch table in main.ts; a new command is one more entry. */
export interface Command {
  summary: string;
  /** The full help text, shown by `weft <cmd> --help` and after a usage error. */
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(ctx: CommandContext): Promise<number>;
}

/** A graph file's text: JSON as it is, or the graph a PNG exported by Weft carries. */
export function readGraphFile(file: string | undefined): string {
  if (!file) throw new CliError('no graph file given');
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new CliError(`cannot read ${file}: ${why}`, EXIT.usage, [{ code: 'unreadable-file', message: `cannot read ${file}: ${why}` }]);
  }
  if (!isPng(bytes)) return bytes.toString('utf8');
  try {
    return graphTextFromPng(bytes);
  } catch (err) {
    if (!(err instanceof PngError)) throw err;
    const message = `cannot read a graph from ${file}: ${err.message}`;
    throw new CliError(message, EXIT.usage, [{ code: 'unreadable-file', message, detail: { png: err.code } }]);
  }
}

/** One line per issue: `[code] node "id", port "p": message`. */
export function issueLine(issue: GraphIssue | CliIssue): string {
  return formatIssue(issue as GraphIssue).replace(/\s*\n\s*/g, ' ');
}

/** Issues as JSON: the fields a script needs, without undefined noise. */
export function issueJson(issue: GraphIssue | CliIssue): CliIssue {
  const { code, message, nodeId, port, detail } = issue;
  const edgeId = (issue as GraphIssue).edgeId;
  return { code, message, ...(nodeId ? { nodeId } : {}), ...(port ? { port } : {}), ...(edgeId ? { edgeId } : {}), ...(detail ? { detail } : {}) };
}

export const quoteList = (xs: readonly string[]): string => (xs.length ? xs.map((x) => `"${x}"`).join(', ') : 'none');

/** Indented JSON, with arrays of plain values (shapes, small data) kept on one line. */
export function toJson(value: unknown, indent = ''): string {
  const flat = JSON.stringify(value);
  if (flat === undefined) return 'null';
  if (value === null || typeof value !== 'object') return flat;
  if (Array.isArray(value) && value.every((x) => x === null || typeof x !== 'object')) return flat.replace(/,/g, ', ');
  const inner = indent + '  ';
  if (Array.isArray(value)) return value.length ? `[\n${value.map((x) => inner + toJson(x, inner)).join(',\n')}\n${indent}]` : '[]';
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (!entries.length) return '{}';
  if (flat.length <= 72 && entries.every(([, v]) => v === null || typeof v !== 'object')) {
    return `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')} }`;
  }
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${toJson(v, inner)}`).join(',\n')}\n${indent}}`;
}

export function printJson(value: unknown): void {
  process.stdout.write(toJson(value) + '\n');
}

export const BACKENDS = ['auto', 'wasm', 'cpu', 'webgpu'] as const;

/** --backend's value, checked. */
export function checkBackend(name: string): BackendRequest {
  if ((BACKENDS as readonly string[]).includes(name)) return name as BackendRequest;
  throw new CliError(`--backend "${name}" is not a backend; choose ${quoteList(BACKENDS)}`);
}

/** Print a graph's issues (one line each, or JSON) and give the exit status for a broken graph. */
export function graphFailure(errors: GraphError['errors'], json: boolean, err: (line: string) => void): number {
  if (json) printJson({ ok: false, errors: errors.map(issueJson) });
  else for (const e of errors) err(issueLine(e));
  return EXIT.failed;
}
