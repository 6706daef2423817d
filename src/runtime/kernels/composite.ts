/**
 * Kernels written with tfjs ops. A kernel function receives TensorInfos and runs inside the
 * engine's runKernel; ops called there are not recorded on the gradient tape (the engine counts
 * kernel depth), so a kernel may be composed of other ops, as tfjs's own backends compose theirs.
 *
 * Ownership: the ops run under tidy, which frees every intermediate; the result is returned as a
 * Tensor, which the engine passes through as the op's output (tfjs-backend-wasm's Identity does
 * the same for strings), so it has exactly one owner: whoever called the op.
 */
import * as tf from '@tensorflow/tfjs';

/** Marks our kernel configs, so registering twice (or from a second copy of this module) is a no-op. */
export const WEFT_KERNEL = Symbol.for('weft.kernel');

export type WeftKernel = tf.KernelConfig & { [WEFT_KERNEL]: true; /** takes the place of the backend's own kernel (wrong, or far slower) */ replaces?: boolean };

type Inputs = Record<string, tf.Tensor>;
type CompositeFn = (inputs: Inputs, attrs: Record<string, unknown>) => tf.Tensor;

/**
 * A kernelFunc from a function of tensors. Inputs that reach a kernel as bare TensorInfos (not
 * Tensors) get a temporary Tensor over the same data, with the backend's reference count raised
 * first so that disposing it leaves the caller's data alone.
 */
export function composite(fn: CompositeFn): tf.KernelFunc {
  return ({ inputs, backend: b, attrs }) => {
    const backend = b as tf.KernelBackend;
    const borrowed: tf.Tensor[] = [];
    const tensors: Inputs = {};
    for (const [name, info] of Object.entries(inputs) as Array<[string, tf.TensorInfo]>) {
      if (info instanceof tf.Tensor) tensors[name] = info;
      else {
        backend.incRef(info.dataId);
        borrowed.push((tensors[name] = tf.engine().makeTensorFromDataId(info.dataId, info.shape, info.dtype, backend)));
      }
    }
    try {
      return tf.tidy(() => {
        const out = fn(tensors, (attrs ?? {}) as Record<string, unknown>);
        return Object.values(tensors).includes(out) ? tf.clone(out) : out; // an output is never an input
      });
    } finally {
      tf.dispose(borrowed);
    }
  };
}

/** A kernel that reads its inputs' values, computes on the CPU side, and returns a new tensor. */
export function onValues(fn: (values: Record<string, tf.TypedArray>, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown>) => tf.Tensor): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const values: Record<string, tf.TypedArray> = {};
    for (const [name, info] of Object.entries(inputs) as Array<[string, tf.TensorInfo]>) values[name] = (backend as tf.KernelBackend).readSync(info.dataId) as tf.TypedArray;
    return fn(values, inputs as Record<string, tf.TensorInfo>, (attrs ?? {}) as Record<string, unknown>);
  };
}

export const kernel = (kernelName: string, backendName: string, kernelFunc: tf.KernelFunc, replaces = false): WeftKernel => ({
  kernelName,
  backendName,
  kernelFunc,
  [WEFT_KERNEL]: true,
  ...(replaces ? { replaces } : {}),
});
