/**
 * The fixtures of diffusers' scheduler tests (tests/schedulers/test_schedulers.py), in NHWC.
 *
 * diffusers builds `dummy_sample_deter` as arange(768)/768 reshaped to (C, H, W, N) = (3, 8, 8, 4)
 * and permuted to NCHW, so element (n, c, h, w) = (((c·8 + h)·8 + w)·4 + n)/768; here the same
 * element sits at (n, h, w, c). `dummy_noise_deter` is the same with arange reversed. Their
 * `dummy_model` is x·t/(t + 1). Sums and means do not depend on the layout.
 */
import * as tf from '@tensorflow/tfjs';

const N = 4;
const C = 3;
const H = 8;
const W = 8;
const COUNT = N * C * H * W;

function deter(value: (k: number) => number): tf.Tensor {
  const data = new Float32Array(COUNT);
  for (let n = 0; n < N; n++)
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++)
        for (let c = 0; c < C; c++) data[((n * H + h) * W + w) * C + c] = value(((c * H + h) * W + w) * N + n) / COUNT;
  return tf.tensor(data, [N, H, W, C], 'float32');
}

export const dummySampleDeter = (): tf.Tensor => deter((k) => k);
export const dummyNoiseDeter = (): tf.Tensor => deter((k) => COUNT - 1 - k);

/** x·t/(t + 1), in float32 as torch computes it. */
export const dummyModel = (x: tf.Tensor, t: number): tf.Tensor => {
  const t32 = Math.fround(t);
  return tf.tidy(() => tf.div(tf.mul(x, t32), Math.fround(t32 + 1)));
};

/** sum(|x|) and mean(|x|), accumulated in float64. */
export async function absStats(x: tf.Tensor): Promise<{ sum: number; mean: number }> {
  const data = await x.data();
  let sum = 0;
  for (const v of data) sum += Math.abs(v);
  return { sum, mean: sum / data.length };
}
