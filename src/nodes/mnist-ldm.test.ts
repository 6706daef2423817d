/**
 * The latent diffusion example on MNIST, both stages, with the weights it ships:
 *
 *   graphs/mnist-ldm-autoencoder.json   stage 1, the KL-regularised autoencoder: its shipped weights
 *                                       reconstruct test digits; a short run from its seed lowers its loss
 *   graphs/mnist-ldm.json               stage 2, the text-conditioned U-Net in that latent space:
 *                                       prompted with each digit, the shipped model makes that digit
 *                                       (by the MNIST judge) in at least 90% of samples (issue 4's
 *                                       target), as docs/training.md records; a short run from its
 *                                       seeds lowers the noise-prediction loss
 *
 * Every number comes from fixed seeds on wasm; `npm run train:examples -- ldm-autoencoder ldm`
 * (scripts/examples/ldm*.ts) trains the weights, docs/training.md records the run.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, loadGraph, setParam, type GraphDoc, type ModelHandle, type Runtime, type TensorData } from '../index.ts';
import { loadJudge } from '../eval.ts';
import { promptedAccuracy } from '../../scripts/examples/_prompted.ts';

const GRAPHS = new URL('../../graphs/', import.meta.url).pathname;
const load = (name: string) => loadGraph(readFileSync(`${GRAPHS}${name}`, 'utf8'));
const autoencoder = load('mnist-ldm-autoencoder.json');
const ldm = load('mnist-ldm.json');

/** The shipped-weights check, as docs/training.md records it: 50 samples per digit, noise seed 2024, the graph's sampler (20 DDIM steps, cfg 6). */
export const CHECK = { perDigit: 50, seed: 2024, steps: 20, cfgScale: 6 };
/** Issue 4's target for the prompted-digit accuracy (the shipped weights measure 0.928 at CHECK); chance is 0.1. */
const ACHIEVED = 0.9;

/** The graph training from its seeds: the trained builders' weights params emptied, a small batch. */
function fromSeeds(doc: GraphDoc, batch: number, sets: Array<[string, string, unknown]> = []): GraphDoc {
  let d = doc;
  for (const n of doc.nodes) if (typeof n.params.weights === 'string' && n.params.weights && n.type !== 'VAE') d = setParam(d, n.id, 'weights', '');
  d = setParam(d, 'data', 'batchSize', batch);
  for (const [id, p, v] of sets) d = setParam(d, id, p, v);
  return d;
}

/** Trains in a runtime of its own, disposed after (its cache and its optimizers' Adam moments): every tensor it made is gone. */
async function trainFresh(doc: GraphDoc, steps: number): Promise<number[]> {
  const before = tf.memory().numTensors;
  const own = await createRuntime({ backend: 'wasm' });
  const loss = (await own.train(doc, { steps, baseDir: GRAPHS })).history.map((h) => h.losses.optimizer);
  own.dispose();
  expect(tf.memory().numTensors, 'tensors left after training').toBe(before);
  return loss;
}

const head = (xs: number[], k = 5) => xs.slice(0, k).reduce((a, b) => a + b) / k;
const tail = (xs: number[], k = 5) => xs.slice(-k).reduce((a, b) => a + b) / k;

let rt: Runtime;
let judge: ModelHandle;
let baseline: number;
beforeAll(async () => {
  rt = await createRuntime({ backend: 'wasm' });
  baseline = tf.memory().numTensors;
  judge = await loadJudge();
});
afterAll(() => {
  judge.dispose();
  rt.dispose();
});

describe('graphs/mnist-ldm-autoencoder.json (stage 1)', () => {
  it('the shipped autoencoder reconstructs test digits it never saw', async () => {
    const res = await rt.run(autoencoder, { outputs: ['originals', 'reconstructions', 'latents'], baseDir: GRAPHS });
    const x = res.outputs.originals.image as TensorData;
    const y = res.outputs.reconstructions.image as TensorData;
    expect(y.shape).toEqual([16, 28, 28, 1]);
    let bce = 0;
    for (let i = 0; i < x.data.length; i++) {
      const p = Math.min(Math.max(y.data[i], 1e-7), 1 - 1e-7);
      bce -= x.data[i] * Math.log(p) + (1 - x.data[i]) * Math.log(1 - p);
    }
    bce /= 16;
    console.log(`stage 1: test reconstruction BCE ${bce.toFixed(1)} nats per digit; latent mean ${(res.outputs.latents.mean as number).toFixed(3)}, std ${(res.outputs.latents.std as number).toFixed(3)}`);
    expect(bce).toBeLessThan(90); // an untrained decoder: ~545 (every pixel 0.5)
  });

  it('a short run from the seed lowers the loss (BCE + β·KL) and leaves no tensor behind', async () => {
    const loss = await trainFresh(fromSeeds(autoencoder, 8, [['vae', 'weights', '']]), 20);
    console.log(`stage 1, 20 steps of batch 8: ${head(loss).toFixed(1)} -> ${tail(loss).toFixed(1)}`);
    expect(tail(loss)).toBeLessThan(0.8 * head(loss));
  });
});

describe('graphs/mnist-ldm.json (stage 2)', () => {
  let accuracy = NaN;
  it(`prompted with each digit, the shipped model makes it at least 90% of the time (${CHECK.perDigit} samples per digit, ${CHECK.steps} DDIM steps, cfg ${CHECK.cfgScale})`, async () => {
    const r = await promptedAccuracy(rt, judge, ldm, { ...CHECK, baseDir: GRAPHS });
    accuracy = r.accuracy;
    console.log(`stage 2: judge accuracy ${r.accuracy.toFixed(2)}; per digit 0..9: ${r.perDigit.map((a) => a.toFixed(1)).join(' ')}; labels ${r.labels.join('')}`);
    expect(r.images.shape).toEqual([10 * CHECK.perDigit, 28, 28, 1]);
    expect(r.accuracy).toBeGreaterThanOrEqual(ACHIEVED);
  });

  it('a short run from the seeds lowers the noise-prediction loss and leaves no tensor behind', async () => {
    const loss = await trainFresh(fromSeeds(ldm, 16, [['noise', 'shape', [16, 7, 7, 4]]]), 20);
    console.log(`stage 2, 20 steps of batch 16: ${head(loss).toFixed(3)} -> ${tail(loss).toFixed(3)}`);
    expect(tail(loss)).toBeLessThan(0.8 * head(loss));
  });

  it('generating leaves nothing behind but what the cache holds', () => {
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(baseline + judge.variables().length);
  });
});
