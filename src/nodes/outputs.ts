/**
 * Outputs: sinks whose display values the runtime reads back for the caller (the CLI writes
 * them to files, the editor draws them on the node).
 */
import * as tf from '@tensorflow/tfjs';
import { defineNode, int, scalar, shapeError, tensor, type PortType } from '../runtime/index.ts';

export const ImageOutput = defineNode({
  type: 'ImageOutput',
  category: 'outputs',
  doc: 'Shows an image batch [N, H, W, C] (C = 1, 3 or 4, values in [0, 1]) as a grid; the CLI writes it as PNG.',
  inputs: { image: tensor([null, null, null, null], { doc: 'images, NHWC in [0, 1]' }) },
  outputs: {},
  display: { image: tensor([null, null, null, null], { doc: 'the batch clamped to [0, 1]' }) },
  params: { columns: int(0, { min: 0, max: 64, doc: 'tiles per row in the grid (0 = square)' }) },
  infer: ({ inputs }) => {
    const t = inputs.image as PortType;
    const c = t.kind === 'tensor' ? t.shape?.[3] : undefined;
    if (typeof c === 'number' && ![1, 3, 4].includes(c)) shapeError('image', `expects 1, 3 or 4 channels, got ${c}`);
    return { image: t };
  },
  run: ({ inputs }) => ({ image: tf.clipByValue(inputs.image, 0, 1) }),
});

export const TensorOutput = defineNode({
  type: 'TensorOutput',
  category: 'outputs',
  doc: 'Shows any tensor with its shape and statistics (mean, std, min, max).',
  inputs: { x: tensor() },
  outputs: {},
  display: { value: tensor(), mean: scalar(), std: scalar(), min: scalar(), max: scalar() },
  params: {},
  infer: ({ inputs }) => ({ value: (inputs.x as PortType | undefined) ?? tensor() }),
  run: async ({ inputs }) => {
    const x = inputs.x as tf.Tensor;
    const { mean, variance } = tf.moments(x);
    const [m, v, lo, hi] = await Promise.all([mean.data(), variance.data(), tf.min(x).data(), tf.max(x).data()]);
    return { value: x, mean: m[0], std: Math.sqrt(v[0]), min: lo[0], max: hi[0] };
  },
});
