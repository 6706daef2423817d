import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRuntime, GraphError, ModelHandle, type GraphDoc, type RunEvent, type Runtime, type TensorData } from '../index.ts';
import { graph, type NodeSpec } from '../runtime/testing.ts';
import { sample, type Predict, type SchedulerFactory } from './sampler.ts';
import { createScheduler } from './schedulers/index.ts';
import { unetForward, type UNetConfig } from './unet.ts';

const ddim: SchedulerFactory = { create: (o) => createScheduler('ddim', {}, o) };

const UNET = { inChannels: 4, outChannels: 4, baseChannels: 4, channelMults: [1, 2], resBlocks: 1, attentionLevels: '1', contextDim: 8, groups: 2, heads: 2, seed: 3 };

/** Text -> encoder -> Sampler(U-Net, DDIM, noise) -> TensorOutput. */
function sampling(sampler: Record<string, unknown>, latent = [2, 8, 8, 4], extra: { negative?: string } = {}): GraphDoc {
  return graph(
    [
      ['prompt', 'Text', { text: 'a red circle\na blue square' }],
      ['enc', 'TextEncoder', { dim: 8, layers: 1, heads: 2, maxLength: 8, seed: 1 }],
      ['encode', 'EncodeText'],
      ...(extra.negative !== undefined ? [['neg', 'Text', { text: extra.negative }] as NodeSpec, ['encodeNeg', 'EncodeText'] as NodeSpec] : []),
      ['unet', 'UNet', UNET],
      ['sched', 'Scheduler', { type: 'ddim' }],
      ['noise', 'NoiseSource', { shape: latent, seed: 7 }],
      ['sampler', 'Sampler', { steps: 4, cfgScale: 3, ...sampler }],
      ['out', 'TensorOutput'],
    ],
    [
      'enc.model -> encode.model',
      'prompt.text -> encode.text',
      'encode.embeddings -> sampler.context',
      ...(extra.negative !== undefined ? ['enc.model -> encodeNeg.model', 'neg.text -> encodeNeg.text', 'encodeNeg.embeddings -> sampler.negative'] : []),
      'unet.model -> sampler.unet',
      'sched.scheduler -> sampler.scheduler',
      'noise.out -> sampler.latent',
      'sampler.out -> out.x',
    ],
  );
}

const withParams = (doc: GraphDoc, id: string, params: Record<string, unknown>): GraphDoc => ({
  ...doc,
  nodes: doc.nodes.map((n) => (n.id === id ? { ...n, params: { ...n.params, ...params } } : n)),
});

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ backend: 'wasm' });
});
afterAll(() => rt.dispose());

describe('the sampling loop', () => {
  it('with diffusers’ dummy model x·t/(t+1) and DDIM (10 steps, η = 0) it ends at diffusers’ golden numbers, guidance or not', async () => {
    await tf.setBackend('cpu');
    // dummy_sample_deter: arange(768)/768 laid out (C, H, W, N) then permuted to NCHW; here NHWC
    const values = new Float32Array(4 * 8 * 8 * 3);
    for (let n = 0; n < 4; n++) for (let h = 0; h < 8; h++) for (let w = 0; w < 8; w++) for (let c = 0; c < 3; c++) values[((n * 8 + h) * 8 + w) * 3 + c] = (((c * 8 + h) * 8 + w) * 4 + n) / 768;
    const x = tf.tensor4d(values, [4, 8, 8, 3]);
    const dummy: Predict = (xt, t) => tf.mul(xt, tf.div(t, tf.add(t, 1)).reshape([-1, 1, 1, 1]));
    const ctx = tf.randomNormal([1, 2, 5]) as tf.Tensor3D; // ignored by the dummy, so guidance changes nothing
    for (const cfgScale of [1, 7.5]) {
      const out = await sample(dummy, ddim, x, ctx, null, { steps: 10, cfgScale, eta: 0, seed: 0 });
      expect((await tf.sum(tf.abs(out)).data())[0]).toBeCloseTo(172.0067, 2);
      expect((await tf.mean(tf.abs(out)).data())[0]).toBeCloseTo(0.223967, 4);
      out.dispose();
    }
    tf.dispose([x, ctx]);
  });

  describe('with a U-Net', () => {
    const config: UNetConfig = { ...UNET, attentionLevels: [1] };
    let m: ModelHandle;
    let latent: tf.Tensor4D;
    let ctx: tf.Tensor3D;
    const predict: Predict = (x, t, c) => unetForward(m, x, t, c);
    const opts = { steps: 4, eta: 0, seed: 0 };
    beforeAll(async () => {
      await tf.setBackend('wasm'); // registered by the runtime above; ~10x faster than cpu here
      m = new ModelHandle('unet', config, 3);
      tf.tidy(() => void unetForward(m, tf.zeros([1, 2, 2, 4]), tf.zeros([1]), tf.zeros([1, 1, 8])));
      m.freeze();
      latent = tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 7) as tf.Tensor4D;
      ctx = tf.randomNormal([2, 6, 8], 0, 1, 'float32', 8) as tf.Tensor3D;
    });
    afterAll(() => tf.dispose([m, latent, ctx] as never));
    const diff = async (a: tf.Tensor, b: tf.Tensor) => (await tf.max(tf.abs(tf.sub(a, b))).data())[0];

    it('cfg = 1 is exactly the loop that calls the U-Net once per step on the conditional input', async () => {
      const s = ddim.create();
      s.setTimesteps(4);
      let x = latent.clone();
      for (const t of s.timesteps) {
        const next = tf.tidy(() => s.step(unetForward(m, x, tf.fill([2], t) as tf.Tensor1D, ctx), t, x).prevSample);
        x.dispose();
        x = next as tf.Tensor4D;
      }
      const out = await sample(predict, ddim, latent, ctx, null, { ...opts, cfgScale: 1 });
      expect(await diff(out, x)).toBe(0);
      tf.dispose([out, x]);
    });

    it('guidance with the negative equal to the positive is the conditional result (the batched [∅; c] call splits right)', async () => {
      const plain = await sample(predict, ddim, latent, ctx, null, { ...opts, cfgScale: 1 });
      const guided = await sample(predict, ddim, latent, ctx, ctx, { ...opts, cfgScale: 4 });
      const zeroNeg = await sample(predict, ddim, latent, ctx, null, { ...opts, cfgScale: 4 });
      expect(await diff(plain, guided)).toBeLessThan(1e-5);
      expect(await diff(plain, zeroNeg)).toBeGreaterThan(1e-3); // a zero negative does push
      tf.dispose([plain, guided, zeroNeg]);
    });

    it('one context for the whole batch equals that context repeated', async () => {
      const one = ctx.slice([0], [1]) as tf.Tensor3D;
      const a = await sample(predict, ddim, latent, one, null, { ...opts, cfgScale: 2 });
      const b = await sample(predict, ddim, latent, tf.tile(one, [2, 1, 1]) as tf.Tensor3D, null, { ...opts, cfgScale: 2 });
      expect(await diff(a, b)).toBeLessThan(1e-6);
      tf.dispose([a, b]);
    });

    it('with η > 0 the seed names the noise: the same seed replays, another seed differs', async () => {
      const run = (seed: number) => sample(predict, ddim, latent, ctx, null, { ...opts, eta: 1, seed, cfgScale: 2 });
      const [a, b, c] = [await run(1), await run(1), await run(2)];
      expect(await diff(a, b)).toBe(0);
      expect(await diff(a, c)).toBeGreaterThan(1e-3);
      tf.dispose([a, b, c]);
    });
  });
});

describe('pooled embeddings in the sampling loop', () => {
  const diff = async (a: tf.Tensor, b: tf.Tensor) => (await tf.max(tf.abs(tf.sub(a, b))).data())[0];
  const opts = { steps: 3, eta: 0, seed: 0 };

  it('are batched as the context is: [p∅; p] beside [∅; c], an open negative zeros; unguided, p alone', async () => {
    await tf.setBackend('cpu');
    const seen: Array<{ ctx: number[][]; pooled: number[][] | null }> = [];
    const spy: Predict = (x, t, c, p) => {
      seen.push({ ctx: (c!.mean(2).arraySync() as number[][]), pooled: p ? (p.arraySync() as number[][]) : null });
      return tf.zerosLike(x);
    };
    const latent = tf.zeros([2, 2, 2, 1]) as tf.Tensor4D;
    const ctx = tf.ones([1, 3, 4]) as tf.Tensor3D;
    const pos = tf.tensor2d([[1, 1], [2, 2]]);
    const neg = tf.tensor2d([[-1, -1]]);
    tf.dispose(await sample(spy, ddim, latent, ctx, null, { ...opts, cfgScale: 3 }, { positive: pos, negative: neg }));
    expect(seen[0].ctx).toEqual([[0, 0, 0], [0, 0, 0], [1, 1, 1], [1, 1, 1]]); // [∅; c]
    expect(seen[0].pooled).toEqual([[-1, -1], [-1, -1], [1, 1], [2, 2]]); // [p∅; p], the one negative repeated
    seen.length = 0;
    tf.dispose(await sample(spy, ddim, latent, ctx, null, { ...opts, cfgScale: 3 }, { positive: pos, negative: null }));
    expect(seen[0].pooled).toEqual([[0, 0], [0, 0], [1, 1], [2, 2]]);
    seen.length = 0;
    tf.dispose(await sample(spy, ddim, latent, ctx, null, { ...opts, cfgScale: 1 }, { positive: pos, negative: neg }));
    expect(seen[0].pooled).toEqual([[1, 1], [2, 2]]);
    seen.length = 0;
    tf.dispose(await sample(spy, ddim, latent, ctx, null, { ...opts, cfgScale: 3 }));
    expect(seen[0].pooled).toBeNull();
    tf.dispose([latent, ctx, pos, neg]);
  });

  it('with a pooled U-Net: the pooled embedding steers the samples; negatives equal to the positives give the conditional result', async () => {
    await tf.setBackend('wasm');
    const config: UNetConfig = { ...UNET, attentionLevels: [1], pooledDim: 6 };
    const m = new ModelHandle('unet', config, 3);
    tf.tidy(() => void unetForward(m, tf.zeros([1, 2, 2, 4]), tf.zeros([1]), tf.zeros([1, 1, 8]), tf.zeros([1, 6])));
    m.freeze();
    const predict: Predict = (x, t, c, p) => unetForward(m, x, t, c, p);
    const latent = tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 7) as tf.Tensor4D;
    const ctx = tf.randomNormal([2, 6, 8], 0, 1, 'float32', 8) as tf.Tensor3D;
    const p = tf.randomNormal([2, 6], 0, 3, 'float32', 9) as tf.Tensor2D;
    const plain = await sample(predict, ddim, latent, ctx, null, { ...opts, cfgScale: 1 });
    const steered = await sample(predict, ddim, latent, ctx, null, { ...opts, cfgScale: 1 }, { positive: p, negative: null });
    const guidedSame = await sample(predict, ddim, latent, ctx, ctx, { ...opts, cfgScale: 4 }, { positive: p, negative: p });
    expect(await diff(plain, steered)).toBeGreaterThan(1e-3);
    expect(await diff(steered, guidedSame)).toBeLessThan(1e-5);
    tf.dispose([m, latent, ctx, p, plain, steered, guidedSame] as never);
  });

  it('in a graph: EncodeText pooled -> Sampler pooled and negativePooled; compile rejects them on a U-Net without the path', async () => {
    const wire = (doc: GraphDoc): GraphDoc => ({
      ...doc,
      edges: [
        ...doc.edges,
        { id: 'p1', from: { node: 'encode', port: 'pooled' }, to: { node: 'sampler', port: 'pooled' } },
        { id: 'p2', from: { node: 'encodeNeg', port: 'pooled' }, to: { node: 'sampler', port: 'negativePooled' } },
      ],
    });
    const pooledUNet = withParams(sampling({}, undefined, { negative: '' }), 'unet', { contextDim: 8, pooledDim: 8 });
    const before = tf.memory().numTensors;
    const open = (await rt.run(pooledUNet)).outputs.out.value as TensorData;
    const fed = (await rt.run(wire(pooledUNet))).outputs.out.value as TensorData;
    expect(fed.shape).toEqual([2, 8, 8, 4]);
    expect(Math.max(...fed.data.map((v, i) => Math.abs(v - open.data[i])))).toBeGreaterThan(1e-4);
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(before);
    const errors = rt.compile(wire(sampling({}, undefined, { negative: '' }))).errors.map((e) => [e.nodeId, e.port, e.message]);
    expect(errors).toEqual([['sampler', 'pooled', expect.stringContaining('no pooled-embedding path (pooledDim 0)')]]); // the first error of the node
  });
});

describe('the Sampler node', () => {
  let baseline: number;
  beforeEach(() => {
    rt.clearCache();
    baseline = tf.memory().numTensors;
  });

  it('reports one progress event per step, in order, with the timestep', async () => {
    const events: RunEvent[] = [];
    const live: number[] = [];
    const res = await rt.run(sampling({ steps: 5 }), {
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'node-progress') live.push(tf.memory().numTensors);
      },
    });
    // each step frees its own tensors: the count is the same after every step
    expect(new Set(live).size).toBe(1);
    const progress = events.filter((e) => e.type === 'node-progress' && e.nodeId === 'sampler');
    expect(progress.map((e) => (e as { done: number }).done)).toEqual([1, 2, 3, 4, 5]);
    expect(progress.every((e) => (e as { total: number }).total === 5)).toBe(true);
    expect(progress.map((e) => ((e as { info?: { timestep?: number } }).info?.timestep))).toEqual([800, 600, 400, 200, 0]);
    expect((res.outputs.out.value as TensorData).shape).toEqual([2, 8, 8, 4]);
  });

  it('a cancel between steps stops the loop there and leaks nothing', async () => {
    const ctl = new AbortController();
    const done: number[] = [];
    const run = rt.run(sampling({ steps: 6 }), {
      signal: ctl.signal,
      onEvent: (e) => {
        if (e.type !== 'node-progress') return;
        done.push(e.done);
        if (e.done === 2) ctl.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(GraphError);
    await run.catch((err: GraphError) => expect(err.errors[0]).toMatchObject({ code: 'cancelled', nodeId: 'sampler' }));
    expect(done).toEqual([1, 2]);
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('runs free everything they made apart from what the cache keeps', async () => {
    for (const cfgScale of [2, 3, 1, 4]) {
      await rt.run(sampling({ cfgScale }, [2, 8, 8, 4], { negative: 'blurry' }));
      rt.clearCache();
      expect(tf.memory().numTensors).toBe(baseline);
    }
  });

  it('changing only the guidance scale reruns only the Sampler and what follows it', async () => {
    await rt.run(sampling({ cfgScale: 3 }));
    const res = await rt.run(sampling({ cfgScale: 5 }));
    const status = Object.fromEntries(Object.entries(res.nodes).map(([id, n]) => [id, n.status]));
    expect(status).toEqual({ prompt: 'cached', enc: 'cached', encode: 'cached', unet: 'cached', sched: 'cached', noise: 'cached', sampler: 'ran', out: 'ran' });
  });

  it('compile rejects a latent the U-Net cannot halve, a negative of another length and a U-Net that changes channels', () => {
    const codes = (doc: GraphDoc) => rt.compile(doc).errors.map((e) => [e.nodeId, e.port, e.message]);
    expect(codes(sampling({}, [2, 7, 8, 4]))).toEqual([['sampler', 'latent', expect.stringContaining('H = 7 is not divisible by 2^(levels − 1) = 2')]]);
    const shorter = withParams(sampling({}, undefined, { negative: '' }), 'enc', {});
    const negEnc = { ...shorter, nodes: [...shorter.nodes, { id: 'enc2', type: 'TextEncoder', params: { dim: 8, heads: 2, maxLength: 5 }, position: { x: 0, y: 0 } }] };
    negEnc.edges = negEnc.edges.map((e) => (e.to.node === 'encodeNeg' && e.to.port === 'model' ? { ...e, from: { node: 'enc2', port: 'model' } } : e));
    expect(codes(negEnc)).toEqual([['sampler', 'negative', expect.stringContaining('has 5 tokens, the context 8')]]);
    expect(codes(withParams(sampling({}), 'unet', { outChannels: 8 }))).toEqual([['sampler', 'unet', expect.stringContaining('predicts 8 channels for a 4-channel sample')]]);
  });
});
