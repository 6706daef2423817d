/**
 * Kernels Weft registers into tfjs 4.22 (frozen), so that training runs on every backend. Found by
 * probing every op our layers and losses use, forward and gradient, against cpu and webgpu:
 *
 * | backend | kernel | why |
 * | --- | --- | --- |
 * | wasm | Conv2DBackpropFilter | missing: every conv, transposed conv and fused conv filter gradient |
 * | wasm | Conv2DBackpropInput | slow: a plain loop, ~7x a convolution's time (the bulk of a conv-VAE step) |
 * | wasm | DepthwiseConv2dNativeBackpropFilter, …BackpropInput | missing: depthwise / separable conv gradients |
 * | wasm | UnsortedSegmentSum | missing: the gradient of gather |
 * | wasm | Einsum | missing (forward; no backend has its gradient) |
 * | wasm | MaxPoolGrad | wrong: windows whose values are all negative |
 * | cpu | Conv2DBackpropFilter | slow: ~30x a convolution (minutes per conv-VAE step); wasm's composite |
 * | cpu | ResizeNearestNeighborGrad | wrong: batch > 1; and halfPixelCenters ignored |
 * | wasm, webgpu | ResizeNearestNeighborGrad | wrong: halfPixelCenters ignored |
 *
 * And gradients no backend has (gradients.ts, backend-independent): zero for comparisons and logic
 * (so tf.where on a condition from a differentiated tensor trains), StridedSlice, GatherNd.
 *
 * Call `registerKernels` after `tf.setBackend(name)` has succeeded: the
 * backend's own kernels are registered by then, so replacing a wrong one cannot collide with it
 * registering later. Idempotent: a kernel already ours is left alone, a kernel tfjs provides
 * (other than the ones we replace) is never shadowed.
 */
import * as tf from '@tensorflow/tfjs';
import { WEFT_KERNEL, type WeftKernel } from './composite.ts';
import { convKernels } from './conv.ts';
import { einsumKernels } from './einsum.ts';
import { isWeftGradient, registerGradients, WEFT_GRADIENTS } from './gradients.ts';
import { poolKernels } from './pool.ts';
import { resizeKernels } from './resize.ts';
import { segmentKernels } from './segment.ts';

/** Ours, in registration order; `replaces` marks those that take the place of a backend's own. */
export const WEFT_KERNELS: readonly WeftKernel[] = [...convKernels, ...segmentKernels, ...einsumKernels, ...poolKernels, ...resizeKernels];

const isOurs = (k: tf.KernelConfig | undefined) => !!k && (k as Partial<WeftKernel>)[WEFT_KERNEL] === true;

/** The backends' own kernels that ours replaced, by "backend/kernel" (global: one tfjs registry). */
const replaced: Map<string, tf.KernelConfig> = ((globalThis as Record<symbol, unknown>)[Symbol.for('weft.replacedKernels')] ??= new Map()) as Map<string, tf.KernelConfig>;

/** The backend's own kernel that ours replaced (for tests that compare the two), if any. */
export const replacedKernel = (kernelName: string, backendName: string): tf.KernelConfig | undefined => replaced.get(`${backendName}/${kernelName}`);

/** Registers Weft's kernels for `backendName` (and the gradients, once); returns the kernels registered by this call. */
export function registerKernels(backendName: string): string[] {
  registerGradients();
  const added: string[] = [];
  for (const k of WEFT_KERNELS) {
    if (k.backendName !== backendName) continue;
    const existing = tf.getKernel(k.kernelName, backendName);
    if (isOurs(existing)) continue;
    if (existing) {
      if (!k.replaces) continue; // tfjs has it, and it is right
      replaced.set(`${backendName}/${k.kernelName}`, existing);
      tf.unregisterKernel(k.kernelName, backendName);
    }
    tf.registerKernel(k);
    added.push(k.kernelName);
  }
  return added;
}

/** The kernels of ours in force for `backendName` now. */
export const registeredKernels = (backendName: string): string[] =>
  WEFT_KERNELS.filter((k) => k.backendName === backendName && isOurs(tf.getKernel(k.kernelName, backendName))).map((k) => k.kernelName);

/** The gradients of ours in force now. */
export const registeredGradients = (): string[] => WEFT_GRADIENTS.map((g) => g.kernelName).filter(isWeftGradient);
