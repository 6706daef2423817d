/**
 * Latent diffusion, stage 2, fourth phase: ldm-settle.ts's weights train on at 4e-4, the batches
 * going on at Dataset step 2,000 (where the three earlier phases stopped), with fresh seeds for the
 * noise, the timesteps and the prompt dropout. The earlier phases had seen 2,000 batches of 64 (14
 * epochs), and the judge's accuracy was still rising: 6,000 more steps took it from 0.51 to 0.90.
 */
import { ldmPhase } from './ldm.ts';
import { PHASE1_STEPS, PHASE2_STEPS } from './ldm-finetune.ts';
import { SETTLE_STEPS } from './ldm-settle.ts';

export const EXTEND_STEPS = 6000;

export default ldmPhase({ name: 'ldm-extend', order: 54, steps: EXTEND_STEPS, learningRate: 0.0004, startStep: PHASE1_STEPS + PHASE2_STEPS + SETTLE_STEPS, seedBase: 30 });
