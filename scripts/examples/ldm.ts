/**
 * Latent diffusion, stage 2 (graphs/mnist-ldm.json): a text-conditioned U-Net trained in the
 * frozen stage-1 autoencoder's latent space (ldm-autoencoder.ts runs first: its weights file is an
 * input here). Scored by the MNIST judge: prompted with each digit, the share of samples it
 * classifies as that digit, with the graph's sampler (DDIM, classifier-free guidance) and the
 * seeds the shipped-weights test uses.
 */
import { loadJudge } from '../../src/eval.ts';
import type { EvalContext, Example } from './example.ts';
import { promptedAccuracy } from './_prompted.ts';

/** Samples per digit and the noise seed of the figures (docs/training.md). */
export const LDM_EVAL = { perDigit: 50, seed: 2024 };

export async function ldmFigures({ rt, doc, baseDir }: EvalContext): Promise<Record<string, number | string>> {
  const judge = await loadJudge();
  try {
    const sampler = doc.nodes.find((n) => n.id === 'sampler')!.params;
    const r = await promptedAccuracy(rt, judge, doc, { ...LDM_EVAL, baseDir });
    return {
      [`judge accuracy on prompted digits (${LDM_EVAL.perDigit} per digit, seed ${LDM_EVAL.seed}, ${sampler.steps} DDIM steps, cfg ${sampler.cfgScale})`]: r.accuracy,
      'accuracy per digit 0..9': r.perDigit.map((a) => a.toFixed(2)).join(' '),
    };
  } finally {
    judge.dispose();
  }
}

const example: Example = { name: 'ldm', graph: 'graphs/mnist-ldm.json', order: 51, evaluate: ldmFigures };
export default example;
