/**
 * The scheduler API, shaped like diffusers' so a script written against diffusers reads the same:
 *
 *   const s = createScheduler('ddim', { num_train_timesteps: 1000 });
 *   s.setTimesteps(50);
 *   let x = tf.mul(noise, s.initNoiseSigma);
 *   for (const t of s.timesteps) {
 *     const input = s.scaleModelInput(x, t);
 *     const eps = unet(input, t);
 *     const { prevSample, predOriginalSample } = s.step(eps, t, x);
 *     ...dispose input, eps, predOriginalSample, x; x = prevSample
 *   }
 *
 * Ownership (STYLE 7): every tensor a method returns is new and belongs to the caller; inputs are
 * never disposed. A scheduler instance is stateful (Euler and DPM++ count steps, DPM++ keeps the
 * last model outputs), so each sampling run uses a fresh one, and dispose() frees what it kept.
 */
import type * as tf from '@tensorflow/tfjs';
import type { AddNoiseTimesteps, NoiseGenerator, SchedulerConfig, SchedulerType } from './schedule.ts';

export interface StepOptions {
  /** The noise a stochastic step adds (DDPM, DDIM with η > 0, Euler with s_churn > 0); not disposed. */
  noise?: tf.Tensor;
  /** Where to draw that noise from instead (default: the instance's seeded generator). */
  generator?: NoiseGenerator;
  /** DDIM: η for this step (default config.eta). */
  eta?: number;
}

export interface StepOutput {
  /** x_{t−1}: the sample to feed the next step. */
  prevSample: tf.Tensor;
  /** x̂0: the denoised image the model's output implies at this step (previews). */
  predOriginalSample: tf.Tensor;
}

export interface Scheduler {
  readonly type: SchedulerType;
  readonly config: Readonly<SchedulerConfig>;
  /** Model calls per step (1 for all four). */
  readonly order: number;
  /** ᾱ_t for t = 0 … T−1. */
  readonly alphasCumprod: readonly number[];
  /** The timesteps to call the model at, in order (set by setTimesteps). */
  readonly timesteps: readonly number[];
  readonly numInferenceSteps: number | null;
  /** The std of the initial noise x_T: 1 for DDPM/DDIM/DPM++, σ_max (or √(σ_max²+1)) for Euler. */
  readonly initNoiseSigma: number;
  setTimesteps(numInferenceSteps: number): void;
  /** The model's input at timestep t (Euler divides by √(σ²+1); the others return a copy). */
  scaleModelInput(sample: tf.Tensor, t: number): tf.Tensor;
  step(modelOutput: tf.Tensor, t: number, sample: tf.Tensor, opts?: StepOptions): StepOutput;
  /** `original` noised to the given timesteps, the way this scheduler's samples are parameterised. */
  addNoise(original: tf.Tensor, noise: tf.Tensor, timesteps: number | readonly number[]): tf.Tensor;
  /** Frees the tensors the instance keeps (DPM++'s history). */
  dispose(): void;
}

export type { AddNoiseTimesteps };
