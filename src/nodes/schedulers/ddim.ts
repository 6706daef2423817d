/**
 * DDIM: Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models" (arXiv:2010.02502), eq. 12:
 *
 *   x_{t−Δ} = √ᾱ_{t−Δ} · x̂0  +  √(1 − ᾱ_{t−Δ} − σ_t²) · ε̂  +  σ_t · z,      z ~ N(0, I)
 *   x̂0 = (x_t − √(1−ᾱ_t) · ε̂) / √ᾱ_t                                          ("predicted x0")
 *   σ_t(η) = η · √((1−ᾱ_{t−Δ})/(1−ᾱ_t)) · √(1 − ᾱ_t/ᾱ_{t−Δ})                    (eq. 16)
 *
 * η = 0 is the deterministic DDIM sampler; η = 1 is DDPM's ancestral sampler on the same steps.
 * Mirrors diffusers' DDIMScheduler, float32 where it is float32.
 *
 * Notation:
 *   alphaProd = ᾱ_t   alphaProdPrev = ᾱ_{t−Δ} (Δ = T / steps; after the last step: 1 or ᾱ_0,
 *   see set_alpha_to_one)   betaProd = 1 − ᾱ_t   eps = ε̂   x0 = x̂0   std = σ_t(η)
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
  type SchedulerConfig,
} from './schedule.ts';
import type { AddNoiseTimesteps, Scheduler, StepOptions, StepOutput } from './types.ts';

export class DDIMScheduler implements Scheduler {
  readonly type = 'ddim';
  readonly order = 1;
  readonly config: SchedulerConfig;
  readonly alphasCumprod: number[];
  readonly initNoiseSigma = 1;
  timesteps: number[];
  numInferenceSteps: number | null = null;
  private readonly finalAlphaCumprod: number;
  private readonly noise;

  constructor(config: Partial<SchedulerConfig> = {}, opts: { seed?: number } = {}) {
    this.config = resolveConfig('ddim', config);
    this.alphasCumprod = alphasCumprodFor(this.config);
    this.finalAlphaCumprod = this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0];
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

  /** σ_t(η)² / η², eq. 16 without η. */
  variance(t: number, prev: number): number {
    const a = this.alphasCumprod[t];
    const ap = prev >= 0 ? this.alphasCumprod[prev] : this.finalAlphaCumprod;
    return f32(f32(f32(1 - ap) / f32(1 - a)) * f32(1 - f32(a / ap)));
  }

  step(modelOutput: tf.Tensor, t: number, sample: tf.Tensor, opts: StepOptions = {}): StepOutput {
    if (this.numInferenceSteps === null) throw new Error('DDIM: call setTimesteps(n) before step()');
    const c = this.config;
    const eta = opts.eta ?? c.eta;
    // 1. the previous timestep: t − T/steps (diffusers uses this stride for every spacing)
    const prev = t - Math.floor(c.num_train_timesteps / this.numInferenceSteps);
    // 2. ᾱ_t, ᾱ_{t−Δ}
    const a = this.alphasCumprod[t];
    if (a === undefined) throw new Error(`DDIM: timestep ${t} is outside 0..${c.num_train_timesteps - 1}`);
    const ap = prev >= 0 ? this.alphasCumprod[prev] : this.finalAlphaCumprod;
    const betaProd = f32(1 - a);
    // 5. σ_t(η), computed first because the noise is drawn outside the tidy below
    const std = f32(eta * sqrt32(this.variance(t, prev)));
    const z = std > 0 ? stepNoise(sample.shape, opts, this.noise) : null;
    const out = tf.tidy(() => {
      // 3. x̂0 and ε̂ from the model output
      let x0: tf.Tensor;
      let eps: tf.Tensor;
      if (c.prediction_type === 'epsilon') {
        x0 = tf.div(tf.sub(sample, tf.mul(sqrt32(betaProd), modelOutput)), sqrt32(a));
        eps = modelOutput;
      } else if (c.prediction_type === 'sample') {
        x0 = modelOutput;
        eps = tf.div(tf.sub(sample, tf.mul(sqrt32(a), x0)), sqrt32(betaProd));
      } else {
        // v = √ᾱ·ε − √(1−ᾱ)·x0 (Salimans & Ho 2022)
        x0 = tf.sub(tf.mul(sqrt32(a), sample), tf.mul(sqrt32(betaProd), modelOutput));
        eps = tf.add(tf.mul(sqrt32(a), modelOutput), tf.mul(sqrt32(betaProd), sample));
      }
      // 4. clip x̂0
      x0 = clipX0(x0, c);
      // 6. the direction pointing to x_t
      const direction = tf.mul(sqrt32(f32(f32(1 - ap) - f32(std * std))), eps);
      // 7. x_{t−Δ} = √ᾱ_{t−Δ}·x̂0 + direction (+ σ_t·z)
      let prevSample = tf.add(tf.mul(sqrt32(ap), x0), direction);
      if (z) prevSample = tf.add(prevSample, tf.mul(std, z));
      return { prevSample, predOriginalSample: x0 === modelOutput ? tf.clone(x0) : x0 };
    });
    z?.dispose();
    return out;
  }

  /** x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε at integer training timesteps (one for all, or one per batch item). */
  addNoise(original: tf.Tensor, noise: tf.Tensor, timesteps: AddNoiseTimesteps): tf.Tensor {
    return qSample(this.alphasCumprod, original, noise, timesteps);
  }

  dispose(): void {}
}
