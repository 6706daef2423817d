/**
 * Every example graph that trains (graphs/mnist-judge, mnist-vae, mnist-gan, mnist-vae-gan,
 * moons-flow) learns: a short run from its seeds, small batches, fixed seeds, and the loss the
 * example is about falls (mean of the first steps vs the last). For the GAN it is the
 * discriminator's: the generator's rises while the discriminator learns, by design. For the
 * VAE-GAN it is the encoder's and the decoder's (pixel and feature reconstruction, KL, GAN terms):
 * its discriminator's loss dips and climbs back towards equilibrium as the decoder improves.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createRuntime, type TrainStep } from '../index.ts';
import { fromSeeds, GRAPHS } from './examples-testing.ts';

const CASES: Array<{ file: string; steps: number; loss: string | string[]; set?: Record<string, Record<string, unknown>> }> = [
  { file: 'mnist-judge.json', steps: 20, loss: 'opt', set: { data: { batchSize: 8 } } },
  { file: 'mnist-vae.json', steps: 30, loss: 'opt', set: { data: { batchSize: 16 } } },
  { file: 'mnist-gan.json', steps: 30, loss: 'optD', set: { data: { batchSize: 16 }, noise: { shape: [16, 16] }, realNoise: { shape: [16, 28, 28, 1] }, fakeNoise: { shape: [16, 28, 28, 1] } } },
  { file: 'mnist-vae-gan.json', steps: 30, loss: ['optEnc', 'optDec'], set: { data: { batchSize: 16 }, noise: { shape: [16, 8] } } },
  { file: 'moons-flow.json', steps: 40, loss: 'opt', set: { data: { batchSize: 64 } } },
];
const K = 5;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('a short training run of each example graph lowers its loss', () => {
  for (const c of CASES) {
    const names = [c.loss].flat();
    it(`${c.file}: ${names.join(' and ')}, mean of the last ${K} of ${c.steps} steps below the first ${K}`, async () => {
      const before = tf.memory().numTensors;
      const rt = await createRuntime({ backend: 'wasm' });
      const history: TrainStep[] = (await rt.train(fromSeeds(c.file, c.set), { steps: c.steps, baseDir: GRAPHS.pathname })).history;
      rt.dispose(); // with the optimizers' state, which a runtime keeps for the next train()
      expect(tf.memory().numTensors).toBe(before);
      for (const name of names) {
        const losses = history.map((h) => h.losses[name]);
        expect(losses.every(Number.isFinite), name).toBe(true);
        const [first, last] = [mean(losses.slice(0, K)), mean(losses.slice(-K))];
        expect(last, `${name}: first ${first}, last ${last}`).toBeLessThan(first);
      }
    }, 60_000);
  }
});
