/**
 * The math of the flow layers, on the cpu backend: each layer and each chain inverts exactly, the
 * log-det equals log|det| of a finite-difference Jacobian, ActNorm's data init normalises, and
 * nothing leaks. Layers are built through the kinds' run() (see testing.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AnyNodeKind } from '../../runtime/index.ts';
import { ActNorm } from './actnorm.ts';
import { Invertible1x1Conv } from './conv1x1.ts';
import { AffineCoupling } from './coupling.ts';
import { flowForward, flowInverse, liveLayerCount, type FlowHandle } from './handle.ts';
import { chain, finiteDifferenceLogdet, layer, maxAbsDiff } from './testing.ts';

type Spec = [AnyNodeKind, Record<string, unknown>];

let baseline: number;
beforeAll(async () => {
  await tf.setBackend('cpu');
});
beforeEach(() => {
  baseline = tf.memory().numTensors;
});
afterEach(() => {
  // every test disposes what it made: no tensor, variable or layer outlives it
  expect(tf.memory().numTensors).toBe(baseline);
  expect(liveLayerCount()).toBe(0);
});

const normal = (shape: number[], seed: number, scale = 1) => tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale));

/** |f⁻¹(f(x)) − x| over every element, and the log-det per sample. */
async function roundTrip(flow: FlowHandle, x: tf.Tensor): Promise<{ error: number; logdet: Float32Array }> {
  const { z, logdet } = flowForward(flow, x);
  const back = await flowInverse(flow, z);
  const error = maxAbsDiff(await x.data(), await back.data());
  const ld = (await logdet.data()) as Float32Array;
  tf.dispose([z, logdet, back]);
  return { error, logdet: ld };
}

/** A trained-looking ActNorm: data init on shifted, stretched data, so b ≠ 0 and logs ≠ 0. */
const actnormOn = (data: tf.Tensor): Spec => [ActNorm, { channels: data.shape[data.rank - 1] }];
const coupling = (params: Record<string, unknown>): Spec => [AffineCoupling, { hidden: 16, initScale: 0.5, ...params }];

const VECTOR_LAYERS: Record<string, Spec> = {
  'ActNorm': [ActNorm, {}],
  'Invertible1x1Conv C=2': [Invertible1x1Conv, { seed: 3 }],
  'AffineCoupling alternate parity 0': coupling({ parity: 0, seed: 1 }),
  'AffineCoupling alternate parity 1': coupling({ parity: 1, seed: 2 }),
  'AffineCoupling half': coupling({ mask: 'half', seed: 4 }),
};

describe('every layer inverts its forward', () => {
  for (const d of [2, 4]) {
    for (const [name, [kind, params]] of Object.entries(VECTOR_LAYERS)) {
      it(`${name} on [64, ${d}] vectors round-trips to 1e-5`, async () => {
        const x = normal([64, d], 7, 2);
        const data = normal([64, d], 8, 3);
        // ActNorm gets data, so its init is not the identity
        const flow = await layer(kind, { channels: d, ...params }, kind === ActNorm ? { data } : {});
        const { error } = await roundTrip(flow, x);
        expect(error).toBeLessThan(1e-5);
        flow.dispose();
        tf.dispose([x, data]);
      });
    }
  }

  const IMAGE_LAYERS: Record<string, Spec> = {
    'ActNorm': [ActNorm, {}],
    'Invertible1x1Conv': [Invertible1x1Conv, { seed: 5 }],
    'conv coupling, channel split': coupling({ net: 'conv', mask: 'half', seed: 6 }),
    'conv coupling, checkerboard': coupling({ net: 'conv', mask: 'checkerboard', parity: 1, seed: 7 }),
    'mlp coupling per pixel, alternate': coupling({ net: 'mlp', seed: 8 }),
  };
  for (const [name, [kind, params]] of Object.entries(IMAGE_LAYERS)) {
    it(`${name} on [2, 6, 6, 4] images round-trips to 1e-5`, async () => {
      const x = normal([2, 6, 6, 4], 9);
      const data = normal([8, 6, 6, 4], 10, 2);
      const flow = await layer(kind, { channels: 4, ...params }, kind === ActNorm ? { data } : {});
      const { error } = await roundTrip(flow, x);
      expect(error).toBeLessThan(1e-5);
      flow.dispose();
      tf.dispose([x, data]);
    });
  }

  it('a six-layer chain (ActNorm, coupling, 1x1, coupling, 1x1, coupling) round-trips to 1e-5', async () => {
    const data = normal([128, 2], 11, 4);
    const flow = await chain(
      [actnormOn(data), coupling({ seed: 1 }), [Invertible1x1Conv, { seed: 2 }], coupling({ parity: 1, seed: 3 }), [Invertible1x1Conv, { seed: 4 }], coupling({ seed: 5 })],
      { data },
    );
    expect(flow.layers.map((l) => l.kind)).toEqual(['actnorm', 'coupling', 'conv1x1', 'coupling', 'conv1x1', 'coupling']);
    const { error } = await roundTrip(flow, data);
    expect(error).toBeLessThan(1e-5);
    flow.dispose();
    data.dispose();
  });
});

/**
 * Central differences with step h: truncation error h²/6·|f‴| ≈ 2e-5 per Jacobian entry at
 * h = 1e-2 (|f‴| = O(1) for tanh/SiLU couplings), rounding ε₃₂·|f|/h ≈ 6e-8·3/1e-2 ≈ 2e-5 (the
 * step itself is taken as float32 stored it). log|det| moves by tr(J⁻¹·δJ), a sum over ≤ 18
 * entries of an O(1)-conditioned J: ~1e-4 at worst. Measured: ≤ 1.4e-5 on vectors, 2.7e-5 on the 18×18 image; a larger
 * or smaller h is worse (3e-3: 7e-5; 1e-3: 2.5e-4, rounding-bound).
 */
const H = 1e-2;
const FD_TOLERANCE = 2e-4;

describe('log-det equals log|det| of a finite-difference Jacobian', () => {
  for (const d of [2, 4]) {
    it(`for a six-layer chain on D = ${d}, sample by sample`, async () => {
      const data = normal([64, d], 12, 2);
      const flow = await chain(
        [actnormOn(data), coupling({ seed: 1 }), [Invertible1x1Conv, { seed: 2 }], coupling({ parity: 1, seed: 3 }), [Invertible1x1Conv, { seed: 4 }], coupling({ mask: 'half', seed: 5 })],
        { data },
      );
      const x = normal([6, d], 13);
      const { logdet } = await roundTrip(flow, x);
      const fd = await finiteDifferenceLogdet(flow, x, H);
      expect(maxAbsDiff(fd, logdet)).toBeLessThan(FD_TOLERANCE);
      // not vacuous: the map stretches and squeezes, differently per sample
      expect(Math.max(...logdet.map(Math.abs))).toBeGreaterThan(0.5);
      expect(Math.max(...logdet) - Math.min(...logdet)).toBeGreaterThan(0.05);
      flow.dispose();
      tf.dispose([x, data]);
    });
  }

  for (const [name, [kind, params]] of Object.entries(VECTOR_LAYERS)) {
    it(`for ${name} alone on D = 4`, async () => {
      const data = normal([64, 4], 14, 3);
      const flow = await layer(kind, { channels: 4, ...params }, kind === ActNorm ? { data } : {});
      const x = normal([3, 4], 15);
      const { logdet } = await roundTrip(flow, x);
      expect(maxAbsDiff(await finiteDifferenceLogdet(flow, x, H), logdet)).toBeLessThan(FD_TOLERANCE);
      flow.dispose();
      tf.dispose([x, data]);
    });
  }

  it('for a tiny image flow [1, 3, 3, 2] (an 18×18 Jacobian): ActNorm, conv couplings (checkerboard, channel split), 1x1', async () => {
    const data = normal([8, 3, 3, 2], 16, 2);
    const conv = (p: Record<string, unknown>) => coupling({ net: 'conv', hidden: 8, initScale: 0.3, ...p });
    const flow = await chain([actnormOn(data), conv({ mask: 'checkerboard', seed: 1 }), [Invertible1x1Conv, { seed: 2 }], conv({ mask: 'half', parity: 1, seed: 3 })], { data });
    const x = normal([2, 3, 3, 2], 17);
    const { logdet, error } = await roundTrip(flow, x);
    expect(error).toBeLessThan(1e-5);
    expect(maxAbsDiff(await finiteDifferenceLogdet(flow, x, H), logdet)).toBeLessThan(FD_TOLERANCE);
    flow.dispose();
    tf.dispose([x, data]);
  });
});

describe('initialisation', () => {
  const stats = async (t: tf.Tensor) => {
    const { mean, variance } = tf.moments(t, t.shape.slice(0, -1).map((_, i) => i));
    const out = { mean: Array.from(await mean.data()), std: Array.from(await variance.data()).map(Math.sqrt) };
    tf.dispose([mean, variance]);
    return out;
  };

  it('ActNorm with data gives zero mean and unit variance per channel, through the flow before it', async () => {
    const data = tf.tidy(() => tf.add(tf.mul(normal([256, 3], 18), tf.tensor1d([0.5, 2, 7])), tf.tensor1d([3, -1, 10])));
    const rotate = await layer(Invertible1x1Conv, { channels: 3, seed: 9 });
    const flow = await layer(ActNorm, {}, { flow: rotate, data });
    rotate.dispose();
    const { z, logdet } = flowForward(flow, data);
    const { mean, std } = await stats(z);
    for (const m of mean) expect(Math.abs(m)).toBeLessThan(1e-5);
    for (const s of std) expect(Math.abs(s - 1)).toBeLessThan(1e-4);
    tf.dispose([z, logdet, data]);
    flow.dispose();
  });

  it('ActNorm on images normalises each channel over N, H and W; log-det is H·W·Σ logs', async () => {
    const data = tf.tidy(() => tf.add(tf.mul(normal([4, 5, 5, 2], 19), tf.tensor1d([3, 0.1])), tf.tensor1d([-2, 1])));
    const flow = await layer(ActNorm, {}, { data });
    const { z, logdet } = flowForward(flow, data);
    const { mean, std } = await stats(z);
    for (const m of mean) expect(Math.abs(m)).toBeLessThan(1e-5);
    for (const s of std) expect(Math.abs(s - 1)).toBeLessThan(1e-4);
    const logs = Array.from(await flow.layers[0].model.get('logs')!.data());
    const ld = Array.from(await logdet.data());
    expect(ld[0]).toBeCloseTo(25 * (logs[0] + logs[1]), 3);
    expect(logs[0]).toBeCloseTo(-Math.log(std0((await data.array()) as number[][][][])), 4);
    tf.dispose([z, logdet, data]);
    flow.dispose();
  });

  it('without data ActNorm, and a coupling with initScale 0, start as the identity', async () => {
    const flow = await chain([[ActNorm, { channels: 2 }], [AffineCoupling, { seed: 3 }]]);
    const x = normal([16, 2], 20);
    const { z, logdet } = flowForward(flow, x);
    expect(maxAbsDiff(await z.data(), await x.data())).toBe(0);
    expect(Array.from(await logdet.data()).every((v) => v === 0)).toBe(true);
    tf.dispose([z, logdet, x]);
    flow.dispose();
  });

  it('the 1x1 conv starts as a seeded rotation: |det W| = 1, so log-det 0, and lengths are kept', async () => {
    const a = await layer(Invertible1x1Conv, { channels: 4, seed: 1 });
    const b = await layer(Invertible1x1Conv, { channels: 4, seed: 1 });
    const c = await layer(Invertible1x1Conv, { channels: 4, seed: 2 });
    expect(b.layers[0]).toBe(a.layers[0]); // the same recipe while alive is the same layer
    const x = normal([8, 4], 21);
    const [fa, fc] = [flowForward(a, x), flowForward(c, x)];
    for (const v of await fa.logdet.data()) expect(Math.abs(v)).toBeLessThan(1e-5);
    const norms = async (t: tf.Tensor) => {
      const n = tf.norm(t, 2, 1);
      const out = await n.data();
      n.dispose();
      return out;
    };
    expect(maxAbsDiff(await norms(fa.z), await norms(x))).toBeLessThan(1e-5);
    expect(maxAbsDiff(await fa.z.data(), await fc.z.data())).toBeGreaterThan(0.1); // another seed, another rotation
    tf.dispose([x, fa.z, fa.logdet, fc.z, fc.logdet]);
    [a, b, c].forEach((f) => f.dispose());
  });

  it('for D = 2, parity picks which coordinate a coupling moves', async () => {
    const x = normal([32, 2], 22);
    const xs = (await x.array()) as number[][];
    for (const parity of [0, 1]) {
      const flow = await layer(AffineCoupling, { channels: 2, parity, initScale: 0.5, seed: 4 });
      const { z, logdet } = flowForward(flow, x);
      const zs = (await z.array()) as number[][];
      // parity 0 conditions on x₀ (passed through) and moves x₁; parity 1 the reverse
      const [kept, moved] = parity === 0 ? [0, 1] : [1, 0];
      expect(maxAbsDiff(zs.map((r) => r[kept]), xs.map((r) => r[kept]))).toBe(0);
      expect(maxAbsDiff(zs.map((r) => r[moved]), xs.map((r) => r[moved]))).toBeGreaterThan(0.1);
      tf.dispose([z, logdet]);
      flow.dispose();
    }
    x.dispose();
  });
});

describe('wrong inputs are clear errors', () => {
  it('channels must agree along a chain and with the data; nets and masks need the right rank', async () => {
    const two = await layer(ActNorm, { channels: 2 });
    await expect(layer(AffineCoupling, { channels: 3 }, { flow: two })).rejects.toThrow('the channels param says 3 channels but the input flow has 2');
    await expect(layer(ActNorm, {})).rejects.toThrow('set channels, or connect an input flow or data');
    await expect(layer(AffineCoupling, { channels: 1 })).rejects.toThrow('needs at least 2 channels');
    const conv = await layer(AffineCoupling, { net: 'conv' }, { flow: two });
    const vectors = tf.zeros([4, 2]);
    const wide = tf.zeros([4, 3]);
    expect(() => flowForward(two, wide)).toThrow('x has 3 channels on its last axis but the flow has 2');
    expect(() => flowForward(conv, vectors)).toThrow('a conv net needs [N, H, W, C] images');
    tf.dispose([vectors, wide]);
    [two, conv].forEach((f) => f.dispose());
  });
});

/** Population std of channel 0 of an [N, H, W, C] array. */
function std0(a: number[][][][]): number {
  const v = a.flat(2).map((px) => px[0]);
  const m = v.reduce((s, x) => s + x, 0) / v.length;
  return Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length);
}
