/**
 * Latent diffusion, stage 2, third phase: ldm-finetune.ts's weights train on at 2e-4 (a tenth of
 * phase 1's rate), batches continuing at Dataset step 1,500, fresh seeds for the noise, the
 * timesteps and the prompt dropout. The three phases together are a step-decayed learning rate
 * (2e-3, 5e-4, 2e-4 for 900, 600, 500 steps), split so each fits between the runner's evaluations.
 */
import type { Example } from './example.ts';
import { ldmFigures } from './ldm.ts';
import { PHASE1_STEPS } from './ldm-finetune.ts';

const example: Example = {
  name: 'ldm-settle',
  graph: 'graphs/mnist-ldm.json',
  order: 53,
  steps: 500,
  set: {
    unet: { weights: 'weights/ldm-unet.safetensors' },
    textEncoder: { weights: 'weights/ldm-text.safetensors' },
    optimizer: { learningRate: 0.0002 },
    data: { step: PHASE1_STEPS + 600 },
    noise: { seed: 24 },
    timesteps: { seed: 23 },
    dropout: { seed: 25 },
  },
  evaluate: ldmFigures,
};
export default example;
