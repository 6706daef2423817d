/**
 * `weft train graph.json`: step the graph's Trainer headlessly (rt.train), with a progress line on
 * stderr, and save what was trained as a checkpoint a later `--resume` continues and `weft run`
 * generates from.
 *
 *  1. read, parse, apply --set and --resume, compile, plan the training: every problem is reported
 *     before a backend starts
 *  2. start the backend (reported with the reason for the choice)
 *  3. train, a progress line every K steps; Ctrl-C stops between steps (exit 130)
 *  4. with --save DIR (also after Ctrl-C, at the last finished step): <builder>.safetensors per
 *     trained model, optimizer-<id>.safetensors per optimizer (Adam's moments and step count, so
 *     --resume continues the same trajectory), history.csv/json, checkpoint.json, and graph.json
 *     wired to the new weights. A model built by a chain of builders (a flow's layers) is one file
 *     that every builder of the chain names. A model whose optimizer keeps a weight average (its
 *     `ema` param) also gets <builder>.ema.safetensors, the average, which graph.json generates
 *     from; --resume continues from the raw weights and the average in the optimizer's file.
 */
import { accessSync, constants, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  compile,
  createRegistry,
  createRuntime,
  GraphError,
  isBuilderKind,
  parseGraph,
  parseSafetensors,
  planTraining,
  type NamedTensor,
  type Registry,
  serializeGraph,
  serializeSafetensors,
  setParam,
  type GraphDoc,
  type Plan,
  type RunEvent,
  type Runtime,
  type TrainResult,
  type TrainStep,
} from '../index.ts';
import { WEBGPU_HINT } from '../runtime/platform-node.ts';
import { checkBackend, CliError, EXIT, graphFailure, printJson, quoteList, readGraphFile, toJson, type Command, type CommandContext } from './common.ts';
import { applySets } from './set.ts';
import { fileStem } from './write.ts';

const CHECKPOINT = 'checkpoint.json';
/** Trained models live only in the runtime's cache until saved: a budget they never strain. */
const CACHE_BYTES = 2 ** 30;

export const train: Command = {
  summary: 'train a graph (its Trainer node) and save the weights, loss history and a checkpoint',
  usage: `Usage: weft train <graph.json> [--steps N] [--save DIR] [--resume DIR] [options]

Steps the graph's Trainer: each step runs every optimizer once, in the trainer's order, on a
fresh batch. Prints a progress line on stderr every K steps:
  step 120/500  opt_d 0.6931  opt_g 1.204  12.3 steps/s  ETA 31s

Options:
  --steps N             how many steps to train (default: the Trainer's iterations param;
                        with --resume, the iterations not yet done)
  --save DIR            write DIR/<builder>.safetensors for every trained model,
                        DIR/history.csv and history.json (the loss of every optimizer at
                        every step), DIR/checkpoint.json, and DIR/graph.json: the graph with
                        its weights params pointing at the new files, for 'weft run'
  --resume DIR          continue from the checkpoint in DIR: load its weights, start at
                        the step it reached, and append to its history (optimizer state,
                        such as Adam's moments, is not saved: it restarts from zero)
  --trainer ID          the Trainer node to run when the graph has several
  --log-every K         a progress line every K steps (default: the Trainer's logInterval)
  --backend NAME        auto | wasm | cpu | webgpu   (default auto: wasm in Node)
  --set NODE.PARAM=VAL  override a param for this run; repeatable. VAL is JSON when it
                        parses (5, 0.25, [1,8,8,4], true), else text
  --json                print one JSON object {ok, trainer, startStep, steps, stepsDone,
                        final, history, files, ms} on stdout and nothing else
  -h, --help            show this help

Ctrl-C stops between steps; with --save, what was trained so far is saved first.

Exit status: 0 done, 1 graph error (a graph that cannot train) or failed run, 2 bad
arguments or unreadable file, 130 cancelled (Ctrl-C).`,
  options: {
    steps: { type: 'string', short: 'n' },
    save: { type: 'string' },
    resume: { type: 'string' },
    trainer: { type: 'string' },
    'log-every': { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    set: { type: 'string', multiple: true, default: [] },
    json: { type: 'boolean' },
  },
  run: trainCommand,
};

interface Checkpoint {
  format: 'weft.checkpoint';
  version: 1;
  graph: string;
  trainer: string;
  /** Steps done: the next step to train. */
  steps: number;
  /** Weights files (relative to the checkpoint's folder) by builder node id. */
  files: Record<string, string>;
  /** Averaged weights files (optimizers with `ema`), by builder node id: what graph.json generates from. */
  averaged?: Record<string, string>;
  /** Optimizer state files (relative to the checkpoint's folder) by optimizer node id. */
  optimizers?: Record<string, string>;
  history: string;
  graphFile: string;
  backend: string;
  date: string;
}

async function trainCommand({ values, positionals, out, err }: CommandContext): Promise<number> {
  const json = !!values.json;
  const backend = checkBackend(values.backend as string);
  const stepsFlag = positiveInt(values.steps as string | undefined, '--steps');
  const logEvery = positiveInt(values['log-every'] as string | undefined, '--log-every');
  const saveDir = values.save as string | undefined;
  const file = positionals[0];
  const graphDir = path.dirname(path.resolve(file));

  // 1. everything that can be checked before a backend starts
  const parsed = parseGraph(readGraphFile(file));
  if (!parsed.doc) return graphFailure(parsed.errors, json, err);
  const registry = createRegistry();
  let doc = applySets(parsed.doc, registry, values.set as string[]);
  const resumed = values.resume === undefined ? undefined : readCheckpoint(values.resume as string, doc);
  if (resumed) for (const [id, abs] of Object.entries(resumed.weights)) for (const b of builderChain(doc, registry, id)) doc = setParam(doc, b, 'weights', abs);
  const { plan, errors } = compile(doc, registry);
  if (!plan) return graphFailure(errors, json, err);
  let training: ReturnType<typeof planTraining>;
  try {
    training = planTraining(plan, pickTrainer(plan, values.trainer as string | undefined, resumed?.checkpoint.trainer));
  } catch (e) {
    if (e instanceof GraphError) return graphFailure(e.errors, json, err);
    throw e;
  }
  const trainer = training.trainer;
  const optimizerIds = training.optimizers.map((o) => o.node.id);
  const startStep = resumed?.checkpoint.steps ?? 0;
  const iterations = trainer.params.iterations as number;
  const steps = stepsFlag ?? Math.max(0, iterations - startStep);
  if (steps === 0) {
    const message = `already trained ${startStep} steps of the trainer's ${iterations} iterations; pass --steps N to train more`;
    if (json) printJson({ ok: true, graph: doc.name, trainer: trainer.id, startStep, steps: 0, stepsDone: startStep, history: [], files: [], ms: 0 });
    else out(message);
    return EXIT.ok;
  }
  if (resumed) for (const o of training.optimizers) if (!resumed.optimizerState[o.node.id] && (o.node.params.algorithm === 'adam' || (o.node.params.momentum as number) > 0)) {
    err(`note: "${o.node.id}" restarts its ${o.node.params.algorithm === 'adam' ? 'Adam moments' : 'momentum'} from zero (the checkpoint has no state for it)`);
  }
  if (saveDir) makeDir(saveDir);

  // 2. backend
  let rt: Runtime;
  try {
    rt = await createRuntime({ backend, registry, cacheBytes: CACHE_BYTES });
  } catch (e) {
    const message = `cannot start the ${backend} backend: ${(e as Error).message}${backend === 'webgpu' ? `; ${WEBGPU_HINT}` : ''}`;
    if (json) printJson({ ok: false, errors: [{ code: 'backend-unavailable', message }] });
    else err(`error: ${message}`);
    return EXIT.failed;
  }
  if (!json) {
    out(`backend: ${rt.backend.name} (${rt.backend.reason})`);
    out(`training "${trainer.id}" (${optimizerIds.join(', ')}): steps ${startStep}..${startStep + steps - 1}`);
  }

  // 3. train, cancellable with Ctrl-C between steps
  const abort = new AbortController();
  let firstSigint = 0;
  const onSigint = () => {
    // As in `weft run`: a second Ctrl-C quits at once; one within 300 ms is the same press twice.
    if (abort.signal.aborted) {
      if (performance.now() - firstSigint > 300) process.exit(EXIT.cancelled);
      return;
    }
    firstSigint = performance.now();
    err(`stopping after this step${saveDir ? ' and saving' : ''} (Ctrl-C again to quit at once)...`);
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  const history: TrainStep[] = [];
  const progress = progressReporter({ target: startStep + steps, every: logEvery ?? (trainer.params.logInterval as number), optimizerIds, err });
  const onEvent = (e: RunEvent) => {
    if (e.type !== 'node-progress' || e.nodeId !== trainer.id || !e.info) return;
    const step = e.info as unknown as TrainStep;
    history.push(step);
    progress.step(step);
  };
  const common = { trainer: trainer.id, baseDir: graphDir, exportWeights: !!saveDir };
  const t0 = performance.now();
  let result: TrainResult | undefined;
  let cancelled = false;
  try {
    try {
      result = await rt.train(doc, { ...common, steps, startStep, signal: abort.signal, onEvent, optimizerState: resumed?.optimizerState });
    } catch (e) {
      if (!(abort.signal.aborted || (e instanceof GraphError && e.code === 'cancelled'))) throw e;
      cancelled = true;
    }
    progress.end();
    const ms = performance.now() - t0;
    // After Ctrl-C the trained models are still in the runtime's cache: zero steps read them back.
    const saved = saveDir && cancelled && history.length ? await rt.train(doc, { ...common, steps: 0, startStep: startStep + history.length }) : result;

    // 4. files
    const stepsDone = history.length ? history[history.length - 1].step + 1 : startStep;
    const files =
      saveDir && history.length
        ? saveCheckpoint(saveDir, { doc, graphDir, plan, trainer: trainer.id, optimizerIds, stepsDone, history: [...(resumed?.history ?? []), ...history], weights: saved?.weights ?? {}, averaged: saved?.averaged, optimizerState: saved?.optimizerState ?? {}, registry, backend: rt.backend.name })
        : [];
    const final = history.length ? history[history.length - 1].losses : {};
    if (json) {
      printJson({
        ok: !cancelled,
        ...(cancelled ? { cancelled: true, errors: [{ code: 'cancelled', message: `training was cancelled after ${history.length} steps` }] } : {}),
        graph: doc.name,
        trainer: trainer.id,
        backend: rt.backend.name,
        reason: rt.backend.reason,
        startStep,
        steps: history.length,
        stepsDone,
        final,
        history,
        files,
        ms: Math.round(ms * 10) / 10,
      });
    } else {
      const rate = history.length / (ms / 1000);
      if (cancelled) err(`cancelled after ${history.length} step${history.length === 1 ? '' : 's'}`);
      out(`trained ${history.length} step${history.length === 1 ? '' : 's'} in ${(ms / 1000).toFixed(1)} s (${rate.toPrecision(3)} steps/s, building included)`);
      if (history.length) out(`final losses: ${optimizerIds.map((id) => `${id} ${fmtLoss(final[id])}`).join('  ')}`);
      if (files.length) out(`saved step ${stepsDone} to ${saveDir}: ${files.map((f) => path.basename(f)).join(', ')}`);
      else if (saveDir) out('nothing trained: nothing saved');
    }
    return cancelled ? EXIT.cancelled : EXIT.ok;
  } catch (e) {
    if (e instanceof GraphError) return graphFailure(e.errors, json, err);
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    rt.dispose();
  }
}

// ---- the command line ---------------------------------------------------------------------------


function positiveInt(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`${flag} expects a whole number of 1 or more, got "${raw}"`);
  return n;
}

/** The trainer to run: --trainer, else the only one, else the checkpoint's. A graph with none is planTraining's to report. */
function pickTrainer(plan: Plan, wanted: string | undefined, fromCheckpoint: string | undefined): string | undefined {
  const trainers = plan.nodes.filter((n) => n.kind.training?.role === 'trainer').map((n) => n.id);
  if (!trainers.length) return undefined;
  if (wanted !== undefined) {
    if (trainers.includes(wanted)) return wanted;
    const node = plan.byId.get(wanted);
    const message = `--trainer "${wanted}": ${node ? `node "${wanted}" (${node.kind.type}) is not a Trainer` : `no node "${wanted}"`}; trainers are ${quoteList(trainers)}`;
    throw new CliError(message, EXIT.usage, [{ code: 'unknown-trainer', nodeId: wanted, message, detail: { choices: trainers } }]);
  }
  if (trainers.length === 1) return trainers[0];
  if (fromCheckpoint && trainers.includes(fromCheckpoint)) return fromCheckpoint;
  const message = `this graph has ${trainers.length} trainers; pick one with --trainer: ${quoteList(trainers)}`;
  throw new CliError(message, EXIT.usage, [{ code: 'ambiguous-trainer', message, detail: { choices: trainers } }]);
}


function makeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CliError(`cannot create --save ${dir}: ${(e as Error).message}`);
  }
}

// ---- progress -----------------------------------------------------------------------------------

/**
 * `step 120/500  opt_d 0.6931  opt_g 1.204  12.3 steps/s  ETA 31s` every `every` steps and at the
 * last. The rate is over the steps since the previous line, so model building does not skew it.
 * On a terminal a live line is redrawn in between (at most 10 times a second).
 */
function progressReporter(o: { target: number; every: number; optimizerIds: string[]; err: (line: string) => void }) {
  const tty = !!process.stderr.isTTY;
  let window: { t: number; done: number } | undefined;
  let drawn = 0;
  let live = false;
  const line = (s: TrainStep, now: number) => {
    const done = s.step + 1;
    const losses = o.optimizerIds.map((id) => `${id} ${fmtLoss(s.losses[id])}${s.skipped.includes(id) ? ' (skipped)' : ''}`);
    const parts = [`step ${done}/${o.target}`, ...losses];
    if (window && done > window.done && now > window.t) {
      const rate = ((done - window.done) * 1000) / (now - window.t);
      parts.push(`${rate.toPrecision(3)} steps/s`);
      if (done < o.target) parts.push(`ETA ${fmtDuration((o.target - done) / rate)}`);
    }
    return parts.join('  ');
  };
  return {
    step(s: TrainStep) {
      const now = performance.now();
      const done = s.step + 1;
      if (done % o.every === 0 || done === o.target) {
        if (live) process.stderr.write('\r\x1b[K');
        o.err(line(s, now));
        live = false;
        window = { t: now, done };
      } else if (tty && now - drawn > 100) {
        process.stderr.write(`\r${line(s, now)}\x1b[K`);
        live = true;
        drawn = now;
      }
      window ??= { t: now, done };
    },
    end() {
      if (live) process.stderr.write('\r\x1b[K');
    },
  };
}

export function fmtLoss(x: number | undefined): string {
  if (x === undefined) return '-';
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? x.toExponential(3) : Number(x.toPrecision(4)).toString();
}

export function fmtDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

// ---- checkpoints --------------------------------------------------------------------------------

const posix = (p: string) => p.split(path.sep).join('/');

/** Write a file whole or not at all: a Ctrl-C or a full disk never leaves half a checkpoint. */
function writeAtomic(file: string, data: string | Uint8Array): void {
  try {
    writeFileSync(`${file}.partial`, data);
    renameSync(`${file}.partial`, file);
  } catch (e) {
    throw new CliError(`cannot write ${file}: ${(e as Error).message}`);
  }
}

interface SaveInput {
  doc: GraphDoc;
  graphDir: string;
  plan: Plan;
  trainer: string;
  optimizerIds: string[];
  stepsDone: number;
  history: TrainStep[];
  weights: NonNullable<TrainResult['weights']>;
  averaged?: TrainResult['averaged'];
  optimizerState: NonNullable<TrainResult['optimizerState']>;
  registry: Registry;
  backend: string;
}

/** Every file of a checkpoint; checkpoint.json last, so it only ever names files already written. */
function saveCheckpoint(dir: string, s: SaveInput): string[] {
  const written: string[] = [];
  const taken = new Set<string>();
  /** Each entry as <prefix><stem><suffix>.safetensors (-2, -3, ... on a clash); the file names by id. */
  const writeAll = (entries: Record<string, Map<string, NamedTensor>>, o: { prefix?: string; suffix?: string; metadata: (id: string) => Record<string, string> }) => {
    const names: Record<string, string> = {};
    for (const [id, tensors] of Object.entries(entries)) {
      const base = `${o.prefix ?? ''}${fileStem(id)}`;
      let name = `${base}${o.suffix ?? ''}.safetensors`;
      for (let k = 2; taken.has(name); k++) name = `${base}-${k}${o.suffix ?? ''}.safetensors`;
      taken.add(name);
      names[id] = name;
      writeAtomic(path.join(dir, name), serializeSafetensors(tensors, { weft_graph: s.doc.name, ...o.metadata(id), weft_step: String(s.stepsDone) }));
      written.push(path.join(dir, name));
    }
    return names;
  };
  const files = writeAll(s.weights, { metadata: (id) => ({ weft_node: id, weft_trainer: s.trainer }) });
  const averaged = writeAll(s.averaged ?? {}, { suffix: '.ema', metadata: (id) => ({ weft_node: id, weft_trainer: s.trainer, weft_average: 'ema' }) });
  const optimizers = writeAll(s.optimizerState, { prefix: 'optimizer-', metadata: (id) => ({ weft_optimizer: id }) });

  const csv = [['step', ...s.optimizerIds, 'skipped'], ...s.history.map((h) => [String(h.step), ...s.optimizerIds.map((id) => String(h.losses[id] ?? '')), h.skipped.join(' ')])];
  writeAtomic(path.join(dir, 'history.csv'), csv.map((row) => row.map(csvField).join(',')).join('\n') + '\n');
  writeAtomic(path.join(dir, 'history.json'), toJson({ graph: s.doc.name, trainer: s.trainer, optimizers: s.optimizerIds, history: s.history }) + '\n');
  writeAtomic(path.join(dir, 'graph.json'), serializeGraph(rewireWeights(s, dir, { ...files, ...averaged })));
  written.push(...['history.csv', 'history.json', 'graph.json'].map((f) => path.join(dir, f)));

  const checkpoint: Checkpoint = {
    format: 'weft.checkpoint',
    version: 1,
    graph: s.doc.name,
    trainer: s.trainer,
    steps: s.stepsDone,
    files,
    ...(Object.keys(averaged).length ? { averaged } : {}),
    optimizers,
    history: 'history.json',
    graphFile: 'graph.json',
    backend: s.backend,
    date: new Date().toISOString(),
  };
  writeAtomic(path.join(dir, CHECKPOINT), toJson(checkpoint) + '\n');
  written.push(path.join(dir, CHECKPOINT));
  return written;
}

const csvField = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/**
 * The graph as trained (with --set applied), for DIR/graph.json: trained builders load their new
 * files; other builders' weights files, named relative to the original graph, are renamed
 * relative to DIR, so the copy works wherever DIR is read from.
 */
function rewireWeights(s: SaveInput, dir: string, trained: Record<string, string>): GraphDoc {
  let doc = s.doc;
  const files: Record<string, string> = {};
  for (const [id, file] of Object.entries(trained)) for (const b of builderChain(doc, s.registry, id)) files[b] = file;
  for (const n of s.plan.nodes) {
    if (!isBuilderKind(n.kind)) continue;
    const current = n.params.weights;
    if (files[n.id]) doc = setParam(doc, n.id, 'weights', files[n.id]);
    else if (typeof current === 'string' && current) doc = setParam(doc, n.id, 'weights', posix(path.relative(path.resolve(dir), path.resolve(s.graphDir, current))));
  }
  return doc;
}

/**
 * The builders whose weights one trained model's file holds: the builder itself and, for a model
 * built by a chain of builders (each flow layer takes the flow so far and returns it one layer
 * longer), every builder upstream along model inputs. Each loads its own part of the file.
 */
function builderChain(doc: GraphDoc, registry: Registry, id: string): string[] {
  const byId = new Map(doc.nodes.map((n) => [n.id, n]));
  const chain: string[] = [];
  const stack = [id];
  while (stack.length) {
    const at = stack.pop()!;
    if (chain.includes(at)) continue;
    chain.push(at);
    const kind = registry.get(byId.get(at)?.type ?? '');
    for (const e of doc.edges) {
      if (e.to.node !== at || kind?.inputs[e.to.port]?.kind !== 'model') continue;
      if (isBuilderKind(registry.get(byId.get(e.from.node)?.type ?? ''))) stack.push(e.from.node);
    }
  }
  return chain;
}

/** A checkpoint's weights (absolute paths, by builder id), optimizer state and the history so far; every mismatch is a CliError. */
function readCheckpoint(dir: string, doc: GraphDoc): { checkpoint: Checkpoint; weights: Record<string, string>; optimizerState: Record<string, Map<string, NamedTensor>>; history: TrainStep[] } {
  const file = path.join(dir, CHECKPOINT);
  const bad = (why: string): never => {
    throw new CliError(`--resume ${dir}: ${why}`, EXIT.usage, [{ code: 'bad-checkpoint', message: `--resume ${dir}: ${why}` }]);
  };
  let checkpoint: Checkpoint;
  try {
    checkpoint = JSON.parse(readGraphFile(file)) as Checkpoint;
  } catch (e) {
    if (e instanceof CliError) throw e;
    return bad(`${CHECKPOINT} is not valid JSON (${(e as Error).message})`);
  }
  if (checkpoint?.format !== 'weft.checkpoint') bad(`${CHECKPOINT} is not a Weft checkpoint (no "format": "weft.checkpoint")`);
  if (checkpoint.version !== 1) bad(`${CHECKPOINT} is version ${JSON.stringify(checkpoint.version)}; this Weft reads version 1`);
  if (!Number.isSafeInteger(checkpoint.steps) || checkpoint.steps < 0) bad(`${CHECKPOINT} has no step count ("steps")`);
  if (typeof checkpoint.files !== 'object' || checkpoint.files === null) bad(`${CHECKPOINT} lists no weights files ("files")`);
  const weights: Record<string, string> = {};
  const ids = doc.nodes.map((n) => n.id);
  for (const [id, name] of Object.entries(checkpoint.files)) {
    if (!ids.includes(id)) bad(`the checkpoint has weights for node "${id}", which this graph lacks; nodes are ${quoteList(ids)}`);
    weights[id] = path.resolve(dir, String(name));
    try {
      accessSync(weights[id], constants.R_OK); // unreadable: exit 2 now, not a failed builder later
    } catch {
      bad(`cannot read the weights of "${id}", ${weights[id]}`);
    }
  }
  const optimizerState: Record<string, Map<string, NamedTensor>> = {};
  for (const [id, name] of Object.entries(checkpoint.optimizers ?? {})) {
    if (!ids.includes(id)) bad(`the checkpoint has optimizer state for node "${id}", which this graph lacks; nodes are ${quoteList(ids)}`);
    const abs = path.resolve(dir, String(name));
    try {
      optimizerState[id] = parseSafetensors(readFileSync(abs)).tensors;
    } catch (e) {
      bad(`cannot read the optimizer state of "${id}", ${abs}: ${(e as Error).message}`);
    }
  }
  let history: TrainStep[] = [];
  try {
    const saved = JSON.parse(readFileSync(path.join(dir, checkpoint.history ?? 'history.json'), 'utf8')) as { history?: TrainStep[] };
    history = (saved.history ?? []).filter((h) => h.step < checkpoint.steps);
  } catch {
    // no history beside the checkpoint: the new one starts at the resumed step
  }
  return { checkpoint, weights, optimizerState, history };
}
