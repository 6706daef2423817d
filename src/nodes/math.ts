/**
 * Elementwise math with NumPy broadcasting:
 *   Add    out = a + b
 *   Scale  out = factor · x
 *   Lerp   out = a + t · (b − a)      (t = 0 gives a, t = 1 gives b)
 */
import * as tf from '@tensorflow/tfjs';
import { broadcastShapes, defineNode, number, shapeError, tensor, type PortType } from '../runtime/index.ts';

function broadcastInfer(a: PortType | undefined, b: PortType | undefined, port: string): PortType {
  if (a?.kind !== 'tensor' || b?.kind !== 'tensor' || !a.shape || !b.shape) return tensor();
  const out = broadcastShapes(a.shape, b.shape);
  return typeof out === 'string' ? shapeError(port, out) : tensor(out);
}

export const Add = defineNode({
  type: 'Add',
  category: 'math',
  doc: 'Elementwise sum a + b, broadcasting like NumPy.',
  inputs: { a: tensor(), b: tensor() },
  outputs: { out: tensor() },
  params: {},
  infer: ({ inputs }) => ({ out: broadcastInfer(inputs.a as PortType, inputs.b as PortType, 'b') }),
  run: ({ inputs }) => ({ out: tf.add(inputs.a, inputs.b) }),
});

export const Scale = defineNode({
  type: 'Scale',
  category: 'math',
  doc: 'Multiplies every element by a factor.',
  inputs: { x: tensor() },
  outputs: { out: tensor() },
  params: { factor: number(1, { step: 0.1 }) },
  infer: ({ inputs }) => ({ out: (inputs.x as PortType | undefined) ?? tensor() }),
  run: ({ inputs, params }) => ({ out: tf.mul(inputs.x, params.factor) }),
});

export const Lerp = defineNode({
  type: 'Lerp',
  category: 'math',
  doc: 'Linear interpolation a + t·(b − a): t = 0 gives a, t = 1 gives b.',
  inputs: { a: tensor(), b: tensor() },
  outputs: { out: tensor() },
  params: { t: number(0.5, { min: 0, max: 1, step: 0.01 }) },
  infer: ({ inputs }) => ({ out: broadcastInfer(inputs.a as PortType, inputs.b as PortType, 'b') }),
  run: ({ inputs, params }) => ({ out: tf.add(inputs.a, tf.mul(tf.sub(inputs.b, inputs.a), params.t)) }),
});
