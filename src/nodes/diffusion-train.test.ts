/**
 * RandomTimesteps and PromptDropout: what they draw, that a training step draws afresh and a run
 * replays, and that they feed AddNoise, UNetPredict and EncodeText in a graph that trains.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime, type TensorData } from '../index.ts';
import { graph } from '../runtime/testing.ts';
import { dropMask, randomTimesteps } from './diffusion-train.ts';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ backend: 'wasm' });
});
afterAll(() => rt.dispose());

describe('random timesteps', () => {
  it('are integers in 0 … T − 1, close to uniform, and the same for the same seed', () => {
    const t = randomTimesteps(20_000, 1000, 7);
    expect(t.every((v) => Number.isInteger(v) && v >= 0 && v < 1000)).toBe(true);
    const deciles = new Array(10).fill(0);
    for (const v of t) deciles[Math.floor(v / 100)]++;
    for (const c of deciles) expect(Math.abs(c - 2000)).toBeLessThan(200); // ±4.7σ of a binomial(20000, 0.1)
    expect(Array.from(randomTimesteps(16, 1000, 7))).toEqual(Array.from(t.slice(0, 16)));
    expect(Array.from(randomTimesteps(16, 1000, 8))).not.toEqual(Array.from(t.slice(0, 16)));
  });

  it('the node takes N from its like input and T from its scheduler, as int32 [N]', async () => {
    const doc = graph(
      [
        ['x', 'Constant', { shape: [5, 7, 7, 4], value: 0 }],
        ['sched', 'Scheduler', { num_train_timesteps: 10 }],
        ['t', 'RandomTimesteps', { count: 99, numTrainTimesteps: 1000, seed: 3 }],
      ],
      ['x.out -> t.like', 'sched.scheduler -> t.scheduler'],
    );
    const { plan, errors } = rt.compile(doc);
    expect(errors).toEqual([]);
    expect(plan!.byId.get('t')!.types.t).toMatchObject({ shape: [5], dtype: 'int32' });
    const t = (await rt.run(doc, { outputs: ['t'] })).outputs.t.t as TensorData;
    expect(t.shape).toEqual([5]);
    expect(t.dtype).toBe('int32');
    expect(Array.from(t.data)).toEqual(Array.from(randomTimesteps(5, 10, 3)));
  });

  it('with nothing connected: count timesteps below numTrainTimesteps', async () => {
    const doc = graph([['t', 'RandomTimesteps', { count: 3, numTrainTimesteps: 50, seed: 1 }]]);
    const t = (await rt.run(doc, { outputs: ['t'] })).outputs.t.t as TensorData;
    expect(Array.from(t.data)).toEqual(Array.from(randomTimesteps(3, 50, 1)));
  });
});

describe('prompt dropout', () => {
  it('drops close to a share p of the prompts, the same ones for the same seed', () => {
    const mask = dropMask(10_000, 0.1, 5);
    const dropped = mask.filter(Boolean).length;
    expect(Math.abs(dropped - 1000)).toBeLessThan(150); // ±5σ
    expect(dropMask(50, 0.1, 5)).toEqual(mask.slice(0, 50));
    expect(dropMask(100, 0, 5).some(Boolean)).toBe(false);
    expect(dropMask(100, 1, 5).every(Boolean)).toBe(true);
  });

  it('replaces the dropped prompts with the unconditional one and keeps the rest in order', async () => {
    const prompts = Array.from({ length: 40 }, (_, i) => `prompt ${i}`);
    const doc = graph(
      [
        ['text', 'Text', { text: prompts.join('\n') }],
        ['drop', 'PromptDropout', { p: 0.25, unconditional: '', seed: 9 }],
      ],
      ['text.text -> drop.text'],
    );
    const out = (await rt.run(doc, { outputs: ['drop'] })).outputs.drop.text as string[];
    const mask = dropMask(40, 0.25, 9);
    expect(out).toEqual(prompts.map((p, i) => (mask[i] ? '' : p)));
    expect(mask.filter(Boolean).length).toBeGreaterThan(0);
  });
});

/** Dataset text -> PromptDropout -> EncodeText and RandomTimesteps -> AddNoise/UNetPredict: the noise-prediction loss. */
const denoiser = graph(
  [
    ['data', 'Dataset', { name: 'mnist', batchSize: 4, seed: 1 }],
    ['drop', 'PromptDropout', { p: 0.5, seed: 2 }],
    ['textEncoder', 'TextEncoder', { dim: 8, layers: 1, heads: 2, maxLength: 10, seed: 3 }],
    ['encode', 'EncodeText'],
    ['sched', 'Scheduler', { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 }],
    ['t', 'RandomTimesteps', { seed: 4 }],
    ['noise', 'NoiseSource', { shape: [4, 28, 28, 1], seed: 5 }],
    ['addNoise', 'AddNoise'],
    ['unet', 'UNet', { inChannels: 1, outChannels: 1, baseChannels: 4, channelMults: [1, 2], attentionLevels: 'mid', contextDim: 8, groups: 2, heads: 2, seed: 6 }],
    ['predict', 'UNetPredict'],
    ['mse', 'MSE'],
    ['opt', 'Optimizer', { learningRate: 0.01 }],
    ['trainer', 'Trainer'],
  ],
  [
    'data.text -> drop.text',
    'drop.text -> encode.text',
    'textEncoder.model -> encode.model',
    'data.batch -> t.like',
    'sched.scheduler -> t.scheduler',
    'data.batch -> addNoise.x0',
    'noise.out -> addNoise.noise',
    'sched.scheduler -> addNoise.scheduler',
    't.t -> addNoise.t',
    'unet.model -> predict.model',
    'addNoise.out -> predict.sample',
    't.t -> predict.timestep',
    'encode.embeddings -> predict.context',
    'predict.out -> mse.prediction',
    'noise.out -> mse.target',
    'mse.loss -> opt.loss',
    'unet.model -> opt.models',
    'textEncoder.model -> opt.models',
    'opt.optimizer -> trainer.optimizers',
  ],
);

describe('in a training graph', () => {
  it('every step draws fresh timesteps and a fresh dropout, a run replays exactly, and nothing leaks', async () => {
    const before = tf.memory().numTensors;
    const own = await createRuntime({ backend: 'wasm' });
    const first = (await own.train(denoiser, { steps: 3 })).history.map((h) => h.losses.opt);
    own.clearCache();
    const again = (await own.train(denoiser, { steps: 3 })).history.map((h) => h.losses.opt);
    own.dispose(); // the cache and the optimizers' state (Adam's moments)
    expect(again).toEqual(first);
    expect(first.every(Number.isFinite)).toBe(true);
    expect(new Set(first).size).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
  });
});
