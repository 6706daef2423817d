/**
 * Latent diffusion, stage 2, second phase: the U-Net and text encoder that ldm.ts trained (from
 * seeds, Adam at 2e-3) train on at a quarter of the learning rate, which settles the weights the
 * way a decayed learning rate (or an EMA of the weights) does for diffusion models. The batches go
 * on where phase 1 stopped (Dataset step 900), with fresh seeds for the noise, the timesteps and the
 * prompt dropout. The weights files are both read (phase 1's) and written (the shipped ones).
 */
import { ldmPhase } from './ldm.ts';

export const PHASE1_STEPS = 900;
export const PHASE2_STEPS = 600;

export default ldmPhase({ name: 'ldm-finetune', order: 52, steps: PHASE2_STEPS, learningRate: 0.0005, startStep: PHASE1_STEPS, seedBase: 10 });
