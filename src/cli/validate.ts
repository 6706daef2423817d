/**
 * `weft validate graph.json`: load and compile with the built-in kinds (no tfjs work), and print
 * every problem at once, one line each, as the editor marks every broken node at once.
 */
import { compile, createRegistry, parseGraph, type GraphDoc, type GraphIssue } from '../index.ts';
import { EXIT, issueJson, issueLine, printJson, readGraphFile, type Command } from './common.ts';

/** Parse and compile; the issues of whichever step failed first (compile repeats the parse's reference checks). */
export function checkGraph(text: string): { doc?: GraphDoc; errors: GraphIssue[] } {
  const parsed = parseGraph(text);
  if (!parsed.doc) return { errors: parsed.errors };
  const { errors } = compile(parsed.doc, createRegistry());
  return { doc: parsed.doc, errors };
}

export const validate: Command = {
  summary: 'check a graph without running it',
  usage: `Usage: weft validate <graph.json> [--json]

Loads the graph, migrates it, and compiles it with the built-in node kinds: unknown kinds,
ports and params, dangling edges, cycles, type and shape mismatches. Nothing is run.

Options:
  --json      print {ok, name, nodes, edges} or {ok: false, errors: [...]} as JSON
  -h, --help  show this help

Exit status: 0 valid, 1 the graph has errors (each printed as one line), 2 unreadable file
or bad arguments.`,
  options: { json: { type: 'boolean' } },
  async run({ values, positionals, out }) {
    const file = positionals[0];
    const { doc, errors } = checkGraph(readGraphFile(file));
    if (values.json) {
      if (errors.length) printJson({ ok: false, file, errors: errors.map(issueJson) });
      else printJson({ ok: true, file, name: doc!.name, nodes: doc!.nodes.length, edges: doc!.edges.length });
      return errors.length ? EXIT.failed : EXIT.ok;
    }
    if (errors.length) {
      for (const e of errors) out(issueLine(e));
      out(`${file}: ${errors.length} error${errors.length === 1 ? '' : 's'}`);
      return EXIT.failed;
    }
    out(`ok: ${doc!.name} (${doc!.nodes.length} nodes, ${doc!.edges.length} edges)`);
    return EXIT.ok;
  },
};
