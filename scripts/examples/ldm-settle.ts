/**
 * Latent diffusion, stage 2, third phase: ldm-finetune.ts's weights train on at 2e-4 (a tenth of
 * phase 1's rate), batches continuing at Dataset step 1,500, fresh seeds for the noise, the
 * timesteps and the prompt dropout. The three phases together are a step-decayed learning rate
 * (2e-3, 5e-4, 2e-4 for 900, 600, 500 steps), split so each fits between the runner's evaluations.
 */
import { ldmPhase } from './ldm.ts';
import { PHASE1_STEPS, PHASE2_STEPS } from './ldm-finetune.ts';

export const SETTLE_STEPS = 500;

export default ldmPhase({ name: 'ldm-settle', order: 53, steps: SETTLE_STEPS, learningRate: 0.0002, startStep: PHASE1_STEPS + PHASE2_STEPS, seedBase: 20 });
