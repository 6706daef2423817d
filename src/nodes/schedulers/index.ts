/**
 * Diffusion schedulers with a diffusers-shaped API (see types.ts), one per file:
 * ddpm.ts (Ho et al. 2020), ddim.ts (Song et al. 2021), euler.ts (Karras et al. 2022),
 * dpmpp-2m.ts (Lu et al. 2022). schedule.ts holds the config and the noise schedule they share.
 */
import { DDIMScheduler } from './ddim.ts';
import { DDPMScheduler } from './ddpm.ts';
import { DPMSolverPlusPlus2MScheduler } from './dpmpp-2m.ts';
import { EulerScheduler } from './euler.ts';
import type * as tf from '@tensorflow/tfjs';
import type { Resource } from '../../runtime/index.ts';
import { alphasCumprodFor, qSample, resolveConfig, SCHEDULER_TYPES, type AddNoiseTimesteps, type SchedulerConfig, type SchedulerType } from './schedule.ts';
import type { Scheduler } from './types.ts';

export interface CreateOptions {
  /** Seeds the noise of stochastic steps (DDPM, DDIM with η > 0, Euler with churn). */
  seed?: number;
}

/** A fresh scheduler of this type; config keys are diffusers' and default to diffusers' defaults. */
export function createScheduler(type: SchedulerType, config: Partial<SchedulerConfig> = {}, opts: CreateOptions = {}): Scheduler {
  switch (type) {
    case 'ddpm':
      return new DDPMScheduler(config, opts);
    case 'ddim':
      return new DDIMScheduler(config, opts);
    case 'euler':
      return new EulerScheduler(config, opts);
    case 'dpmpp_2m':
      return new DPMSolverPlusPlus2MScheduler(config);
    default:
      throw new Error(`unknown scheduler type "${type as string}" (expected ddpm, ddim, euler or dpmpp_2m)`);
  }
}

/**
 * What a Scheduler node outputs: a validated config and a factory of fresh instances (a Sampler
 * calls create() once per run), plus the training forward process. Holds no tensors.
 */
export class SchedulerSpec implements Resource {
  readonly resource = 'scheduler';
  readonly config: Readonly<SchedulerConfig>;
  /** ᾱ_t for t = 0 … T−1. */
  readonly alphasCumprod: readonly number[];

  constructor(
    readonly type: SchedulerType,
    config: Partial<SchedulerConfig> = {},
  ) {
    if (!SCHEDULER_TYPES.includes(type)) throw new Error(`unknown scheduler type "${type as string}" (expected ${SCHEDULER_TYPES.join(', ')})`);
    this.config = resolveConfig(type, config);
    this.alphasCumprod = alphasCumprodFor(this.config);
  }

  create(opts: CreateOptions = {}): Scheduler {
    return createScheduler(this.type, this.config, opts);
  }

  /** q(x_t | x0) at training timesteps: √ᾱ_t·x0 + √(1−ᾱ_t)·noise (see qSample). */
  addNoise(x0: tf.Tensor, noise: tf.Tensor, timesteps: AddNoiseTimesteps): tf.Tensor {
    return qSample(this.alphasCumprod, x0, noise, timesteps);
  }

  bytes(): number {
    return 0;
  }

  dispose(): void {}
}

export const isSchedulerSpec = (v: unknown): v is SchedulerSpec => v instanceof SchedulerSpec;

export { DDIMScheduler, DDPMScheduler, DPMSolverPlusPlus2MScheduler, EulerScheduler };
export * from './schedule.ts';
export type * from './types.ts';
export { torchNoise } from './torch-random.ts';
