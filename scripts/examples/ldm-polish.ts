/**
 * Latent diffusion, stage 2, fifth phase: ldm-extend.ts's weights train on at 2e-4 for 1,000 steps,
 * the batches going on at Dataset step 8,000, fresh seeds for the noise, the timesteps and the
 * prompt dropout. Judge accuracy (50 per digit, seed 2024, cfg 6): 0.896 before, 0.928 after.
 */
import { ldmPhase } from './ldm.ts';
import { EXTEND_STEPS } from './ldm-extend.ts';
import { PHASE1_STEPS, PHASE2_STEPS } from './ldm-finetune.ts';
import { SETTLE_STEPS } from './ldm-settle.ts';

export default ldmPhase({ name: 'ldm-polish', order: 55, steps: 1000, learningRate: 0.0002, startStep: PHASE1_STEPS + PHASE2_STEPS + SETTLE_STEPS + EXTEND_STEPS, seedBase: 40 });
