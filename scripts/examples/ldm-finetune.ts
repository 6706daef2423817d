/**
 * Latent diffusion, stage 2, second phase: the U-Net and text encoder that ldm.ts trained (from
 * seeds, Adam at 2e-3) train on at a quarter of the learning rate, which settles the weights the
 * way a decayed learning rate (or an EMA of the weights) does for diffusion models. The batches go
 * on where phase 1 stopped (Dataset step 900), with fresh seeds for the noise, the timesteps and the
 * prompt dropout. The weights files are both read (phase 1's) and written (the shipped ones).
 */
import type { Example } from './example.ts';
import { ldmFigures } from './ldm.ts';

export const PHASE1_STEPS = 900;

const example: Example = {
  name: 'ldm-finetune',
  graph: 'graphs/mnist-ldm.json',
  order: 52,
  steps: 600,
  set: {
    unet: { weights: 'weights/ldm-unet.safetensors' },
    textEncoder: { weights: 'weights/ldm-text.safetensors' },
    optimizer: { learningRate: 0.0005 },
    data: { step: PHASE1_STEPS },
    noise: { seed: 14 },
    timesteps: { seed: 13 },
    dropout: { seed: 15 },
  },
  evaluate: ldmFigures,
};
export default example;
