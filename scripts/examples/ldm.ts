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

/**
 * A later phase of stage 2: the shipped U-Net and text encoder (the files are read, then
 * rewritten) train on at a lower learning rate, the batches going on at Dataset step `startStep`,
 * with fresh seeds for the noise, the timesteps and the prompt dropout (seedBase + 4, 3, 5).
 */
export function ldmPhase(p: { name: string; order: number; steps: number; learningRate: number; startStep: number; seedBase: number }): Example {
  return {
    name: p.name,
    graph: 'graphs/mnist-ldm.json',
    order: p.order,
    steps: p.steps,
    set: {
      unet: { weights: 'weights/ldm-unet.safetensors' },
      textEncoder: { weights: 'weights/ldm-text.safetensors' },
      optimizer: { learningRate: p.learningRate },
      data: { step: p.startStep },
      noise: { seed: p.seedBase + 4 },
      timesteps: { seed: p.seedBase + 3 },
      dropout: { seed: p.seedBase + 5 },
    },
    evaluate: ldmFigures,
  };
}
