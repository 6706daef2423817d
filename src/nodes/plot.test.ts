/** Plot: the values a line chart and a scatter draw, with open inputs as empty tensors. */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime, type TensorData } from '../index.ts';
import { graph } from '../runtime/testing.ts';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ backend: 'cpu' });
});
afterAll(() => rt.dispose());

const values = (v: unknown) => Array.from((v as TensorData).data);
const shape = (v: unknown) => (v as TensorData).shape;

describe('Plot', () => {
  it('flattens a series and passes points and integer labels through', async () => {
    const doc = graph(
      [
        ['s', 'Constant', { shape: [2, 3], value: 0.5 }],
        ['data', 'Dataset', { name: 'moons', batchSize: 16, seed: 3 }],
        ['plot', 'Plot'],
      ],
      ['s.out -> plot.series', 'data.batch -> plot.points', 'data.labels -> plot.labels'],
    );
    const res = await rt.run(doc, { outputs: ['plot', 'data'] });
    const out = res.outputs.plot;
    expect(values(out.series)).toEqual([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    expect(shape(out.points)).toEqual([16, 2]);
    expect(values(out.points)).toEqual(values(res.outputs.data.batch));
    expect((out.labels as TensorData).dtype).toBe('int32');
    expect(values(out.labels)).toEqual(values(res.outputs.data.labels));
  });

  it('a scalar loss is a one-point series, and open inputs come out empty', async () => {
    const doc = graph(
      [['a', 'Constant', { shape: [3], value: 2 }], ['b', 'Constant', { shape: [3], value: 0 }], ['mse', 'MSE'], ['plot', 'Plot']],
      ['a.out -> mse.prediction', 'b.out -> mse.target', 'mse.loss -> plot.series'],
    );
    rt.clearCache();
    const before = tf.memory().numTensors;
    const res = await rt.run(doc);
    expect(values(res.outputs.plot.series)).toEqual([4]);
    expect(shape(res.outputs.plot.points)).toEqual([0, 2]);
    expect(shape(res.outputs.plot.labels)).toEqual([0]);
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('points must be [N, 2], and labels need points of the same length', () => {
    const bad = (wires: string[]) => rt.compile(graph([['p', 'Constant', { shape: [4, 3] }], ['l', 'Constant', { shape: [5] }], ['plot', 'Plot']], wires)).errors;
    expect(bad(['p.out -> plot.points'])).toEqual([expect.objectContaining({ code: 'shape-mismatch', nodeId: 'plot', port: 'points' })]);
    expect(bad(['l.out -> plot.labels'])).toEqual([expect.objectContaining({ code: 'shape-mismatch', nodeId: 'plot', port: 'labels' })]);
    const mismatch = rt.compile(graph([['p', 'Constant', { shape: [4, 2] }], ['l', 'Constant', { shape: [5] }], ['plot', 'Plot']], ['p.out -> plot.points', 'l.out -> plot.labels']));
    expect(mismatch.errors[0]).toEqual(expect.objectContaining({ code: 'shape-mismatch', nodeId: 'plot' }));
  });

  it('runs with nothing connected', async () => {
    const res = await rt.run(graph([['plot', 'Plot']]));
    expect(shape(res.outputs.plot.series)).toEqual([0]);
  });
});
