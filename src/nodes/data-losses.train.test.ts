/**
 * Datasets and losses under the Trainer: each step runs them synchronously inside the gradient
 * tape, with the Dataset serving batch `step`. Short runs (wasm) whose losses must fall.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../index.ts';
import { graph } from '../runtime/testing.ts';
import { moonsFlowGraph } from './flow/testing.ts';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ backend: 'wasm' });
});
afterAll(() => rt.dispose());

describe('training on Dataset batches', () => {
  it('a RealNVP flow on moons: FlowNLL falls, and every step sees another batch', async () => {
    const doc = moonsFlowGraph();
    const before = tf.memory().numTensors;
    const res = await rt.train(doc, { steps: 80 });
    const losses = res.history.map((h) => h.losses.opt);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(mean(losses.slice(-10))).toBeLessThan(mean(losses.slice(0, 10)) - 0.3);
    expect(new Set(losses.slice(0, 5)).size).toBe(5);
    rt.clearCache();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 64); // optimizer moments aside
  });

  it('a discriminator learns MNIST digits from uniform noise with GANLoss terms in a WeightedSum', async () => {
    const doc = graph(
      [
        ['disc', 'Discriminator', { arch: 'mlp', inShape: [28, 28, 1], width: 32, depth: 1, seed: 4 }],
        ['data', 'Dataset', { name: 'mnist', batchSize: 32, seed: 2 }],
        ['noise', 'NoiseSource', { shape: [32, 28, 28, 1], seed: 5, distribution: 'uniform' }],
        ['dReal', 'Discriminate'],
        ['dFake', 'Discriminate'],
        ['real', 'GANLoss', { role: 'discriminator_real', smoothing: 0.1 }],
        ['fake', 'GANLoss', { role: 'discriminator_fake' }],
        ['sum', 'WeightedSum', { weights: '0.5, 0.5' }],
        ['opt', 'Optimizer', { learningRate: 0.002 }],
        ['trainer', 'Trainer'],
      ],
      [
        'disc.model -> dReal.model',
        'disc.model -> dFake.model',
        'data.batch -> dReal.x',
        'noise.out -> dFake.x',
        'dReal.logits -> real.logits',
        'dFake.logits -> fake.logits',
        'real.loss -> sum.terms',
        'fake.loss -> sum.terms',
        'sum.loss -> opt.loss',
        'disc.model -> opt.models',
        'opt.optimizer -> trainer.optimizers',
      ],
    );
    // No warm-up run: the trainer awaits the Dataset's prepare hook (loading the digits) before step 0.
    const res = await rt.train(doc, { steps: 30 });
    const losses = res.history.map((h) => h.losses.opt);
    expect(losses[0]).toBeGreaterThan(0.5);
    expect(mean(losses.slice(-5))).toBeLessThan(0.35); // smoothing 0.1 keeps the floor near 0.16
    rt.clearCache();
  });
});
