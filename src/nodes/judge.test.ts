/**
 * The judge's kinds (Classifier, Classify, CrossEntropy, InceptionScore) and the MLP kinds, on
 * small inputs: the score's limits, the loss against its formula, shapes checked at compile time.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime, type TensorData } from '../index.ts';
import { graph } from '../runtime/testing.ts';
import { buildClassifier, classifyDigits, inceptionScore } from './judge.ts';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ backend: 'cpu' });
});
afterAll(() => rt.dispose());

describe('inceptionScore', () => {
  it('is K for confident predictions spread evenly over K classes', () => {
    const probs = [0, 1, 2, 3].map((k) => [0, 1, 2, 3].map((j) => (j === k ? 1 : 0)));
    expect(inceptionScore(probs)).toBeCloseTo(4, 10);
  });

  it('is 1 when every sample gets the same distribution', () => {
    expect(inceptionScore([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1]])).toBeCloseTo(1, 10);
  });

  it('is exp of the mean KL to the marginal (a worked case)', () => {
    const probs = [[0.9, 0.1], [0.2, 0.8]];
    const m = [0.55, 0.45];
    const kl = (p: number[]) => p.reduce((s, pj, j) => s + pj * Math.log(pj / m[j]), 0);
    expect(inceptionScore(probs)).toBeCloseTo(Math.exp((kl(probs[0]) + kl(probs[1])) / 2), 12);
  });
});

describe('the judge kinds in a graph', () => {
  const doc = graph(
    [
      ['x', 'NoiseSource', { shape: [6, 12, 12, 1], seed: 1, distribution: 'uniform' }],
      ['data', 'Dataset', { name: 'moons', batchSize: 6, seed: 1 }],
      ['judge', 'Classifier', { classes: 4, inShape: [12, 12, 1], width: 4, depth: 3, seed: 3 }],
      ['classify', 'Classify'],
      ['ce', 'CrossEntropy'],
      ['is', 'InceptionScore'],
      ['logits', 'TensorOutput'],
      ['probs', 'TensorOutput'],
      ['loss', 'TensorOutput'],
      ['score', 'TensorOutput'],
    ],
    ['judge.model -> classify.model', 'x.out -> classify.x', 'classify.logits -> ce.logits', 'data.labels -> ce.labels', 'classify.probs -> is.probs', 'classify.logits -> logits.x', 'classify.probs -> probs.x', 'ce.loss -> loss.x', 'is.score -> score.x'],
  );

  it('gives logits, probabilities, a cross-entropy and a score that agree with their formulas', async () => {
    const before = tf.memory().numTensors;
    const res = await rt.run(doc, { outputs: ['data', 'logits', 'probs', 'loss', 'score'] });
    const logits = res.outputs.logits.value as TensorData;
    const probs = res.outputs.probs.value as TensorData;
    expect(logits.shape).toEqual([6, 4]);
    const rows = Array.from({ length: 6 }, (_, i) => Array.from(logits.data.slice(i * 4, i * 4 + 4)));
    const softmax = rows.map((r) => {
      const m = Math.max(...r);
      const e = r.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / s);
    });
    softmax.flat().forEach((p, i) => expect(probs.data[i]).toBeCloseTo(p, 5));
    const labels = Array.from((res.outputs.data.labels as TensorData).data);
    expect(new Set(labels)).toEqual(new Set([0, 1])); // moons: two classes
    const ce = labels.reduce((s, y, i) => s - Math.log(softmax[i][y]), 0) / 6;
    expect(res.outputs.loss.mean as number).toBeCloseTo(ce, 5);
    expect(res.outputs.score.mean as number).toBeCloseTo(inceptionScore(softmax), 4);
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a classifier fed images of the wrong size is refused at compile time', () => {
    const bad = graph(
      [
        ['x', 'NoiseSource', { shape: [2, 8, 8, 1] }],
        ['judge', 'Classifier', { inShape: [12, 12, 1] }],
        ['classify', 'Classify'],
      ],
      ['judge.model -> classify.model', 'x.out -> classify.x'],
    );
    const { errors } = rt.compile(bad);
    expect(errors.map((e) => [e.code, e.nodeId, e.port])).toEqual([['shape-mismatch', 'classify', 'x']]);
  });

  it('classifyDigits reads back one distribution and label per image, in batches', async () => {
    const m = await buildClassifier({ classes: 3, inShape: [8, 8, 1], width: 2, depth: 2 }, 5);
    const x = tf.randomUniform([5, 8, 8, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const { probs, labels } = await classifyDigits(m, x, 2);
    expect(tf.memory().numTensors).toBe(before);
    expect(probs.length).toBe(5);
    for (const [i, p] of probs.entries()) {
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(labels[i]).toBe(p.indexOf(Math.max(...p)));
    }
    x.dispose();
    m.dispose();
  });
});

describe('MLP', () => {
  it('maps [N, ...inShape] to [N, ...outShape], and a Gaussian head splits into mean and logvar', async () => {
    const doc = graph(
      [
        ['x', 'NoiseSource', { shape: [3, 4, 4, 1], seed: 2 }],
        ['enc', 'MLP', { inShape: [4, 4, 1], hidden: [8, 8], outShape: [6], activation: 'leaky_relu', seed: 1 }],
        ['apply', 'MLPApply'],
        ['dec', 'MLP', { inShape: [3], hidden: [5], outShape: [4, 4, 1], output: 'sigmoid', seed: 2 }],
        ['decode', 'MLPApply'],
        ['out', 'TensorOutput'],
        ['mean', 'TensorOutput'],
        ['logvar', 'TensorOutput'],
        ['image', 'TensorOutput'],
      ],
      ['enc.model -> apply.model', 'x.out -> apply.x', 'apply.out -> out.x', 'apply.mean -> mean.x', 'apply.logvar -> logvar.x', 'dec.model -> decode.model', 'apply.mean -> decode.x', 'decode.out -> image.x'],
    );
    const { plan } = rt.compile(doc);
    expect(plan!.byId.get('apply')!.types.mean).toMatchObject({ kind: 'tensor', shape: [3, 3] });
    const res = await rt.run(doc);
    const out = res.outputs.out.value as TensorData;
    expect(out.shape).toEqual([3, 6]);
    expect((res.outputs.mean.value as TensorData).data).toEqual(Float32Array.from([0, 1, 2].flatMap((i) => Array.from(out.data.slice(i * 6, i * 6 + 3)))));
    expect((res.outputs.logvar.value as TensorData).data).toEqual(Float32Array.from([0, 1, 2].flatMap((i) => Array.from(out.data.slice(i * 6 + 3, i * 6 + 6)))));
    const image = res.outputs.image;
    expect((image.value as TensorData).shape).toEqual([3, 4, 4, 1]);
    expect(image.min as number).toBeGreaterThan(0);
    expect(image.max as number).toBeLessThan(1);
  });

  it('an input with the wrong number of values per sample is refused at compile time', () => {
    const bad = graph(
      [
        ['x', 'NoiseSource', { shape: [2, 5] }],
        ['m', 'MLP', { inShape: [4], outShape: [2] }],
        ['apply', 'MLPApply'],
      ],
      ['m.model -> apply.model', 'x.out -> apply.x'],
    );
    const { errors } = rt.compile(bad);
    expect(errors.map((e) => [e.code, e.nodeId, e.port])).toEqual([['shape-mismatch', 'apply', 'x']]);
  });
});
