/**
 * Affine coupling (Dinh et al. 2017, RealNVP §3.3–3.4; Kingma & Dhariwal 2018, Glow §3.3):
 *
 *   (ŝ, t) = NN(b ⊙ x)                    the net sees only the conditioning part
 *   s = tanh(ŝ) ⊙ (1 − b),  t = t ⊙ (1 − b)
 *   y = b ⊙ x + (1 − b) ⊙ (x ⊙ exp(s) + t)
 *   inverse: x = b ⊙ y + (1 − b) ⊙ (y − t) ⊙ exp(−s)   (b ⊙ y = b ⊙ x, so NN gives the same s, t)
 *   log|det J| = Σ s over every axis but N   (J is triangular: identity on b, diag exp(s) off it)
 *
 * Notation: b the mask (1 = conditioning, passed through; 0 = transformed); ŝ the raw log-scale.
 *
 * Masks: `alternate` conditions on channels c with c mod 2 = parity (for D = 2: parity 0 conditions
 * on x₀ and moves x₁, parity 1 the reverse); `half` on the first ⌈C/2⌉ channels (the last ones
 * with parity 1), Glow's channel split; `checkerboard` on pixels with (h + w) mod 2 = parity
 * (images only; RealNVP's spatial mask, which also works for C = 1).
 *
 * Why tanh: |s| < 1 per layer bounds each layer's scale to (1/e, e), so exp never overflows, the
 * inverse stays well conditioned, and the log-det is just Σ s (Glow's sigmoid(ŝ + 2) bounds the
 * scale to (0, 1) instead; tanh keeps it symmetric, so a layer can expand as well as contract).
 * Stacking layers gives any range. The net's last layer starts at zero (Glow), making the layer the
 * identity until trained, unless `initScale` asks for random small weights (a non-trivial map
 * before training, as in the example graph and the tests).
 *
 * NN: `mlp` = linear → SiLU → linear → SiLU → linear over the channel axis (vectors, or per pixel);
 * `conv` = 3x3 conv → SiLU → 1x1 conv → SiLU → 3x3 conv (images). SiLU is smooth, which keeps the
 * finite-difference Jacobian checks honest. Masks are multiplications, not gathers, so every op has
 * gradients on cpu, wasm and webgpu.
 */
import * as tf from '@tensorflow/tfjs';
import { defineNode, enumParam, int, number, seedParam, type ModelHandle, type PortType } from '../../runtime/index.ts';
import { weightsFingerprint, weightsParam } from '../builder.ts';
import { conv2d, linear, silu } from '../nn.ts';
import { resolveChannels, type LayerOps } from './handle.ts';
import { addLayer, channelsParam, flowInput, flowOutput, inferFlow, upstreamOf } from './layer-node.ts';

type Mask = 'alternate' | 'half' | 'checkerboard';
type Net = 'mlp' | 'conv';
interface CouplingConfig {
  mask: Mask;
  parity: number;
  net: Net;
  hidden: number;
  initScale: number;
}

export const AffineCoupling = defineNode({
  type: 'AffineCoupling',
  category: 'flow',
  doc: 'Flow layer (RealNVP, Glow): the masked part of x conditions a small net giving s, t; the rest becomes x·exp(s) + t with s = tanh(ŝ) bounded; log-det Σ s, exact inverse.',
  inputs: { flow: flowInput() },
  outputs: { flow: flowOutput() },
  params: {
    channels: channelsParam(),
    mask: enumParam(['alternate', 'half', 'checkerboard'], 'alternate', { doc: 'which part conditions: alternate channels, the first half of the channels, or a pixel checkerboard (images)' }),
    parity: int(0, { min: 0, max: 1, doc: 'flips which part conditions and which is transformed' }),
    net: enumParam(['mlp', 'conv'], 'mlp', { doc: 'the s, t network: an MLP over channels, or a conv net (images)' }),
    hidden: int(64, { min: 1, max: 4096, doc: 'width of the s, t network' }),
    initScale: number(0, { min: 0, max: 10, step: 0.01, doc: 'std of the net’s last layer at init; 0 starts the layer as the identity (Glow)' }),
    seed: seedParam(0, { doc: 'seeds the net’s initial weights' }),
    weights: weightsParam(),
  },
  fingerprint: weightsFingerprint,
  infer: ({ params, inputs }) => inferFlow('AffineCoupling', params.channels, inputs as Record<string, PortType | undefined>),
  run: (ctx) => {
    const { mask, parity, net, hidden, initScale, seed, weights } = ctx.params;
    const upstream = upstreamOf('AffineCoupling', ctx.inputs.flow);
    const c = resolveChannels('AffineCoupling', ctx.params.channels, upstream);
    if (mask !== 'checkerboard' && c < 2) throw new Error(`AffineCoupling: a ${mask} channel mask needs at least 2 channels (got ${c}); use checkerboard`);
    const config: CouplingConfig = { mask, parity, net, hidden, initScale };
    const ops = couplingOps(c, config);
    return addLayer(ctx, upstream, {
      kind: 'coupling',
      channels: c,
      config: { ...config },
      seed,
      weights,
      // one pass on a tiny input of the right rank creates every variable
      dryRun: (m) => {
        ops.forward(m, tf.zeros(net === 'conv' || mask === 'checkerboard' ? [1, 2, 2, c] : [1, c])); // returns nothing: tidy frees it all
      },
      ops,
    });
  },
});

/** b as a tensor broadcasting against x: [C] for channel masks, [1, H, W, 1] for the checkerboard. */
function maskFor(x: tf.Tensor, c: number, cfg: CouplingConfig): tf.Tensor {
  if (cfg.mask === 'checkerboard') {
    const [, h, w] = x.shape;
    const b = Array.from({ length: h * w }, (_, i) => ((Math.floor(i / w) + (i % w)) % 2 === cfg.parity ? 1 : 0));
    return tf.tensor4d(b, [1, h, w, 1]);
  }
  const half = Math.ceil(c / 2);
  const b = Array.from({ length: c }, (_, i) => (cfg.mask === 'alternate' ? i % 2 === cfg.parity : (i < half) === (cfg.parity === 0)) ? 1 : 0);
  return tf.tensor1d(b);
}

/** NN(b ⊙ x) -> [ŝ, t], each with C channels. */
function net(m: ModelHandle, xb: tf.Tensor, c: number, cfg: CouplingConfig): [tf.Tensor, tf.Tensor] {
  const outInit = cfg.initScale > 0 ? { std: cfg.initScale } : 'zeros';
  let out: tf.Tensor;
  if (cfg.net === 'mlp') {
    const h = silu(linear(m, 'nn.mid', silu(linear(m, 'nn.in', xb, cfg.hidden)), cfg.hidden));
    out = tf.add(tf.matMul(h.reshape([-1, cfg.hidden]), m.param('nn.out.w', [cfg.hidden, 2 * c], outInit)), m.param('nn.out.b', [2 * c], 'zeros'));
    out = out.reshape([...xb.shape.slice(0, -1), 2 * c]);
  } else {
    const h = silu(conv2d(m, 'nn.mid', silu(conv2d(m, 'nn.in', xb as tf.Tensor4D, cfg.hidden, 3)) as tf.Tensor4D, cfg.hidden, 1));
    out = tf.add(tf.conv2d(h as tf.Tensor4D, m.param('nn.out.w', [3, 3, cfg.hidden, 2 * c], outInit) as tf.Tensor4D, 1, 'same'), m.param('nn.out.b', [2 * c], 'zeros'));
  }
  const [sHat, t] = tf.split(out, 2, out.rank - 1);
  return [sHat, t];
}

function couplingOps(c: number, cfg: CouplingConfig): LayerOps {
  const check = (x: tf.Tensor) => {
    if ((cfg.net === 'conv' || cfg.mask === 'checkerboard') && x.rank !== 4) {
      throw new Error(`AffineCoupling: a ${cfg.net === 'conv' ? 'conv net' : 'checkerboard mask'} needs [N, H, W, C] images, got [${x.shape}]`);
    }
  };
  /** b, 1 − b, s and t for an input whose conditioning part is `cond` (= b ⊙ x = b ⊙ y). */
  const affine = (m: ModelHandle, cond: tf.Tensor) => {
    check(cond);
    const b = maskFor(cond, c, cfg);
    const free = tf.sub(1, b);
    const xb = tf.mul(cond, b);
    const [sHat, tRaw] = net(m, xb, c, cfg);
    return { b, free, xb, s: tf.mul(tf.tanh(sHat), free), t: tf.mul(tRaw, free) };
  };
  return {
    forward(m, x) {
      const { free, xb, s, t } = affine(m, x);
      // 1. y = b⊙x + (1−b)⊙(x⊙exp(s) + t); t is already zero on b
      const y = tf.add(xb, tf.add(tf.mul(tf.mul(x, free), tf.exp(s)), t));
      // 2. log|det J| = Σ s per sample
      const axes = s.shape.slice(1).map((_, i) => i + 1);
      return { y, logdet: tf.sum(s, axes) };
    },
    inverse(m, y) {
      const { free, xb, s, t } = affine(m, y);
      return tf.add(xb, tf.mul(tf.mul(tf.sub(y, t), free), tf.exp(tf.neg(s))));
    },
  };
}
