/**
 * PyTorch's CPU normal generator, reproduced: `torchNoise(seed)` draws what
 *   g = torch.manual_seed(seed); torch.randn(shape, generator=g)
 * draws, call after call, so a diffusers script's stochastic run (DDPM's ancestral noise, Euler's
 * churn) can be replayed here number for number. It is how the DDPM golden numbers, made with
 * torch.manual_seed(0), are reproduced; Weft's own seeds use tfjs's generator (seededNoise).
 *
 * Torch's recipe (ATen CPU kernels):
 *   bits      Mersenne Twister MT19937 (Matsumoto & Nishimura 1998), seeded with init_genrand(seed)
 *   uniform   float:  u = (bits & (2²⁴−1))·2⁻²⁴;   double: u = (53 bits of two draws)·2⁻⁵³
 *   ≥ 16 values (float32, contiguous): fill u for every element, then Box–Muller on blocks of 16:
 *             for j < 8: r = √(−2·log(1 − u_j)), θ = 2π·u_{j+8}; x_j = r·cos θ, x_{j+8} = r·sin θ
 *             (when the count is not a multiple of 16, the last 16 are redrawn and redone)
 *   < 16 values: one double Box–Muller pair per two values, the sine half cached in the generator.
 * Float32 math on x86 uses vectorised log/sin/cos, so a value may differ from torch's in its last bit.
 *
 * Layout: torch tensors are NCHW, Weft's NHWC. For a rank-4 shape [N, H, W, C] the numbers are drawn
 * in NCHW order and transposed, so element (n, c, h, w) matches torch's; other ranks keep their order.
 */
import * as tf from '@tensorflow/tfjs';
import type { NoiseGenerator } from './schedule.ts';

class MT19937 {
  private readonly mt = new Uint32Array(624);
  private i = 624;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let j = 1; j < 624; j++) {
      const s = this.mt[j - 1] ^ (this.mt[j - 1] >>> 30);
      this.mt[j] = (Math.imul(1812433253, s) + j) >>> 0;
    }
  }

  next(): number {
    if (this.i >= 624) this.twist();
    let y = this.mt[this.i++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const mt = this.mt;
    for (let k = 0; k < 624; k++) {
      const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
      mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.i = 0;
  }
}

const f32 = Math.fround;

/** A torch.Generator's CPU normal stream, as plain numbers. */
export class TorchGenerator {
  private readonly engine: MT19937;
  private cachedNormal: number | null = null;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`torch seed must be an integer in 0..2^32-1, got ${seed}`);
    this.engine = new MT19937(seed);
  }

  private uniformFloat(): number {
    return (this.engine.next() & 0xffffff) * 2 ** -24;
  }

  private uniformDouble(): number {
    const hi = this.engine.next();
    const lo = this.engine.next();
    return ((hi & 0x1fffff) * 2 ** 32 + lo) * 2 ** -53;
  }

  /** torch.randn(count) in float32, flat. */
  randn(count: number): Float32Array {
    const out = new Float32Array(count);
    if (count >= 16) {
      for (let i = 0; i < count; i++) out[i] = this.uniformFloat();
      for (let i = 0; i + 16 <= count; i += 16) boxMuller16(out, i);
      if (count % 16 !== 0) {
        for (let i = count - 16; i < count; i++) out[i] = this.uniformFloat();
        boxMuller16(out, count - 16);
      }
      return out;
    }
    for (let i = 0; i < count; i++) out[i] = this.normalDouble();
    return out;
  }

  private normalDouble(): number {
    if (this.cachedNormal !== null) {
      const v = this.cachedNormal;
      this.cachedNormal = null;
      return v;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log(1 - u2));
    const theta = 2 * Math.PI * u1;
    this.cachedNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

function boxMuller16(x: Float32Array, at: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f32(1 - x[at + j]);
    const u2 = x[at + j + 8];
    const radius = f32(Math.sqrt(f32(-2 * f32(Math.log(u1)))));
    const theta = f32(f32(2 * Math.PI) * u2);
    x[at + j] = radius * Math.cos(theta);
    x[at + j + 8] = radius * Math.sin(theta);
  }
}

/** Noise that matches torch.randn(shape, generator=torch.manual_seed(seed)), call after call. */
export function torchNoise(seed: number): NoiseGenerator {
  const g = new TorchGenerator(seed);
  return {
    normal(shape) {
      const count = shape.reduce((a, b) => a * b, 1);
      const data = g.randn(count);
      if (shape.length !== 4) return tf.tensor(data, shape, 'float32');
      const [n, h, w, c] = shape;
      return tf.tidy(() => tf.transpose(tf.tensor(data, [n, c, h, w], 'float32'), [0, 2, 3, 1]));
    },
  };
}
