import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../index.ts';
import { createRegistry } from '../nodes/index.ts';
import { compile } from './compile.ts';
import { defineNode } from './define.ts';
import { ModelHandle } from './model.ts';
import { int, seedParam } from './params.ts';
import { model, tensor } from './ports.ts';
import { parseSafetensors, serializeSafetensors } from './safetensors.ts';
import { graph } from './testing.ts';

function tinyMlp(seed: number): ModelHandle {
  const m = new ModelHandle('mlp', { width: 4 }, seed);
  m.param('l1.w', [3, 4]);
  m.param('l1.b', [4], 'zeros');
  m.param('l2.w', [4, 2], { std: 0.1 });
  return m.freeze();
}

describe('model handles', () => {
  it('initialise deterministically from (seed, name), differently per seed and per name', async () => {
    const [a, b, c] = [tinyMlp(1), tinyMlp(1), tinyMlp(2)];
    const w = async (m: ModelHandle, n: string) => Array.from(await m.get(n)!.data());
    expect(await w(a, 'l1.w')).toEqual(await w(b, 'l1.w'));
    expect(await w(a, 'l1.w')).not.toEqual(await w(c, 'l1.w'));
    expect(await w(a, 'l1.b')).toEqual([0, 0, 0, 0]);
    // glorot normal: std = sqrt(2 / (3 + 4)); 12 samples are noisy, so only the scale is checked
    const l1 = await w(a, 'l1.w');
    const std = Math.sqrt(l1.reduce((s, v) => s + v * v, 0) / l1.length);
    expect(std).toBeGreaterThan(0.2);
    expect(std).toBeLessThan(1.2);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('a frozen model refuses a parameter it was built without, and a shape it was not', () => {
    const m = tinyMlp(0);
    expect(() => m.param('l3.w', [2, 2])).toThrow('mlp has no parameter "l3.w"');
    expect(() => m.param('l1.w', [4, 3])).toThrow('"l1.w" is [3,4] but was asked for as [4,3]');
    m.dispose();
  });

  it('weights round-trip through safetensors and bump the version', async () => {
    const src = tinyMlp(5);
    const dst = tinyMlp(6);
    dst.loadWeights(parseSafetensors(serializeSafetensors(await src.exportWeights())).tensors);
    expect(dst.version).toBe(1);
    expect(Array.from(await dst.get('l2.w')!.data())).toEqual(Array.from(await src.get('l2.w')!.data()));
    src.dispose();
    dst.dispose();
  });

  it('weights that do not fit name every missing, extra and mis-shaped tensor, and change nothing', async () => {
    const m = tinyMlp(0);
    const before = Array.from(await m.get('l1.w')!.data());
    const weights = await m.exportWeights();
    weights.delete('l1.b');
    weights.set('l2.w', { dtype: 'float32', shape: [2, 4], data: new Float32Array(8) });
    weights.set('head.w', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
    expect(() => m.loadWeights(weights)).toThrow(/missing tensor "l1.b" \[4\].*"l2.w" is \[2,4\], the model needs \[4,2\].*unexpected tensor "head.w"/);
    expect(Array.from(await m.get('l1.w')!.data())).toEqual(before);
    expect(m.version).toBe(0);
    m.dispose();
  });
});

describe('models in graphs', () => {
  const built: ModelHandle[] = [];
  const Mlp = defineNode({
    type: 'TestMlp',
    category: 'math',
    doc: '',
    inputs: {},
    outputs: { model: model('mlp') },
    params: { seed: seedParam(0) },
    run: ({ params }) => {
      built.push(tinyMlp(params.seed));
      return { model: built.at(-1)! };
    },
  });
  const Apply = defineNode({
    type: 'TestApply',
    category: 'math',
    doc: '',
    inputs: { model: model('mlp'), x: tensor([null, 3]) },
    outputs: { out: tensor() },
    params: { unused: int(0) },
    run: ({ inputs }) => {
      const m = inputs.model as ModelHandle;
      return { out: tf.matMul(tf.relu(tf.add(tf.matMul(inputs.x, m.param('l1.w', [3, 4])), m.param('l1.b', [4]))), m.param('l2.w', [4, 2])) };
    },
  });
  let rt: Runtime;
  beforeAll(async () => {
    rt = await createRuntime({ backend: 'cpu', registry: createRegistry().register(Mlp, Apply) });
  });
  afterAll(() => rt.dispose());
  const doc = graph([['m', 'TestMlp'], ['x', 'NoiseSource', { shape: [5, 3] }], ['apply', 'TestApply'], ['out', 'TensorOutput']], ['m.model -> apply.model', 'x.out -> apply.x', 'apply.out -> out.x']);

  it('a model port only accepts the model family it names', () => {
    const Other = defineNode({ type: 'TestOther', category: 'math', doc: '', inputs: {}, outputs: { model: model('vae') }, params: {}, run: () => ({}) });
    const reg = createRegistry().register(Mlp, Apply, Other);
    const bad = graph([['m', 'TestOther'], ['x', 'NoiseSource', { shape: [5, 3] }], ['apply', 'TestApply']], ['m.model -> apply.model', 'x.out -> apply.x']);
    const [e] = compile(bad, reg).errors;
    expect(e).toMatchObject({ code: 'port-type-mismatch', nodeId: 'apply', port: 'model' });
    expect(e.message).toContain('expects a mlp model, got a vae model');
  });

  it('changing a model (as a training step does) reruns what uses it, and only that', async () => {
    const first = await rt.run(doc);
    expect(await rt.run(doc).then((r) => r.nodes.apply.status)).toBe('cached');
    // What an optimizer step does: change the variables in place and bump the version.
    const m = built.at(-1)!;
    tf.tidy(() => m.get('l2.w')!.assign(tf.mul(m.get('l2.w')!, 2)));
    m.version++;
    const after = await rt.run(doc);
    expect(after.nodes).toMatchObject({ m: { status: 'cached' }, x: { status: 'cached' }, apply: { status: 'ran' }, out: { status: 'ran' } });
    expect(after.outputs.out.mean as number).toBeCloseTo((first.outputs.out.mean as number) * 2, 5);
  });
});
