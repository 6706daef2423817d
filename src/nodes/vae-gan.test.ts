/**
 * The VAE-GAN example graph (graphs/vae-gan.json, on MNIST test digits) and every vae/gan kind across backends: the same
 * numbers on cpu, wasm and webgpu (Dawn on SwiftShader here) to 1e-4, for every node's output.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, loadGraph, type BackendName, type GraphDoc, type OutputValue, type RunResult, type TensorData } from '../index.ts';
import { graph } from '../runtime/testing.ts';

const TOLERANCE = 1e-4;
const HAS_SWIFTSHADER = existsSync('/usr/lib/chromium/vk_swiftshader_icd.json');
const BACKENDS: BackendName[] = ['cpu', 'wasm', ...(HAS_SWIFTSHADER ? (['webgpu'] as const) : [])];

const vaeGan = loadGraph(readFileSync(new URL('../../graphs/vae-gan.json', import.meta.url), 'utf8'));
const withParam = (doc: GraphDoc, id: string, name: string, value: unknown): GraphDoc => ({
  ...doc,
  nodes: doc.nodes.map((n) => (n.id === id ? { ...n, params: { ...n.params, [name]: value } } : n)),
});
const statuses = (res: RunResult) => Object.fromEntries(Object.entries(res.nodes).map(([id, n]) => [id, n.status]));
const tensorOut = (res: RunResult, node: string, port: string) => res.outputs[node][port] as TensorData;
const mean = (t: TensorData) => Array.from(t.data).reduce((sum, v) => sum + v, 0) / t.data.length;

/** Every vae and gan kind, tiny: VAE, VAEEncode, VAEDecode, Reparameterize, both discriminators, Discriminate. */
const everyKind = graph(
  [
    ['img', 'NoiseSource', { shape: [2, 8, 8, 3], seed: 1, distribution: 'uniform' }],
    ['vae', 'VAE', { inChannels: 3, baseChannels: 4, latentChannels: 2, downsamplings: 2, groups: 2, seed: 5 }],
    ['enc', 'VAEEncode', { seed: 6 }],
    ['rep', 'Reparameterize', { seed: 0 }],
    ['dec', 'VAEDecode'],
    ['conv', 'Discriminator', { arch: 'conv', inShape: [8, 8, 3], width: 4, depth: 2, seed: 7 }],
    ['judgeConv', 'Discriminate', { layer: 1 }],
    ['points', 'NoiseSource', { shape: [6, 2], seed: 8 }],
    ['mlp', 'Discriminator', { arch: 'mlp', inShape: [2], width: 8, depth: 2, seed: 9 }],
    ['judgeMlp', 'Discriminate'],
  ],
  [
    'vae.model -> enc.model',
    'img.out -> enc.image',
    'enc.mean -> rep.mean',
    'enc.logvar -> rep.logvar',
    'vae.model -> dec.model',
    'rep.out -> dec.latent',
    'conv.model -> judgeConv.model',
    'dec.image -> judgeConv.x',
    'mlp.model -> judgeMlp.model',
    'points.out -> judgeMlp.x',
  ],
  'every vae and gan kind',
);

const GRAPHS: Record<string, GraphDoc> = { 'vae-gan.json': vaeGan, 'every vae and gan kind': everyKind };
/**
 * WebGPU on SwiftShader compiles a shader per op and shape on first use: the example graph takes
 * ~50 s there (~1 s on wasm), so webgpu runs the small graph, which has every kind in it.
 */
const graphsOn = (backend: BackendName) => (backend === 'webgpu' ? ['every vae and gan kind'] : Object.keys(GRAPHS));
type Outputs = RunResult['outputs'];
const results: Partial<Record<BackendName, Record<string, Outputs>>> = {};
const leaked: Partial<Record<BackendName, number>> = {};
const ranOn: string[] = [];

beforeAll(async () => {
  // tfjs's backend is process-wide: one runtime after another, each read back to plain arrays
  for (const backend of BACKENDS) {
    const rt = await createRuntime({ backend });
    const before = tf.memory().numTensors;
    results[backend] = {};
    for (const name of graphsOn(backend)) {
      const doc = GRAPHS[name];
      const res = await rt.run(doc, { outputs: doc.nodes.map((n) => n.id) });
      results[backend]![name] = res.outputs;
      ranOn.push(`${backend} -> ${res.backend}`);
    }
    rt.dispose();
    leaked[backend] = tf.memory().numTensors - before;
  }
}, 120_000);

const isTensorData = (v: unknown): v is TensorData => typeof v === 'object' && v !== null && 'data' in v && 'shape' in v;

/** Largest |a − b| over every node's every value; shapes and non-tensor values must be equal. */
function maxDifference(a: Outputs, b: Outputs): { diff: number; where: string; values: number } {
  let worst = { diff: 0, where: '', values: 0 };
  for (const [node, ports] of Object.entries(a)) {
    for (const [port, x] of Object.entries(ports) as Array<[string, OutputValue]>) {
      const y = b[node][port] as OutputValue;
      const where = `${node}.${port}`;
      if (isTensorData(x)) {
        expect((y as TensorData).shape, where).toEqual(x.shape);
        worst.values += x.data.length;
        x.data.forEach((v, i) => {
          const d = Math.abs(v - (y as TensorData).data[i]);
          if (!(d <= worst.diff)) worst = { ...worst, diff: Number.isNaN(d) ? Infinity : d, where: `${where}[${i}]` };
        });
      } else if (typeof x === 'number') {
        const d = Math.abs(x - (y as number));
        if (!(d <= worst.diff)) worst = { ...worst, diff: Number.isNaN(d) ? Infinity : d, where };
      } else expect(y, where).toEqual(x);
    }
  }
  return worst;
}

describe('the same numbers on every backend', () => {
  it('each runtime ran on its backend (webgpu wherever SwiftShader is installed)', () => {
    expect(ranOn).toEqual(BACKENDS.flatMap((b) => graphsOn(b).map(() => `${b} -> ${b}`)));
  });

  for (const name of Object.keys(GRAPHS)) {
    for (const backend of BACKENDS.filter((b) => b !== 'cpu' && graphsOn(b).includes(name))) {
      it(`${name}: every node's output on ${backend} matches cpu to ${TOLERANCE}`, () => {
        const { diff, where, values } = maxDifference(results.cpu![name], results[backend]![name]);
        expect(values).toBeGreaterThan(500);
        expect(diff, `largest difference at ${where}`).toBeLessThanOrEqual(TOLERANCE);
      });
    }
  }

  it('no backend leaks tensors', () => {
    for (const backend of BACKENDS) expect(leaked[backend], backend).toBe(0);
  });
});

describe('graphs/vae-gan.json', () => {
  it('has the shapes of a VAE-GAN on 28x28 MNIST digits, and its golden numbers', () => {
    const res = results.wasm!['vae-gan.json'];
    // MNIST digits are mostly background: the mean pixel of this batch is 0.147, far below uniform noise's 0.5
    expect(mean(res.input.image as TensorData)).toBeCloseTo(0.147151, 4);
    const shape = (node: string, port: string) => (res[node][port] as TensorData).shape;
    expect(shape('encode', 'latent')).toEqual([4, 7, 7, 4]);
    expect(shape('reconstruction', 'image')).toEqual([4, 28, 28, 1]);
    expect(shape('fakeLogits', 'value')).toEqual([4, 1]);
    expect(shape('realLogits', 'value')).toEqual([4, 1]);
    // layer 2 of the conv discriminator: 28 -> 14 -> 7, width 16·2
    expect(shape('fakeFeatures', 'value')).toEqual([4, 7, 7, 32]);
    expect(shape('realFeatures', 'value')).toEqual([4, 7, 7, 32]);
    // fixed seeds name fixed numbers (recorded on wasm; cpu agrees to 1e-4 above): the latent, the
    // reconstruction, and the discriminator's judgement and features
    expect(mean(res.encode.latent as TensorData)).toBeCloseTo(0.371413, 4);
    expect(mean(res.reconstruction.image as TensorData)).toBeCloseTo(0.498415, 4);
    expect(res.fakeLogits.mean as number).toBeCloseTo(0.118540, 4);
    expect(res.realLogits.mean as number).toBeCloseTo(0.057034, 4);
    expect(res.fakeFeatures.mean as number).toBeCloseTo(0.033441, 4);
  });

  it("changing only the discriminator's seed reuses the encode and decode", async () => {
    const rt = await createRuntime({ backend: 'wasm' });
    const baseline = tf.memory().numTensors;
    const first = await rt.run(vaeGan);
    const res = await rt.run(withParam(vaeGan, 'disc', 'seed', 4));
    expect(statuses(res)).toEqual({
      images: 'cached',
      vae: 'cached',
      encode: 'cached',
      decode: 'cached',
      input: 'cached',
      reconstruction: 'cached',
      disc: 'ran',
      judgeFake: 'ran',
      judgeReal: 'ran',
      fakeLogits: 'ran',
      fakeFeatures: 'ran',
      realLogits: 'ran',
      realFeatures: 'ran',
    });
    expect(res.outputs.fakeLogits.mean).not.toEqual(first.outputs.fakeLogits.mean);
    expect(tensorOut(res, 'reconstruction', 'image').data).toEqual(tensorOut(first, 'reconstruction', 'image').data);
    rt.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });
});
