/**
 * MaxPoolGrad for wasm, replacing tfjs-backend-wasm 4.22's, which sends a window's gradient to the
 * window's first element whenever every value in the window is negative (its running maximum
 * starts at 0, not −∞): after a leaky ReLU or on raw data, whole windows are. This one is cpu's
 * rule: the gradient of each output goes to the first position holding the window's maximum,
 * scanning rows then columns, padding never chosen:
 *
 *   dx[n, argmax_{window(oh, ow)} x[n, ·, ·, c], c] += dy[n, oh, ow, c]
 */
import * as tf from '@tensorflow/tfjs';
import { kernel, onValues } from './composite.ts';

export function maxPoolGradValues(x: tf.TypedArray, dy: tf.TypedArray, info: tf.backend_util.Conv2DInfo): Float32Array {
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const dx = new Float32Array(x.length);
  for (let n = 0; n < batchSize; n++) {
    for (let r = 0; r < oh; r++) {
      const r0 = r * sh - top;
      let rMin = r0;
      while (rMin < 0) rMin += dh;
      const rMax = Math.min(h, r0 + fh);
      for (let q = 0; q < ow; q++) {
        const q0 = q * sw - left;
        let qMin = q0;
        while (qMin < 0) qMin += dw;
        const qMax = Math.min(w, q0 + fw);
        const dyBase = ((n * oh + r) * ow + q) * c;
        for (let d = 0; d < c; d++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let i = rMin; i < rMax; i += dh) {
            for (let j = qMin; j < qMax; j += dw) {
              const k = ((n * h + i) * w + j) * c + d;
              if (x[k] > best) {
                best = x[k];
                at = k;
              }
            }
          }
          if (at >= 0) dx[at] += dy[dyBase + d];
        }
      }
    }
  }
  return dx;
}

const maxPoolGrad = onValues(({ dy, input }, inputs, attrs) => {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as {
    filterSize: number | [number, number]; strides: number | [number, number]; pad: 'same' | 'valid' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const shape = inputs.input.shape as [number, number, number, number];
  const info = tf.backend_util.computePool2DInfo(shape, filterSize, strides, 1, pad, dimRoundingMode);
  return tf.tensor(maxPoolGradValues(input, dy, info), shape, 'float32');
});

export const poolKernels = [kernel('MaxPoolGrad', 'wasm', maxPoolGrad, true)];
