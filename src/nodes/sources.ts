/**
 * Sources: values that start a graph.
 *
 * NoiseSource draws from tfjs's seeded generators, which give the same numbers on every backend
 * (cpu, wasm, webgpu), so a seed names one exact tensor. Unseeded randomness is opt-in through
 * `volatile`, which also keeps the node out of the cache. During training, step k draws from
 * stepSeed(seed, k), so every step sees fresh noise and a run replays exactly from its seed.
 */
import * as tf from '@tensorflow/tfjs';
import { bool, defineNode, enumParam, number, seedParam, shapeParam, stepSeed, tensor, tfSeed } from '../runtime/index.ts';

export const NoiseSource = defineNode({
  type: 'NoiseSource',
  category: 'sources',
  doc: 'A tensor of seeded noise: standard normal N(0, 1) or uniform U[0, 1).',
  inputs: {},
  outputs: { out: tensor(undefined, { doc: 'the noise tensor' }) },
  params: {
    shape: shapeParam([1, 8, 8, 4], { doc: 'tensor shape, NHWC for images and latents' }),
    seed: seedParam(0, { doc: 'the same seed gives the same tensor on every backend' }),
    distribution: enumParam(['normal', 'uniform'], 'normal'),
    volatile: bool(false, { doc: 'draw fresh noise on every run (ignores the seed, never cached)' }),
  },
  volatile: (p) => p.volatile,
  stochastic: true, // in training, step k draws from stepSeed(seed, k): fresh noise every step
  infer: ({ params }) => ({ out: tensor(params.shape) }),
  run: ({ params, step }) => {
    const seed = params.volatile ? undefined : tfSeed(stepSeed(params.seed, step));
    const out =
      params.distribution === 'normal'
        ? tf.randomNormal(params.shape, 0, 1, 'float32', seed)
        : tf.randomUniform(params.shape, 0, 1, 'float32', seed);
    return { out };
  },
});

export const Constant = defineNode({
  type: 'Constant',
  category: 'sources',
  doc: 'A tensor filled with one value.',
  inputs: {},
  outputs: { out: tensor() },
  params: {
    shape: shapeParam([1, 8, 8, 3]),
    value: number(0, { doc: 'every element of the tensor', step: 0.1 }),
  },
  infer: ({ params }) => ({ out: tensor(params.shape) }),
  run: ({ params }) => ({ out: tf.fill(params.shape, params.value) }),
});
