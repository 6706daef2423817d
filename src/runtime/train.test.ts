import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRuntime, type GraphDoc, type Runtime } from '../index.ts';
import { createRegistry } from '../nodes/index.ts';
import { defineNode } from './define.ts';
import type { RunEvent } from './execute.ts';
import { ModelHandle } from './model.ts';
import { seedParam } from './params.ts';
import { model, tensor } from './ports.ts';
import { graph } from './testing.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build, weightsFingerprint, weightsParam } from '../nodes/builder.ts';
import { serializeSafetensors } from './safetensors.ts';

/** Test kinds: y = x·w + b (a linear model), a squared-error loss, and kinds training must refuse. */
const Linear = defineNode({
  type: 'TLinear',
  category: 'math',
  doc: 'a 2 -> 1 linear model',
  inputs: {},
  outputs: { model: model('linear') },
  params: { seed: seedParam(0) },
  run: ({ params }) => {
    const m = new ModelHandle('linear', {}, params.seed);
    m.param('w', [2, 1]);
    m.param('b', [1], 'zeros');
    return { model: m.freeze() };
  },
});
/** TLinear that can also start from a safetensors file, as builders do. */
const LinearW = defineNode({
  type: 'TLinearW',
  category: 'math',
  doc: 'a 2 -> 1 linear model with weights',
  inputs: {},
  outputs: { model: model('linear') },
  params: { seed: seedParam(0), weights: weightsParam() },
  fingerprint: weightsFingerprint,
  run: async ({ params, readFile }) => {
    const m = new ModelHandle('linear', {}, params.seed);
    return { model: await build(m, () => (m.param('w', [2, 1]), m.param('b', [1], 'zeros')), params.weights, readFile) };
  },
});
const Predict = defineNode({
  type: 'TPredict',
  category: 'math',
  doc: 'applies the linear model',
  inputs: { model: model('linear'), x: tensor([null, 2]) },
  outputs: { out: tensor() },
  params: {},
  run: ({ inputs }) => {
    const m = inputs.model as ModelHandle;
    return { out: tf.add(tf.matMul(inputs.x, m.param('w', [2, 1])), m.param('b', [1])) };
  },
});
/** Target: t = x·[2, −3] + 0.5, so the model can fit it exactly. */
const Target = defineNode({
  type: 'TTarget',
  category: 'math',
  doc: 'the function to learn',
  inputs: { x: tensor([null, 2]) },
  outputs: { out: tensor() },
  params: {},
  run: ({ inputs }) => ({ out: tf.add(tf.matMul(inputs.x, tf.tensor2d([[2], [-3]])), 0.5) }),
});
const SquaredError = defineNode({
  type: 'TSquaredError',
  category: 'losses',
  doc: 'mean (a − b)²',
  inputs: { a: tensor(), b: tensor() },
  outputs: { loss: tensor([]) },
  params: {},
  run: ({ inputs }) => ({ loss: tf.mean(tf.square(tf.sub(inputs.a, inputs.b))) }),
});
const AsyncScale = defineNode({
  type: 'TAsyncScale',
  category: 'math',
  doc: 'an asynchronous node',
  inputs: { x: tensor() },
  outputs: { out: tensor() },
  params: {},
  run: async ({ inputs }) => ({ out: tf.mul(inputs.x, 1) }),
});
const Argmaxish = defineNode({
  type: 'TNoGrad',
  category: 'math',
  doc: 'a kind without gradients',
  inputs: { x: tensor() },
  outputs: { out: tensor() },
  params: {},
  differentiable: false,
  run: ({ inputs }) => ({ out: tf.round(inputs.x) }),
});

const regression = (opt: Record<string, unknown> = {}, middle?: string): GraphDoc =>
  graph(
    [
      ['lin', 'TLinear', { seed: 3 }],
      ['x', 'NoiseSource', { shape: [32, 2], seed: 1 }],
      ['pred', 'TPredict'],
      ...(middle ? [['mid', middle] as [string, string]] : []),
      ['target', 'TTarget'],
      ['loss', 'TSquaredError'],
      ['opt', 'Optimizer', { learningRate: 0.05, ...opt }],
      ['trainer', 'Trainer'],
      ['preview', 'TensorOutput'],
    ],
    [
      'lin.model -> pred.model',
      'x.out -> pred.x',
      ...(middle ? ['pred.out -> mid.x', 'mid.out -> loss.a'] : ['pred.out -> loss.a']),
      'x.out -> target.x',
      'target.out -> loss.b',
      'loss.loss -> opt.loss',
      'lin.model -> opt.models',
      'opt.optimizer -> trainer.optimizers',
      'pred.out -> preview.x',
    ],
  );

let rt: Runtime;
let baseline: number;
beforeAll(async () => {
  rt = await createRuntime({ backend: 'cpu', registry: createRegistry().register(Linear, LinearW, Predict, Target, SquaredError, AsyncScale, Argmaxish) });
});
beforeEach(() => {
  rt.clearCache();
  baseline = tf.memory().numTensors;
});
afterAll(() => rt.dispose());

describe('training', () => {
  it('Adam fits a linear model: the loss falls by orders of magnitude with a fresh batch each step', async () => {
    const res = await rt.train(regression(), { steps: 300 });
    const losses = res.history.map((h) => h.losses.opt);
    expect(losses).toHaveLength(300);
    expect(losses[299]).toBeLessThan(losses[0] / 100);
    // fresh noise per step: consecutive batches differ, so consecutive losses are not a smooth curve of one batch
    expect(new Set(losses.slice(0, 5)).size).toBe(5);
  });

  it('a following run generates with the trained model, and reruns only what depends on it', async () => {
    const doc = regression();
    const before = await rt.run(doc, { outputs: ['preview'] });
    await rt.train(doc, { steps: 200 });
    const after = await rt.run(doc, { outputs: ['preview'] });
    expect(after.nodes).toMatchObject({ lin: { status: 'cached' }, x: { status: 'cached' }, pred: { status: 'ran' }, preview: { status: 'ran' } });
    expect(after.outputs.preview.mean).not.toBeCloseTo(before.outputs.preview.mean as number, 3);
    // the trained prediction approaches the target 2·x₀ − 3·x₁ + 0.5 on the step-0 batch
    const w = (after.outputs.preview.value as { data: Float32Array }).data;
    const x = await tf.randomNormal([32, 2], 0, 1, 'float32', 1).data();
    let err = 0;
    for (let i = 0; i < 32; i++) err = Math.max(err, Math.abs(w[i] - (2 * x[2 * i] - 3 * x[2 * i + 1] + 0.5)));
    expect(err).toBeLessThan(0.05);
  });

  it('training leaks nothing: after clearing, tensors are back to the baseline (optimizer state aside)', async () => {
    await rt.train(regression({ algorithm: 'sgd', momentum: 0.9, learningRate: 0.01 }), { steps: 20 });
    const afterFirst = tf.memory().numTensors;
    await rt.train(regression({ algorithm: 'sgd', momentum: 0.9, learningRate: 0.01 }), { steps: 20 });
    expect(tf.memory().numTensors).toBe(afterFirst); // flat across steps and calls
  });

  it('exports the trained weights, which reproduce the trained model when loaded', async () => {
    const res = await rt.train(regression(), { steps: 50, exportWeights: true });
    const w = res.weights!.lin;
    expect([...w.keys()]).toEqual(['b', 'w']);
    const trained = await rt.run(regression(), { outputs: ['preview'] });
    const fresh = new ModelHandle('linear', {}, 99);
    fresh.param('w', [2, 1]);
    fresh.param('b', [1], 'zeros');
    fresh.freeze().loadWeights(w);
    const x = tf.randomNormal([32, 2], 0, 1, 'float32', 1);
    const y = tf.add(tf.matMul(x, fresh.get('w')!), fresh.get('b')!);
    expect(tf.mean(y).dataSync()[0]).toBeCloseTo(trained.outputs.preview.mean as number, 5);
    tf.dispose([x, y]);
    fresh.dispose();
  });

  it('gradient clipping bounds each update; a band skips updates', async () => {
    const clipped = await rt.train(regression({ algorithm: 'sgd', learningRate: 0.1, clipNorm: 1e-6 }), { steps: 5 });
    const l = clipped.history.map((h) => h.losses.opt);
    expect(Math.abs(l[4] - l[0]) / l[0]).toBeLessThan(0.5); // tiny steps: the loss only wanders with the batch
    rt.clearCache();
    const banded = await rt.train(regression({ bandMin: 0, bandMax: 1e-9 }), { steps: 3 });
    expect(banded.history.every((h) => h.skipped.includes('opt'))).toBe(true);
  });

  it('progress events carry the step and every loss; Stop stops between steps', async () => {
    const ctrl = new AbortController();
    const events: RunEvent[] = [];
    const run = rt.train(regression(), {
      steps: 1000,
      signal: ctrl.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'node-progress' && e.done === 7) ctrl.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ errors: [expect.objectContaining({ code: 'cancelled', nodeId: 'trainer' })] });
    const progress = events.filter((e) => e.type === 'node-progress');
    expect(progress).toHaveLength(7);
    expect(progress[6]).toMatchObject({ nodeId: 'trainer', done: 7, total: 1000, info: { step: 6, losses: { opt: expect.any(Number) } } });
  });

  it('resuming from a step continues the same sequence of batches', async () => {
    const full = await rt.train(regression(), { steps: 6 });
    rt.dispose();
    rt = await createRuntime({ backend: 'cpu', registry: createRegistry().register(Linear, LinearW, Predict, Target, SquaredError, AsyncScale, Argmaxish) });
    const first = await rt.train(regression(), { steps: 3 });
    const rest = await rt.train(regression(), { steps: 3, startStep: 3 });
    const resumed = [...first.history, ...rest.history].map((h) => h.losses.opt);
    full.history.map((h) => h.losses.opt).forEach((l, i) => expect(resumed[i]).toBeCloseTo(l, 5));
  });

  it.each<[string, Record<string, unknown>]>([
    ['adam', { learningRate: 0.05 }],
    ['sgd with momentum', { algorithm: 'sgd', momentum: 0.9, learningRate: 0.02 }],
  ])('%s: a fresh runtime given the exported weights and optimizer state continues the straight run exactly', async (_, opt) => {
    const withWeights = (file: string) => {
      const doc = regression(opt);
      doc.nodes = doc.nodes.map((n) => (n.id === 'lin' ? { ...n, type: 'TLinearW', params: { seed: 3, weights: file } } : n));
      return doc;
    };
    const fresh = () => createRuntime({ backend: 'cpu', registry: createRegistry().register(LinearW, Predict, Target, SquaredError) });
    const straight = (await rt.train(withWeights(''), { steps: 8 })).history.map((h) => h.losses.opt);

    const first = await fresh();
    const half = await first.train(withWeights(''), { steps: 4, exportWeights: true });
    first.dispose();
    expect(half.optimizerState!.opt.get('iter')!.data[0]).toBe(4);
    const slots = opt.algorithm === 'sgd' ? ['lin.0/momentum', 'lin.1/momentum'] : ['lin.0/m', 'lin.1/m', 'lin.0/v', 'lin.1/v'];
    expect([...half.optimizerState!.opt.keys()].sort()).toEqual(['iter', ...slots].sort());
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'weft-resume-')), 'lin.safetensors');
    writeFileSync(file, serializeSafetensors(half.weights!.lin));

    const resume = async (optimizerState?: Record<string, Map<string, unknown>>) => {
      const second = await fresh();
      const rest = await second.train(withWeights(file), { steps: 4, startStep: 4, optimizerState: optimizerState as never });
      second.dispose();
      return [...half.history, ...rest.history].map((h) => h.losses.opt);
    };
    const resumed = await resume(half.optimizerState);
    straight.forEach((l, i) => expect(resumed[i], `step ${i}`).toBeCloseTo(l, 5));
    // without the state the moments restart from zero and the trajectory leaves the straight one
    const restarted = await resume();
    expect(Math.abs(restarted[7] - straight[7])).toBeGreaterThan(1e-4);
  });

  describe('weight averaging (Optimizer.ema)', () => {
    const flat = (w: Map<string, { data: Float32Array | Int32Array }>) => [...w.get('w')!.data, ...w.get('b')!.data];
    const fresh = () => createRuntime({ backend: 'cpu', registry: createRegistry().register(Linear, LinearW, Predict, Target, SquaredError) });

    it('the averaged weights are avg <- d*avg + (1 - d)*w over the updates, starting from the first update; the weights themselves stay raw', async () => {
      const d = 0.8;
      const r = await fresh();
      const before = tf.memory().numTensors;
      const raw: number[][] = [];
      let averaged: number[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await r.train(regression({ algorithm: 'sgd', learningRate: 0.05, ema: d }), { steps: 1, startStep: i, exportWeights: true });
        raw.push(flat(res.weights!.lin));
        averaged = flat(res.averaged!.lin);
      }
      let expected = raw[0];
      for (const w of raw.slice(1)) expected = expected.map((a, j) => d * a + (1 - d) * w[j]);
      averaged.forEach((a, j) => expect(a).toBeCloseTo(expected[j], 5));
      expect(Math.abs(averaged[0] - raw[5][0])).toBeGreaterThan(1e-3); // the average lags the raw weights
      r.dispose();
      expect(tf.memory().numTensors).toBeLessThanOrEqual(before); // the averages go with the runtime
    });

    it('without ema there is no average; a checkpoint carries it (slot "ema") and a resumed run continues it exactly', async () => {
      expect((await rt.train(regression(), { steps: 2, exportWeights: true })).averaged).toBeUndefined();
      rt.clearCache();
      const doc = (file: string) => {
        const g = regression({ learningRate: 0.05, ema: 0.9 });
        g.nodes = g.nodes.map((n) => (n.id === 'lin' ? { ...n, type: 'TLinearW', params: { seed: 3, weights: file } } : n));
        return g;
      };
      const a = await fresh();
      const straight = await a.train(doc(''), { steps: 8, exportWeights: true });
      a.dispose();
      const b = await fresh();
      const half = await b.train(doc(''), { steps: 4, exportWeights: true });
      b.dispose();
      expect([...half.optimizerState!.opt.keys()]).toEqual(expect.arrayContaining(['lin.0/ema', 'lin.1/ema']));
      const file = path.join(mkdtempSync(path.join(tmpdir(), 'weft-ema-')), 'lin.safetensors');
      writeFileSync(file, serializeSafetensors(half.weights!.lin));
      const c = await fresh();
      const rest = await c.train(doc(file), { steps: 4, startStep: 4, exportWeights: true, optimizerState: half.optimizerState });
      c.dispose();
      flat(rest.averaged!.lin).forEach((v, j) => expect(v).toBeCloseTo(flat(straight.averaged!.lin)[j], 5));
      flat(rest.weights!.lin).forEach((v, j) => expect(v).toBeCloseTo(flat(straight.weights!.lin)[j], 5));
    });

    it('an average for some variables only is refused, naming the optimizer', async () => {
      const half = await rt.train(regression({ ema: 0.9 }), { steps: 2, exportWeights: true });
      half.optimizerState!.opt.delete('lin.1/ema');
      rt.dispose();
      rt = await createRuntime({ backend: 'cpu', registry: createRegistry().register(Linear, LinearW, Predict, Target, SquaredError, AsyncScale, Argmaxish) });
      await expect(rt.train(regression({ ema: 0.9 }), { steps: 1, optimizerState: half.optimizerState })).rejects.toMatchObject({
        errors: [expect.objectContaining({ nodeId: 'opt', message: expect.stringContaining('"ema"') })],
      });
    });
  });

  it('optimizer state that does not fit is refused, naming the optimizer', async () => {
    const bad = new Map([['iter', { dtype: 'int32' as const, shape: [], data: new Int32Array([3]) }], ['lin.0/m', { dtype: 'float32' as const, shape: [3], data: new Float32Array(3) }]]);
    await expect(rt.train(regression(), { steps: 1, optimizerState: { opt: bad } })).rejects.toMatchObject({
      errors: [expect.objectContaining({ nodeId: 'opt', message: expect.stringContaining('"lin.0/m" is [3], the variable is [1]') })],
    });
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('an error inside a step names the node that threw, and leaks nothing', async () => {
    const Throws = defineNode({
      type: 'TThrows',
      category: 'math',
      doc: 'fails at step 2',
      inputs: { x: tensor() },
      outputs: { out: tensor() },
      params: {},
      run: ({ inputs, step }) => {
        if (step === 2) throw new Error('bad batch');
        return { out: tf.mul(inputs.x, 1) };
      },
    });
    const local = await createRuntime({ backend: 'cpu', registry: createRegistry().register(Linear, Predict, Target, SquaredError, Throws) });
    const before = tf.memory().numTensors;
    await expect(local.train(regression({}, 'TThrows'), { steps: 5 })).rejects.toMatchObject({
      errors: [expect.objectContaining({ code: 'node-failed', nodeId: 'mid', message: expect.stringContaining('bad batch') })],
    });
    local.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('graphs that cannot train are refused with the node named', async () => {
    await expect(rt.train(regression({}, 'TAsyncScale'), { steps: 1 })).rejects.toMatchObject({
      errors: [expect.objectContaining({ code: 'not-trainable', nodeId: 'mid', message: expect.stringContaining('asynchronously') })],
    });
    await expect(rt.train(regression({}, 'TNoGrad'), { steps: 1 })).rejects.toMatchObject({
      errors: [expect.objectContaining({ code: 'not-trainable', nodeId: 'mid', message: expect.stringContaining('has no gradient') })],
    });
    const noTrainer = regression();
    noTrainer.nodes = noTrainer.nodes.filter((n) => n.id !== 'trainer');
    noTrainer.edges = noTrainer.edges.filter((e) => e.to.node !== 'trainer');
    await expect(rt.train(noTrainer, { steps: 1 })).rejects.toMatchObject({ errors: [expect.objectContaining({ code: 'not-trainable' })] });
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(baseline);
  });
});
