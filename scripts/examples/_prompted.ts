/**
 * How well a text-to-digit graph (graphs/mnist-ldm.json) follows its prompts: generate `perDigit`
 * samples for each prompt "a zero" … "a nine" with fixed seeds, and let the MNIST judge
 * (src/eval.ts) classify them. Shared by the ldm example's figures and the shipped-weights test.
 */
import * as tf from '@tensorflow/tfjs';
import { digitPrompt } from '../../src/nodes/data.ts';
import { setParam, type GraphDoc, type ModelHandle, type Runtime, type TensorData } from '../../src/index.ts';
import { classifyDigits } from '../../src/nodes/judge.ts';

export interface PromptedOptions {
  perDigit: number;
  /** Seed of the starting noise. */
  seed: number;
  baseDir: string;
  /** Sampler overrides (steps, cfgScale); absent: the graph's. */
  steps?: number;
  cfgScale?: number;
}

export interface PromptedResult {
  /** Share of samples the judge gave the prompted digit, per digit 0..9. */
  perDigit: number[];
  accuracy: number;
  /** The judge's label of every sample, digit-major (perDigit samples of "a zero" first). */
  labels: number[];
  images: TensorData;
}

/** The graph set up to draw `perDigit` samples of every digit: prompts digit-major, noise [10·perDigit, …]. */
export function promptedDoc(doc: GraphDoc, o: Omit<PromptedOptions, 'baseDir'>): GraphDoc {
  const prompts = Array.from({ length: 10 * o.perDigit }, (_, i) => digitPrompt(Math.floor(i / o.perDigit)));
  const noise = doc.nodes.find((n) => n.id === 'startNoise')!.params.shape as number[];
  let d = setParam(doc, 'prompts', 'text', prompts.join('\n'));
  d = setParam(d, 'startNoise', 'shape', [prompts.length, ...noise.slice(1)]);
  d = setParam(d, 'startNoise', 'seed', o.seed);
  if (o.steps !== undefined) d = setParam(d, 'sampler', 'steps', o.steps);
  if (o.cfgScale !== undefined) d = setParam(d, 'sampler', 'cfgScale', o.cfgScale);
  return d;
}

export async function promptedAccuracy(rt: Runtime, judge: ModelHandle, doc: GraphDoc, o: PromptedOptions): Promise<PromptedResult> {
  const res = await rt.run(promptedDoc(doc, o), { outputs: ['samples'], baseDir: o.baseDir });
  const images = res.outputs.samples.image as TensorData;
  const x = tf.tensor4d(images.data as Float32Array, images.shape as [number, number, number, number]);
  let labels: number[];
  try {
    labels = (await classifyDigits(judge, x)).labels;
  } finally {
    x.dispose();
  }
  const perDigit = Array.from({ length: 10 }, (_, d) => labels.slice(d * o.perDigit, (d + 1) * o.perDigit).filter((l) => l === d).length / o.perDigit);
  return { perDigit, accuracy: perDigit.reduce((a, b) => a + b) / 10, labels, images };
}
