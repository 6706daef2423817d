/**
 * The vae and gan kinds under the trainer (src/runtime/train.ts): gradients flow through
 * VAEEncode, VAEDecode and Discriminate, ε is fresh each step, and a small VAE-GAN's negative
 * ELBO falls. The losses are test kinds here, written out from their formulas.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, defineNode, tensor, type Runtime } from '../index.ts';
import { graph } from '../runtime/testing.ts';
import { createRegistry } from './index.ts';

/** −ELBO per image: Σ BCE(x, x̂) + KL(N(μ, σ²) ‖ N(0, I)), averaged over the batch. */
const NegElbo = defineNode({
  type: 'TNegElbo',
  category: 'losses',
  doc: 'negative ELBO of a Bernoulli VAE',
  inputs: { image: tensor(), recon: tensor(), mean: tensor(), logvar: tensor() },
  outputs: { loss: tensor([]) },
  params: {},
  run: ({ inputs }) => {
    const [x, xHat, mu, lv] = [inputs.image, inputs.recon, inputs.mean, inputs.logvar] as tf.Tensor[];
    const p = tf.clipByValue(xHat, 1e-6, 1 - 1e-6);
    const bce = tf.neg(tf.add(tf.mul(x, tf.log(p)), tf.mul(tf.sub(1, x), tf.log(tf.sub(1, p)))));
    const kl = tf.mul(-0.5, tf.sub(tf.sub(tf.add(1, lv), tf.square(mu)), tf.exp(lv)));
    const n = x.shape[0];
    return { loss: tf.div(tf.add(tf.sum(bce), tf.sum(kl)), n) };
  },
});
/** The discriminator's GAN loss on logits: softplus(−real) + softplus(fake) (Goodfellow et al. 2014). */
const DLoss = defineNode({
  type: 'TDLoss',
  category: 'losses',
  doc: 'discriminator loss on logits',
  inputs: { real: tensor(), fake: tensor() },
  outputs: { loss: tensor([]) },
  params: {},
  run: ({ inputs }) => ({ loss: tf.add(tf.mean(tf.softplus(tf.neg(inputs.real))), tf.mean(tf.softplus(inputs.fake))) }),
});

let rt: Runtime;
beforeAll(async () => {
  // cpu: wasm has no conv filter gradient (ENVIRONMENT.md)
  rt = await createRuntime({ backend: 'cpu', registry: createRegistry().register(NegElbo, DLoss) });
});
afterAll(() => rt.dispose());

const vaeGan = graph(
  [
    ['images', 'Constant', { shape: [4, 8, 8, 1], value: 0.9 }],
    ['vae', 'VAE', { inChannels: 1, baseChannels: 4, latentChannels: 2, downsamplings: 1, groups: 2, seed: 1 }],
    ['enc', 'VAEEncode', { seed: 2 }],
    ['dec', 'VAEDecode'],
    ['disc', 'Discriminator', { arch: 'conv', inShape: [8, 8, 1], width: 4, depth: 2, seed: 3 }],
    ['judgeReal', 'Discriminate'],
    ['judgeFake', 'Discriminate'],
    ['elbo', 'TNegElbo'],
    ['dLoss', 'TDLoss'],
    ['optD', 'Optimizer', { learningRate: 0.01 }],
    ['optVae', 'Optimizer', { learningRate: 0.01 }],
    ['trainer', 'Trainer'],
    ['latent', 'TensorOutput'],
    ['realLogits', 'TensorOutput'],
  ],
  [
    'vae.model -> enc.model',
    'images.out -> enc.image',
    'vae.model -> dec.model',
    'enc.latent -> dec.latent',
    'disc.model -> judgeReal.model',
    'images.out -> judgeReal.x',
    'disc.model -> judgeFake.model',
    'dec.image -> judgeFake.x',
    'images.out -> elbo.image',
    'dec.image -> elbo.recon',
    'enc.mean -> elbo.mean',
    'enc.logvar -> elbo.logvar',
    'judgeReal.logits -> dLoss.real',
    'judgeFake.logits -> dLoss.fake',
    'dLoss.loss -> optD.loss',
    'disc.model -> optD.models',
    'elbo.loss -> optVae.loss',
    'vae.model -> optVae.models',
    'optD.optimizer -> trainer.optimizers',
    'optVae.optimizer -> trainer.optimizers',
    'enc.latent -> latent.x',
    'judgeReal.logits -> realLogits.x',
  ],
);

describe('training a small VAE-GAN', () => {
  it('the negative ELBO falls, the discriminator is updated too, and ε is fresh each step', async () => {
    const before = await rt.run(vaeGan, { outputs: ['latent', 'realLogits'] });
    const res = await rt.train(vaeGan, { steps: 20 });
    const elbo = res.history.map((h) => h.losses.optVae);
    const d = res.history.map((h) => h.losses.optD);
    expect(elbo).toHaveLength(20);
    const head = (xs: number[]) => xs.slice(0, 5).reduce((a, b) => a + b) / 5;
    const tail = (xs: number[]) => xs.slice(-5).reduce((a, b) => a + b) / 5;
    expect(tail(elbo)).toBeLessThan(0.8 * head(elbo));
    // the discriminator's loss is one side of a game (its fakes improve), so it need not fall: it is
    // finite, and D's judgement of the same real images moved
    expect(d.every(Number.isFinite)).toBe(true);
    // the images are constant, so step-to-step changes in the early losses come from ε and the updates
    expect(new Set(elbo.slice(0, 5)).size).toBe(5);
    // a following run sees the trained encoder
    const after = await rt.run(vaeGan, { outputs: ['latent', 'realLogits'] });
    expect(after.nodes.enc.status).toBe('ran');
    expect(after.outputs.latent.mean).not.toEqual(before.outputs.latent.mean);
    expect(after.outputs.realLogits.mean).not.toEqual(before.outputs.realLogits.mean);
  });
});
