/**
 * DPM-Solver++(2M): Lu, Zhou, Bao, Chen, Li & Zhu 2022, "DPM-Solver++: Fast Solver for Guided
 * Sampling of Diffusion Probabilistic Models" (arXiv:2211.01095), Algorithm 2 (multistep,
 * second order, data prediction), with diffusers' "midpoint" form of the correction.
 *
 * In half-log-SNR time λ = log(α/σ) the diffusion ODE for the data prediction x̂0 is solved exactly
 * up to the x̂0 term; with h = λ_t − λ_s:
 *
 *   first order (DDIM):  x_t = (σ_t/σ_s)·x_s − α_t·(e^{−h} − 1)·D0
 *   second order:        x_t = (σ_t/σ_s0)·x_s − α_t·(e^{−h} − 1)·D0 − ½·α_t·(e^{−h} − 1)·D1
 *   D0 = x̂0(s0),  D1 = (x̂0(s0) − x̂0(s1))/r0,  r0 = h_0/h,  h_0 = λ_s0 − λ_s1
 *
 * The first step (no history yet) and, with lower_order_final and fewer than 15 steps, the last
 * steps are first order. Here α, σ are the VP-frame signal and noise scales: for the VE sigma
 * σ_ve = √((1−ᾱ)/ᾱ), α = 1/√(σ_ve² + 1) and σ = σ_ve·α. Mirrors diffusers'
 * DPMSolverMultistepScheduler (solver_order 2, algorithm_type "dpmsolver++", solver_type
 * "midpoint"), float32 where it is float32.
 *
 * Optional: Karras sigmas or Lu et al.'s spacing uniform in λ (use_lu_lambdas), and dynamic
 * thresholding of x̂0 (thresholding).
 *
 * Notation:
 *   sigmas[i] = σ_ve at step i   alphaT, sigmaT = α_t, σ_t   lambda = λ   h, h0 = h, h_0
 *   history = [x̂0(s1), x̂0(s0)], the model outputs converted to x̂0, kept between steps
 */
import * as tf from '@tensorflow/tfjs';
import {
  alphasCumprodFor,
  checkSteps,
  dynamicThreshold,
  f32,
  indexForTimestep,
  interpIndex,
  karrasSigmas,
  npArange,
  npLinspace,
  perItem,
  resolveConfig,
  roundHalfEven,
  sigmasFromAlphas,
  sigmaToT,
  sqrt32,
  type SchedulerConfig,
} from './schedule.ts';
import type { Scheduler, StepOutput } from './types.ts';

/** (α_t, σ_t, λ_t) of a VE sigma, float32 as torch. */
function alphaSigmaLambda(sigmaVe: number): [number, number, number] {
  const alpha = f32(1 / sqrt32(f32(f32(sigmaVe * sigmaVe) + 1)));
  const sigma = f32(sigmaVe * alpha);
  return [alpha, sigma, f32(f32(Math.log(alpha)) - f32(Math.log(sigma)))];
}

export class DPMSolverPlusPlus2MScheduler implements Scheduler {
  readonly type = 'dpmpp_2m';
  readonly order = 1;
  readonly config: SchedulerConfig;
  readonly alphasCumprod: number[];
  readonly initNoiseSigma = 1;
  timesteps: number[];
  sigmas: number[];
  numInferenceSteps: number | null = null;
  private stepIndex: number | null = null;
  private lowerOrderNums = 0;
  /** The last two x̂0 (oldest first); owned here, freed by setTimesteps and dispose. */
  private history: tf.Tensor[] = [];
  private readonly trainSigmas: number[];

  constructor(config: Partial<SchedulerConfig> = {}) {
    this.config = resolveConfig('dpmpp_2m', config);
    this.alphasCumprod = alphasCumprodFor(this.config);
    this.trainSigmas = sigmasFromAlphas(this.alphasCumprod);
    const T = this.config.num_train_timesteps;
    this.timesteps = Array.from({ length: T }, (_, i) => T - 1 - i);
    this.sigmas = [...this.trainSigmas];
  }

  setTimesteps(n: number): void {
    const c = this.config;
    const T = c.num_train_timesteps;
    checkSteps(n, T);
    // 1. integer timesteps, descending (n + 1 points, the last dropped)
    let timesteps: number[];
    if (c.timestep_spacing === 'linspace') timesteps = npLinspace(0, T - 1, n + 1).map(roundHalfEven).reverse().slice(0, n);
    else if (c.timestep_spacing === 'leading') {
      const ratio = Math.floor(T / (n + 1));
      timesteps = Array.from({ length: n }, (_, i) => (n - i) * ratio + c.steps_offset);
    } else timesteps = npArange(T, 0, -T / n).map((t) => roundHalfEven(t) - 1);
    // 2. their sigmas, or Karras et al.'s spacing and the (rounded) timesteps it implies
    let sigmas: number[];
    const logSigmas = this.trainSigmas.map((s) => f32(Math.log(s)));
    if (c.use_karras_sigmas || c.use_lu_lambdas) {
      if (c.use_karras_sigmas) sigmas = karrasSigmas(this.trainSigmas[0], this.trainSigmas[T - 1], n);
      else {
        // uniform in log σ = −λ + const, from the largest to the smallest
        const [lo, hi] = [logSigmas[0], logSigmas[T - 1]];
        sigmas = npLinspace(0, 1, n).map((r) => Math.exp(hi + r * (lo - hi)));
      }
      timesteps = sigmas.map((s) => sigmaToT(s, logSigmas));
      if (c.beta_schedule !== 'squaredcos_cap_v2') timesteps = timesteps.map(roundHalfEven);
    } else sigmas = timesteps.map((t) => interpIndex(t, this.trainSigmas));
    // 3. the sigma after the last step
    const last = c.final_sigmas_type === 'sigma_min' ? this.trainSigmas[0] : 0;
    this.sigmas = sigmas.concat(last).map(f32);
    this.timesteps = timesteps.map(Math.trunc);
    this.numInferenceSteps = timesteps.length;
    this.stepIndex = null;
    this.lowerOrderNums = 0;
    this.dispose();
  }

  scaleModelInput(sample: tf.Tensor): tf.Tensor {
    return tf.clone(sample);
  }

  step(modelOutput: tf.Tensor, t: number, sample: tf.Tensor): StepOutput {
    const c = this.config;
    if (this.numInferenceSteps === null) throw new Error('DPM++ 2M: call setTimesteps(n) before step()');
    if (this.stepIndex === null) {
      const i = indexForTimestep(this.timesteps, t);
      this.stepIndex = i < 0 ? this.timesteps.length - 1 : i;
    }
    const i = this.stepIndex;
    const n = this.timesteps.length;
    if (i >= n) throw new Error('DPM++ 2M: step() called after the last timestep');
    const lowerOrderFinal = i === n - 1 && (c.euler_at_final || (c.lower_order_final && n < 15) || c.final_sigmas_type === 'zero');
    const [alphaS0, sigmaS0, lambdaS0] = alphaSigmaLambda(this.sigmas[i]);
    const [alphaT, sigmaT, lambdaT] = alphaSigmaLambda(this.sigmas[i + 1]);
    // 1. convert the model output to the data prediction x̂0 (dpmsolver++ works on x̂0)
    const x0 = tf.tidy(() => {
      let pred: tf.Tensor;
      if (c.prediction_type === 'epsilon') pred = tf.div(tf.sub(sample, tf.mul(sigmaS0, modelOutput)), alphaS0);
      else if (c.prediction_type === 'sample') pred = tf.clone(modelOutput);
      else pred = tf.sub(tf.mul(alphaS0, sample), tf.mul(sigmaS0, modelOutput));
      return c.thresholding ? dynamicThreshold(pred, c.dynamic_thresholding_ratio, c.sample_max_value) : pred;
    });
    this.history.push(tf.keep(x0));
    if (this.history.length > 2) this.history.shift()!.dispose();
    const h = f32(lambdaT - lambdaS0);
    const expm = f32(f32(Math.exp(-h)) - 1); // e^{−h} − 1
    const prevSample = tf.tidy(() => {
      // 2. first order: the first step, or the last one when lower-order final steps apply
      if (this.lowerOrderNums < 1 || lowerOrderFinal) {
        return tf.sub(tf.mul(f32(sigmaT / sigmaS0), sample), tf.mul(f32(alphaT * expm), x0));
      }
      // 3. second order with the previous x̂0 (midpoint form)
      const [, , lambdaS1] = alphaSigmaLambda(this.sigmas[i - 1]);
      const [m1, m0] = this.history;
      const r0 = f32(f32(lambdaS0 - lambdaS1) / h);
      const d1 = tf.mul(f32(1 / r0), tf.sub(m0, m1));
      const a = f32(alphaT * expm);
      return tf.sub(tf.sub(tf.mul(f32(sigmaT / sigmaS0), sample), tf.mul(a, m0)), tf.mul(f32(0.5 * a), d1));
    });
    if (this.lowerOrderNums < 2) this.lowerOrderNums++;
    this.stepIndex = i + 1;
    return { prevSample, predOriginalSample: tf.clone(x0) };
  }

  /** α_t·x0 + σ_t·ε at the sigma of each timestep (diffusers: the last step when t is not in the schedule). */
  addNoise(original: tf.Tensor, noise: tf.Tensor, timesteps: number | readonly number[]): tf.Tensor {
    const ts = typeof timesteps === 'number' ? [timesteps] : [...timesteps];
    const scales = ts.map((t) => {
      const i = indexForTimestep(this.timesteps, t);
      return alphaSigmaLambda(this.sigmas[i < 0 ? this.timesteps.length - 1 : i]);
    });
    return tf.tidy(() =>
      tf.add(tf.mul(perItem(scales.map((s) => s[0]), original), original), tf.mul(perItem(scales.map((s) => s[1]), original), noise)),
    );
  }

  dispose(): void {
    for (const x of this.history) x.dispose();
    this.history = [];
  }
}
