/**
 * UnsortedSegmentSum for wasm (the gradient of gather: embeddings, tf.gather on tables), as one
 * scatterND, which adds duplicate indices (wasm runs it natively):
 *
 *   out[s, ...] = Σ_{i : ids[i] = s} x[i, ...],  ids of any rank flattened with x's leading dims
 *
 * As in TensorFlow (and tfjs's cpu kernel), an id outside [0, numSegments) is dropped: its row is
 * scattered as zeros to segment 0.
 */
import * as tf from '@tensorflow/tfjs';
import { composite, kernel } from './composite.ts';

const unsortedSegmentSum = composite(({ x, segmentIds }, attrs) => {
  const numSegments = attrs.numSegments as number;
  const rest = x.shape.slice(segmentIds.rank);
  const ids = segmentIds.reshape([-1]).toInt();
  if (ids.size === 0) return tf.zeros([numSegments, ...rest], x.dtype);
  const valid = tf.logicalAnd(tf.greaterEqual(ids, 0), tf.less(ids, numSegments));
  const safe = tf.where(valid, ids, tf.zerosLike(ids));
  const updates = tf.mul(x.reshape([ids.size, ...rest]), tf.cast(valid, x.dtype).reshape([ids.size, ...rest.map(() => 1)]));
  return tf.scatterND(safe.reshape([ids.size, 1]), updates, [numSegments, ...rest]);
});

export const segmentKernels = [kernel('UnsortedSegmentSum', 'wasm', unsortedSegmentSum)];
