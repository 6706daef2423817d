/**
 * Functional layers over a ModelHandle, shared by every model family. Each layer asks the handle
 * for its parameters by name (`${name}.w`, `${name}.b`, ...), so a model's parameter list is its
 * forward code. All ops are NHWC and float32, chosen to have gradients on cpu, wasm and webgpu
 * (see ENVIRONMENT.md: no dilated conv, no broadcasting batchMatMul, no stridedSlice gradients).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelHandle } from '../runtime/index.ts';

/** y = x·W + b over the last axis. x: [..., in] -> [..., out]. */
export function linear(m: ModelHandle, name: string, x: tf.Tensor, out: number, bias = true): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1];
  const w = m.param(`${name}.w`, [inDim, out]);
  const flat = x.reshape([-1, inDim]);
  let y = tf.matMul(flat, w);
  if (bias) y = tf.add(y, m.param(`${name}.b`, [out], 'zeros'));
  return y.reshape([...x.shape.slice(0, -1), out]);
}

/** 2-D convolution, 'same' padding. x: [N, H, W, C] -> [N, H/stride, W/stride, out]. */
export function conv2d(m: ModelHandle, name: string, x: tf.Tensor4D, out: number, k = 3, stride: 1 | 2 = 1): tf.Tensor4D {
  const w = m.param(`${name}.w`, [k, k, x.shape[3], out]);
  const y = tf.conv2d(x, w as tf.Tensor4D, stride, 'same');
  return tf.add(y, m.param(`${name}.b`, [out], 'zeros'));
}

/** Group normalisation (Wu & He 2018): normalise over (H, W, C/groups) per sample, then scale and shift. */
export function groupNorm(m: ModelHandle, name: string, x: tf.Tensor4D, groups: number, eps = 1e-5): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const g = Math.min(groups, c);
  if (c % g !== 0) throw new Error(`${name}: ${c} channels do not split into ${g} groups`);
  const grouped = x.reshape([n, h, w, g, c / g]);
  const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
  const normed = tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, eps))).reshape([n, h, w, c]);
  return tf.add(tf.mul(normed, m.param(`${name}.gamma`, [c], 'ones')), m.param(`${name}.beta`, [c], 'zeros'));
}

/** Layer normalisation over the last axis. */
export function layerNorm(m: ModelHandle, name: string, x: tf.Tensor, eps = 1e-5): tf.Tensor {
  const d = x.shape[x.shape.length - 1];
  const { mean, variance } = tf.moments(x, -1, true);
  const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(normed, m.param(`${name}.gamma`, [d], 'ones')), m.param(`${name}.beta`, [d], 'zeros'));
}

export const silu = (x: tf.Tensor): tf.Tensor => tf.mul(x, tf.sigmoid(x));

/** GELU, exact form 0.5·x·(1 + erf(x/√2)) (tfjs 4.22 has no gelu op). */
export const gelu = (x: tf.Tensor): tf.Tensor => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));

/**
 * Multi-head attention (Vaswani et al. 2017): softmax(Q·Kᵀ/√d + M)·V with Q from x [N, L, D] and K, V
 * from `context` [N, S, Dc] (cross-attention) or from x itself (self-attention).
 * `mask` (optional) is M, added to the logits: [N, 1, S] or [N, L, S], 0 where a key may be seen
 * and a large negative (−1e9) where it may not (padding), so its softmax weight is exactly 0.
 */
export function attention(m: ModelHandle, name: string, x: tf.Tensor3D, context: tf.Tensor3D | null, heads: number, mask?: tf.Tensor3D): tf.Tensor3D {
  const [n, l, d] = x.shape;
  if (d % heads !== 0) throw new Error(`${name}: width ${d} does not split into ${heads} heads`);
  const src = context ?? x;
  const s = src.shape[1];
  const dh = d / heads;
  // [N, L, D] -> [N·heads, L, dh]: plain batched matMul, which has gradients everywhere
  const split = (t: tf.Tensor, len: number) => t.reshape([n, len, heads, dh]).transpose([0, 2, 1, 3]).reshape([n * heads, len, dh]) as tf.Tensor3D;
  const q = split(linear(m, `${name}.q`, x, d, false), l);
  const k = split(linear(m, `${name}.k`, src, d, false), s);
  const v = split(linear(m, `${name}.v`, src, d, false), s);
  let logits = tf.div(tf.matMul(q, k, false, true), Math.sqrt(dh));
  if (mask) {
    // [N·heads, L, S] -> [N, heads, L, S] so the mask broadcasts over the heads
    logits = tf.add(logits.reshape([n, heads, l, s]), mask.expandDims(1)).reshape([n * heads, l, s]);
  }
  const weights = tf.softmax(logits);
  const merged = tf.matMul(weights, v).reshape([n, heads, l, dh]).transpose([0, 2, 1, 3]).reshape([n, l, d]);
  return linear(m, `${name}.out`, merged, d) as tf.Tensor3D;
}

/**
 * Sinusoidal timestep embedding (Ho et al. 2020, after Vaswani et al.): for t [N] and even `dim`,
 * [cos(t·f_i), sin(t·f_i)] with f_i = maxPeriod^(−i/(dim/2)) — cos first, as diffusers' default
 * (flip_sin_to_cos=True, downscale_freq_shift=0).
 *
 * The same numbers on every backend: the frequencies are computed here in float64 (tf.exp on WebGPU
 * is approximate, and t·f reaches 1000 rad, where a 1e-6 relative error is 1e-3), and sin/cos come
 * from `sinCos` (WGSL's sin/cos on SwiftShader are off by up to 1.5e-4).
 */
export function timestepEmbedding(t: tf.Tensor1D, dim: number, maxPeriod = 10000): tf.Tensor2D {
  const half = dim / 2;
  const freqs = tf.tensor2d(Array.from({ length: half }, (_, i) => Math.exp((-Math.log(maxPeriod) * i) / half)), [1, half]);
  const { sin, cos } = sinCos(tf.mul(t.reshape([-1, 1]), freqs));
  return tf.concat([cos, sin], 1) as tf.Tensor2D;
}

// Cody–Waite split of 2π: HI and MID hold 12 significant bits each, so k·HI and k·MID are exact in
// float32 for |k| < 2^12 (|x| < ~25,000 rad) and the reduction loses nothing the argument had.
const TWO_PI_HI = Math.round(2 * Math.PI * 2 ** 9) / 2 ** 9;
const TWO_PI_MID = Math.round((2 * Math.PI - TWO_PI_HI) * 2 ** 21) / 2 ** 21;
const TWO_PI_LO = Math.fround(2 * Math.PI - TWO_PI_HI - TWO_PI_MID);
const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
/** Taylor coefficients of sin(r)/r and cos(r) in r², to r^17 and r^18 (remainder < 1e-6 on [−π, π]). */
const SIN_COEFFS = Array.from({ length: 9 }, (_, k) => (-1) ** k / factorial(2 * k + 1));
const COS_COEFFS = Array.from({ length: 10 }, (_, k) => (-1) ** k / factorial(2 * k));

function horner(r2: tf.Tensor, coeffs: number[]): tf.Tensor {
  let p: tf.Tensor = tf.fill(r2.shape, coeffs[coeffs.length - 1]);
  for (let i = coeffs.length - 2; i >= 0; i--) p = tf.add(tf.mul(p, r2), coeffs[i]);
  return p;
}

/**
 * sin and cos from multiplies and adds only, which round the same on cpu, wasm and webgpu: the
 * results agree bit for bit across backends and are within 4e-7 of the exact values for |x| < 1000.
 *   1. k = round(x / 2π),  r = ((x − k·HI) − k·MID) − k·LO ∈ [−π, π]
 *   2. sin x = r·P(r²), cos x = Q(r²), P and Q the Taylor polynomials
 */
export function sinCos(x: tf.Tensor): { sin: tf.Tensor; cos: tf.Tensor } {
  const k = tf.round(tf.mul(x, 1 / (2 * Math.PI)));
  const r = tf.sub(tf.sub(tf.sub(x, tf.mul(k, TWO_PI_HI)), tf.mul(k, TWO_PI_MID)), tf.mul(k, TWO_PI_LO));
  const r2 = tf.mul(r, r);
  return { sin: tf.mul(r, horner(r2, SIN_COEFFS)), cos: horner(r2, COS_COEFFS) };
}

/**
 * Nearest-neighbour 2x upsampling by reshape and concat, W then H, all rank 4. Not
 * resizeNearestNeighbor (its gradient is wrong on cpu for batch > 1), not tile (no gradient
 * above rank 4, and wasm's Tile is a per-element JS loop, ~40x slower than concat here).
 */
export function upsample2x(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const cols = x.reshape([n * h, w, 1, c]);
  const wide = tf.concat([cols, cols], 2).reshape([n, h, 1, 2 * w * c]); // each column twice
  return tf.concat([wide, wide], 2).reshape([n, h * 2, w * 2, c]); // each row twice
}

/** 2x2 average pooling by reshape and mean. */
export function downsample2x(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return x.reshape([n, h / 2, 2, w / 2, 2, c]).mean([2, 4]) as tf.Tensor4D;
}
