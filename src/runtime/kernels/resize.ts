/**
 * ResizeNearestNeighborGrad, replacing tfjs 4.22's on every backend: cpu's reads dy at the images'
 * batch stride instead of dy's (every batch element after the first gets the wrong rows), and all
 * three ignore halfPixelCenters, which moves the forward pass's index map. The gradient of a
 * gather is a scatter-add through the same index map as the forward pass (tfjs's
 * ResizeNearestNeighbor, the same on cpu, wasm and webgpu, reproduced here):
 *
 *   dx[n, src(r), src(c), d] += dy[n, r, c, d]
 *   src(r) = min(H − 1, alignCorners ? round(ρ·r) : floor(ρ·r)),  ρ·(r + ½) with halfPixelCenters
 *   (then ≥ 0), ρ = effective input size / effective output size (sizes − 1 with alignCorners)
 */
import * as tf from '@tensorflow/tfjs';
import { composite, kernel, onValues } from './composite.ts';

/** The source index of each output row (or column), as the forward pass picks it. */
export function nearestSources(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Int32Array {
  const aligned = alignCorners && outSize > 1;
  const ratio = (aligned ? inSize - 1 : inSize) / (aligned ? outSize - 1 : outSize);
  return Int32Array.from({ length: outSize }, (_, r) => {
    const frac = halfPixelCenters ? ratio * (r + 0.5) : ratio * r;
    const src = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
    return halfPixelCenters ? Math.max(0, src) : src;
  });
}

const resizeNearestNeighborGrad = onValues(({ dy }, inputs, attrs) => {
  const { alignCorners = false, halfPixelCenters = false } = attrs as { alignCorners?: boolean; halfPixelCenters?: boolean };
  const [n, h, w, c] = inputs.images.shape;
  const [, oh, ow] = inputs.dy.shape;
  const rows = nearestSources(h, oh, alignCorners, halfPixelCenters);
  const cols = nearestSources(w, ow, alignCorners, halfPixelCenters);
  const dx = new Float32Array(n * h * w * c);
  let k = 0;
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      const row = (b * h + rows[r]) * w;
      for (let q = 0; q < ow; q++) {
        const at = (row + cols[q]) * c;
        for (let d = 0; d < c; d++) dx[at + d] += dy[k++];
      }
    }
  }
  return tf.tensor(dx, [n, h, w, c], 'float32');
});

/**
 * The same scatter from ops, for WebGPU (its data cannot be read synchronously in a kernel): a
 * segment sum over rows, then one over columns, each on the leading axis.
 *   dx = Σ_{r : src(r) = i} Σ_{q : src(q) = j} dy[n, r, q, d]
 */
const resizeNearestNeighborGradOps = composite(({ images, dy }, attrs) => {
  const { alignCorners = false, halfPixelCenters = false } = attrs as { alignCorners?: boolean; halfPixelCenters?: boolean };
  const [, h, w] = images.shape;
  const [, oh, ow] = dy.shape;
  const rows = tf.tensor1d(nearestSources(h, oh, alignCorners, halfPixelCenters), 'int32');
  const cols = tf.tensor1d(nearestSources(w, ow, alignCorners, halfPixelCenters), 'int32');
  const byRow = tf.unsortedSegmentSum(tf.transpose(dy, [1, 0, 2, 3]), rows, h); // [H, N, OW, C]
  const byCol = tf.unsortedSegmentSum(tf.transpose(byRow, [2, 1, 0, 3]), cols, w); // [W, N, H, C]
  return tf.transpose(byCol, [1, 2, 0, 3]);
});

export const resizeKernels = [
  kernel('ResizeNearestNeighborGrad', 'cpu', resizeNearestNeighborGrad, true),
  kernel('ResizeNearestNeighborGrad', 'wasm', resizeNearestNeighborGrad, true),
  kernel('ResizeNearestNeighborGrad', 'webgpu', resizeNearestNeighborGradOps, true),
];
