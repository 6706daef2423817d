import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime, type TensorData } from '../index.ts';
import { compile } from '../runtime/compile.ts';
import { graph } from '../runtime/testing.ts';
import { buildDiscriminator, discriminate, type DiscriminatorConfig } from './gan.ts';

const data = (res: { outputs: Record<string, Record<string, unknown>> }, node: string, port: string) => res.outputs[node][port] as TensorData;

function judge(disc: Record<string, unknown>, xShape: number[], layer = 0) {
  return graph(
    [
      ['d', 'Discriminator', disc],
      ['x', 'NoiseSource', { shape: xShape, seed: 1 }],
      ['judge', 'Discriminate', { layer }],
    ],
    ['d.model -> judge.model', 'x.out -> judge.x'],
  );
}

let rt: Runtime;
let baseline: number;
beforeAll(async () => {
  rt = await createRuntime({ backend: 'wasm' });
});
beforeEach(() => {
  rt.clearCache();
  baseline = tf.memory().numTensors;
});
afterAll(() => rt.dispose());

describe('Discriminate shapes', () => {
  const cases: Array<[string, Record<string, unknown>, number[], number, number[]]> = [
    // name, discriminator params, x, layer, features
    ['conv, last layer', { arch: 'conv', inShape: [16, 16, 1], width: 4, depth: 3 }, [3, 16, 16, 1], 0, [3, 2, 2, 16]],
    ['conv, first layer', { arch: 'conv', inShape: [16, 16, 1], width: 4, depth: 3 }, [3, 16, 16, 1], 1, [3, 8, 8, 4]],
    ['conv, odd sides round up (28 -> 14 -> 7 -> 4)', { arch: 'conv', inShape: [28, 12, 3], width: 2, depth: 3 }, [2, 28, 12, 3], 3, [2, 4, 2, 8]],
    ['mlp on 2-D points', { arch: 'mlp', inShape: [2], width: 16, depth: 2 }, [5, 2], 1, [5, 16]],
    ['mlp on images, flattened', { arch: 'mlp', inShape: [8, 8, 1], width: 8, depth: 3 }, [4, 8, 8, 1], 0, [4, 8]],
    ['mlp given flat vectors for image-shaped inShape', { arch: 'mlp', inShape: [8, 8, 1], width: 8, depth: 1 }, [4, 64], 0, [4, 8]],
  ];
  for (const [name, disc, x, layer, features] of cases) {
    it(`${name}: logits [N, 1] and features ${JSON.stringify(features)}, inferred before running`, async () => {
      const doc = judge(disc, x, layer);
      const { plan, errors } = compile(doc, rt.registry);
      expect(errors).toEqual([]);
      expect(plan!.byId.get('judge')!.types).toMatchObject({ logits: { shape: [x[0], 1] }, features: { shape: features } });
      const res = await rt.run(doc);
      expect(data(res, 'judge', 'logits').shape).toEqual([x[0], 1]);
      expect(data(res, 'judge', 'features').shape).toEqual(features);
      rt.clearCache();
      expect(tf.memory().numTensors).toBe(baseline);
    });
  }

  it('an image of another size than inShape is a shape error naming x', () => {
    const [e] = compile(judge({ arch: 'conv', inShape: [16, 16, 1], width: 4, depth: 2 }, [2, 16, 16, 3]), rt.registry).errors;
    expect(e).toMatchObject({ code: 'shape-mismatch', nodeId: 'judge', port: 'x' });
    expect(e.message).toContain("expects [N, 16,16,1] (the discriminator's inShape)");
  });

  it('an mlp given the wrong number of values per sample is a shape error naming x', () => {
    const [e] = compile(judge({ arch: 'mlp', inShape: [2], width: 4, depth: 2 }, [2, 3]), rt.registry).errors;
    expect(e).toMatchObject({ code: 'shape-mismatch', nodeId: 'judge', port: 'x' });
  });

  it('a layer past the depth, and a conv discriminator without [H, W, C], are reported', () => {
    const [deep] = compile(judge({ arch: 'conv', inShape: [8, 8, 1], width: 4, depth: 2 }, [2, 8, 8, 1], 3), rt.registry).errors;
    expect(deep).toMatchObject({ code: 'shape-mismatch', nodeId: 'judge' });
    expect(deep.message).toContain("layer 3 is past the discriminator's 2 hidden layers");
    const [flat] = compile(judge({ arch: 'conv', inShape: [64], width: 4, depth: 2 }, [2, 64]), rt.registry).errors;
    expect(flat).toMatchObject({ code: 'shape-mismatch', nodeId: 'd' });
  });
});

describe('the discriminator math', () => {
  const arr = async (t: tf.Tensor) => Array.from(await t.data());

  it('conv: layer 1 is leakyReLU_0.2(conv4x4 stride 2 + b), and the logit is a linear map of the last layer', async () => {
    await tf.setBackend('cpu');
    const cfg: DiscriminatorConfig = { arch: 'conv', inShape: [8, 8, 2], width: 3, depth: 2 };
    const m = await buildDiscriminator(cfg, 7);
    const x = tf.randomNormal([2, 8, 8, 2], 0, 1, 'float32', 8);
    const { logits, hidden } = discriminate(m, x);
    const pre = tf.add(tf.conv2d(x as tf.Tensor4D, m.get('conv0.w') as tf.Variable<tf.Rank.R4>, 2, 'same'), m.get('conv0.b')!);
    const want1 = await arr(tf.where(tf.greater(pre, 0), pre, tf.mul(pre, 0.2)));
    (await arr(hidden[0])).forEach((v, i) => expect(v).toBeCloseTo(want1[i], 5));
    const head = tf.add(tf.matMul(hidden[1].reshape([2, -1]), m.get('head.w')!), m.get('head.b')!);
    const want = await arr(head);
    (await arr(logits)).forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    expect(new Set(want).size).toBe(2); // the two samples get different logits
    m.dispose();
  });

  it('gradients of a GAN loss reach every parameter, through x too (what the generator needs) (cpu)', async () => {
    await tf.setBackend('cpu');
    for (const cfg of [
      { arch: 'conv', inShape: [8, 8, 1], width: 2, depth: 2 },
      { arch: 'mlp', inShape: [2], width: 4, depth: 2 },
    ] as DiscriminatorConfig[]) {
      const m = await buildDiscriminator(cfg, 1);
      const x = tf.variable(tf.randomNormal([3, ...cfg.inShape], 0, 1, 'float32', 2));
      const before = tf.memory().numTensors;
      const { grads, value } = tf.variableGrads(() => tf.losses.sigmoidCrossEntropy(tf.ones([3, 1]), discriminate(m, x).logits) as tf.Scalar, [...m.variables(), x]);
      expect(Object.keys(grads).length).toBe(m.names().length + 1);
      for (const [name, g] of Object.entries(grads)) expect((await g.data()).some((v) => v !== 0), `${cfg.arch} ${name}`).toBe(true);
      tf.dispose([value, ...Object.values(grads)]);
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
      m.dispose();
    }
  });
});
