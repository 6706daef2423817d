import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelHandle } from '../runtime/index.ts';
import { attention, downsample2x, gelu, groupNorm, linear, timestepEmbedding, upsample2x } from './nn.ts';

let m: ModelHandle;
beforeAll(async () => {
  await tf.setBackend('cpu');
  m = new ModelHandle('test', {}, 3);
});
afterAll(() => m.dispose());

const arr = async (t: tf.Tensor) => Array.from(await t.data());

describe('layers', () => {
  it('group norm gives each (sample, group) zero mean and unit variance before the affine part', async () => {
    const x = tf.randomNormal([2, 4, 4, 6], 3, 2, 'float32', 1) as tf.Tensor4D;
    const y = groupNorm(m, 'gn', x, 3);
    const { mean, variance } = tf.moments(y.reshape([2, 4, 4, 3, 2]), [1, 2, 4]);
    for (const v of await arr(mean)) expect(Math.abs(v)).toBeLessThan(1e-5);
    for (const v of await arr(variance)) expect(v).toBeCloseTo(1, 3);
  });

  it('attention rows are convex combinations: with equal values everywhere the output is that value projected', async () => {
    const x = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 2) as tf.Tensor3D;
    const ctx = tf.ones([2, 3, 6]) as tf.Tensor3D;
    const y = attention(m, 'att', x, ctx, 2);
    expect(y.shape).toEqual([2, 5, 8]);
    // every key/value row is identical, so the output cannot depend on the query
    const rows = (await y.array()) as number[][][];
    for (const batch of rows) for (const row of batch) row.forEach((v, i) => expect(v).toBeCloseTo(batch[0][i], 5));
  });

  it('linear maps the last axis and keeps the rest', () => {
    expect(linear(m, 'lin', tf.zeros([2, 3, 4]), 7).shape).toEqual([2, 3, 7]);
  });

  it('the timestep embedding is [cos(t·f), sin(t·f)] with f_i = 10000^(-i/half)', async () => {
    const emb = await arr(timestepEmbedding(tf.tensor1d([0, 10]), 8));
    const half = 4;
    for (let i = 0; i < half; i++) {
      const f = 10000 ** (-i / half);
      expect(emb[i]).toBeCloseTo(1, 6); // t = 0: cos 0
      expect(emb[half + i]).toBeCloseTo(0, 6);
      expect(emb[8 + i]).toBeCloseTo(Math.cos(10 * f), 5);
      expect(emb[8 + half + i]).toBeCloseTo(Math.sin(10 * f), 5);
    }
  });

  it('gelu matches 0.5·x·(1 + erf(x/√2)) at known points', async () => {
    const y = await arr(gelu(tf.tensor1d([-1, 0, 1, 2])));
    [-0.158655, 0, 0.841345, 1.954500].forEach((v, i) => expect(y[i]).toBeCloseTo(v, 5));
  });

  it('downsampling an upsampled map gives the map back', async () => {
    const x = tf.randomNormal([2, 3, 5, 4], 0, 1, 'float32', 4) as tf.Tensor4D;
    const up = upsample2x(x);
    expect(up.shape).toEqual([2, 6, 10, 4]);
    const back = await arr(downsample2x(up));
    (await arr(x)).forEach((v, i) => expect(back[i]).toBeCloseTo(v, 6));
  });

  it('upsampling repeats each pixel in a 2x2 block, and its gradient sums each block back (trainable)', async () => {
    const x = tf.randomNormal([2, 3, 5, 4], 0, 1, 'float32', 5) as tf.Tensor4D;
    const up = (await upsample2x(x).array()) as number[][][][];
    const src = (await x.array()) as number[][][][];
    for (let n = 0; n < 2; n++) for (let i = 0; i < 6; i++) for (let j = 0; j < 10; j++) expect(up[n][i][j]).toEqual(src[n][i >> 1][j >> 1]);
    // d/dx Σ w·up(x) = the 2x2 block sums of w
    const w = tf.randomNormal([2, 6, 10, 4], 0, 1, 'float32', 6);
    const g = await arr(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(upsample2x(a as tf.Tensor4D), w)))(x));
    const blocks = await arr(tf.mul(downsample2x(w as tf.Tensor4D), 4));
    g.forEach((v, i) => expect(v).toBeCloseTo(blocks[i], 5));
  });
});
