/**
 * Convolution gradients as forward convolutions, which wasm runs through XNNPACK (tfjs 4.22): on
 * wasm, the filter gradients it lacks, and the input gradient, which it has but as a plain loop ~7x
 * slower than the same work as a convolution; on cpu, the filter gradient, whose native kernel
 * reads every element through TensorBuffer.get and takes ~30x cpu's own convolution time (five
 * minutes a step for a 28x28 conv VAE at batch 32). Notation: x [N, H, W, Ci], filter [KH, KW, Ci, Co], dy [N, OH, OW, Co],
 * strides s, padding (top, left) from tfjs's own conv info, x̃ = x zero-padded by (top, left).
 *
 *   Conv2DBackpropFilter
 *     dW[kh, kw, ci, co] = Σ_{n, oh, ow} x̃[n, oh·s + kh, ow·s + kw, ci] · dy[n, oh, ow, co]
 *     which is itself a 'valid' convolution: input x̃ as [Ci, H̃, W̃, N] (batch ↔ channels),
 *     filter dy as [OH, OW, N, Co], dilation s (the stride becomes the filter's dilation),
 *     giving [Ci, KH, KW, Co]; one transpose puts it in filter order.
 *
 *   Conv2DBackpropInput (the transposed convolution)
 *     dx[n, i, j, ci] = Σ_{kh, kw, co} dy[n, oh, ow, co] · W[kh, kw, ci, co],  i = oh·s + kh − top
 *     dy with s − 1 zeros between entries, padded by KH − 1 − top (KW − 1 − left) before, convolved
 *     ('valid', stride 1) with the flipped filter, in and out swapped: W[KH−1−kh, KW−1−kw, co, ci].
 *     With stride 2, 3/4 of the products are with inserted zeros; XNNPACK is still far ahead.
 *
 *   DepthwiseConv2dNativeBackpropFilter (filter [KH, KW, C, M], dy channel c·M + m)
 *     dW[kh, kw, c, m] = Σ_{n, oh, ow} x̃[n, oh·s + kh, ow·s + kw, c] · dy[n, oh, ow, c·M + m]
 *     a depthwise 'valid' convolution over one image whose channels are the (n, c) pairs:
 *     input x̃ as [1, H̃, W̃, N·C], filter dy as [OH, OW, N·C, M], dilation s, then Σ over n.
 *
 *   DepthwiseConv2dNativeBackpropInput
 *     dx[n, i, j, c] = Σ_{kh, kw, m} dy[n, oh, ow, c·M + m] · W[kh, kw, c, m],  i = oh·s + kh − top
 *     the transposed convolution: dy with s − 1 zeros between entries, padded by KH − 1 − top
 *     (KW − 1 − left), convolved depthwise with the flipped filter (one output per channel
 *     c·M + m), then Σ over m.
 *
 * Every zero padding above is the convolution's own (explicit) padding, which XNNPACK applies
 * without copying; only the stride-s dilation and crops of rows no tap reads are extra tensors.
 *
 * Both filter gradients sum over N·OH·OW products in XNNPACK's order, not cpu's: they agree with
 * cpu and webgpu to float32 rounding of that sum (~1e-6 relative), not bit for bit.
 */
import * as tf from '@tensorflow/tfjs';
import { composite, kernel } from './composite.ts';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v as number, v as number]);

function assertNoDilation(name: string, dilations: unknown) {
  const [dh, dw] = pair(dilations ?? 1);
  if (dh !== 1 || dw !== 1) throw new Error(`${name}: dilations [${dh}, ${dw}] are not supported (tfjs has no gradient for dilated convolutions either)`);
}

/** NCHW in, NHWC to work in (tfjs filters are [KH, KW, in, out] in both formats). */
const toNHWC = (t: tf.Tensor, dataFormat: unknown) => (dataFormat === 'NCHW' ? tf.transpose(t, [0, 2, 3, 1]) : t) as tf.Tensor4D;

type Edges = [before: number, after: number];
type Padded = { t: tf.Tensor4D; pad: tf.backend_util.ExplicitPadding };

/**
 * Padding as the convolution's own (explicit) padding, which XNNPACK applies without a copy;
 * negative amounts are rows or columns to drop, done by one slice first.
 */
function padded(t: tf.Tensor4D, rows: Edges, cols: Edges): Padded {
  const [[top, bottom], [left, right]] = [rows, cols];
  const [, h, w] = t.shape;
  const begin = [0, Math.max(-top, 0), Math.max(-left, 0), 0];
  const size = [-1, h - begin[1] - Math.max(-bottom, 0), w - begin[2] - Math.max(-right, 0), -1];
  const cropped = begin[1] || begin[2] || size[1] !== h || size[2] !== w ? tf.slice(t, begin, size) : t;
  return { t: cropped, pad: [[0, 0], [Math.max(top, 0), Math.max(bottom, 0)], [Math.max(left, 0), Math.max(right, 0)], [0, 0]] };
}

/**
 * x̃'s edges for the filter gradient: (top, left) before, and after whatever makes the extent
 * (OH − 1)·s + KH by (OW − 1)·s + KW, the part any kernel tap reads (negative: crop).
 */
function filterGradEdges(x: tf.Tensor4D, info: tf.backend_util.Conv2DInfo, kh: number, kw: number): [Edges, Edges] {
  const [, h, w] = x.shape;
  const { top, left } = info.padInfo;
  return [
    [top, (info.outHeight - 1) * info.strideHeight + kh - top - h],
    [left, (info.outWidth - 1) * info.strideWidth + kw - left - w],
  ];
}

/** Swaps the batch and channel axes of a padding: [N, H, W, C] edges for a [C, H, W, N] tensor. */
const swapped = (p: Padded): Padded => ({ t: tf.transpose(p.t, [3, 1, 2, 0]) as tf.Tensor4D, pad: p.pad });

const conv2dBackpropFilter = composite(({ x, dy }, attrs) => {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as {
    strides: number | [number, number]; pad: Pad; dataFormat: string; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number];
  };
  const [x4, dy4] = [toNHWC(x, dataFormat), toNHWC(dy, dataFormat)];
  const [kh, kw] = filterShape;
  const info = tf.backend_util.computeConv2DInfo(x4.shape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const input = swapped(padded(x4, ...filterGradEdges(x4, info, kh, kw))); // [Ci, H, W, N], padded to x̃ by the conv
  const filter = tf.transpose(dy4, [1, 2, 0, 3]) as tf.Tensor4D; // [OH, OW, N, Co]
  const dw = tf.conv2d(input.t, filter, 1, input.pad, 'NHWC', [info.strideHeight, info.strideWidth]); // [Ci, KH, KW, Co]
  return tf.transpose(dw, [1, 2, 0, 3]);
});

const depthwiseBackpropFilter = composite(({ x, dy }, attrs) => {
  const { strides, pad, dilations, dimRoundingMode, filterShape } = attrs as {
    strides: number | [number, number]; pad: Pad; dilations: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number];
  };
  assertNoDilation('DepthwiseConv2dNativeBackpropFilter', dilations);
  const [kh, kw, c, m] = filterShape;
  const x4 = x as tf.Tensor4D;
  const [n] = x4.shape;
  const info = tf.backend_util.computeConv2DInfo(x4.shape, filterShape, strides, 1, pad, dimRoundingMode, true);
  const { t, pad: edges } = padded(x4, ...filterGradEdges(x4, info, kh, kw));
  const input = tf.transpose(t, [1, 2, 0, 3]).reshape([1, t.shape[1], t.shape[2], n * c]) as tf.Tensor4D; // channels (n, c)
  const [oh, ow] = [info.outHeight, info.outWidth];
  const filter = tf.transpose(dy.reshape([n, oh, ow, c * m]), [1, 2, 0, 3]).reshape([oh, ow, n * c, m]) as tf.Tensor4D;
  const dw = tf.depthwiseConv2d(input, filter, 1, edges, 'NHWC', [info.strideHeight, info.strideWidth]); // [1, KH, KW, N·C·M]
  return tf.sum(dw.reshape([kh, kw, n, c, m]), 2);
});

/** dy [N, OH, OW, K] with s − 1 zeros between entries: [N, (OH − 1)·sh + 1, (OW − 1)·sw + 1, K]. */
function dilate(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, oh, ow, k] = dy.shape;
  const spread = tf.pad(dy.reshape([n, oh, 1, ow, 1, k]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  return tf.slice(spread.reshape([n, oh * sh, ow * sw, k]) as tf.Tensor4D, [0, 0, 0, 0], [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, k]);
}

/**
 * The transposed convolution's input: dy dilated, with KH − 1 − top rows before and whatever makes
 * the length H + KH − 1 after, so a 'valid' KH×KW convolution gives H×W (negative amounts crop rows
 * a 'valid' forward never read).
 */
function transposedInput(dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo, kh: number, kw: number): Padded {
  const d = dilate(dy, info.strideHeight, info.strideWidth);
  const edges = (len: number, size: number, k: number, before: number): Edges => [before, size + k - 1 - len - before];
  return padded(d, edges(d.shape[1], info.inHeight, kh, kh - 1 - info.padInfo.top), edges(d.shape[2], info.inWidth, kw, kw - 1 - info.padInfo.left));
}

const conv2dBackpropInput = composite(({ dy, filter }, attrs) => {
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as {
    strides: number | [number, number]; pad: Pad; dataFormat: string; dimRoundingMode?: 'floor' | 'round' | 'ceil'; inputShape: [number, number, number, number];
  };
  const nchw = dataFormat === 'NCHW';
  const shape = (nchw ? [inputShape[0], inputShape[2], inputShape[3], inputShape[1]] : inputShape) as [number, number, number, number];
  const w4 = filter as tf.Tensor4D;
  const [kh, kw] = w4.shape;
  const info = tf.backend_util.computeConv2DInfo(shape, w4.shape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const input = transposedInput(toNHWC(dy, dataFormat), info, kh, kw);
  const flipped = tf.transpose(tf.reverse(w4, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  const dx = tf.conv2d(input.t, flipped, 1, input.pad);
  return nchw ? tf.transpose(dx, [0, 3, 1, 2]) : dx;
});

const depthwiseBackpropInput = composite(({ dy, filter }, attrs) => {
  const { strides, pad, dilations, dimRoundingMode, inputShape } = attrs as {
    strides: number | [number, number]; pad: Pad; dilations: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil'; inputShape: [number, number, number, number];
  };
  assertNoDilation('DepthwiseConv2dNativeBackpropInput', dilations);
  const [kh, kw, c, m] = filter.shape as [number, number, number, number];
  const [n, h, w] = inputShape;
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, true);
  const input = transposedInput(dy as tf.Tensor4D, info, kh, kw);
  const flipped = tf.reverse(filter, [0, 1]).reshape([kh, kw, c * m, 1]) as tf.Tensor4D;
  const out = tf.depthwiseConv2d(input.t, flipped, 1, input.pad); // [N, H, W, C·M]
  return tf.sum(out.reshape([n, h, w, c, m]), 4);
});

export const convKernels = [
  kernel('Conv2DBackpropFilter', 'wasm', conv2dBackpropFilter),
  kernel('Conv2DBackpropFilter', 'cpu', conv2dBackpropFilter, true),
  kernel('Conv2DBackpropInput', 'wasm', conv2dBackpropInput, true),
  kernel('DepthwiseConv2dNativeBackpropFilter', 'wasm', depthwiseBackpropFilter),
  kernel('DepthwiseConv2dNativeBackpropInput', 'wasm', depthwiseBackpropInput),
];
