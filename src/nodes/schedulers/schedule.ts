/**
 * What the four schedulers share: the config (named exactly as diffusers names it, so a
 * `scheduler_config.json` can be pasted in), the training noise schedule, the spacing of inference
 * timesteps, and the few NumPy/PyTorch routines whose exact rounding decides the golden numbers.
 *
 * Notation (Ho et al. 2020):
 *   β_t          betas[t]            variance added at training step t, t = 0 … T−1
 *   α_t = 1−β_t  alphas[t]
 *   ᾱ_t = ∏α_s   alphasCumprod[t]    so x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε   (the forward process q(x_t | x0))
 *   σ_t          √((1−ᾱ_t)/ᾱ_t)      the same point in the variance-exploding frame of Karras et al.
 *
 * Precision: diffusers holds β, ᾱ and σ in float32 torch tensors and does the per-step scalar math
 * in float32 too; its golden numbers depend on that (euler with noise is checked to 2 float32 ulps).
 * So the schedule lives in plain JS numbers (float64) but every value is rounded to float32 exactly
 * where torch rounds it (`f32` below), and torch.linspace / torch.cumprod are reproduced bit for bit.
 */
import * as tf from '@tensorflow/tfjs';
import { tfSeed } from '../../runtime/index.ts';

export type SchedulerType = 'ddpm' | 'ddim' | 'euler' | 'dpmpp_2m';
export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

export const SCHEDULER_TYPES: readonly SchedulerType[] = ['ddpm', 'ddim', 'euler', 'dpmpp_2m'];
export const BETA_SCHEDULES: readonly BetaSchedule[] = ['linear', 'scaled_linear', 'squaredcos_cap_v2'];
export const PREDICTION_TYPES: readonly PredictionType[] = ['epsilon', 'v_prediction', 'sample'];
export const TIMESTEP_SPACINGS: readonly TimestepSpacing[] = ['leading', 'trailing', 'linspace'];

/** The diffusers config keys Weft understands. Each scheduler reads the keys it knows. */
export interface SchedulerConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: BetaSchedule;
  prediction_type: PredictionType;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
  /** DDPM, DDIM: clamp the predicted x0 to ±clip_sample_range. */
  clip_sample: boolean;
  clip_sample_range: number;
  /**
   * DDPM, DDIM, DPM++: dynamic thresholding of x̂0 (Saharia et al. 2022, "Imagen", §2.3): per image,
   * s = the dynamic_thresholding_ratio quantile of |x̂0|, clamped to [1, sample_max_value]; x̂0 is
   * clipped to ±s and divided by s. Replaces clip_sample when on. For pixel-space models.
   */
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  sample_max_value: number;
  /** DDIM: the ᾱ used after the last step, 1 (true) or ᾱ_0 (false). */
  set_alpha_to_one: boolean;
  /** DDIM: η, 0 = deterministic DDIM, 1 = DDPM-like ancestral noise. step() may override it. */
  eta: number;
  /** DDPM: the posterior variance, β̃_t (fixed_small) or β_t (fixed_large). */
  variance_type: 'fixed_small' | 'fixed_large';
  /** Euler, DPM++: space the sigmas as Karras et al. (2022) eq. 5 with ρ = 7. */
  use_karras_sigmas: boolean;
  /** Euler: churn (stochasticity) per step, as s_churn in Karras et al. Algorithm 2; 0 = deterministic. */
  s_churn: number;
  s_tmin: number;
  s_tmax: number;
  s_noise: number;
  /** Euler, DPM++: the sigma after the last step, 0 or σ of ᾱ_0. */
  final_sigmas_type: 'zero' | 'sigma_min';
  /** DPM++: first-order steps at the end when there are fewer than 15 steps (stabler). */
  lower_order_final: boolean;
  /** DPM++: always end with a first-order (Euler) step. */
  euler_at_final: boolean;
  /** DPM++: steps uniform in log σ (Lu et al. 2022's "logSNR" spacing) instead of in t. */
  use_lu_lambdas: boolean;
}

const COMMON = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  prediction_type: 'epsilon',
  steps_offset: 0,
  clip_sample: false,
  clip_sample_range: 1,
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1,
  set_alpha_to_one: true,
  eta: 0,
  variance_type: 'fixed_small',
  use_karras_sigmas: false,
  s_churn: 0,
  s_tmin: 0,
  s_tmax: Infinity,
  s_noise: 1,
  final_sigmas_type: 'zero',
  lower_order_final: true,
  euler_at_final: false,
  use_lu_lambdas: false,
} as const;

/** diffusers' constructor defaults, per scheduler class (they differ in spacing and clipping). */
export const DEFAULTS: Record<SchedulerType, SchedulerConfig> = {
  ddpm: { ...COMMON, timestep_spacing: 'leading', clip_sample: true },
  ddim: { ...COMMON, timestep_spacing: 'leading', clip_sample: true },
  euler: { ...COMMON, timestep_spacing: 'linspace' },
  dpmpp_2m: { ...COMMON, timestep_spacing: 'linspace' },
};

export function resolveConfig(type: SchedulerType, config: Partial<SchedulerConfig> = {}): SchedulerConfig {
  const out: SchedulerConfig = { ...DEFAULTS[type] };
  for (const [k, v] of Object.entries(config)) if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  if (!Number.isInteger(out.num_train_timesteps) || out.num_train_timesteps < 2) {
    throw new Error(`num_train_timesteps must be an integer >= 2, got ${out.num_train_timesteps}`);
  }
  if (!BETA_SCHEDULES.includes(out.beta_schedule)) throw new Error(`beta_schedule must be one of ${BETA_SCHEDULES.join(', ')}, got "${out.beta_schedule}"`);
  if (!PREDICTION_TYPES.includes(out.prediction_type)) throw new Error(`prediction_type must be one of ${PREDICTION_TYPES.join(', ')}, got "${out.prediction_type}"`);
  if (!TIMESTEP_SPACINGS.includes(out.timestep_spacing)) throw new Error(`timestep_spacing must be one of ${TIMESTEP_SPACINGS.join(', ')}, got "${out.timestep_spacing}"`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// float32 arithmetic as torch does it

export const f32 = Math.fround;
/** √ of a float32, as torch's `x ** 0.5` (a float32 sqrt). */
export const sqrt32 = (x: number): number => f32(Math.sqrt(x));

const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);
/** The float32 next to x (a float32, finite, non-zero) in the direction of `toward`. */
function nextF32(x: number, toward: number): number {
  F32[0] = x;
  I32[0] += (toward > x) === (x > 0) ? 1 : -1;
  return F32[0];
}

/** a·b + c rounded once to float32 (a fused multiply-add), for float32 a, b, c. */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b; // exact: two 24-bit significands fit in 53 bits
  const s = p + c;
  const bp = s - p;
  const err = p - (s - bp) + (c - bp); // s + err is exactly p + c (TwoSum)
  const r = f32(s);
  if (err === 0 || r === s || !Number.isFinite(r) || r === 0) return r;
  // Double rounding can only go wrong when s sits exactly halfway between two float32s.
  const other = nextF32(r, s);
  if ((r + other) / 2 !== s) return r;
  return err > 0 === other > r ? other : r;
}

/**
 * torch.linspace(start, end, n, dtype=float32) on x86 CPUs (AVX2 kernel, as the goldens were made):
 * the first half counts up from `start`, the second half down from `end`, in vectors of 8 lanes
 * whose base is a fused multiply-add and whose lanes add k·step. Checked bit for bit against
 * torch 1.13 for the betas every test here uses.
 */
export function torchLinspaceF32(start: number, end: number, n: number): number[] {
  if (n === 1) return [f32(start)];
  const s = f32(start);
  const e = f32(end);
  const step = f32(f32(e - s) / (n - 1));
  const half = Math.floor(n / 2);
  const at = (i: number) => (i < half ? fmaf(step, i, s) : fmaf(-step, n - i - 1, e));
  const out = new Array<number>(n);
  let c = 0;
  for (; c + 16 <= n; c += 16) {
    // two vectors of 8 lanes per pass; what does not fill a pair is done one by one below
    for (const v of [c, c + 8]) {
      const base = at(v);
      for (let k = 0; k < 8; k++) out[v + k] = f32(base + f32(k * step));
    }
  }
  for (; c < n; c++) out[c] = at(c);
  return out;
}

/** torch.cumprod over float32 on the CPU: the running product is kept in float64, each output rounded. */
export function cumprodF32(xs: readonly number[]): number[] {
  let acc = 1;
  return xs.map((x) => f32((acc *= x)));
}

/** β_1 … β_T as diffusers builds them (float32 values). */
export function betasFor(c: SchedulerConfig): number[] {
  const T = c.num_train_timesteps;
  switch (c.beta_schedule) {
    case 'linear':
      return torchLinspaceF32(c.beta_start, c.beta_end, T);
    case 'scaled_linear':
      // Latent diffusion's schedule: linear in √β.
      return torchLinspaceF32(Math.sqrt(c.beta_start), Math.sqrt(c.beta_end), T).map((b) => f32(b * b));
    case 'squaredcos_cap_v2': {
      // Nichol & Dhariwal 2021, eq. 17: ᾱ(t) = cos²((t/T + s)/(1 + s) · π/2), s = 0.008; β capped at 0.999.
      const abar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
      return Array.from({ length: T }, (_, i) => f32(Math.min(1 - abar((i + 1) / T) / abar(i / T), 0.999)));
    }
  }
}

/** ᾱ_t for t = 0 … T−1, float32 values. */
export function alphasCumprodFor(c: SchedulerConfig): number[] {
  return cumprodF32(betasFor(c).map((b) => f32(1 - b)));
}

/** σ_t = √((1−ᾱ_t)/ᾱ_t) in float32, ascending in t. */
export const sigmasFromAlphas = (alphasCumprod: readonly number[]): number[] =>
  alphasCumprod.map((a) => sqrt32(f32(f32(1 - a) / a)));

// ---------------------------------------------------------------------------------------------
// NumPy routines the timestep spacings use

/** np.round: half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** np.linspace(start, stop, n) in float64: i·step + start, the last value exactly stop. */
export function npLinspace(start: number, stop: number, n: number): number[] {
  if (n === 1) return [start];
  const step = (stop - start) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? stop : i * step + start));
}

/** np.arange(start, stop, step) for floats: length ceil((stop−start)/step), values start + i·Δ. */
export function npArange(start: number, stop: number, step: number): number[] {
  const len = Math.max(0, Math.ceil((stop - start) / step));
  const delta = start + step - start;
  return Array.from({ length: len }, (_, i) => start + i * delta);
}

/** np.interp(x, [0, 1, …, fp.length−1], fp) in float64. */
export function interpIndex(x: number, fp: readonly number[]): number {
  const last = fp.length - 1;
  if (x <= 0) return fp[0];
  if (x >= last) return fp[last];
  const j = Math.floor(x);
  if (j === x) return fp[j];
  const slope = (fp[j + 1] - fp[j]) / 1;
  return slope * (x - j) + fp[j];
}

/**
 * The (fractional) training timestep whose σ is `sigma`: linear interpolation in log σ.
 * `logSigmas` are float32 logs, ascending in t (diffusers' `_sigma_to_t`).
 */
export function sigmaToT(sigma: number, logSigmas: readonly number[]): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  // The last index whose log σ is <= log σ (0 when none is), kept below the end.
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i] >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low];
  const hi = logSigmas[low + 1];
  const w = Math.min(1, Math.max(0, (lo - logSigma) / f32(lo - hi)));
  return (1 - w) * low + w * (low + 1);
}

/** Karras et al. 2022, eq. 5: σ_i = (σ_max^(1/ρ) + i/(n−1)·(σ_min^(1/ρ) − σ_max^(1/ρ)))^ρ, ρ = 7. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number): number[] {
  const rho = 7;
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  return npLinspace(0, 1, n).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}

/**
 * Integer timesteps for DDPM and DDIM, descending (diffusers' set_timesteps; the spacings are
 * Table 2 of Lin et al. 2023, "Common Diffusion Noise Schedules and Sample Steps are Flawed").
 */
export function discreteTimesteps(c: SchedulerConfig, n: number): number[] {
  const T = c.num_train_timesteps;
  checkSteps(n, T);
  switch (c.timestep_spacing) {
    case 'linspace':
      return npLinspace(0, T - 1, n).map(roundHalfEven).reverse();
    case 'leading': {
      const ratio = Math.floor(T / n);
      return Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + c.steps_offset);
    }
    case 'trailing':
      return npArange(T, 0, -T / n).map((t) => roundHalfEven(t) - 1);
  }
}

export function checkSteps(n: number, T: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`the number of inference steps must be a positive integer, got ${n}`);
  if (n > T) throw new Error(`${n} inference steps cannot be more than num_train_timesteps (${T})`);
}

/** diffusers' index_for_timestep: the position of t in the schedule (the second one when t repeats). */
export function indexForTimestep(timesteps: readonly number[], t: number): number {
  const hits: number[] = [];
  timesteps.forEach((s, i) => s === t && hits.push(i));
  if (hits.length === 0) return -1;
  return hits.length > 1 ? hits[1] : hits[0];
}

// ---------------------------------------------------------------------------------------------
// Noise for stochastic steps

/** Where a stochastic step gets its standard normal noise. */
export interface NoiseGenerator {
  /** A fresh N(0, 1) float32 tensor of this shape; the caller owns it. Each call draws new numbers. */
  normal(shape: number[]): tf.Tensor;
}

/**
 * Deterministic noise from a Weft seed: call k draws tf.randomNormal with a seed derived from
 * (seed, k), so a run replays exactly and the numbers are the same on cpu, wasm and webgpu.
 */
export function seededNoise(seed: number): NoiseGenerator {
  let calls = 0;
  return {
    normal: (shape) => tf.randomNormal(shape, 0, 1, 'float32', tfSeed((seed + 1) * 1_000_003 + calls++)),
  };
}

/** The noise a stochastic step adds: the caller's tensor (never disposed here) or a fresh draw. */
export function stepNoise(shape: number[], opts: { noise?: tf.Tensor; generator?: NoiseGenerator }, fallback: NoiseGenerator): tf.Tensor {
  if (opts.noise) {
    if (opts.noise.shape.join() !== shape.join()) throw new Error(`noise has shape [${opts.noise.shape}], the sample [${shape}]`);
    return tf.clone(opts.noise);
  }
  return (opts.generator ?? fallback).normal(shape);
}

/** Dynamic thresholding when on, else clamping to ±clip_sample_range when clip_sample is on (DDPM, DDIM). */
export const clipX0 = (x0: tf.Tensor, c: SchedulerConfig): tf.Tensor =>
  c.thresholding
    ? dynamicThreshold(x0, c.dynamic_thresholding_ratio, c.sample_max_value)
    : c.clip_sample
      ? tf.clipByValue(x0, -c.clip_sample_range, c.clip_sample_range)
      : x0;

/**
 * Dynamic thresholding (Saharia et al. 2022, §2.3), as diffusers' _threshold_sample:
 *   1. per batch item, s = quantile(|x|, ratio) over all its values (linear interpolation, as torch.quantile)
 *   2. s = min(max(s, 1), maxValue)       (torch.clamp's order: maxValue < 1 gives s = maxValue)
 *   3. x = clip(x, −s, s) / s
 * The quantile comes from tf.topk, so it stays on the device.
 */
export function dynamicThreshold(x: tf.Tensor, ratio: number, maxValue: number): tf.Tensor {
  return tf.tidy(() => {
    const n = x.shape[0];
    const flat = tf.abs(tf.reshape(x, [n, -1]));
    const count = flat.shape[1]!;
    const rank = f32(f32(ratio) * (count - 1));
    const below = Math.floor(rank);
    const above = Math.min(below + 1, count - 1);
    // Descending order: ascending position i is column count − 1 − i of the top (count − below).
    const top = tf.topk(flat, count - below).values;
    const lo = tf.slice(top, [0, count - 1 - below], [n, 1]);
    const hi = tf.slice(top, [0, count - 1 - above], [n, 1]);
    let s = tf.add(lo, tf.mul(tf.sub(hi, lo), f32(rank - below)));
    s = tf.minimum(tf.maximum(s, 1), maxValue);
    s = tf.reshape(s, [n, ...x.shape.slice(1).map(() => 1)]);
    return tf.div(tf.minimum(tf.maximum(x, tf.neg(s)), s), s);
  });
}

/** One coefficient per batch item, broadcast over the other dims of `like`: shape [N, 1, 1, …]. */
export function perItem(values: readonly number[], like: tf.Tensor): tf.Tensor {
  const shape = [values.length, ...like.shape.slice(1).map(() => 1)];
  return tf.tensor(values, shape, 'float32');
}

/** Timesteps for addNoise: one for the whole batch, one per batch item, or an int tensor of either. */
export type AddNoiseTimesteps = number | readonly number[] | tf.Tensor;

/**
 * The forward process q(x_t | x0) (Ho et al. 2020, eq. 4): x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε, in float32
 * as diffusers' add_noise. Integer training timesteps; a tensor of them is looked up on the device
 * (clamped to 0 … T−1), so nothing is read back.
 */
export function qSample(alphasCumprod: readonly number[], x0: tf.Tensor, noise: tf.Tensor, timesteps: AddNoiseTimesteps): tf.Tensor {
  if (noise.shape.join() !== x0.shape.join()) throw new Error(`noise has shape [${noise.shape}], x0 [${x0.shape}]`);
  const sqrtA = alphasCumprod.map(sqrt32);
  const sqrtB = alphasCumprod.map((a) => sqrt32(f32(1 - a)));
  if (timesteps instanceof tf.Tensor) {
    const T = alphasCumprod.length;
    return tf.tidy(() => {
      const idx = tf.clipByValue(tf.cast(tf.reshape(timesteps, [-1]), 'int32'), 0, T - 1);
      const shape = [-1, ...x0.shape.slice(1).map(() => 1)];
      const ca = tf.reshape(tf.gather(tf.tensor1d(sqrtA), idx), shape);
      const cb = tf.reshape(tf.gather(tf.tensor1d(sqrtB), idx), shape);
      return tf.add(tf.mul(ca, x0), tf.mul(cb, noise));
    });
  }
  const ts = typeof timesteps === 'number' ? [timesteps] : [...timesteps];
  for (const t of ts) {
    if (!Number.isInteger(t) || t < 0 || t >= alphasCumprod.length) {
      throw new Error(`timestep ${t} is not an integer in 0..${alphasCumprod.length - 1}`);
    }
  }
  return tf.tidy(() =>
    tf.add(tf.mul(perItem(ts.map((t) => sqrtA[t]), x0), x0), tf.mul(perItem(ts.map((t) => sqrtB[t]), x0), noise)),
  );
}
