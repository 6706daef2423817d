import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime, type TensorData } from '../index.ts';
import { compile } from '../runtime/compile.ts';
import { graph } from '../runtime/testing.ts';
import { createRegistry } from './index.ts';
import { buildVae, decode, encode, reparameterize, type VaeConfig } from './vae.ts';

const tiny = (o: Partial<VaeConfig> = {}) => ({ inChannels: 1, baseChannels: 4, latentChannels: 2, downsamplings: 2, groups: 2, ...o });
const data = (res: { outputs: Record<string, Record<string, unknown>> }, node: string, port: string) => res.outputs[node][port] as TensorData;

/** image noise -> VAEEncode -> VAEDecode, every output requested. */
function pipeline(vae: Record<string, unknown>, imageShape: number[], encodeSeed = 5) {
  return graph(
    [
      ['vae', 'VAE', vae],
      ['img', 'NoiseSource', { shape: imageShape, seed: 1, distribution: 'uniform' }],
      ['enc', 'VAEEncode', { seed: encodeSeed }],
      ['dec', 'VAEDecode'],
    ],
    ['vae.model -> enc.model', 'img.out -> enc.image', 'vae.model -> dec.model', 'enc.latent -> dec.latent'],
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

describe('VAE shapes', () => {
  // 1 and 3 channels, 1-3 downsamplings, several latent widths; non-square images
  const configs = [
    { inChannels: 1, downsamplings: 1, latentChannels: 1 },
    { inChannels: 3, downsamplings: 2, latentChannels: 4 },
    { inChannels: 1, downsamplings: 3, latentChannels: 8 },
    { inChannels: 3, downsamplings: 3, latentChannels: 3 },
  ];
  for (const c of configs) {
    it(`inChannels ${c.inChannels}, ${c.downsamplings} downsamplings, ${c.latentChannels} latent channels: inferred shapes are the run's, and decode∘encode gives the image shape back`, async () => {
      const f = 2 ** c.downsamplings;
      const shape = [2, 2 * f, 3 * f, c.inChannels];
      const doc = pipeline(tiny(c), shape);
      const { plan, errors } = compile(doc, rt.registry);
      expect(errors).toEqual([]);
      const latent = [2, 2, 3, c.latentChannels];
      for (const port of ['mean', 'logvar', 'latent']) expect(plan!.byId.get('enc')!.types[port]).toMatchObject({ shape: latent });
      expect(plan!.byId.get('dec')!.types.image).toMatchObject({ shape: shape });
      const res = await rt.run(doc, { outputs: ['enc', 'dec'] });
      for (const port of ['mean', 'logvar', 'latent']) expect(data(res, 'enc', port).shape).toEqual(latent);
      const image = data(res, 'dec', 'image');
      expect(image.shape).toEqual(shape);
      // the decoder ends in a sigmoid
      expect(Math.min(...image.data)).toBeGreaterThan(0);
      expect(Math.max(...image.data)).toBeLessThan(1);
      rt.clearCache();
      expect(tf.memory().numTensors).toBe(baseline);
    });
  }

  it('a side not divisible by 2^downsamplings is a shape error on the image port, before anything runs', () => {
    const [e] = compile(pipeline(tiny({ downsamplings: 3 }), [1, 16, 12, 1]), rt.registry).errors;
    expect(e).toMatchObject({ code: 'shape-mismatch', nodeId: 'enc', port: 'image' });
    expect(e.message).toContain('width 12 is not divisible by 2^3 = 8');
  });

  it('an image with the wrong channel count is a shape error naming the image port', () => {
    const [e] = compile(pipeline(tiny({ inChannels: 3 }), [1, 8, 8, 1]), rt.registry).errors;
    expect(e).toMatchObject({ code: 'shape-mismatch', nodeId: 'enc', port: 'image' });
    expect(e.message).toContain('expects 3 channels');
  });

  it('a latent with the wrong channel count is a shape error naming the latent port', () => {
    const doc = graph(
      [['vae', 'VAE', tiny({ latentChannels: 4 })], ['z', 'NoiseSource', { shape: [1, 2, 2, 3] }], ['dec', 'VAEDecode']],
      ['vae.model -> dec.model', 'z.out -> dec.latent'],
    );
    const [e] = compile(doc, rt.registry).errors;
    expect(e).toMatchObject({ code: 'shape-mismatch', nodeId: 'dec', port: 'latent' });
    expect(e.message).toContain('expects 4 channels');
  });

  it('groups that do not divide the widths are reported on the VAE node', () => {
    const [e] = compile(graph([['vae', 'VAE', tiny({ baseChannels: 6, groups: 4 })]]), rt.registry).errors;
    expect(e).toMatchObject({ code: 'shape-mismatch', nodeId: 'vae' });
    expect(e.message).toContain('groups = 4 does not divide the 6 channels');
  });
});

describe('sampling', () => {
  it('Reparameterize computes mean + exp(logvar/2)·ε with ε ~ N(0, I) from its seed', async () => {
    const doc = graph(
      [
        ['mu', 'NoiseSource', { shape: [3, 4, 5], seed: 1 }],
        ['lv', 'NoiseSource', { shape: [3, 4, 5], seed: 2 }],
        ['z', 'Reparameterize', { seed: 0 }],
      ],
      ['mu.out -> z.mean', 'lv.out -> z.logvar'],
    );
    const got = data(await rt.run(doc), 'z', 'out');
    const [mu, lv, eps] = await Promise.all(
      [tf.randomNormal([3, 4, 5], 0, 1, 'float32', 1), tf.randomNormal([3, 4, 5], 0, 1, 'float32', 2), tf.randomNormal([3, 4, 5], 0, 1, 'float32', 0.5)].map(async (t) => {
        const d = await t.data();
        t.dispose();
        return d;
      }),
    );
    expect(got.shape).toEqual([3, 4, 5]);
    got.data.forEach((v, i) => expect(v).toBeCloseTo(mu[i] + Math.exp(lv[i] / 2) * eps[i], 5));
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('Reparameterize refuses a logvar of another shape', () => {
    const doc = graph(
      [['mu', 'NoiseSource', { shape: [2, 4] }], ['lv', 'NoiseSource', { shape: [2, 5] }], ['z', 'Reparameterize']],
      ['mu.out -> z.mean', 'lv.out -> z.logvar'],
    );
    expect(compile(doc, rt.registry).errors[0]).toMatchObject({ code: 'shape-mismatch', nodeId: 'z', port: 'logvar' });
  });

  it("VAEEncode's latent is the reparameterisation of its own mean and logvar, and its seed picks ε", async () => {
    const doc = pipeline(tiny(), [2, 8, 8, 1], 9);
    const res = await rt.run(doc, { outputs: ['enc'] });
    const [mean, logvar, latent] = ['mean', 'logvar', 'latent'].map((p) => data(res, 'enc', p));
    const eps = tf.randomNormal(mean.shape, 0, 1, 'float32', 9);
    const e = await eps.data();
    eps.dispose();
    latent.data.forEach((v, i) => expect(v).toBeCloseTo(mean.data[i] + Math.exp(logvar.data[i] / 2) * e[i], 5));
    const other = await rt.run(pipeline(tiny(), [2, 8, 8, 1], 10), { outputs: ['enc'] });
    expect(other.nodes.enc.status).toBe('ran');
    expect(data(other, 'enc', 'mean').data).toEqual(mean.data);
    expect(data(other, 'enc', 'latent').data).not.toEqual(latent.data);
  });
});

describe('the KL of the encoder output, two ways', () => {
  it('closed form −½Σ(1 + logvar − μ² − e^logvar) agrees with a Monte-Carlo mean of log q(z|x) − log p(z)', async () => {
    await tf.setBackend('cpu');
    const m = await buildVae(tiny({ latentChannels: 2 }), 3);
    const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
    const { mean, logvar } = encode(m, x);
    const [mu, lv] = [await mean.data(), await logvar.data()];
    const dims = mu.length / 2; // 2x2x2 latent per image = 8 dims
    const S = 20_000;
    // S samples per image in one batch: z has shape [S, 2, dims]
    const tile = (t: tf.Tensor) => tf.tile(t.reshape([1, 2, dims]), [S, 1, 1]);
    const zT = reparameterize(tile(mean), tile(logvar), 11);
    const z = await zT.data();
    for (let n = 0; n < 2; n++) {
      let closed = 0;
      let variance = 0;
      for (let j = 0; j < dims; j++) {
        const [u, l] = [mu[n * dims + j], lv[n * dims + j]];
        const s2 = Math.exp(l);
        closed += -0.5 * (1 + l - u * u - s2);
        // Var of one sample's log q − log p in this dim: with z = μ + σε it is ½[(σ²−1)ε² + 2μσε + μ² − log σ²],
        // whose variance is ½(σ²−1)² + μ²σ² (E ε³ = 0, Var ε² = 2)
        variance += 0.5 * (s2 - 1) ** 2 + u * u * s2;
      }
      // log q(z|x) − log p(z) = Σ_j −½((z−μ)/σ)² − ½ log σ² + ½ z²  (the ½ log 2π terms cancel)
      let mc = 0;
      for (let s = 0; s < S; s++) {
        for (let j = 0; j < dims; j++) {
          const zi = z[(s * 2 + n) * dims + j];
          const [u, l] = [mu[n * dims + j], lv[n * dims + j]];
          mc += -0.5 * ((zi - u) ** 2 / Math.exp(l)) - 0.5 * l + 0.5 * zi * zi;
        }
      }
      mc /= S;
      // The MC mean has standard error sqrt(Var / S); 4 standard errors fail by chance with
      // probability 6e-5 (the seed is fixed, so this is a one-off check of the numbers).
      const tolerance = 4 * Math.sqrt(variance / S);
      expect(closed).toBeGreaterThan(0.5); // an untrained encoder is far from N(0, I): a real check, not 0 ≈ 0
      expect(tolerance).toBeLessThan(0.1 * closed);
      expect(Math.abs(mc - closed), `closed ${closed}, MC ${mc}, tolerance ${tolerance}`).toBeLessThan(tolerance);
    }
    tf.dispose([x, mean, logvar, zT]);
    m.dispose();
  });
});

describe('training', () => {
  it('gradients of a VAE loss reach every parameter (cpu)', async () => {
    await tf.setBackend('cpu');
    const m = await buildVae(tiny(), 1);
    const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const { grads, value } = tf.variableGrads(() => {
      const { mean, logvar } = encode(m, x);
      const xHat = decode(m, reparameterize(mean, logvar, 3) as tf.Tensor4D);
      const kl = tf.mul(-0.5, tf.sum(tf.sub(tf.sub(tf.add(1, logvar), tf.square(mean)), tf.exp(logvar))));
      return tf.add(tf.losses.sigmoidCrossEntropy(x, xHat), kl) as tf.Scalar;
    }, m.variables());
    expect(Object.keys(grads).length).toBe(m.names().length);
    for (const [name, g] of Object.entries(grads)) expect((await g.data()).some((v) => v !== 0), name).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    m.dispose();
  });
});

describe('VAE memory', () => {
  it('a run, a cached rerun and clearCache leave tf.memory() where it started', async () => {
    const doc = pipeline(tiny(), [2, 8, 8, 1]);
    await rt.run(doc);
    const held = tf.memory().numTensors;
    const again = await rt.run(doc);
    expect(again.nodes.dec.status).toBe('cached');
    expect(tf.memory().numTensors).toBe(held);
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('a registry lists the vae kinds', () => {
    expect(createRegistry().types()).toEqual(expect.arrayContaining(['VAE', 'VAEEncode', 'VAEDecode', 'Reparameterize']));
  });
});
