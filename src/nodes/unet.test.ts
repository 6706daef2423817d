import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, ModelHandle, serializeSafetensors, type Runtime, type TensorData } from '../index.ts';
import { graph } from '../runtime/testing.ts';
import { batchTimesteps, parseLevels, unetForward, type UNetConfig } from './unet.ts';

const TINY = { inChannels: 4, outChannels: 4, baseChannels: 4, channelMults: [1, 2], resBlocks: 1, attentionLevels: '1', contextDim: 8, groups: 2, heads: 2 };

/** UNet -> UNetPredict on seeded noise (and a seeded context when given a shape). */
function predictGraph(unet: Record<string, unknown>, sample: number[], context?: number[], predict: Record<string, unknown> = {}) {
  return graph(
    [
      ['unet', 'UNet', { seed: 5, ...unet }],
      ['x', 'NoiseSource', { shape: sample, seed: 1 }],
      ...(context ? [['ctx', 'NoiseSource', { shape: context, seed: 2 }] as [string, string, Record<string, unknown>]] : []),
      ['predict', 'UNetPredict', predict],
    ],
    ['unet.model -> predict.model', 'x.out -> predict.sample', ...(context ? ['ctx.out -> predict.context'] : [])],
  );
}

function build(config: UNetConfig, seed = 5): ModelHandle {
  const m = new ModelHandle('unet', config, seed);
  const f = 2 ** (config.channelMults.length - 1);
  tf.tidy(() => void unetForward(m, tf.zeros([1, f, f, config.inChannels]), tf.zeros([1]), config.contextDim ? tf.zeros([1, 1, config.contextDim]) : null));
  return m.freeze();
}

const maxDiff = async (a: tf.Tensor, b: tf.Tensor) => (await tf.max(tf.abs(tf.sub(a, b))).data())[0];

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ backend: 'wasm' });
});
afterAll(() => rt.dispose());

describe('U-Net shapes', () => {
  const cases: Array<{ name: string; unet: Record<string, unknown>; sample: number[]; context?: number[]; out: number[] }> = [
    { name: '2 levels, attention at 1, cross-attention', unet: TINY, sample: [2, 8, 8, 4], context: [2, 5, 8], out: [2, 8, 8, 4] },
    { name: '1 level, 2 res blocks, attention at 0, no context, 3 -> 6 channels, H ≠ W', unet: { ...TINY, inChannels: 3, outChannels: 6, baseChannels: 8, channelMults: [1], resBlocks: 2, attentionLevels: '0', contextDim: 0, groups: 4 }, sample: [1, 6, 10, 3], out: [1, 6, 10, 6] },
    { name: '3 levels, attention at 1 and 2, one context for a batch of 3', unet: { ...TINY, channelMults: [1, 2, 2], attentionLevels: '1, 2' }, sample: [3, 8, 12, 4], context: [1, 3, 8], out: [3, 8, 12, 4] },
    { name: '1 level on 7x7 latents, attention only in the middle block ("mid")', unet: { ...TINY, baseChannels: 8, channelMults: [1], attentionLevels: 'mid', groups: 4 }, sample: [2, 7, 7, 4], context: [2, 5, 8], out: [2, 7, 7, 4] },
    { name: '2 levels, no attention anywhere, one group', unet: { ...TINY, inChannels: 2, outChannels: 2, channelMults: [1, 1], attentionLevels: '', contextDim: 0, groups: 1 }, sample: [3, 4, 4, 2], out: [3, 4, 4, 2] },
  ];
  for (const c of cases) {
    it(`${c.name}: out is ${JSON.stringify(c.out)}, inferred and actual`, async () => {
      const doc = predictGraph(c.unet, c.sample, c.context);
      const { plan, errors } = rt.compile(doc);
      expect(errors).toEqual([]);
      expect(plan!.byId.get('predict')!.types.out).toMatchObject({ shape: c.out });
      const res = await rt.run(doc, { outputs: ['predict', 'unet'] });
      const out = res.outputs.predict.out as TensorData;
      expect(out.shape).toEqual(c.out);
      expect(out.data.every(Number.isFinite)).toBe(true);
      console.log(`U-Net ${c.name}: forward ${res.nodes.predict.ms.toFixed(1)} ms on wasm, model ${(res.nodes.unet.bytes / 4).toLocaleString('en-US')} params`);
    });
  }

  const rejects: Array<[string, Record<string, unknown>, number[], number[] | undefined, string, string, string]> = [
    ['H not divisible by 2^(levels − 1)', { ...TINY, channelMults: [1, 2, 2] }, [1, 6, 8, 4], [1, 2, 8], 'predict', 'sample', 'H = 6 is not divisible by 2^(levels − 1) = 4'],
    ['the wrong channel count', TINY, [1, 8, 8, 3], undefined, 'predict', 'sample', 'has 3 channels, the U-Net takes 4'],
    ['a context of the wrong width', TINY, [1, 8, 8, 4], [1, 5, 16], 'predict', 'context', 'has width 16, the U-Net\'s cross-attention takes contextDim 8'],
    ['a context batch that is neither 1 nor N', TINY, [3, 8, 8, 4], [2, 5, 8], 'predict', 'context', 'has 2 items for a batch of 3'],
    ['a context for a U-Net without cross-attention', { ...TINY, contextDim: 0 }, [1, 8, 8, 4], [1, 5, 8], 'predict', 'context', 'no cross-attention'],
    ['an attention level that does not exist', { ...TINY, attentionLevels: '1,2' }, [1, 8, 8, 4], undefined, 'unet', 'attentionLevels', 'level 2 does not exist'],
    ['groups that do not divide the channels', { ...TINY, groups: 3 }, [1, 8, 8, 4], undefined, 'unet', 'groups', 'do not split into 3 groups'],
    ['heads that do not divide the attended channels', { ...TINY, heads: 3 }, [1, 8, 8, 4], undefined, 'unet', 'heads', 'do not split into 3 heads'],
  ];
  for (const [why, unet, sample, context, nodeId, port, message] of rejects) {
    it(`compile reports ${why} on ${nodeId}.${port}`, () => {
      const { errors } = rt.compile(predictGraph(unet, sample, context));
      expect(errors).toEqual([expect.objectContaining({ code: 'shape-mismatch', nodeId, port })]);
      expect(errors[0].message).toContain(message);
    });
  }

  it('attention levels that are not a list of numbers are a bad param', () => {
    const { errors } = rt.compile(predictGraph({ ...TINY, attentionLevels: 'one, two' }, [1, 8, 8, 4]));
    expect(errors).toEqual([expect.objectContaining({ code: 'bad-param', nodeId: 'unet', port: 'attentionLevels' })]);
    expect(parseLevels(' 2, 0,2 ')).toEqual([0, 2]);
    expect(parseLevels('mid, 1')).toEqual([1]);
  });
});

describe('U-Net values', () => {
  const config: UNetConfig = { ...TINY, attentionLevels: [1] };
  let m: ModelHandle;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    m = build(config);
  });
  afterAll(() => m.dispose());

  it('the output depends on the context: different prompts, different predictions; the same prompt, the same one', async () => {
    const x = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
    const t = tf.tensor1d([400]);
    const ctxA = tf.randomNormal([1, 5, 8], 0, 1, 'float32', 4) as tf.Tensor3D;
    const ctxB = tf.randomNormal([1, 5, 8], 0, 1, 'float32', 5) as tf.Tensor3D;
    const a = unetForward(m, x, t, ctxA);
    expect(await maxDiff(a, unetForward(m, x, t, ctxB))).toBeGreaterThan(1e-2);
    expect(await maxDiff(a, unetForward(m, x, t, ctxA.clone()))).toBe(0);
    // an open context is the zero context
    expect(await maxDiff(unetForward(m, x, t, null), unetForward(m, x, t, tf.zeros([1, 7, 8])))).toBeLessThan(1e-6);
  });

  it('the output depends on the timestep, per batch item', async () => {
    const x = tf.tile(tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 3), [2, 1, 1, 1]) as tf.Tensor4D;
    const ctx = tf.randomNormal([1, 5, 8], 0, 1, 'float32', 4) as tf.Tensor3D;
    const out = unetForward(m, x, tf.tensor1d([10, 900]), ctx);
    const [early, late] = tf.split(out, 2, 0);
    expect(await maxDiff(early, late)).toBeGreaterThan(1e-2);
    // item 1 alone at t = 900 is item 1 of the batch
    expect(await maxDiff(late, unetForward(m, x.slice([1], [1]), tf.tensor1d([900]), ctx))).toBeLessThan(1e-5);
  });

  it('a timestep may be a number, a scalar, [1] or [N], float or int', async () => {
    for (const t of [250, tf.scalar(250), tf.tensor1d([250]), tf.tensor1d([250, 250]), tf.tensor1d([250, 250], 'int32')]) {
      expect(Array.from(await batchTimesteps(t, 2).data())).toEqual([250, 250]);
    }
    expect(() => batchTimesteps(tf.tensor1d([1, 2, 3]), 2)).toThrow('3 values for a batch of 2');
  });

  it('the same seed builds the same U-Net, and its parameter list is fixed by the config', () => {
    const again = build(config);
    expect(again.names()).toEqual(m.names());
    expect(again.parameterCount()).toBe(m.parameterCount());
    expect(m.names()).toContain('down.1.attn.0.cross.k.w');
    expect(m.names()).not.toContain('down.0.attn.0.self.q.w'); // no attention at level 0
    again.dispose();
  });
});

describe('attention only in the middle block', () => {
  it('"mid" puts one transformer in the middle block and none at the levels; "1" puts them at level 1 and in the middle', () => {
    const mid = build({ ...TINY, attentionLevels: [], midAttention: true });
    const names = mid.names().filter((n) => n.includes('.attn'));
    expect(new Set(names.map((n) => n.split('.attn')[0]))).toEqual(new Set(['mid']));
    expect(names).toContain('mid.attn.cross.k.w');
    const levels = build({ ...TINY, attentionLevels: [1] });
    expect(levels.names()).toContain('mid.attn.cross.k.w');
    expect(levels.names()).toContain('down.1.attn.0.self.q.w');
    const none = build({ ...TINY, attentionLevels: [] });
    expect(none.names().some((n) => n.includes('.attn'))).toBe(false);
    for (const m of [mid, levels, none]) m.dispose();
  });
});

describe('the pooled-embedding path (pooledDim)', () => {
  const plainConfig: UNetConfig = { ...TINY, attentionLevels: [1] };
  const pooledConfig: UNetConfig = { ...plainConfig, pooledDim: 6 };
  let plain: ModelHandle;
  let pooled: ModelHandle;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    plain = build(plainConfig);
    pooled = build(pooledConfig);
  });
  afterAll(() => tf.dispose([plain, pooled] as never));
  const x = () => tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
  const t = () => tf.tensor1d([400, 700]);
  const ctx = () => tf.randomNormal([2, 5, 8], 0, 1, 'float32', 4) as tf.Tensor3D;

  it('adds only the projection W_p, b_p to the parameters; without it the U-Net is the one it was', async () => {
    expect(new Set(pooled.names())).toEqual(new Set([...plain.names(), 'pooled_proj.w', 'pooled_proj.b']));
    expect(pooled.parameterCount() - plain.parameterCount()).toBe(6 * 16 + 16); // pooledDim × 4B + 4B
    expect(plain.names().some((n) => n.startsWith('pooled_proj'))).toBe(false);
    // an open pooled input is zeros, so temb gains b_p = 0 at init: the output is the plain U-Net's
    // (parameters are seeded by name, so the shared ones are equal)
    expect(await maxDiff(unetForward(plain, x(), t(), ctx()), unetForward(pooled, x(), t(), ctx(), null))).toBe(0);
    // a U-Net without the path ignores a pooled tensor given to unetForward (the nodes reject it)
    expect(await maxDiff(unetForward(plain, x(), t(), ctx()), unetForward(plain, x(), t(), ctx(), tf.ones([2, 6])))).toBe(0);
  });

  it('the pooled embedding changes the output; one for the whole batch equals it repeated', async () => {
    const pA = tf.randomNormal([2, 6], 0, 1, 'float32', 6) as tf.Tensor2D;
    const pB = tf.randomNormal([2, 6], 0, 1, 'float32', 7) as tf.Tensor2D;
    const a = unetForward(pooled, x(), t(), ctx(), pA);
    expect(await maxDiff(a, unetForward(pooled, x(), t(), ctx(), pB))).toBeGreaterThan(1e-2);
    expect(await maxDiff(a, unetForward(pooled, x(), t(), ctx(), null))).toBeGreaterThan(1e-2);
    expect(await maxDiff(a, unetForward(pooled, x(), t(), ctx(), pA.clone()))).toBe(0);
    expect(await maxDiff(unetForward(pooled, x(), t(), null, null), unetForward(pooled, x(), t(), null, tf.zeros([2, 6])))).toBeLessThan(1e-6);
    const one = pA.slice([0], [1]) as tf.Tensor2D;
    expect(await maxDiff(unetForward(pooled, x(), t(), ctx(), one), unetForward(pooled, x(), t(), ctx(), tf.tile(one, [2, 1]) as tf.Tensor2D))).toBeLessThan(1e-6);
  });

  it('in a graph: U-Net Predict passes its pooled input on; compile rejects a pooled input the U-Net cannot take', async () => {
    const withPooled = (unet: Record<string, unknown>, shape: number[]) => {
      const d = predictGraph(unet, [2, 8, 8, 4], [2, 5, 8]);
      return {
        ...d,
        nodes: [...d.nodes, { id: 'pooled', type: 'NoiseSource', params: { shape, seed: 9 }, position: { x: 0, y: 0 } }],
        edges: [...d.edges, { id: 'ep', from: { node: 'pooled', port: 'out' }, to: { node: 'predict', port: 'pooled' } }],
      };
    };
    const open = (await rt.run(predictGraph({ ...TINY, pooledDim: 6 }, [2, 8, 8, 4], [2, 5, 8]), { outputs: ['predict'] })).outputs.predict.out as TensorData;
    const fed = (await rt.run(withPooled({ ...TINY, pooledDim: 6 }, [2, 6]), { outputs: ['predict'] })).outputs.predict.out as TensorData;
    expect(fed.shape).toEqual([2, 8, 8, 4]);
    expect(Math.max(...fed.data.map((v, i) => Math.abs(v - open.data[i])))).toBeGreaterThan(1e-3);
    // with pooledDim 0 (the default) the graph's U-Net is the plain one: the same prediction as before the param existed
    const before = (await rt.run(predictGraph(TINY, [2, 8, 8, 4], [2, 5, 8]), { outputs: ['predict'] })).outputs.predict.out as TensorData;
    const zero = (await rt.run(predictGraph({ ...TINY, pooledDim: 0 }, [2, 8, 8, 4], [2, 5, 8]), { outputs: ['predict'] })).outputs.predict.out as TensorData;
    expect(Array.from(zero.data)).toEqual(Array.from(before.data));
    for (const [unet, shape, message] of [
      [TINY, [2, 6], 'no pooled-embedding path'],
      [{ ...TINY, pooledDim: 6 }, [2, 5], 'has width 5'],
      [{ ...TINY, pooledDim: 6 }, [3, 6], 'has 3 items for a batch of 2'],
      [{ ...TINY, pooledDim: 6 }, [2, 1, 6], 'expects rank 2'],
    ] as Array<[Record<string, unknown>, number[], string]>) {
      const { errors } = rt.compile(withPooled(unet, shape));
      expect(errors).toEqual([expect.objectContaining({ nodeId: 'predict', port: 'pooled' })]);
      expect(errors[0].message).toContain(message);
    }
  });
});

describe('U-Net in graphs', () => {
  it('a timestep input overrides the t param; a weights file replaces the seed', async () => {
    await tf.setBackend('cpu');
    const dir = mkdtempSync(join(tmpdir(), 'weft-unet-'));
    const source = build({ ...TINY, attentionLevels: [1] }, 99);
    writeFileSync(join(dir, 'unet.safetensors'), serializeSafetensors(await source.exportWeights()));
    const reference = tf.tidy(() =>
      unetForward(source, tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 1) as tf.Tensor4D, tf.tensor1d([123, 123]), tf.randomNormal([2, 5, 8], 0, 1, 'float32', 2) as tf.Tensor3D),
    );
    const want = await reference.data();
    tf.dispose([reference]);
    source.dispose();

    const doc = predictGraph({ ...TINY, weights: 'unet.safetensors', seed: 5 }, [2, 8, 8, 4], [2, 5, 8], { t: 123 });
    const got = (await rt.run(doc, { baseDir: dir, outputs: ['predict'] })).outputs.predict.out as TensorData;
    let err = 0;
    want.forEach((v, i) => (err = Math.max(err, Math.abs(v - got.data[i]))));
    expect(err).toBeLessThan(1e-4); // cpu reference, wasm run

    // the same prediction with t from a tensor input instead of the param
    const withInput = {
      ...doc,
      nodes: [...doc.nodes.map((n) => (n.id === 'predict' ? { ...n, params: { t: 0 } } : n)), { id: 'ts', type: 'Constant', params: { shape: [2], value: 123 }, position: { x: 0, y: 0 } }],
      edges: [...doc.edges, { id: 'et', from: { node: 'ts', port: 'out' }, to: { node: 'predict', port: 'timestep' } }],
    };
    const viaInput = (await rt.run(withInput, { baseDir: dir, outputs: ['predict'] })).outputs.predict.out as TensorData;
    expect(Array.from(viaInput.data)).toEqual(Array.from(got.data));
  });
});
