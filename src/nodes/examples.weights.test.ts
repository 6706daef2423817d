/**
 * The shipped weights (graphs/weights/, written by `npm run train:examples`) against the quality
 * targets, with the fixed seeds docs/training.md reports:
 *
 *   judge     accuracy on the 1,000 MNIST test digits; its Inception-style score of those digits
 *   VAE-GAN   the judge's Inception-style score of 1,000 prior samples: as recorded, and at
 *             least 8 (issue 4's target)
 *   VAE, GAN  the same score, well above a collapsed model's 1
 *   flow      test NLL on moons clearly below that of one Gaussian fitted to the training points
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, loadGraph, loadJudge, moonsGaussianNll, SCORE_SAMPLES, SCORE_SEED, scorePriorSamples, type GraphDoc, type ModelHandle, type Runtime } from '../index.ts';
import { GRAPHS } from './examples-testing.ts';

const shipped = (file: string): GraphDoc => loadGraph(readFileSync(new URL(file, GRAPHS), 'utf8'));

let rt: Runtime;
let judge: ModelHandle;
let before: number;
beforeAll(async () => {
  rt = await createRuntime({ backend: 'wasm' });
  before = tf.memory().numTensors;
  judge = await loadJudge();
});
afterAll(() => {
  judge.dispose();
  rt.clearCache();
  expect(tf.memory().numTensors).toBe(before);
  rt.dispose();
});

const score = (file: string) => scorePriorSamples(rt, judge, shipped(file), { n: SCORE_SAMPLES, seed: SCORE_SEED, baseDir: GRAPHS.pathname });

describe('the shipped weights', () => {
  it('the judge classifies the 1,000 MNIST test digits with 96% accuracy, and scores them 9.4', async () => {
    const res = await rt.run(shipped('mnist-judge.json'), { outputs: ['testAccuracy', 'score'], baseDir: GRAPHS.pathname });
    expect(res.outputs.testAccuracy.mean as number).toBeCloseTo(0.962, 3);
    expect(res.outputs.score.mean as number).toBeGreaterThan(9.4);
  });

  it("the VAE-GAN's, the VAE's and the GAN's prior samples score as recorded, well above a collapsed model's 1; the VAE-GAN's at least 8", async () => {
    for (const file of ['mnist-vae-gan.json', 'mnist-vae.json', 'mnist-gan.json']) {
      const { score: s, histogram } = await score(file);
      expect(s, `${file}: judged classes ${histogram}`).toBeCloseTo(RECORDED[file], 2);
      if (file === 'mnist-vae-gan.json') expect(s).toBeGreaterThanOrEqual(8);
    }
  });

  it("the flow's test NLL on moons beats one Gaussian's by more than 1 nat per point", async () => {
    const res = await rt.run(shipped('moons-flow.json'), { outputs: ['testLoss'], baseDir: GRAPHS.pathname });
    const flow = res.outputs.testLoss.mean as number;
    const gaussian = moonsGaussianNll();
    expect(gaussian).toBeCloseTo(1.882, 3);
    expect(flow).toBeLessThan(gaussian - 1);
  });
});

/** The scores docs/training.md records for the shipped weights (wasm; fixed seeds, so they replay). */
const RECORDED: Record<string, number> = { 'mnist-vae-gan.json': 8.123, 'mnist-vae.json': 6.068, 'mnist-gan.json': 4.415 };
