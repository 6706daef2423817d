/**
 * DDPM: Ho, Jain & Abbeel 2020, "Denoising Diffusion Probabilistic Models" (arXiv:2006.11239).
 * One ancestral step samples the posterior q(x_{t'} | x_t, x̂0), eq. 6–7, where t' is the previous
 * timestep of the schedule (t − 1 over the full training schedule):
 *
 *   μ̃ = √ᾱ_{t'}·β'_t/(1−ᾱ_t) · x̂0  +  √α'_t·(1−ᾱ_{t'})/(1−ᾱ_t) · x_t
 *   x_{t'} = μ̃ + √var · z   (z ~ N(0, I), no noise at t = 0)
 *   var = β̃_t = (1−ᾱ_{t'})/(1−ᾱ_t) · β'_t  (fixed_small)   or   β'_t  (fixed_large)
 *   with α'_t = ᾱ_t/ᾱ_{t'} and β'_t = 1 − α'_t (= α_t, β_t when t' = t − 1).
 *
 * Mirrors diffusers' DDPMScheduler, float32 where it is float32.
 *
 * Notation:
 *   alphaProd = ᾱ_t   alphaProdPrev = ᾱ_{t'} (1 after the last step)   betaProd = 1 − ᾱ_t
 *   alpha = α'_t   beta = β'_t   x0 = x̂0   mean = μ̃
 */
import * as tf from '@tensorflow/tfjs';
import {
  alphasCumprodFor,
  clipX0,
  discreteTimesteps,
  f32,
  qSample,
  resolveConfig,
  seededNoise,
  sqrt32,
  stepNoise,
  type AddNoiseTimesteps,
  type SchedulerConfig,
} from './schedule.ts';
import type { Scheduler, StepOptions, StepOutput } from './types.ts';

export class DDPMScheduler implements Scheduler {
  readonly type = 'ddpm';
  readonly order = 1;
  readonly config: SchedulerConfig;
  readonly alphasCumprod: number[];
  readonly initNoiseSigma = 1;
  /** Without setTimesteps, every training timestep T−1 … 0, as diffusers. */
  timesteps: number[];
  numInferenceSteps: number | null = null;
  private readonly noise;

  constructor(config: Partial<SchedulerConfig> = {}, opts: { seed?: number } = {}) {
    this.config = resolveConfig('ddpm', config);
    this.alphasCumprod = alphasCumprodFor(this.config);
    this.timesteps = Array.from({ length: this.config.num_train_timesteps }, (_, i) => this.config.num_train_timesteps - 1 - i);
    this.noise = seededNoise(opts.seed ?? 0);
  }

  setTimesteps(n: number): void {
    this.timesteps = discreteTimesteps(this.config, n);
    this.numInferenceSteps = n;
  }

  scaleModelInput(sample: tf.Tensor): tf.Tensor {
    return tf.clone(sample);
  }

  /** The timestep after t in the schedule (−1 after the last). */
  previousTimestep(t: number): number {
    if (this.numInferenceSteps === null) return t - 1;
    const i = this.timesteps.indexOf(t);
    if (i < 0) throw new Error(`DDPM: timestep ${t} is not in the schedule [${this.timesteps.join(', ')}]`);
    return i === this.timesteps.length - 1 ? -1 : this.timesteps[i + 1];
  }

  /** The variance of the step from t (fixed_small: β̃_t, clamped at 1e-20; fixed_large: β'_t). */
  variance(t: number): number {
    const prev = this.previousTimestep(t);
    const a = this.alphasCumprod[t];
    const ap = prev >= 0 ? this.alphasCumprod[prev] : 1;
    const beta = f32(1 - f32(a / ap));
    if (this.config.variance_type === 'fixed_large') return beta;
    return Math.max(f32(f32(f32(1 - ap) / f32(1 - a)) * beta), f32(1e-20));
  }

  step(modelOutput: tf.Tensor, t: number, sample: tf.Tensor, opts: StepOptions = {}): StepOutput {
    const c = this.config;
    // 1. ᾱ_t, ᾱ_{t'}, α'_t, β'_t
    const prev = this.previousTimestep(t);
    const a = this.alphasCumprod[t];
    if (a === undefined) throw new Error(`DDPM: timestep ${t} is outside 0..${c.num_train_timesteps - 1}`);
    const ap = prev >= 0 ? this.alphasCumprod[prev] : 1;
    const betaProd = f32(1 - a);
    const betaProdPrev = f32(1 - ap);
    const alpha = f32(a / ap);
    const beta = f32(1 - alpha);
    const z = t > 0 ? stepNoise(sample.shape, opts, this.noise) : null;
    const out = tf.tidy(() => {
      // 2. x̂0 from the model output
      let x0: tf.Tensor;
      if (c.prediction_type === 'epsilon') x0 = tf.div(tf.sub(sample, tf.mul(sqrt32(betaProd), modelOutput)), sqrt32(a));
      else if (c.prediction_type === 'sample') x0 = tf.clone(modelOutput);
      else x0 = tf.sub(tf.mul(sqrt32(a), sample), tf.mul(sqrt32(betaProd), modelOutput));
      // 3. clip x̂0
      x0 = clipX0(x0, c);
      // 4. the posterior mean μ̃ (eq. 7)
      const x0Coeff = f32(f32(sqrt32(ap) * beta) / betaProd);
      const xtCoeff = f32(f32(sqrt32(alpha) * betaProdPrev) / betaProd);
      let prevSample = tf.add(tf.mul(x0Coeff, x0), tf.mul(xtCoeff, sample));
      // 5. add √var · z, except at t = 0
      if (z) prevSample = tf.add(prevSample, tf.mul(sqrt32(this.variance(t)), z));
      return { prevSample, predOriginalSample: x0 };
    });
    z?.dispose();
    return out;
  }

  addNoise(original: tf.Tensor, noise: tf.Tensor, timesteps: AddNoiseTimesteps): tf.Tensor {
    return qSample(this.alphasCumprod, original, noise, timesteps);
  }

  dispose(): void {}
}
