/**
 * Euler: Karras, Aittala, Aila & Laine 2022, "Elucidating the Design Space of Diffusion-Based
 * Generative Models" (arXiv:2206.00364), Algorithm 2 with its optional churn, in the
 * variance-exploding frame x = x0 + σ·ε, where σ_t = √((1−ᾱ_t)/ᾱ_t):
 *
 *   σ̂ = σ_i·(1 + γ),   γ = min(s_churn/N, √2 − 1) when s_tmin ≤ σ_i ≤ s_tmax, else 0
 *   x̂ = x + √(σ̂² − σ_i²)·s_noise·z                       (only when γ > 0)
 *   d = (x̂ − x̂0)/σ̂                                        (the ODE's derivative dx/dσ)
 *   x_{i+1} = x̂ + (σ_{i+1} − σ̂)·d
 *
 * The model sees x/√(σ²+1) (scaleModelInput), which is the DDPM-frame x_t a U-Net is trained on.
 * Mirrors diffusers' EulerDiscreteScheduler, float32 where it is float32.
 *
 * Notation:
 *   sigma = σ_i   sigmaNext = σ_{i+1}   sigmaHat = σ̂   gamma = γ   x0 = x̂0   derivative = d
 *   sigmas: one per inference step plus the final one (0, or σ of ᾱ_0 with final_sigmas_type).
 */
import * as tf from '@tensorflow/tfjs';
import {
  alphasCumprodFor,
  checkSteps,
  f32,
  indexForTimestep,
  interpIndex,
  karrasSigmas,
  npArange,
  npLinspace,
  perItem,
  resolveConfig,
  roundHalfEven,
  seededNoise,
  sigmasFromAlphas,
  sigmaToT,
  sqrt32,
  stepNoise,
  type SchedulerConfig,
} from './schedule.ts';
import type { Scheduler, StepOptions, StepOutput } from './types.ts';

export class EulerScheduler implements Scheduler {
  readonly type = 'euler';
  readonly order = 1;
  readonly config: SchedulerConfig;
  readonly alphasCumprod: number[];
  timesteps: number[];
  sigmas: number[];
  numInferenceSteps: number | null = null;
  private stepIndex: number | null = null;
  private readonly trainSigmas: number[];
  private readonly noise;

  constructor(config: Partial<SchedulerConfig> = {}, opts: { seed?: number } = {}) {
    this.config = resolveConfig('euler', config);
    this.alphasCumprod = alphasCumprodFor(this.config);
    this.trainSigmas = sigmasFromAlphas(this.alphasCumprod);
    const T = this.config.num_train_timesteps;
    this.timesteps = npLinspace(0, T - 1, T).map(f32).reverse();
    this.sigmas = [...this.trainSigmas].reverse().concat(0);
    this.noise = seededNoise(opts.seed ?? 0);
  }

  /** σ_max for linspace/trailing spacing, √(σ_max² + 1) for leading (diffusers' convention). */
  get initNoiseSigma(): number {
    const max = Math.max(...this.sigmas);
    return this.config.timestep_spacing === 'leading' ? sqrt32(f32(f32(max * max) + 1)) : max;
  }

  setTimesteps(n: number): void {
    const c = this.config;
    const T = c.num_train_timesteps;
    checkSteps(n, T);
    // 1. timesteps (float32), descending
    let timesteps: number[];
    if (c.timestep_spacing === 'linspace') timesteps = npLinspace(0, T - 1, n).map(f32).reverse();
    else if (c.timestep_spacing === 'leading') {
      const ratio = Math.floor(T / n);
      timesteps = Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + c.steps_offset);
    } else timesteps = npArange(T, 0, -T / n).map((t) => roundHalfEven(t) - 1);
    // 2. σ at those timesteps, interpolated between training steps (float64, as NumPy)
    let sigmas = timesteps.map((t) => interpIndex(t, this.trainSigmas));
    // 3. or Karras et al.'s spacing between the same end points, with the timesteps they imply
    if (c.use_karras_sigmas) {
      sigmas = karrasSigmas(sigmas[sigmas.length - 1], sigmas[0], n);
      const logSigmas = this.trainSigmas.map((s) => f32(Math.log(s)));
      timesteps = sigmas.map((s) => f32(sigmaToT(s, logSigmas)));
    }
    // 4. the sigma after the last step
    const last = c.final_sigmas_type === 'sigma_min' ? this.trainSigmas[0] : 0;
    this.sigmas = sigmas.concat(last).map(f32);
    this.timesteps = timesteps;
    this.numInferenceSteps = n;
    this.stepIndex = null;
  }

  private index(t: number): number {
    if (this.stepIndex === null) {
      const i = indexForTimestep(this.timesteps, t);
      if (i < 0) throw new Error(`Euler: timestep ${t} is not one of scheduler.timesteps`);
      this.stepIndex = i;
    }
    return this.stepIndex;
  }

  /** x / √(σ² + 1): the DDPM-frame input the model was trained on. */
  scaleModelInput(sample: tf.Tensor, t: number): tf.Tensor {
    const sigma = this.sigmas[this.index(t)];
    return tf.div(sample, sqrt32(f32(f32(sigma * sigma) + 1)));
  }

  step(modelOutput: tf.Tensor, t: number, sample: tf.Tensor, opts: StepOptions = {}): StepOutput {
    const c = this.config;
    const i = this.index(t);
    if (i + 1 >= this.sigmas.length) throw new Error('Euler: step() called after the last timestep');
    // 1. σ̂ = σ·(1 + γ)
    const sigma = this.sigmas[i];
    const gamma = c.s_tmin <= sigma && sigma <= c.s_tmax ? Math.min(c.s_churn / (this.sigmas.length - 1), Math.SQRT2 - 1) : 0;
    const sigmaHat = f32(sigma * f32(gamma + 1));
    const z = gamma > 0 ? stepNoise(sample.shape, opts, this.noise) : null;
    const out = tf.tidy(() => {
      // 2. churn: raise the noise level from σ to σ̂
      let x = sample;
      if (z) x = tf.add(x, tf.mul(tf.mul(z, c.s_noise), sqrt32(f32(f32(sigmaHat * sigmaHat) - f32(sigma * sigma)))));
      // 3. x̂0 from the model output
      let x0: tf.Tensor;
      if (c.prediction_type === 'epsilon') x0 = tf.sub(x, tf.mul(sigmaHat, modelOutput));
      else if (c.prediction_type === 'sample') x0 = tf.clone(modelOutput);
      else {
        const s2 = f32(f32(sigma * sigma) + 1);
        x0 = tf.add(tf.mul(modelOutput, f32(-sigma / sqrt32(s2))), tf.div(x, s2));
      }
      // 4. the derivative d = (x̂ − x̂0)/σ̂ and an Euler step to σ_{i+1}
      const derivative = tf.div(tf.sub(x, x0), sigmaHat);
      const dt = f32(this.sigmas[i + 1] - sigmaHat);
      return { prevSample: tf.add(x, tf.mul(derivative, dt)), predOriginalSample: x0 };
    });
    z?.dispose();
    this.stepIndex = i + 1;
    return out;
  }

  /** x0 + σ·ε at the σ of each timestep (which must be one of scheduler.timesteps). */
  addNoise(original: tf.Tensor, noise: tf.Tensor, timesteps: number | readonly number[]): tf.Tensor {
    const ts = typeof timesteps === 'number' ? [timesteps] : [...timesteps];
    const sigmas = ts.map((t) => {
      const i = indexForTimestep(this.timesteps, t);
      if (i < 0) throw new Error(`Euler: timestep ${t} is not one of scheduler.timesteps`);
      return this.sigmas[i];
    });
    return tf.tidy(() => tf.add(original, tf.mul(noise, perItem(sigmas, original))));
  }

  dispose(): void {}
}
