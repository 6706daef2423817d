/**
 * (c) Compile speed: compile runs on every edit in the editor, so a 1,000-node graph must
 * compile well inside a frame budget. parseGraph (zod schema + reference checks) is timed on the
 * same document, from an object and from JSON text, since loading does both.
 *
 * Scaling rows: compile on the largest document the schema admits (DOC_LIMITS.nodes) and on a
 * fan-out graph, timed once after one warm-up (they are slow enough not to need a median).
 * Linear work would make 20x the nodes cost about 20x the time.
 */
import { compile, createRegistry, DOC_LIMITS, parseGraph, type GraphDoc } from '../../src/index.ts';
import { fanOutGraph, wideGraph } from '../graphs.ts';
import { BenchCheckError, timeAll, round, type BenchContext, type Row } from '../lib.ts';

const TARGET_MS = 50;

export async function compileSpeed(ctx: BenchContext): Promise<Row[]> {
  const registry = createRegistry();
  const doc = wideGraph(1000);
  const text = JSON.stringify(doc);
  const first = compile(doc, registry);
  if (!first.plan) throw new BenchCheckError(`the 1,000-node bench graph does not compile: ${first.errors[0]?.message}`);
  const parsed = parseGraph(text);
  if (!parsed.doc || parsed.errors.length) throw new BenchCheckError(`the 1,000-node bench graph does not parse: ${parsed.errors[0]?.message}`);

  const opts = { repeats: Math.max(ctx.repeats, 25), warmup: Math.max(ctx.warmup, 5) };
  const ms = (await timeAll(
    {
      compile: () => compile(doc, registry),
      parseObject: () => parseGraph(doc),
      parseText: () => parseGraph(text),
    },
    opts,
  )).median;
  const section = 'compile 1,000 nodes';
  const note = `${doc.nodes.length} nodes, ${doc.edges.length} edges; median of ${opts.repeats} after ${opts.warmup} warm-up`;
  return [
    { section, metric: 'compile', value: round(ms.compile), unit: 'ms', target: `< ${TARGET_MS} ms`, ok: ms.compile < TARGET_MS, note },
    { section, metric: 'parseGraph (object)', value: round(ms.parseObject), unit: 'ms', note: 'zod schema + reference checks' },
    { section, metric: 'parseGraph (JSON text)', value: round(ms.parseText), unit: 'ms', note: `${round(text.length / 1024, 0)} KiB` },
    { section, metric: 'load + compile', value: round(ms.parseText + ms.compile), unit: 'ms' },
    ...(await scaling()),
  ];
}

async function scaling(): Promise<Row[]> {
  const registry = createRegistry();
  const once = async (doc: GraphDoc) => {
    if (!compile(doc, registry).plan) throw new BenchCheckError(`${doc.name} does not compile`);
    return (await timeAll({ compile: () => compile(doc, registry) }, { repeats: 1, warmup: 0 })).median.compile;
  };
  const section = 'compile scaling';
  const rows: Row[] = [];
  for (const doc of [wideGraph(DOC_LIMITS.nodes), fanOutGraph(1_000), fanOutGraph(5_000)]) {
    rows.push({ section, metric: doc.name, value: round(await once(doc), 1), unit: 'ms', note: 'one timing after one warm-up' });
  }
  return rows;
}
