/**
 * Scoring what the example graphs generate, in Node: the MNIST judge (graphs/weights/judge.safetensors,
 * trained by graphs/mnist-judge.json) and the figures docs/training.md and the shipped-weights tests
 * report. The math lives in src/nodes/judge.ts; this file adds the Node file access.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { setParam, type GraphDoc } from './graph/index.ts';
import { toyPool } from './nodes/data/toy2d.ts';
import { buildClassifier, classifyDigits, inceptionScore, JUDGE_CONFIG } from './nodes/judge.ts';
import type { ModelHandle, Runtime, TensorData } from './runtime/index.ts';
import { nodePlatform } from './runtime/platform-node.ts';

/** How docs/training.md and the shipped-weights tests score prior samples: this many, from this noise seed. */
export const SCORE_SAMPLES = 1000;
export const SCORE_SEED = 1234;

/** The shipped judge's weights. */
export const JUDGE_WEIGHTS = fileURLToPath(new URL('../graphs/weights/judge.safetensors', import.meta.url));

/** The MNIST judge on the current tfjs backend (create a runtime first); dispose() it when done. */
export function loadJudge(file = JUDGE_WEIGHTS): Promise<ModelHandle> {
  return buildClassifier(JUDGE_CONFIG, 0, path.resolve(file), (p) => nodePlatform.readFile(p));
}

export { classifyDigits, inceptionScore };

const isTensorData = (v: unknown): v is TensorData => typeof v === 'object' && v !== null && 'data' in v && 'shape' in v;

/** Judge images [N, 28, 28, 1] in [0, 1] (read back from a run): the Inception-style score and the class histogram. */
export async function judgeImages(judge: ModelHandle, images: TensorData): Promise<{ score: number; labels: number[]; histogram: number[] }> {
  const x = tf.tensor4d(images.data as Float32Array, images.shape as [number, number, number, number]);
  try {
    const { probs, labels } = await classifyDigits(judge, x);
    const histogram = new Array<number>(10).fill(0);
    for (const l of labels) histogram[l]++;
    return { score: inceptionScore(probs), labels, histogram };
  } finally {
    x.dispose();
  }
}

/**
 * The judge's score of `n` prior samples of a graph: its `prior` NoiseSource reshaped to n draws
 * with `seed`, decoded by the graph, read from the ImageOutput `samples`.
 */
export async function scorePriorSamples(rt: Runtime, judge: ModelHandle, doc: GraphDoc, o: { n: number; seed: number; baseDir: string; prior?: string; samples?: string }): Promise<{ score: number; histogram: number[] }> {
  const prior = o.prior ?? 'prior';
  const samples = o.samples ?? 'samples';
  const shape = doc.nodes.find((n) => n.id === prior)?.params.shape as number[];
  let d = setParam(doc, prior, 'shape', [o.n, ...shape.slice(1)]);
  d = setParam(d, prior, 'seed', o.seed);
  const res = await rt.run(d, { outputs: [samples], baseDir: o.baseDir });
  const images = res.outputs[samples].image;
  if (!isTensorData(images)) throw new Error(`"${samples}" gave no image`);
  const { score, histogram } = await judgeImages(judge, images);
  return { score, histogram };
}

/** Negative log-likelihood (nats per point) of points [N, 2] under one Gaussian fitted to `fit` [M, 2] by maximum likelihood. */
export function gaussianNll(fit: ArrayLike<number>, points: ArrayLike<number>): number {
  const m = fit.length / 2;
  let [mx, my] = [0, 0];
  for (let i = 0; i < m; i++) (mx += fit[2 * i] / m), (my += fit[2 * i + 1] / m);
  let [sxx, syy, sxy] = [0, 0, 0];
  for (let i = 0; i < m; i++) {
    const [dx, dy] = [fit[2 * i] - mx, fit[2 * i + 1] - my];
    (sxx += (dx * dx) / m), (syy += (dy * dy) / m), (sxy += (dx * dy) / m);
  }
  const det = sxx * syy - sxy * sxy;
  // −log N(x; μ, Σ) = log 2π + ½ log det Σ + ½ (x − μ)ᵀ Σ⁻¹ (x − μ)
  let nll = 0;
  const n = points.length / 2;
  for (let i = 0; i < n; i++) {
    const [dx, dy] = [points[2 * i] - mx, points[2 * i + 1] - my];
    const maha = (syy * dx * dx - 2 * sxy * dx * dy + sxx * dy * dy) / det;
    nll += Math.log(2 * Math.PI) + 0.5 * Math.log(det) + 0.5 * maha;
  }
  return nll / n;
}

/** The baseline a moons flow must beat: one Gaussian fitted to the moons training split, its NLL on the test split (Dataset noise 0.05). */
export function moonsGaussianNll(noise = 0.05): number {
  return gaussianNll(toyPool('moons', 'train', noise).points, toyPool('moons', 'test', noise).points);
}
