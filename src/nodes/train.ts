/**
 * Training kinds. They describe; src/runtime/train.ts does the stepping (rt.train, `weft train`).
 *
 *   Optimizer  a loss to minimise and the models it updates, with its update rule:
 *              adam   (Kingma & Ba 2015)  m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  θ ← θ − α·m̂/(√v̂ + ε)
 *              sgd    with momentum μ:    u ← μu + g,  θ ← θ − α·u
 *              optional: clip the global gradient norm; skip the update when the loss leaves a band
 *              (the balancing VAE-GAN papers use to keep D and G matched)
 *   Trainer    the optimizers in the order they step each iteration (GAN: D then G)
 *
 * In an ordinary run an Optimizer shows its loss at step 0 and the Trainer does nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { defineNode, enumParam, int, model, number, optimizer, tensor, type Resource } from '../runtime/index.ts';

const descriptor = (): Resource => ({ resource: 'optimizer', bytes: () => 0, dispose: () => {} });

export const Optimizer = defineNode({
  type: 'Optimizer',
  category: 'training',
  doc: 'Minimises a scalar loss by updating the models connected to it (Adam or SGD with momentum). A Trainer decides when it steps.',
  inputs: {
    loss: tensor([], { doc: 'the scalar loss to minimise' }),
    models: model(undefined, { multi: true, doc: 'the models whose weights this optimizer updates' }),
  },
  outputs: { optimizer: optimizer({ doc: 'connect to a Trainer' }) },
  display: { loss: tensor([], { doc: 'the loss at step 0' }) },
  params: {
    algorithm: enumParam(['adam', 'sgd'], 'adam'),
    learningRate: number(1e-3, { min: 0, max: 10, step: 1e-4 }),
    beta1: number(0.9, { min: 0, max: 0.999999, doc: 'adam: decay of the first moment' }),
    beta2: number(0.999, { min: 0, max: 0.999999, doc: 'adam: decay of the second moment' }),
    epsilon: number(1e-8, { min: 0, max: 1, doc: 'adam: added to the denominator' }),
    momentum: number(0, { min: 0, max: 0.999999, doc: 'sgd: momentum (0 = plain SGD)' }),
    clipNorm: number(0, { min: 0, doc: 'clip the global gradient norm to this (0 = off)' }),
    bandMin: number(0, { doc: 'skip the update when the loss is below this (with bandMax > bandMin)' }),
    bandMax: number(0, { doc: 'skip the update when the loss is above this (0 = no band)' }),
    ema: number(0, { min: 0, max: 0.99999, step: 1e-4, doc: 'keep an exponential moving average of the weights with this decay (e.g. 0.999; 0 = off): saved weights are the average, which smooths a GAN generator' }),
  },
  training: {
    role: 'optimizer',
    create: (p) =>
      p.algorithm === 'adam'
        ? tf.train.adam(p.learningRate, p.beta1, p.beta2, p.epsilon)
        : p.momentum > 0
          ? tf.train.momentum(p.learningRate, p.momentum)
          : tf.train.sgd(p.learningRate),
    clipNorm: (p) => p.clipNorm,
    band: (p) => (p.bandMax > p.bandMin ? [p.bandMin, p.bandMax] : null),
    slots: (p) => (p.algorithm === 'adam' ? ['m', 'v'] : p.momentum > 0 ? ['momentum'] : []),
    average: (p) => p.ema,
  },
  run: ({ inputs }) => ({ optimizer: descriptor(), loss: inputs.loss }),
});

export const Trainer = defineNode({
  type: 'Trainer',
  category: 'training',
  doc: 'Steps its optimizers in the order they are connected, once each per iteration, re-running the graph forward with a fresh batch every step.',
  inputs: { optimizers: optimizer({ multi: true, doc: 'stepped in edge order each iteration' }) },
  outputs: {},
  params: {
    iterations: int(200, { min: 1, max: 1_000_000, doc: 'how many steps Train runs (the CLI’s --steps overrides it)' }),
    logInterval: int(10, { min: 1, doc: 'report losses every this many steps' }),
  },
  training: { role: 'trainer' },
  run: () => ({}),
});
