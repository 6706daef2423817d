/**
 * `weft run graph.json --out dir/`: run a graph headlessly and write its outputs (images as PNG,
 * numbers as JSON). The same runtime as the editor, so the same graph, seeds and backend give the
 * same numbers in both.
 *
 *  1. read, parse, apply --set, compile: every problem is reported before a backend starts
 *  2. start the backend (reported with the reason for the choice)
 *  3. run, one line per node as it finishes; Ctrl-C cancels between nodes (exit 130)
 *  4. write the files and report them
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  compile,
  createRegistry,
  createRuntime,
  GraphError,
  parseGraph,
  Registry,
  type AnyNodeKind,
  type GraphDoc,
  type Plan,
  type RunEvent,
  type Runtime,
} from '../index.ts';
import { embedGraph } from '../graph/png.ts';
import { WEBGPU_HINT } from '../runtime/platform-node.ts';
import { checkBackend, CliError, EXIT, graphFailure, printJson, quoteList, readGraphFile, type Command, type CommandContext } from './common.ts';
import { applySets } from './set.ts';
import { writeOutputs, type ImageSummary, type NodeOutputs, type TensorSummary } from './write.ts';


export const run: Command = {
  summary: 'run a graph and write its outputs (images as PNG, numbers as JSON)',
  usage: `Usage: weft run <graph.json> [--out DIR] [options]

Runs the graph's outputs (every ImageOutput / TensorOutput, or --outputs) and writes
<DIR>/<node>.png for each image and <DIR>/<node>.json for numbers and tensor statistics.

Options:
  --out DIR             where to write the files (created if missing; omit to only report)
  --backend NAME        auto | wasm | cpu | webgpu   (default auto: wasm in Node)
  --set NODE.PARAM=VAL  override a param for this run; repeatable. VAL is JSON when it
                        parses (5, 0.25, [1,8,8,4], true), else text
  --outputs ID,ID       run only what these nodes need, and output them
  --cache-mb N          tensor cache budget in MiB (default 256)
  --json                print one JSON object {ok, backend, reason, nodes, outputs, files, ms}
                        on stdout and nothing else
  -h, --help            show this help

Exit status: 0 done, 1 graph error or failed run, 2 bad arguments or unreadable file,
130 cancelled (Ctrl-C).`,
  options: {
    out: { type: 'string', short: 'o' },
    backend: { type: 'string', default: 'auto' },
    set: { type: 'string', multiple: true, default: [] },
    outputs: { type: 'string' },
    'cache-mb': { type: 'string' },
    json: { type: 'boolean' },
  },
  run: runCommand,
};

async function runCommand({ values, positionals, out, err }: CommandContext): Promise<number> {
  const json = !!values.json;
  const backend = checkBackend(values.backend as string);
  const cacheBytes = checkCacheMb(values['cache-mb'] as string | undefined);
  const outDir = values.out as string | undefined;
  const file = positionals[0];

  // 1. everything that can be checked before a backend starts
  const parsed = parseGraph(readGraphFile(file));
  if (!parsed.doc) return graphFailure(parsed.errors, json, err);
  const registry = createRegistry();
  const doc = applySets(parsed.doc, registry, values.set as string[]);
  const { plan, errors } = compile(doc, registry);
  if (!plan) return graphFailure(errors, json, err);
  const outputs = checkOutputs(values.outputs as string | undefined, plan);
  if (outDir) makeOutDir(outDir);

  // 2. backend
  let rt: Runtime;
  try {
    rt = await createRuntime({ backend, registry, ...(cacheBytes ? { cacheBytes } : {}) });
  } catch (e) {
    const message = `cannot start the ${backend} backend: ${(e as Error).message}${backend === 'webgpu' ? `; ${WEBGPU_HINT}` : ''}`;
    if (json) printJson({ ok: false, errors: [{ code: 'backend-unavailable', message }] });
    else err(`error: ${message}`);
    return EXIT.failed;
  }
  if (!json) out(`backend: ${rt.backend.name} (${rt.backend.reason})`);

  // 3. run, cancellable with Ctrl-C
  const abort = new AbortController();
  let firstSigint = 0;
  const onSigint = () => {
    // A second Ctrl-C quits without waiting; one that comes within 300 ms is the same press
    // delivered twice (to bin/weft.mjs's WebGPU child both by the terminal and by its parent).
    if (abort.signal.aborted) {
      if (performance.now() - firstSigint > 300) process.exit(EXIT.cancelled);
      return;
    }
    firstSigint = performance.now();
    err('cancelling (Ctrl-C again to quit at once)...');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const onEvent = json ? undefined : nodeLines(out);
    // weights paths in a graph are relative to the graph's folder, wherever weft runs from
    const result = await rt.run(doc, { signal: abort.signal, onEvent, baseDir: path.dirname(path.resolve(file)), ...(outputs ? { outputs } : {}) });

    // 4. files
    const written = writeOutputs(result, plan, outDir);
    const files = Object.values(written).flatMap((o) => o.files);
    embedGraphInPngs(files, doc);
    if (json) {
      const nodes = Object.fromEntries(Object.entries(result.nodes).map(([id, n]) => [id, { status: n.status, ms: round(n.ms), bytes: n.bytes }]));
      printJson({ ok: true, graph: doc.name, backend: rt.backend.name, reason: rt.backend.reason, nodes, outputs: written, files, ms: round(result.ms) });
    } else {
      for (const [id, o] of Object.entries(written)) out(outputLine(id, o));
      if (!outDir) out('no --out given: nothing written');
      out(`done in ${result.ms.toFixed(0)} ms${files.length ? `, wrote ${files.length} file${files.length === 1 ? '' : 's'}` : ''}`);
    }
    return EXIT.ok;
  } catch (e) {
    if (abort.signal.aborted || (e instanceof GraphError && e.code === 'cancelled')) {
      if (json) printJson({ ok: false, cancelled: true, errors: [{ code: 'cancelled', message: 'the run was cancelled' }] });
      else err('cancelled');
      return EXIT.cancelled;
    }
    if (e instanceof GraphError) return graphFailure(e.errors, json, err);
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    rt.dispose();
  }
}



/**
 * Each PNG written carries the graph that drew it (with the --set values applied), so
 * `weft run out/preview.png` and the editor reopen it. Weights paths stay as the graph wrote them
 * (relative to the graph's folder).
 */
function embedGraphInPngs(files: string[], doc: GraphDoc): void {
  for (const file of files.filter((f) => f.endsWith('.png'))) writeFileSync(file, embedGraph(readFileSync(file), doc));
}

function checkCacheMb(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb < 0) throw new CliError(`--cache-mb expects a number of MiB (0 or more), got "${raw}"`);
  return Math.round(mb * 2 ** 20);
}

function checkOutputs(raw: string | undefined, plan: Plan): string[] | undefined {
  if (raw === undefined) return undefined;
  const ids = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !plan.byId.has(id));
  if (!ids.length || unknown.length) {
    const all = plan.nodes.map((n) => n.id);
    const message = `--outputs: ${unknown.length ? `no node ${quoteList(unknown)}` : 'no node ids given'}; nodes are ${quoteList(all)}`;
    throw new CliError(message, EXIT.usage, [{ code: 'unknown-output', message, detail: { choices: all } }]);
  }
  return ids;
}

function makeOutDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CliError(`cannot create --out ${dir}: ${(e as Error).message}`);
  }
}

/** One line per node as it finishes: `  ran     noiseA     3.1 ms`. */
function nodeLines(out: (line: string) => void): (e: RunEvent) => void {
  return (e) => {
    if (e.type === 'node-finished') out(`  ${e.status.padEnd(6)} ${e.nodeId.padEnd(16)} ${e.ms.toFixed(1).padStart(8)} ms`);
    else if (e.type === 'node-progress' && process.stderr.isTTY) process.stderr.write(`\r  ${e.nodeId} ${e.done}/${e.total}\x1b[K${e.done >= e.total ? '\n' : ''}`);
  };
}

function outputLine(id: string, o: NodeOutputs): string {
  const parts: string[] = [];
  for (const [port, v] of Object.entries(o.values)) {
    if (typeof v === 'number') parts.push(`${port} ${fmt(v)}`);
    else if (v && typeof v === 'object' && 'width' in v) parts.push(`${port} ${(v as ImageSummary).width}x${(v as ImageSummary).height}`);
    else if (v && typeof v === 'object' && 'shape' in v) parts.push(`${port} [${(v as TensorSummary).shape.join(', ')}] ${(v as TensorSummary).dtype}`);
    else if (typeof v === 'string') parts.push(`${port} ${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`);
  }
  return `${id}: ${parts.join(', ')}${o.files.length ? ` -> ${o.files.join(', ')}` : ''}`;
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(6));
const round = (ms: number) => Math.round(ms * 10) / 10;
