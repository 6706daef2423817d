import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { ModelHandle } from '../runtime/index.ts';
import { build } from './builder.ts';

it('build keeps the variables and nothing the dry run returns (a forward pass that returns its output leaks nothing)', async () => {
  await tf.setBackend('cpu');
  const before = tf.memory().numTensors;
  const m = new ModelHandle('test', {}, 1);
  const forward = () => tf.mul(m.param('w', [2, 2]), 2); // returns a tensor, as a model's forward does
  await build(m, forward, '', () => Promise.reject(new Error('no files')));
  expect(tf.memory().numTensors).toBe(before + 1); // w
  m.dispose();
  expect(tf.memory().numTensors).toBe(before);
});
