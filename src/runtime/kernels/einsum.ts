/**
 * Einsum for wasm (forward only: tfjs has no einsum gradient on any backend). tfjs-backend-cpu's
 * algorithm over tfjs ops: per compute step, transpose each operand's axes into the global order
 * and expand the missing ones, multiply them in (broadcasting), then sum out the contracted axis.
 */
import * as tf from '@tensorflow/tfjs';
import { composite, kernel } from './composite.ts';

const bu = tf.backend_util;

const einsumKernel = composite((inputs, attrs) => {
  const equation = attrs.equation as string;
  const tensors = Object.keys(inputs)
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => inputs[k]);
  const { allDims, summedDims, idDims } = bu.decodeEinsumEquation(equation, tensors.length);
  bu.checkEinsumDimSizes(allDims.length, idDims, tensors);
  const { path, steps } = bu.getEinsumComputePath(summedDims, idDims);
  let out: tf.Tensor | null = null;
  let remaining = allDims.length;
  for (let i = 0; i < steps.length; i++) {
    for (const term of steps[i]) {
      const { permutationIndices: perm, expandDims } = bu.getEinsumPermutation(remaining, idDims[term]);
      let t = bu.isIdentityPermutation(perm) ? tensors[term] : tf.transpose(tensors[term], perm);
      const shape = t.shape.slice();
      for (const d of expandDims) shape.splice(d, 0, 1);
      if (shape.length !== t.shape.length) t = t.reshape(shape);
      out = out === null ? t : tf.mul(t, out);
    }
    if (i < steps.length - 1) {
      if (path[i] >= 0) out = tf.sum(out!, path[i] - (allDims.length - remaining));
      remaining--;
    }
  }
  return out!;
});

export const einsumKernels = [kernel('Einsum', 'wasm', einsumKernel)];
