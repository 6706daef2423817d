/**
 * Gradients tfjs 4.22 has for no backend (gradients are backend-independent: they are written in
 * ops, so each works wherever its ops' kernels do):
 *
 *   comparisons and logic (Greater, Less, LessEqual, Equal, NotEqual, LogicalAnd, LogicalOr,
 *   LogicalNot, All, Any): piecewise constant, so zero, as TensorFlow has it. Without them
 *   tf.where(x > 0, x, a·x) fails, although only the branches carry gradient.
 *
 *   StridedSlice: y = x[b + s·i] (per axis), so dx = dy scattered back to those positions:
 *     dx[b_0 + s_0·i_0, …] = dy[i_0, …],  zero elsewhere
 *
 *   GatherNd: y[j] = x[idx[j]], so dx = Σ_{j : idx[j] = p} dy[j], a scatterND (which adds repeats).
 */
import * as tf from '@tensorflow/tfjs';

/** Marks our gradient configs, so registering twice is a no-op. */
const WEFT_GRADIENT = Symbol.for('weft.gradient');
type WeftGradient = tf.GradConfig & { [WEFT_GRADIENT]: true };

const zeros = (t: tf.Tensor) => () => tf.zeros(t.shape, 'float32'); // gradients must be float32, even of bool inputs

const zeroGradient = (kernelName: string, inputs: string[]): WeftGradient => ({
  kernelName,
  inputsToSave: inputs,
  gradFunc: (_dy, saved) => Object.fromEntries(inputs.map((name, i) => [name, zeros(saved[i])])),
  [WEFT_GRADIENT]: true,
});

/** Per axis of x: how many elements the slice takes (tfjs's slice_util rule). */
function sliceSizes(begin: number[], end: number[], strides: number[]): number[] {
  return begin.map((b, d) => {
    const interval = end[d] - b;
    if (interval === 0 || interval < 0 !== strides[d] < 0) return 0;
    return Math.trunc(interval / strides[d]) + (interval % strides[d] !== 0 ? 1 : 0);
  });
}

/** The x positions a strided slice reads, in the slice's order: [count, rank]. */
function slicedPositions(begin: number[], strides: number[], sizes: number[]): Int32Array {
  const rank = sizes.length;
  const count = sizes.reduce((a, b) => a * b, 1);
  const out = new Int32Array(count * rank);
  const at = new Array<number>(rank).fill(0);
  for (let k = 0; k < count; k++) {
    for (let d = 0; d < rank; d++) out[k * rank + d] = begin[d] + strides[d] * at[d];
    for (let d = rank - 1; d >= 0 && ++at[d] === sizes[d]; d--) at[d] = 0; // odometer
  }
  return out;
}

const stridedSliceGradient: WeftGradient = {
  kernelName: 'StridedSlice',
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { begin, end, strides, beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask } = attrs as unknown as {
      begin: number[]; end: number[]; strides: number[]; beginMask: number; endMask: number; ellipsisMask: number; newAxisMask: number; shrinkAxisMask: number;
    };
    return {
      x: () => {
        const info = tf.slice_util.sliceInfo(x.shape, begin, end, strides, beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask);
        const sizes = sliceSizes(info.begin, info.end, info.strides);
        const count = sizes.reduce((a, b) => a * b, 1);
        if (count === 0) return tf.zeros(x.shape, 'float32');
        const positions = tf.tensor2d(slicedPositions(info.begin, info.strides, sizes), [count, x.rank], 'int32');
        return tf.scatterND(positions, (dy as tf.Tensor).reshape([count]), x.shape);
      },
    };
  },
  [WEFT_GRADIENT]: true,
};

const gatherNdGradient: WeftGradient = {
  kernelName: 'GatherNd',
  inputsToSave: ['params', 'indices'],
  gradFunc: (dy, [params, indices]) => ({
    params: () => tf.scatterND(indices, dy as tf.Tensor, params.shape),
    indices: zeros(indices),
  }),
  [WEFT_GRADIENT]: true,
};

export const WEFT_GRADIENTS: readonly WeftGradient[] = [
  ...['Greater', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr'].map((k) => zeroGradient(k, ['a', 'b'])),
  ...['LogicalNot', 'All', 'Any'].map((k) => zeroGradient(k, ['x'])),
  stridedSliceGradient,
  gatherNdGradient,
];

/** Registers the gradients tfjs lacks (never replacing one it has); returns the kernels given one by this call. */
export function registerGradients(): string[] {
  const added: string[] = [];
  for (const g of WEFT_GRADIENTS) {
    if (tf.getGradient(g.kernelName)) continue; // ours already, or tfjs has one
    tf.registerGradient(g);
    added.push(g.kernelName);
  }
  return added;
}

export const isWeftGradient = (kernelName: string): boolean => (tf.getGradient(kernelName) as Partial<WeftGradient> | undefined)?.[WEFT_GRADIENT] === true;
