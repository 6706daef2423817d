/**
 * The shared schedule math, bit for bit where torch is bit for bit. The checksums are the sums of
 * the float32 bit patterns of every value PyTorch 1.13 (x86, AVX2) produced for
 *   torch.linspace(start, end, n, dtype=torch.float32)   and   torch.cumprod(1 - betas, 0).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  alphasCumprodFor,
  betasFor,
  cumprodF32,
  dynamicThreshold,
  fmaf,
  npArange,
  qSample,
  resolveConfig,
  roundHalfEven,
  torchLinspaceF32,
} from './schedule.ts';

const bitsSum = (xs: readonly number[]) => {
  const f = new Float32Array(xs);
  return Array.from(new Uint32Array(f.buffer)).reduce((a, b) => a + b, 0);
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('torch-exact schedule', () => {
  it.each([
    [0.0001, 0.02, 1000, 1005749913843],
    [0.0001, 0.02, 1100, 1106326955084],
    [0.01, 0.02, 1000, 1013836015952],
    [Math.sqrt(0.00085), Math.sqrt(0.012), 1000, 1031781000139],
    [0.0001, 0.02, 37, 37188575319],
  ])('torch.linspace(%d, %d, %d) in float32 is reproduced bit for bit', (start, end, n, checksum) => {
    expect(bitsSum(torchLinspaceF32(start, end, n))).toBe(checksum);
  });

  it.each([
    [1000, 1023901993250],
    [1100, 1121788762795],
  ])('ᾱ = torch.cumprod(1 − β) over %d linear betas is reproduced bit for bit', (T, checksum) => {
    expect(bitsSum(alphasCumprodFor(resolveConfig('euler', { num_train_timesteps: T })))).toBe(checksum);
  });

  it('the cumprod accumulates in float64, as torch does on the CPU (a float32 product drifts)', () => {
    const alphas = torchLinspaceF32(0.0001, 0.02, 1100).map((b) => Math.fround(1 - b));
    let acc = 1;
    const float32Product = alphas.map((a) => (acc = Math.fround(acc * a)));
    expect(cumprodF32(alphas)[1099]).toBe(Math.fround(1.4673296e-5));
    expect(float32Product[1099]).not.toBe(cumprodF32(alphas)[1099]);
  });

  it('fmaf rounds a·b + c once, where a float64 sum then a float32 rounding would round twice', () => {
    // (1 + 2^-12)² = 1 + 2^-11 + 2^-24 sits exactly halfway between two float32s: ties go to even…
    const a = Math.fround(1 + 2 ** -12);
    expect(fmaf(a, a, 0)).toBe(1 + 2 ** -11);
    // …but a tiny positive c puts the exact value above the midpoint. float64 loses c, then ties to even.
    expect(Math.fround(a * a + 2 ** -80)).toBe(1 + 2 ** -11);
    expect(fmaf(a, a, 2 ** -80)).toBe(1 + 2 ** -11 + 2 ** -23);
    expect(fmaf(a, a, -(2 ** -80))).toBe(1 + 2 ** -11);
    expect(fmaf(3, 5, -14)).toBe(1);
  });

  it('squaredcos_cap_v2 follows Nichol & Dhariwal’s cosine ᾱ and caps β at 0.999', () => {
    const betas = betasFor(resolveConfig('ddpm', { beta_schedule: 'squaredcos_cap_v2' }));
    const abar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    expect(betas[0]).toBeCloseTo(1 - abar(0.001) / abar(0), 9);
    expect(betas[999]).toBe(Math.fround(0.999));
    expect(betas.every((b) => b > 0 && b <= Math.fround(0.999))).toBe(true);
  });

  it('scaled_linear is linear in √β', () => {
    const betas = betasFor(resolveConfig('ddim', { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 }));
    expect(betas[0]).toBeCloseTo(0.00085, 7);
    expect(betas[999]).toBeCloseTo(0.012, 7);
    expect(Math.sqrt(betas[500]) - Math.sqrt(betas[499])).toBeCloseTo(Math.sqrt(betas[1]) - Math.sqrt(betas[0]), 6);
  });

  it('NumPy rounding and arange: half to even, float steps', () => {
    expect([0.5, 1.5, 2.5, -0.5, 2.4].map(roundHalfEven)).toEqual([0, 2, 2, -0, 2]);
    expect(npArange(1000, 0, -1000 / 3).map(roundHalfEven)).toEqual([1000, 667, 333]);
  });

  it('an unknown beta schedule or spacing is refused with the valid choices', () => {
    expect(() => resolveConfig('ddim', { beta_schedule: 'cosine' as never })).toThrow(/linear, scaled_linear, squaredcos_cap_v2/);
    expect(() => resolveConfig('ddim', { timestep_spacing: 'even' as never })).toThrow(/leading, trailing, linspace/);
  });
});

describe('qSample (the forward process)', () => {
  it('x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε, one timestep per batch item, from numbers or a tensor', async () => {
    const ac = alphasCumprodFor(resolveConfig('ddpm'));
    const x0 = tf.randomNormal([2, 3, 3, 2], 0, 1, 'float32', 1);
    const eps = tf.randomNormal([2, 3, 3, 2], 0, 1, 'float32', 2);
    const before = tf.memory().numTensors;
    const fromNumbers = qSample(ac, x0, eps, [10, 900]);
    const t = tf.tensor1d([10, 900], 'int32');
    const fromTensor = qSample(ac, x0, eps, t);
    const [x, e, a, b] = [await x0.data(), await eps.data(), await fromNumbers.data(), await fromTensor.data()];
    for (let i = 0; i < x.length; i++) {
      const tt = i < x.length / 2 ? 10 : 900;
      const want = Math.sqrt(ac[tt]) * x[i] + Math.sqrt(1 - ac[tt]) * e[i];
      expect(Math.abs(a[i] - want)).toBeLessThan(1e-6);
      expect(b[i]).toBe(a[i]);
    }
    tf.dispose([fromNumbers, fromTensor, t]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x0, eps]);
  });

  it('a timestep outside 0..T−1 or noise of another shape is refused', () => {
    const ac = alphasCumprodFor(resolveConfig('ddpm'));
    const x0 = tf.zeros([1, 2, 2, 1]);
    const bad = tf.zeros([1, 2, 2, 2]);
    expect(() => qSample(ac, x0, x0, 1000)).toThrow(/not an integer in 0..999/);
    expect(() => qSample(ac, x0, bad, 3)).toThrow(/noise has shape \[1,2,2,2\]/);
    tf.dispose([x0, bad]);
  });
});

describe('dynamic thresholding', () => {
  it('clips each image to ±s and divides by s, s its ratio-quantile of |x| (linear interpolation) clamped to [1, max]', async () => {
    const x = tf.mul(tf.randomNormal([3, 5, 5, 2], 0, 1, 'float32', 9), tf.tensor([0.5, 2, 4], [3, 1, 1, 1]));
    const data = await x.data();
    const got = await dynamicThreshold(x, 0.9, 3).data();
    const per = data.length / 3;
    for (let b = 0; b < 3; b++) {
      const item = Array.from(data.slice(b * per, (b + 1) * per));
      const sorted = item.map(Math.abs).sort((p, q) => p - q);
      const pos = 0.9 * (per - 1);
      const lo = Math.floor(pos);
      const q = sorted[lo] + (sorted[lo + 1] - sorted[lo]) * (pos - lo);
      const s = Math.min(Math.max(q, 1), 3);
      if (b === 0) expect(s).toBe(1); // small values: plain clipping to [-1, 1]
      if (b === 2) expect(s).toBe(3); // large values: capped at max
      for (let i = 0; i < per; i++) expect(got[b * per + i]).toBeCloseTo(Math.min(Math.max(item[i], -s), s) / s, 5);
    }
    x.dispose();
  });

  it('a max below 1 wins over the floor of 1, as torch.clamp(min=1, max) does', async () => {
    const x = tf.tensor([0.2, -0.8, 3, -3], [1, 2, 2, 1]);
    expect(Array.from(await dynamicThreshold(x, 0.5, 0.5).data())).toEqual([Math.fround(0.4), -1, 1, -1]);
    x.dispose();
  });
});
