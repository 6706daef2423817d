/**
 * The gradients Weft adds (no backend has them in tfjs 4.22), on cpu, wasm and webgpu. Each is
 * checked against an independent reference: the strided-slice and gatherND gradients against the
 * scatter their own forward pass implies (run the op on a tensor of element indices, add each
 * output's weight at the index it copied), where's against the leaky ReLU it spells out.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type BackendName } from '../../index.ts';
import { registeredGradients } from './index.ts';
import { HAS_SWIFTSHADER, randomTensor, readAll, relativeDiff, seeded } from './testing.ts';

const BACKENDS: BackendName[] = HAS_SWIFTSHADER ? ['cpu', 'wasm', 'webgpu'] : ['cpu', 'wasm'];

/** An op from x to y whose gradient is a scatter through the positions its forward pass reads. */
interface Gather {
  name: string;
  shape: number[];
  op: (x: tf.Tensor) => tf.Tensor;
  skip?: BackendName;
}
const ids = (values: number[], shape: number[]) => tf.tensor<tf.Rank>(values, shape, 'int32');
const GATHERS: Gather[] = [
  { name: 'stridedSlice, stride 2 on axis 1', shape: [2, 6, 5, 3], op: (x) => tf.stridedSlice(x, [0, 0, 0, 0], [2, 6, 5, 3], [1, 2, 1, 1]) },
  { name: 'stridedSlice, offsets and strides on every axis', shape: [4, 7, 5], op: (x) => tf.stridedSlice(x, [1, 2, 0], [4, 7, 5], [2, 3, 2]) },
  { name: 'stridedSlice, negative stride (a reversal)', shape: [3, 6], op: (x) => tf.stridedSlice(x, [0, 5], [3, 0], [1, -2]) },
  { name: 'stridedSlice, begin/end masks', shape: [3, 5, 4], op: (x) => tf.stridedSlice(x, [1, 1, 0], [0, 4, 0], [1, 1, 2], 0b100, 0b101) },
  // (with a stride as well, cpu's forward kernel fails on a shrunk axis)
  { name: 'stridedSlice, a shrunk axis', shape: [3, 5, 4], op: (x) => tf.stridedSlice(x, [1, 1, 0], [2, 4, 4], [1, 1, 1], 0, 0, 0, 0, 0b001) },
  { name: 'stridedSlice, a new axis', shape: [4, 6], op: (x) => tf.stridedSlice(x, [0, 0, 1], [4, 0, 6], [1, 1, 2], 0, 0, 0, 0b010) },
  // (webgpu cannot sum an empty tensor: the loss itself fails there)
  { name: 'stridedSlice, an empty slice', shape: [3, 4], op: (x) => tf.stridedSlice(x, [2, 0], [2, 4], [1, 1]), skip: 'webgpu' },
  { name: 'gatherND, whole rows, repeated', shape: [5, 3], op: (x) => tf.gatherND(x, ids([4, 1, 4, 0], [4, 1])) },
  { name: 'gatherND, single elements of a rank-3 tensor', shape: [2, 3, 4], op: (x) => tf.gatherND(x, ids([1, 2, 3, 0, 0, 0, 1, 2, 3, 1, 1, 1], [2, 2, 3])) },
];

/** d/dx Σ r ⊙ op(x), r seeded. */
const gradientOf = (g: Gather, i: number) => () => {
  const x = randomTensor(g.shape, 60 + i);
  const size = tf.tidy(() => g.op(x).shape);
  const r = randomTensor(size, 70 + i);
  return [tf.grad((a) => tf.sum(tf.mul(g.op(a), r)))(x)];
};

/** The same from the forward pass: op over element indices says where each output came from. */
async function scatterReference(g: Gather, i: number): Promise<Float32Array> {
  const count = g.shape.reduce((a, b) => a * b, 1);
  const [from] = await readAll([tf.tidy(() => g.op(tf.range(0, count).reshape(g.shape)))]);
  const r = seeded(from.length, 70 + i);
  const dx = new Float32Array(count);
  from.forEach((src, j) => (dx[src] += r[j]));
  return dx;
}

/** where(x > 0, x, 0.2·x) and where(0 < x < 1, x², −x): their gradients, and leaky ReLU's. */
const branches = () => {
  const x = randomTensor([3, 5], 80, 2);
  const leaky = tf.grad((a) => tf.sum(tf.where(tf.greater(a, 0), a, tf.mul(a, 0.2))))(x);
  const band = tf.grad((a) => tf.sum(tf.where(tf.logicalAnd(tf.less(a, 1), tf.greater(a, 0)), tf.square(a), tf.neg(a))))(x);
  const reference = tf.grad((a) => tf.sum(tf.leakyRelu(a, 0.2)))(x);
  const bandReference = tf.where(tf.logicalAnd(tf.less(x, 1), tf.greater(x, 0)), tf.mul(x, 2), tf.fill(x.shape, -1));
  return [leaky, reference, band, bandReference];
};

const results: Partial<Record<BackendName, { gathers: Float32Array[]; references: Float32Array[]; branches: Float32Array[] }>> = {};
const leaked: Partial<Record<BackendName, number>> = {};
let registered: string[] = [];

beforeAll(async () => {
  for (const backend of BACKENDS) {
    const rt = await createRuntime({ backend });
    registered = registeredGradients();
    const before = tf.memory().numTensors;
    const gathers: Float32Array[] = [];
    for (const [i, g] of GATHERS.entries()) gathers.push(g.skip === backend ? new Float32Array() : (await readAll(tf.tidy(gradientOf(g, i))))[0]);
    const references = await Promise.all(GATHERS.map(scatterReference));
    results[backend] = { gathers, references, branches: await readAll(tf.tidy(branches)) };
    leaked[backend] = tf.memory().numTensors - before;
    rt.dispose();
  }
}, 60_000);

describe('gradients tfjs has for no backend', () => {
  it('are registered once a backend is active', () => {
    expect(registered).toEqual(['Greater', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr', 'LogicalNot', 'All', 'Any', 'StridedSlice', 'GatherNd']);
  });

  for (const backend of BACKENDS) {
    it(`on ${backend}: stridedSlice and gatherND scatter the gradient back where the forward pass read (masks, negative strides, repeats)`, () => {
      const { gathers, references } = results[backend]!;
      GATHERS.forEach((g, i) => g.skip !== backend && expect(relativeDiff(gathers[i], references[i]), g.name).toBeLessThanOrEqual(1e-6));
    });

    it(`on ${backend}: tf.where on a condition from the differentiated tensor has the gradient of its branches`, () => {
      const [leaky, reference, band, bandReference] = results[backend]!.branches;
      expect(relativeDiff(leaky, reference)).toBe(0);
      expect(relativeDiff(band, bandReference)).toBeLessThanOrEqual(1e-6);
      expect(new Set(leaky)).toEqual(new Set([1, 0.2].map(Math.fround))); // both branches taken
    });
  }

  it('leak nothing on any backend', () => {
    for (const backend of BACKENDS) expect(leaked[backend], backend).toBe(0);
  });
});
