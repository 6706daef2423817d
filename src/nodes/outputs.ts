/**
 * Outputs: sinks whose display values the runtime reads back for the caller (the CLI writes
 * them to files, the editor draws them on the node).
 */
import * as tf from '@tensorflow/tfjs';
import { bool, defineNode, int, scalar, shapeError, tensor, type PortType } from '../runtime/index.ts';

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

/**
 * Plot: the values behind a line chart and a 2-D scatter. `series` is flattened to one line (a
 * loss connected here is one point per run; while the editor trains, it draws that loss's history
 * instead); `points` [N, 2] with optional `labels` [N] is a scatter coloured by label. Open inputs
 * show as empty tensors, so the display always has the same three ports.
 */
export const Plot = defineNode({
  type: 'Plot',
  category: 'outputs',
  doc:
    'Plots a series as a line (any tensor, flattened; a loss connected here draws its loss curve while the editor trains) ' +
    'and/or points [N, 2] as a 2-D scatter, coloured by optional integer labels [N].',
  inputs: {
    series: tensor(undefined, { optional: true, doc: 'values drawn as a line, in order (flattened); a scalar loss shows its history while training' }),
    points: tensor(['N', 2], { optional: true, doc: '2-D points [N, 2] for a scatter' }),
    labels: tensor(['N'], { optional: true, dtype: 'any', doc: 'class of each point [N] (e.g. Dataset.labels), for colours' }),
  },
  outputs: {},
  display: {
    series: tensor([null], { doc: 'the series, flattened (empty when unconnected)' }),
    points: tensor([null, 2], { doc: 'the points (empty when unconnected)' }),
    labels: tensor([null], { dtype: 'int32', doc: 'the labels as integers (empty when unconnected)' }),
  },
  params: { logScale: bool(false, { doc: 'draw the series on a log scale (loss curves spanning decades)' }) },
  infer: ({ inputs }) => {
    const n = (t: PortType | PortType[] | undefined) => (t && !Array.isArray(t) && t.kind === 'tensor' ? t.shape : undefined);
    const points = n(inputs.points);
    const labels = n(inputs.labels);
    if (labels && !points) shapeError('labels', 'labels colour points: connect points [N, 2] too');
    const size = n(inputs.series)?.reduce<number | null>((a, d) => (a === null || typeof d !== 'number' ? null : a * d), 1) ?? 0;
    return {
      series: tensor([inputs.series ? size : 0]),
      points: tensor([points ? points[0] : 0, 2].map((d) => (typeof d === 'number' ? d : null))),
      labels: tensor([points ? points[0] : 0].map((d) => (typeof d === 'number' ? d : null)), { dtype: 'int32' }),
    };
  },
  run: ({ inputs }) => {
    const series = inputs.series as tf.Tensor | undefined;
    const points = inputs.points as tf.Tensor | undefined;
    const labels = inputs.labels as tf.Tensor | undefined;
    if (labels && points && labels.size !== points.shape[0]) throw new Error(`labels has ${labels.size} entries for ${points.shape[0]} points`);
    return {
      series: series ? tf.cast(tf.reshape(series, [-1]), 'float32') : tf.zeros([0]),
      points: points ? tf.cast(points, 'float32') : tf.zeros([0, 2]),
      labels: labels ? tf.cast(tf.reshape(labels, [-1]), 'int32') : tf.zeros([0], 'int32'),
    };
  },
});
