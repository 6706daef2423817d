/**
 * Each kernel Weft registers, against the other backends, on pseudo-random inputs over a grid of
 * shapes, strides and paddings, to 1e-4 relative (max |a − b| / max |b|). The references are tfjs's
 * own kernels where they are right: cpu's (with ours swapped out again) and webgpu's (Dawn on
 * SwiftShader). ResizeNearestNeighborGrad is wrong in tfjs on all three (ours on each now), so it is
 * checked against the scatter each backend's own forward pass implies, and across backends.
 *
 * tfjs's backend is process-wide: each backend's runtime is created in turn, every case runs on
 * it, and the results come back as plain arrays to compare afterwards.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type BackendName } from '../../index.ts';
import { registeredKernels, registerKernels, replacedKernel, WEFT_KERNELS } from './index.ts';
import { HAS_SWIFTSHADER, randomTensor, readAll, relativeDiff, seeded } from './testing.ts';

const TOLERANCE = 1e-4;
const BACKENDS: BackendName[] = HAS_SWIFTSHADER ? ['cpu', 'wasm', 'webgpu'] : ['cpu', 'wasm'];

type Pad = 'same' | 'valid' | tf.backend_util.ExplicitPadding;
interface Case {
  kernel: string;
  name: string;
  run: () => tf.Tensor[];
  /** Backends whose native kernel differs from TensorFlow's semantics for this input. */
  skip?: BackendName[];
}

const run = (name: string, inputs: tf.NamedTensorMap, attrs: object) => tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
const EXPLICIT: Pad = [[0, 0], [1, 0], [2, 1], [0, 0]];
const PADS: Pad[] = ['same', 'valid', EXPLICIT];

/** Conv2DBackpropFilter and Conv2DBackpropInput over kernel sizes 1-4, strides 1 and 2, three paddings. */
function convCases(): Case[] {
  const cases: Case[] = [];
  const shapes = [[2, 6, 6, 3, 4], [1, 7, 5, 1, 2], [3, 8, 7, 2, 3]];
  let i = 0;
  for (const k of [1, 3, 4]) {
    for (const s of [1, 2]) {
      for (const pad of PADS) {
        const [n, h, w, ci, co] = shapes[i++ % shapes.length];
        const filterShape: [number, number, number, number] = [k, k === 4 ? 2 : k, ci, co];
        const info = tf.backend_util.computeConv2DInfo([n, h, w, ci], filterShape, s, 1, pad);
        const tag = `x [${n}, ${h}, ${w}, ${ci}], ${filterShape.slice(0, 2).join('x')}, stride ${s}, ${typeof pad === 'string' ? pad : 'explicit'}`;
        const seed = 100 * i;
        cases.push({
          kernel: 'Conv2DBackpropFilter',
          name: tag,
          run: () => [run('Conv2DBackpropFilter', { x: randomTensor([n, h, w, ci], seed), dy: randomTensor(info.outShape, seed + 1) }, { strides: s, pad, dataFormat: 'NHWC', filterShape })],
        });
        cases.push({
          kernel: 'Conv2DBackpropInput',
          name: tag,
          run: () => [run('Conv2DBackpropInput', { dy: randomTensor(info.outShape, seed + 2), filter: randomTensor(filterShape, seed + 3) }, { strides: s, pad, dataFormat: 'NHWC', inputShape: [n, h, w, ci] })],
        });
      }
    }
  }
  // the VAE's and discriminator's layers: 3x3 'same', stride 1 and 2, through tf.grad of conv2d, conv2dTranspose and fused conv
  const x = () => randomTensor([2, 8, 8, 4], 7);
  const w = () => randomTensor([3, 3, 4, 6], 8);
  for (const s of [1, 2] as const) {
    const grads = (f: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor) => () => tf.grads((a, b) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), 0.5)))([x(), w()]);
    cases.push({ kernel: 'Conv2DBackpropFilter', name: `tf.grads of conv2d, 3x3 same, stride ${s}`, run: grads((a, b) => tf.conv2d(a, b, s, 'same')) });
    cases.push({ kernel: 'Conv2DBackpropFilter', name: `tf.grads of fused conv2d + bias + relu, stride ${s}`, run: grads((a, b) => tf.fused.conv2d({ x: a, filter: b, strides: s, pad: 'same', bias: tf.ones([6]), activation: 'relu' })) });
    cases.push({
      kernel: 'Conv2DBackpropInput',
      name: `tf.grads of conv2dTranspose, 3x3 same, stride ${s}`,
      run: () => tf.grads((a, b) => tf.sum(tf.square(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, 8 * s, 8 * s, 4], s, 'same'))))([randomTensor([2, 8, 8, 6], 9), w()]),
    });
  }
  return cases;
}

/** Depthwise filter and input gradients: 3x3 and 5x5, strides 1 and 2, multipliers 1 and 2. */
function depthwiseCases(): Case[] {
  const cases: Case[] = [];
  let i = 0;
  for (const k of [3, 5]) {
    for (const s of [1, 2]) {
      for (const m of [1, 2]) {
        const pad = i % 2 ? 'valid' : 'same';
        const [n, h, w, c] = [2, 9, 8, 3];
        const filterShape: [number, number, number, number] = [k, k, c, m];
        const info = tf.backend_util.computeConv2DInfo([n, h, w, c], filterShape, s, 1, pad, undefined, true);
        const seed = 1000 + 10 * i++;
        const attrs = { strides: s, pad, dilations: 1 };
        const tag = `${k}x${k}, stride ${s}, multiplier ${m}, ${pad}`;
        cases.push({
          kernel: 'DepthwiseConv2dNativeBackpropFilter',
          name: tag,
          run: () => [run('DepthwiseConv2dNativeBackpropFilter', { x: randomTensor([n, h, w, c], seed), dy: randomTensor(info.outShape, seed + 1) }, { ...attrs, filterShape })],
        });
        cases.push({
          kernel: 'DepthwiseConv2dNativeBackpropInput',
          name: tag,
          run: () => [run('DepthwiseConv2dNativeBackpropInput', { dy: randomTensor(info.outShape, seed + 2), filter: randomTensor(filterShape, seed + 3) }, { ...attrs, inputShape: [n, h, w, c] })],
        });
      }
    }
  }
  cases.push({
    kernel: 'DepthwiseConv2dNativeBackpropFilter',
    name: 'tf.grads of separableConv2d',
    run: () => tf.grads((x, d, p) => tf.sum(tf.square(tf.separableConv2d(x as tf.Tensor4D, d as tf.Tensor4D, p as tf.Tensor4D, 1, 'same'))))([randomTensor([2, 6, 6, 3], 1), randomTensor([3, 3, 3, 2], 2), randomTensor([1, 1, 6, 4], 3)]),
  });
  return cases;
}

function segmentCases(): Case[] {
  const ids = (values: number[], shape: number[] = [values.length]) => tf.tensor<tf.Rank>(values, shape, 'int32') as tf.Tensor1D;
  return [
    { kernel: 'UnsortedSegmentSum', name: 'rows, repeated ids', run: () => [tf.unsortedSegmentSum(randomTensor([7, 3], 1), ids([4, 0, 4, 2, 0, 0, 1]), 5)] },
    { kernel: 'UnsortedSegmentSum', name: 'ids over a rank-3 x', run: () => [tf.unsortedSegmentSum(randomTensor([6, 3, 4], 2), ids([1, 1, 0, 2, 1, 0]), 3)] },
    // webgpu's kernel returns garbage for int32 values (a gradient is never int32)
    { kernel: 'UnsortedSegmentSum', name: 'int32 values', run: () => [tf.unsortedSegmentSum(tf.tensor1d([3, 5, 7, 11], 'int32'), ids([1, 0, 1, 1]), 2)], skip: ['webgpu'] },
    // TensorFlow drops ids outside [0, numSegments); webgpu's kernel files them under another segment
    { kernel: 'UnsortedSegmentSum', name: 'ids out of range are dropped', run: () => [tf.unsortedSegmentSum(randomTensor([6, 2], 3), ids([0, -1, 2, 7, 2, 1]), 4)], skip: ['webgpu'] },
    {
      kernel: 'UnsortedSegmentSum',
      name: 'tf.grad of gather (an embedding lookup, tokens repeated)',
      run: () => [tf.grad((table) => tf.sum(tf.mul(tf.gather(table, ids([3, 1, 3, 9, 0, 3])), randomTensor([6, 4], 5))))(randomTensor([10, 4], 4))],
    },
    {
      kernel: 'UnsortedSegmentSum',
      name: 'tf.grad of gather on axis 1 with 2-D indices',
      run: () => [tf.grad((x) => tf.sum(tf.square(tf.gather(x, ids([3, 1, 3, 9], [2, 2]), 1))))(randomTensor([3, 10, 4], 6))],
    },
  ];
}

function einsumCases(): Case[] {
  const eq = (equation: string, ...shapes: number[][]) => ({
    kernel: 'Einsum',
    name: equation,
    run: () => [tf.einsum(equation, ...shapes.map((s, i) => randomTensor(s, 20 + i)))],
  });
  return [eq('ij,jk->ik', [3, 4], [4, 5]), eq('bij,bjk->bik', [2, 3, 4], [2, 4, 2]), eq('bhqd,bhkd->bhqk', [2, 2, 3, 4], [2, 2, 5, 4]), eq('ij->ji', [2, 3]), eq('i,i->', [6], [6]), eq('ij,j->i', [3, 4], [4])];
}

/** Max-pool gradients, with inputs shifted negative so whole windows are below zero (wasm's bug). */
function maxPoolCases(): Case[] {
  const cases: Case[] = [];
  for (const [k, s, pad, shift] of [[2, 2, 'valid', -1.5], [3, 2, 'same', -1.2], [3, 1, 'same', 0], [2, 1, 'valid', -1.1], [3, 3, 'valid', -0.5]] as const) {
    cases.push({
      kernel: 'MaxPoolGrad',
      name: `${k}x${k}, stride ${s}, ${pad}, inputs shifted by ${shift}`,
      run: () => {
        const x = tf.add(randomTensor([2, 7, 6, 3], 30 + k + s), shift) as tf.Tensor4D;
        return [tf.grad((a) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, k, s, pad), randomTensor(tf.maxPool(x, k, s, pad).shape, 31))))(x)];
      },
    });
  }
  return cases;
}

const RESIZES: Array<[number[], [number, number], boolean, boolean]> = [
  [[3, 3, 3, 2], [6, 6], false, false],
  [[2, 3, 4, 2], [7, 5], false, true],
  [[3, 4, 3, 1], [7, 5], true, false],
  [[2, 6, 5, 2], [3, 4], false, false],
  [[4, 5, 5, 3], [10, 10], false, true],
];

/** d/dx Σ r ⊙ resize(x), r seeded: the resize's gradient applied to r. */
function resizeCases(): Case[] {
  return RESIZES.map(([shape, size, alignCorners, halfPixelCenters], i) => ({
    kernel: 'ResizeNearestNeighborGrad',
    name: `[${shape}] -> ${size.join('x')}${alignCorners ? ', alignCorners' : ''}${halfPixelCenters ? ', halfPixelCenters' : ''}`,
    run: () => {
      const r = randomTensor([shape[0], ...size, shape[3]], 40 + i);
      return [tf.grad((x) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(x as tf.Tensor4D, size, alignCorners, halfPixelCenters), r)))(randomTensor(shape, 50 + i))];
    },
  }));
}

/**
 * The same gradient from the backend's own forward pass: resize an image of element indices, so
 * each output holds the index it was copied from, and add r there.
 */
async function resizeReference([shape, size, alignCorners, halfPixelCenters]: (typeof RESIZES)[number], i: number): Promise<Float32Array> {
  const count = shape.reduce((a, b) => a * b, 1);
  const picked = tf.tidy(() => tf.image.resizeNearestNeighbor(tf.range(0, count).reshape(shape) as tf.Tensor4D, size, alignCorners, halfPixelCenters));
  const [from] = await readAll([picked]);
  const r = seeded(from.length, 40 + i);
  const dx = new Float32Array(count);
  from.forEach((src, j) => (dx[src] += r[j]));
  return dx;
}

const CASES: Case[] = [...convCases(), ...depthwiseCases(), ...segmentCases(), ...einsumCases(), ...maxPoolCases(), ...resizeCases()];
const KERNELS = [...new Set(CASES.map((c) => c.kernel))];

/** Runs with tfjs's own kernels in place of the ones we replace there. */
const NATIVE_CPU = 'cpu, tfjs kernels';
const NATIVE_WASM = 'wasm, tfjs kernels';
/** results[backend][case index] = every output's values. */
const results: Record<string, Float32Array[][]> = {};
const references: Partial<Record<BackendName, Float32Array[]>> = {};
const registered: Partial<Record<BackendName, string[]>> = {};
const leaked: Partial<Record<BackendName, number>> = {};

const runCases = async (backend: BackendName) => {
  const out: Float32Array[][] = [];
  for (const c of CASES) out.push(c.skip?.includes(backend) ? [] : await readAll(tf.tidy(c.run)));
  return out;
};

/** Runs with the backend's own kernels in place of every one we replaced, then puts ours back. */
async function withTfjsKernels<T>(backend: BackendName, fn: () => Promise<T>): Promise<T> {
  const ours = WEFT_KERNELS.filter((k) => k.backendName === backend && k.replaces);
  for (const k of ours) {
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel(replacedKernel(k.kernelName, backend)!);
  }
  try {
    return await fn();
  } finally {
    for (const k of ours) tf.unregisterKernel(k.kernelName, backend);
    registerKernels(backend);
  }
}

beforeAll(async () => {
  for (const backend of BACKENDS) {
    const rt = await createRuntime({ backend });
    registered[backend] = registeredKernels(backend);
    const before = tf.memory().numTensors;
    results[backend] = await runCases(backend);
    references[backend] = await Promise.all(RESIZES.map(resizeReference));
    if (backend === 'cpu') results[NATIVE_CPU] = await withTfjsKernels('cpu', () => runCases('cpu'));
    if (backend === 'wasm') results[NATIVE_WASM] = await withTfjsKernels('wasm', () => runCases('wasm'));
    leaked[backend] = tf.memory().numTensors - before;
    rt.dispose();
  }
}, 120_000);

describe('registration', () => {
  it('activating a backend registers its kernels: wasm the missing, wrong and slow ones; cpu a fast conv filter gradient; cpu and webgpu a correct resize gradient', () => {
    expect(registered.wasm).toEqual([
      'Conv2DBackpropFilter',
      'Conv2DBackpropInput',
      'DepthwiseConv2dNativeBackpropFilter',
      'DepthwiseConv2dNativeBackpropInput',
      'UnsortedSegmentSum',
      'Einsum',
      'MaxPoolGrad',
      'ResizeNearestNeighborGrad',
    ]);
    expect(registered.cpu).toEqual(['Conv2DBackpropFilter', 'ResizeNearestNeighborGrad']);
    if (HAS_SWIFTSHADER) expect(registered.webgpu).toEqual(['ResizeNearestNeighborGrad']);
  });

  it('registering again changes nothing, and a backend that needs nothing gets nothing', () => {
    for (const backend of BACKENDS) expect(registerKernels(backend), backend).toEqual([]);
    expect(registerKernels('webgl')).toEqual([]);
  });

  it('no backend leaks tensors over every case', () => {
    for (const backend of BACKENDS) expect(leaked[backend], backend).toBe(0);
  });
});

/** Where each kernel is ours, checked against tfjs's own cpu kernel and against webgpu's. */
const OURS = WEFT_KERNELS.filter((k) => k.kernelName !== 'ResizeNearestNeighborGrad' && BACKENDS.includes(k.backendName as BackendName));
const REFERENCES = HAS_SWIFTSHADER ? [NATIVE_CPU, 'webgpu'] : [NATIVE_CPU];

describe.each(KERNELS.filter((k) => k !== 'ResizeNearestNeighborGrad'))('%s', (kernel) => {
  const cases = CASES.map((c, i) => ({ ...c, i })).filter((c) => c.kernel === kernel);
  for (const { backendName: backend } of OURS.filter((k) => k.kernelName === kernel)) {
    for (const reference of REFERENCES.filter((r) => r !== backend)) {
      it(`ours on ${backend} matches ${reference} to ${TOLERANCE} relative over ${cases.length} cases`, () => {
        for (const c of cases) {
          if (c.skip?.includes(backend as BackendName) || c.skip?.includes(reference as BackendName)) continue;
          const [mine, ref] = [results[backend][c.i], results[reference][c.i]];
          expect(mine.length, c.name).toBe(ref.length);
          mine.forEach((values, k) => expect(relativeDiff(values, ref[k]), `${c.name}, output ${k}`).toBeLessThanOrEqual(TOLERANCE));
        }
      });
    }
  }
});

describe('what the replaced kernels got wrong', () => {
  const first = (kernel: string) => CASES.findIndex((c) => c.kernel === kernel);
  it("tfjs's wasm MaxPoolGrad sends an all-negative window's gradient to its first element", () => {
    const i = first('MaxPoolGrad'); // 2x2, stride 2, inputs shifted by −1.5
    expect(relativeDiff(results[NATIVE_WASM][i][0], results[NATIVE_CPU][i][0])).toBeGreaterThan(0.1);
  });

  it("tfjs's wasm Conv2DBackpropInput is right, only slow: ours agrees with it", () => {
    for (const [i, c] of CASES.entries()) if (c.kernel === 'Conv2DBackpropInput') expect(relativeDiff(results.wasm[i][0], results[NATIVE_WASM][i][0]), c.name).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('ResizeNearestNeighborGrad', () => {
  const offset = CASES.findIndex((c) => c.kernel === 'ResizeNearestNeighborGrad');
  for (const backend of BACKENDS) {
    it(`ours on ${backend}: adds each output's weight to the pixel its forward pass copied (batch > 1, halfPixelCenters, alignCorners)`, () => {
      RESIZES.forEach((_, i) => expect(relativeDiff(results[backend][offset + i][0], references[backend]![i]), CASES[offset + i].name).toBeLessThanOrEqual(1e-6));
    });
  }

  it('tfjs\'s own cpu kernel is wrong for batch > 1 (what ours replaces)', () => {
    expect(relativeDiff(results[NATIVE_CPU][offset][0], references.cpu![0])).toBeGreaterThan(0.1); // [3, 3, 3, 2] -> 6x6
  });
});

describe('composite kernels', () => {
  it('borrow bare TensorInfo inputs without freeing them', async () => {
    const rt = await createRuntime({ backend: 'wasm' });
    const [x, dy] = [randomTensor([1, 4, 4, 2], 1), randomTensor([1, 4, 4, 3], 2)];
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] };
    const before = tf.memory().numTensors;
    const viaEngine = run('Conv2DBackpropFilter', { x, dy }, attrs);
    const bare = (t: tf.Tensor) => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
    const { kernelFunc } = tf.getKernel('Conv2DBackpropFilter', 'wasm');
    const direct = kernelFunc({ inputs: { x: bare(x), dy: bare(dy) }, backend: tf.backend(), attrs: attrs as unknown as tf.NamedAttrMap }) as tf.Tensor;
    expect(relativeDiff(await direct.data(), await viaEngine.data())).toBe(0);
    expect(Array.from(await x.data())).toEqual(Array.from(seeded(32, 1))); // still readable
    tf.dispose([viaEngine, direct]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, dy]);
    rt.dispose();
  });
});
