/**
 * (d) Sampler speed and the runtime's overhead on it: graphs/latent-diffusion.json's sampling part
 * (Text -> TextEncoder/EncodeText, NoiseSource, UNet, Scheduler ddim, Sampler, TensorOutput; the
 * VAE half is dropped) run through the runtime, against the same loop written by hand in tfjs.
 *
 * Runtime side: only the Sampler node's own time (res.nodes.sampler.ms) with everything upstream a
 * cache hit. Each run gives the Sampler a seed never used before, so it misses and reruns; with
 * DDIM at eta 0 the seed draws nothing, so every run yields the same latent.
 *
 * Hand-written side: a U-Net built by the UNet kind's own run from the same params (same seed,
 * so the same weights), called through unetForward (what UNetPredict and the Sampler call), a
 * DDIMScheduler with the graph's config driven through setTimesteps / scaleModelInput / step,
 * [uncond; cond] in one U-Net call per step, every tensor disposed by hand (the U-Net's
 * activations by a tidy around the call). It takes the same latent and context the runtime's
 * NoiseSource and EncodeText produced. It does not yield to the event loop between steps: that,
 * progress events, the node scope and the cache put are what the runtime adds.
 *
 * Every round's final latents from both sides are compared (max |diff| <= 1e-5, else the bench
 * fails). Sizes: [2,8,8,4] (the example graph's: two prompts, the U-Net sees [4,8,8,4]) and
 * [1,16,16,4] (one prompt, the U-Net sees [2,16,16,4]).
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { createRuntime, loadGraph, setParam, type GraphDoc, type ModelHandle, type Runtime, type TensorData } from '../../src/index.ts';
// The hand-written loop needs the model's forward function and the scheduler class themselves,
// which src/index.ts does not export (the graph reaches them through node kinds).
import { DDIMScheduler, type Scheduler, type SchedulerConfig } from '../../src/nodes/schedulers/index.ts';
import { unetForward, type UNetConfig } from '../../src/nodes/unet.ts';
import { BenchCheckError, maxAbsDiff, median, numTensors, pairedRatio, round, type BenchContext, type Row } from '../lib.ts';

const GRAPH = new URL('../../graphs/latent-diffusion.json', import.meta.url);
const KEEP = ['prompt', 'textEncoder', 'encode', 'noise', 'unet', 'scheduler', 'sampler', 'latent'];
const TOLERANCE = 1e-5;

interface Variant {
  latent: [number, number, number, number];
  /** Prompts, one per batch item (the Text node's lines). */
  prompts: string[];
}

const VARIANTS: Variant[] = [
  { latent: [2, 8, 8, 4], prompts: ['a red circle on a blue square', 'a green triangle at night'] },
  { latent: [1, 16, 16, 4], prompts: ['a red circle on a blue square'] },
];
// One sampling run is 10 U-Net calls (0.15-0.4 s here): fewer rounds than the cheap sections,
// still alternating and paired, and capped by time so that both sizes together stay under a
// minute on a loaded 2-core machine: rounds stop at MAX_REPEATS, or once ROUNDS_BUDGET_MS of
// timed rounds have passed and at least MIN_REPEATS were measured (an even count either way).
const MAX_REPEATS = 24;
const MIN_REPEATS = 10;
const ROUNDS_BUDGET_MS = 18_000;
const WARMUP = 3;

function samplingGraph(v: Variant): GraphDoc {
  const full = loadGraph(readFileSync(GRAPH, 'utf8'));
  let doc: GraphDoc = {
    ...full,
    name: 'bench sampler',
    nodes: full.nodes.filter((n) => KEEP.includes(n.id)),
    edges: full.edges.filter((e) => KEEP.includes(e.from.node) && KEEP.includes(e.to.node)),
  };
  doc = setParam(doc, 'noise', 'shape', v.latent);
  return setParam(doc, 'prompt', 'text', v.prompts.join('\n'));
}

const paramsOf = (doc: GraphDoc, id: string) => doc.nodes.find((n) => n.id === id)!.params as Record<string, unknown>;

/** The U-Net exactly as the UNet node builds it: its kind's own run on the plan's params. */
async function buildUNet(rt: Runtime, doc: GraphDoc): Promise<ModelHandle> {
  const node = rt.compile(doc).plan!.byId.get('unet')!;
  const out = await node.kind.run({
    nodeId: 'unet',
    params: node.params,
    inputs: {},
    signal: new AbortController().signal,
    backend: rt.backend.name,
    progress: () => {},
    throwIfAborted: () => {},
    readFile: () => Promise.reject(new Error('no weights file in the bench graph')),
    step: 0,
  });
  return out.model as ModelHandle;
}

/** The Scheduler node's params as a diffusers-style config (the node's `type` picks the class). */
function ddimConfig(doc: GraphDoc): Partial<SchedulerConfig> {
  const { type, ...config } = paramsOf(doc, 'scheduler');
  if (type !== 'ddim') throw new BenchCheckError(`the bench graph's scheduler is ${String(type)}, expected ddim`);
  return config as Partial<SchedulerConfig>;
}

/**
 * The sampling loop by hand: DDIM, classifier-free guidance with [uncond; cond] batched into one
 * U-Net call, eta 0. Returns the final latent (the caller disposes it).
 */
function sampleByHand(
  unet: ModelHandle,
  config: Partial<SchedulerConfig>,
  latent: tf.Tensor4D,
  cond: tf.Tensor3D,
  steps: number,
  cfgScale: number,
): tf.Tensor4D {
  const n = latent.shape[0];
  const scheduler: Scheduler = new DDIMScheduler(config); // through the diffusers-shaped interface
  scheduler.setTimesteps(steps);
  const uncond = tf.zerosLike(cond);
  const context = tf.concat([uncond, cond], 0) as tf.Tensor3D;
  uncond.dispose();
  let x = tf.mul(latent, scheduler.initNoiseSigma) as tf.Tensor4D;
  for (const t of scheduler.timesteps) {
    const input = scheduler.scaleModelInput(x, t) as tf.Tensor4D;
    const doubled = tf.concat([input, input], 0) as tf.Tensor4D;
    input.dispose();
    const ts = tf.fill([2 * n], t) as tf.Tensor1D;
    const both = tf.tidy(() => unetForward(unet, doubled, ts, context));
    doubled.dispose();
    ts.dispose();
    const [epsU, epsC] = tf.split(both, 2, 0);
    both.dispose();
    const diff = tf.sub(epsC, epsU);
    const scaled = tf.mul(diff, cfgScale);
    const eps = tf.add(epsU, scaled);
    tf.dispose([epsU, epsC, diff, scaled]);
    const { prevSample, predOriginalSample } = scheduler.step(eps, t, x, { eta: 0 });
    tf.dispose([eps, predOriginalSample, x]);
    x = prevSample as tf.Tensor4D;
  }
  context.dispose();
  scheduler.dispose();
  return x;
}

const parameterCount = (m: ModelHandle) => m.variables().reduce((s, v) => s + v.size, 0);

async function measure(v: Variant, ctx: BenchContext): Promise<Row[]> {
  const rt = await createRuntime({ backend: ctx.backend });
  const doc = samplingGraph(v);
  const sampler = paramsOf(doc, 'sampler') as { steps: number; cfgScale: number; eta: number };
  if (sampler.eta !== 0) throw new BenchCheckError(`the bench needs a deterministic sampler (eta 0), the graph has eta ${sampler.eta}`);
  const before = numTensors();

  // Fill the cache: after this, every node upstream of the Sampler is a hit. The same run gives
  // the hand-written side its inputs, the very latent and context the runtime's nodes made.
  const first = await rt.run(doc, { outputs: ['noise', 'encode', 'latent'] });
  const noiseData = first.outputs.noise.out as TensorData;
  const contextData = first.outputs.encode.embeddings as TensorData;
  const latent = tf.tensor4d(noiseData.data as Float32Array, noiseData.shape as [number, number, number, number]);
  const context = tf.tensor3d(contextData.data as Float32Array, contextData.shape as [number, number, number]);
  const unet = await buildUNet(rt, doc);
  const config = ddimConfig(doc);

  let seed = 1000;
  const upstream = KEEP.filter((id) => id !== 'sampler' && id !== 'latent');
  const viaRuntime = async (): Promise<{ ms: number; runMs: number; out: Float32Array }> => {
    const res = await rt.run(setParam(doc, 'sampler', 'seed', ++seed), { outputs: ['latent'] });
    const s = res.nodes.sampler;
    if (s.status !== 'ran') throw new BenchCheckError('the Sampler was a cache hit: a fresh seed should rerun it');
    const reran = upstream.filter((id) => res.nodes[id].status !== 'cached');
    if (reran.length) throw new BenchCheckError(`upstream nodes reran: ${reran.join(', ')} (they should be cache hits)`);
    return { ms: s.ms, runMs: res.ms, out: (res.outputs.latent.value as TensorData).data as Float32Array };
  };
  const byHand = async (): Promise<{ ms: number; out: Float32Array }> => {
    const tensors = numTensors();
    const t0 = performance.now();
    const x = sampleByHand(unet, config, latent, context, sampler.steps, sampler.cfgScale);
    const ms = performance.now() - t0;
    const out = (await x.data()) as Float32Array;
    x.dispose();
    if (numTensors() !== tensors) throw new BenchCheckError(`latent [${v.latent}]: the hand-written loop leaked ${numTensors() - tensors} tensors`);
    return { ms, out };
  };

  // Alternating rounds (runtime first on even rounds, hand-written first on odd ones), as timeAll
  // does, but the runtime's sample is the Sampler node's own ms, not the whole run's wall time.
  const samples = { runtime: [] as number[], handwritten: [] as number[], run: [] as number[] };
  let worst = 0;
  let rounds = 0;
  let timedFrom = 0;
  for (let i = 0; i < WARMUP + MAX_REPEATS; i++) {
    if (i === WARMUP) timedFrom = performance.now();
    const timed = i - WARMUP;
    if (timed >= MIN_REPEATS && timed % 2 === 0 && performance.now() - timedFrom > ROUNDS_BUDGET_MS) break;
    let r: Awaited<ReturnType<typeof viaRuntime>>;
    let h: Awaited<ReturnType<typeof byHand>>;
    if (i % 2) {
      h = await byHand();
      r = await viaRuntime();
    } else {
      r = await viaRuntime();
      h = await byHand();
    }
    const diff = maxAbsDiff(r.out, h.out);
    if (!(diff <= TOLERANCE)) throw new BenchCheckError(`latent [${v.latent}]: runtime and hand-written sampling differ by ${diff} (> ${TOLERANCE})`);
    worst = Math.max(worst, diff);
    rounds++;
    if (i < WARMUP) continue;
    samples.runtime.push(r.ms);
    samples.handwritten.push(h.ms);
    samples.run.push(r.runMs);
  }
  const params = parameterCount(unet);
  const u = unet.config as unknown as UNetConfig;
  tf.dispose([latent, context]);
  unet.dispose();
  rt.dispose();
  const after = numTensors();
  if (after !== before) throw new BenchCheckError(`latent [${v.latent}]: ${after - before} tensors leaked`);

  const ms = { runtime: median(samples.runtime), handwritten: median(samples.handwritten), run: median(samples.run) };
  const pct = (pairedRatio(samples.runtime, samples.handwritten) - 1) * 100;
  const perStepUs = (median(samples.runtime.map((r, i) => r - samples.handwritten[i])) / sampler.steps) * 1000;
  const repeats = samples.runtime.length;
  const stepsPerS = (t: number) => round((sampler.steps * 1000) / t, 1);
  const [n, h, w, c] = v.latent;
  const section = `sampler [${v.latent.join(',')}]`;
  const unetNote =
    `U-Net base ${u.baseChannels}, mults [${u.channelMults}], ${u.resBlocks} res/level, attn at [${u.attentionLevels}], ` +
    `context ${u.contextDim}, ${params.toLocaleString('en-US')} params; sees [${2 * n},${h},${w},${c}] per step`;
  return [
    { section, metric: 'runtime: Sampler node', value: stepsPerS(ms.runtime), unit: 'steps/s', note: `${round(ms.runtime)} ms for ${sampler.steps} ddim steps, cfg ${sampler.cfgScale} (upstream cached); median of ${repeats} after ${WARMUP} warm-up` },
    { section, metric: 'hand-written tfjs loop', value: stepsPerS(ms.handwritten), unit: 'steps/s', note: `${round(ms.handwritten)} ms` },
    { section, metric: 'overhead (median of paired ratios)', value: round(pct, 1), unit: '%', note: 'Sampler node ms / hand-written loop ms, same round; noise here is a few %' },
    { section, metric: 'overhead per step', value: round(perStepUs, 0), unit: 'µs', note: 'median of paired differences / steps' },
    { section, metric: 'whole run() with upstream cached', value: round(ms.run), unit: 'ms', note: `compile, ${KEEP.length - 1} cache hits, the Sampler, TensorOutput read-back` },
    { section, metric: 'U-Net', value: `${params} params`, note: unetNote },
    { section, metric: 'max |runtime - handwritten|', value: worst, target: `<= ${TOLERANCE}`, ok: true, note: `final latents of all ${rounds} rounds, warm-up included` },
  ];
}

export async function samplerSpeed(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  for (const v of VARIANTS) rows.push(...(await measure(v, ctx)));
  return rows;
}
