/**
 * `npm run train:examples [-- NAME ...] [--steps N] [--minutes M] [--out DIR [--set node.param=value ...] [--graph FILE]] [--backend B] [--skip-eval]`:
 * train the example
 * graphs from their seeded initialisation and ship their weights. With --out, the weights go to DIR
 * and docs/training.md is left alone (for trying variants: --set overrides params for training,
 * --graph trains another graph file in the named example's place and scores it the same way).
 *
 * Every scripts/examples/*.ts (see example.ts there) is one example. For each named (default: all),
 *
 *   1. load its graph; every builder whose weights file is one this training writes starts from
 *      its seed instead (weights = ''), as `weft train --set node.weights=` would
 *   2. train it with rt.train (wasm by default), a progress line every Trainer.logInterval steps
 *   3. write each trained model to the file its builder's `weights` param names (relative to the
 *      graph: graphs/weights/...), or into --out DIR, after every tenth of the steps; a flow's
 *      layers share one file (each layer node takes its own tensors from it); a model whose
 *      optimizer keeps a weight average (Optimizer.ema) is written as that average
 *   4. evaluate the example with the new weights (scores, test losses), and record steps, wall
 *      time, final losses and figures in docs/training.md, one section per example (only when
 *      writing the shipped files: --out leaves the docs alone)
 *
 * Runs replay exactly: data, noise and initialisation all come from the graphs' seeds.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { adapterName, createRuntime, loadGraph, serializeSafetensors, setParam, type BackendRequest, type GraphDoc, type RunEvent, type TrainResult, type TrainStep } from '../src/index.ts';
import type { Example } from './examples/example.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLES = path.join(ROOT, 'scripts', 'examples');
const DOC = path.join(ROOT, 'docs', 'training.md');

export async function findExamples(): Promise<Example[]> {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.ts') && f !== 'example.ts' && !f.startsWith('_') && !f.endsWith('.test.ts'));
  const examples: Example[] = [];
  for (const f of files.sort()) {
    const mod = (await import(pathToFileURL(path.join(EXAMPLES, f)).href)) as { default?: Example };
    if (!mod.default?.name || !mod.default.graph) throw new Error(`scripts/examples/${f} must default-export an Example ({ name, graph, ... })`);
    examples.push(mod.default);
  }
  const names = examples.map((e) => e.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`two examples are named "${dup}"`);
  return examples.sort((a, b) => (a.order ?? 100) - (b.order ?? 100) || a.name.localeCompare(b.name));
}

/**
 * Which builder node writes which weights file: each optimizer's models. A flow's last layer
 * stands for the whole chain (every layer node of a chain may name the same file).
 */
export function trainedFiles(doc: GraphDoc): Map<string, string> {
  const byId = new Map(doc.nodes.map((n) => [n.id, n]));
  const out = new Map<string, string>();
  for (const opt of doc.nodes.filter((n) => n.type === 'Optimizer')) {
    for (const e of doc.edges.filter((e) => e.to.node === opt.id && e.to.port === 'models')) {
      const id = e.from.node;
      const file = byId.get(id)?.params.weights;
      if (typeof file !== 'string' || !file) throw new Error(`${doc.name}: the trained model "${id}" names no weights file to write`);
      out.set(id, file);
    }
  }
  return out;
}

/** The graph that trains from seeds: every node naming one of the trained files starts fresh, plus the example's overrides. */
function trainingDoc(doc: GraphDoc, ex: Example, files: Set<string>, steps?: number): GraphDoc {
  let d = doc;
  for (const n of doc.nodes) if (typeof n.params.weights === 'string' && files.has(n.params.weights)) d = setParam(d, n.id, 'weights', '');
  for (const [id, params] of Object.entries(ex.set ?? {})) for (const [k, v] of Object.entries(params)) d = setParam(d, id, k, v);
  if (steps) for (const n of d.nodes.filter((n) => n.type === 'Trainer')) d = setParam(d, n.id, 'iterations', steps);
  return d;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const fmt = (x: number | string) => (typeof x === 'string' ? x : Math.abs(x) >= 1000 || x === Math.round(x) ? String(x) : x.toPrecision(4));

async function trainOne(ex: Example, o: { steps?: number; out?: string; backend: BackendRequest; skipEval?: boolean; minutes?: number }): Promise<void> {
  const graphFile = path.join(ROOT, ex.graph);
  const graphDir = path.dirname(graphFile);
  const doc = loadGraph(readFileSync(graphFile, 'utf8'));
  const files = trainedFiles(doc);
  const train = trainingDoc(doc, ex, new Set(files.values()), o.steps ?? ex.steps);
  const steps = (train.nodes.find((n) => n.type === 'Trainer')!.params.iterations as number) ?? 200;
  const logEvery = (train.nodes.find((n) => n.type === 'Trainer')!.params.logInterval as number) ?? 10;
  const rt = await createRuntime({ backend: o.backend, cacheBytes: 2 ** 30 });
  try {
    console.log(`[${ex.name}] ${ex.graph}: ${steps} steps on ${rt.backend.name}`);
    const history: TrainStep[] = [];
    const t0 = performance.now();
    let tLast = t0;
    const onEvent = (e: RunEvent) => {
      if (e.type !== 'node-progress' || !e.info) return;
      const s = e.info as unknown as TrainStep;
      history.push(s);
      if ((s.step + 1) % logEvery === 0 || s.step + 1 === steps) {
        const now = performance.now();
        const recent = history.slice(-logEvery);
        const losses = Object.keys(s.losses).map((k) => `${k} ${mean(recent.map((h) => h.losses[k])).toFixed(4)}`);
        console.log(`[${ex.name}] step ${s.step + 1}/${steps}  ${losses.join('  ')}  ${((logEvery * 1000) / (now - tLast)).toFixed(2)} steps/s`);
        tLast = now;
      }
    };
    // In chunks, the files rewritten after each: an interrupted run leaves the last chunk's
    // weights. The runtime keeps each optimizer's state (Adam's moments) between the calls, so
    // chunked training is the same as one call.
    // With --minutes, training stops at the first log interval past the time (the steps done are recorded).
    const deadline = o.minutes ? t0 + o.minutes * 60_000 : Infinity;
    const writeEvery = Math.max(logEvery, Math.ceil(steps / 10));
    const chunk = o.minutes ? logEvery : writeEvery;
    const written: string[] = [];
    let trained = 0;
    for (let done = 0; done < steps && performance.now() < deadline; done += chunk) {
      const n = Math.min(chunk, steps - done);
      const result = await rt.train(train, { steps: n, startStep: done, baseDir: graphDir, exportWeights: true, onEvent });
      trained = done + n;
      if (trained % writeEvery === 0 || trained === steps || performance.now() >= deadline) {
        // a model whose optimizer keeps a weight average (Optimizer.ema) ships the average
        const shipped = { ...(result.weights ?? {}), ...(result.averaged ?? {}) };
        written.splice(0, written.length, ...writeWeights(shipped, { ex, doc, files, out: o.out, graphDir, steps: trained }));
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    console.log(`[${ex.name}] ${trained} steps in ${seconds.toFixed(0)} s; wrote ${written.map((f) => path.relative(ROOT, f)).join(', ')}`);

    // 4. figures
    const shipped = new Set(files.values());
    const withOut = o.out
      ? doc.nodes.reduce((d, n) => (typeof n.params.weights === 'string' && shipped.has(n.params.weights) ? setParam(d, n.id, 'weights', path.join(o.out!, path.basename(n.params.weights))) : d), doc)
      : doc;
    const figures = ex.evaluate && !o.skipEval ? await ex.evaluate({ rt, doc: withOut, baseDir: graphDir, history }) : {};
    console.log(`[${ex.name}] ${Object.entries(figures).map(([k, v]) => `${k} ${fmt(v)}`).join('  ')}`);
    const adapter = rt.backend.adapter;
    const where = `${rt.backend.name}${adapter && !adapter.fallback ? ` on ${adapterName(adapter)}` : ''}, ${process.env.WEFT_TRAIN_MACHINE ?? `${cpus().length} cores`}`;
    // a variant's section goes beside its weights, for comparing (and copying into docs/training.md by hand)
    recordFigures(ex, { steps: trained, seconds, where, history, figures, files: written }, o.out ? path.join(o.out, 'training.md') : DOC);
  } finally {
    rt.dispose();
  }
}

/** 3. one file per trained builder (a flow's layers share theirs); returns the paths written. */
function writeWeights(
  weights: NonNullable<TrainResult['weights']>,
  o: { ex: Example; doc: GraphDoc; files: Map<string, string>; out?: string; graphDir: string; steps: number },
): string[] {
  const written: string[] = [];
  for (const [id, tensors] of Object.entries(weights)) {
    const rel = o.files.get(id)!;
    const file = o.out ? path.join(o.out, path.basename(rel)) : path.resolve(o.graphDir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    const meta = { weft_graph: o.doc.name, weft_node: id, weft_steps: String(o.steps), weft_example: o.ex.name };
    writeFileSync(file, serializeSafetensors(tensors, meta));
    if (!written.includes(file)) written.push(file);
  }
  return written;
}

/** Replace (or add) the example's section of docs/training.md. */
function recordFigures(ex: Example, r: { steps: number; seconds: number; where: string; history: TrainStep[]; figures: Record<string, number | string>; files: string[] }, doc: string): void {
  const tail = r.history.slice(-Math.min(50, r.history.length));
  const optimizers = Object.keys(r.history[0]?.losses ?? {});
  const bytes = r.files.reduce((s, f) => s + readFileSync(f).length, 0);
  const rows: [string, string][] = [
    ['graph', `[${ex.graph}](../${ex.graph})`],
    ['steps', String(r.steps)],
    ['wall time', `${r.seconds.toFixed(0)} s (${(r.steps / r.seconds).toFixed(2)} steps/s, ${r.where})`],
    ...optimizers.map((k): [string, string] => [`final loss ${k} (mean of last ${tail.length} steps)`, fmt(mean(tail.map((h) => h.losses[k])))]),
    ...Object.entries(r.figures).map(([k, v]): [string, string] => [k, fmt(v)]),
    ['weights', `${r.files.map((f) => path.relative(path.join(ROOT, 'docs'), f)).join(', ')} (${(bytes / 1024).toFixed(0)} KiB)`],
    ['date', new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC'],
  ];
  const section = [`<!-- example:${ex.name} -->`, `## ${ex.name}`, '', '| | |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${v} |`), `<!-- /example:${ex.name} -->`].join('\n');
  let text = existsSync(doc) ? readFileSync(doc, 'utf8') : HEADER;
  const re = new RegExp(`<!-- example:${ex.name} -->[\\s\\S]*?<!-- /example:${ex.name} -->`);
  text = re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(doc, text);
}

const HEADER = `# Training the examples

\`npm run train:examples\` (scripts/train-examples.ts) trains every example graph from its seeded
initialisation and writes the weights the graphs ship in graphs/weights/. Each section below is
rewritten by the script when that example is trained; the figures come from fixed seeds, and the
shipped-weights tests (src/nodes/examples.weights.test.ts) check the same ones.
`;

/** --set node.param=value (value as JSON when it parses, else text), as in `weft train`. */
function parseSets(sets: string[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const s of sets) {
    const m = /^([^.=]+)\.([^=]+)=(.*)$/s.exec(s);
    if (!m) throw new Error(`--set expects node.param=value, got "${s}"`);
    let value: unknown = m[3];
    try {
      value = JSON.parse(m[3]);
    } catch {
      // text
    }
    (out[m[1]] ??= {})[m[2]] = value;
  }
  return out;
}

/** The command line; `examples` in place of scripts/examples/ (a bundled build, which cannot import .ts files). */
export async function main(args = process.argv.slice(2), examples?: Example[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { steps: { type: 'string' }, out: { type: 'string' }, graph: { type: 'string' }, 'skip-eval': { type: 'boolean' }, minutes: { type: 'string' }, backend: { type: 'string', default: 'wasm' }, set: { type: 'string', multiple: true, default: [] }, list: { type: 'boolean' } },
  });
  const all = examples ? [...examples].sort((a, b) => (a.order ?? 100) - (b.order ?? 100) || a.name.localeCompare(b.name)) : await findExamples();
  if (values.list) {
    for (const e of all) console.log(`${e.name}\t${e.graph}`);
    return;
  }
  const unknown = positionals.filter((n) => !all.some((e) => e.name === n));
  if (unknown.length) throw new Error(`no example named ${unknown.join(', ')}; examples are ${all.map((e) => e.name).join(', ')}`);
  const chosen = positionals.length ? all.filter((e) => positionals.includes(e.name)) : all;
  const set = parseSets(values.set as string[]);
  if ((Object.keys(set).length || values.graph) && !values.out) throw new Error('--set and --graph train a variant: pass --out DIR too, so the shipped weights and docs stay those of the graphs as they are');
  for (const ex of chosen) {
    const variant = { ...ex, set: { ...ex.set, ...set }, ...(values.graph ? { graph: path.relative(ROOT, path.resolve(values.graph)) } : {}) };
    await trainOne(variant, { steps: values.steps ? Number(values.steps) : undefined, out: values.out ? path.resolve(values.out) : undefined, backend: values.backend as BackendRequest, skipEval: values['skip-eval'], minutes: values.minutes ? Number(values.minutes) : undefined });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url) && import.meta.url.endsWith('.ts')) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
