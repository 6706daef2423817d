/**
 * Every text and diffusion kind (Text, TextEncoder, EncodeText, UNet, UNetPredict, Sampler) gives
 * the same numbers on cpu, wasm and webgpu (Dawn on SwiftShader here), for every node's output.
 *
 * Tolerance 1e-4 everywhere, the Sampler's three guided steps included. That needs the timestep
 * embedding to be exact: WGSL's sin/cos on SwiftShader are off by up to 1.5e-4, which a 3-step
 * guided DDIM run grew to 3e-4; nn.timestepEmbedding computes sin/cos from multiplies and adds, so
 * its values agree bit for bit (checked below), and the Sampler agrees to ~2e-5.
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type BackendName, type OutputValue, type RunResult, type TensorData } from '../index.ts';
import { graph } from '../runtime/testing.ts';
import { timestepEmbedding } from './nn.ts';

const TOLERANCE = 1e-4;
const HAS_SWIFTSHADER = existsSync('/usr/lib/chromium/vk_swiftshader_icd.json');
const BACKENDS: BackendName[] = ['cpu', 'wasm', ...(HAS_SWIFTSHADER ? (['webgpu'] as const) : [])];

const everyKind = graph(
  [
    ['prompt', 'Text', { text: 'a red circle\na blue square' }],
    ['enc', 'TextEncoder', { dim: 8, layers: 1, heads: 2, maxLength: 8, seed: 1 }],
    ['encode', 'EncodeText'],
    ['unet', 'UNet', { inChannels: 4, outChannels: 4, baseChannels: 4, channelMults: [1, 2], resBlocks: 1, attentionLevels: '1', contextDim: 8, groups: 2, heads: 2, seed: 3 }],
    ['noise', 'NoiseSource', { shape: [2, 8, 8, 4], seed: 7 }],
    ['predict', 'UNetPredict', { t: 321 }],
    ['sched', 'Scheduler', { type: 'ddim' }],
    ['sampler', 'Sampler', { steps: 3, cfgScale: 3 }],
  ],
  [
    'enc.model -> encode.model',
    'prompt.text -> encode.text',
    'unet.model -> predict.model',
    'noise.out -> predict.sample',
    'encode.embeddings -> predict.context',
    'unet.model -> sampler.unet',
    'sched.scheduler -> sampler.scheduler',
    'noise.out -> sampler.latent',
    'encode.embeddings -> sampler.context',
  ],
  'every text and diffusion kind',
);

type Outputs = RunResult['outputs'];
const results: Partial<Record<BackendName, Outputs>> = {};
const leaked: Partial<Record<BackendName, number>> = {};
const ranOn: string[] = [];
const ms: string[] = [];
/** timestepEmbedding of t = 0 … 999 (dim 32) per backend, and the exact values. */
const embeddings: Partial<Record<BackendName, Float32Array>> = {};
const T = Array.from({ length: 1000 }, (_, i) => i);
const EXACT = T.flatMap((t) => {
  const f = Array.from({ length: 16 }, (_, i) => Math.fround(t * Math.fround(Math.exp((-Math.log(10000) * i) / 16))));
  return [...f.map(Math.cos), ...f.map(Math.sin)];
});

beforeAll(async () => {
  // tfjs's backend is process-wide: one runtime after another, each read back to plain arrays
  for (const backend of BACKENDS) {
    const rt = await createRuntime({ backend });
    const before = tf.memory().numTensors;
    const res = await rt.run(everyKind, { outputs: everyKind.nodes.map((n) => n.id) });
    const emb = tf.tidy(() => timestepEmbedding(tf.tensor1d(T), 32));
    embeddings[backend] = (await emb.data()) as Float32Array;
    emb.dispose();
    results[backend] = res.outputs;
    ranOn.push(`${backend} -> ${res.backend}`);
    ms.push(`${backend}: ${Object.entries(res.nodes).map(([id, n]) => `${id} ${n.ms.toFixed(0)} ms`).join(', ')}`);
    rt.dispose();
    leaked[backend] = tf.memory().numTensors - before;
  }
  console.log(ms.join('\n'));
}, 240_000);

const isTensorData = (v: unknown): v is TensorData => typeof v === 'object' && v !== null && 'data' in v && 'shape' in v;

/** Largest |a − b| per node over its tensor outputs; shapes and non-tensor values must be equal. */
function differences(a: Outputs, b: Outputs): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [node, ports] of Object.entries(a)) {
    let worst = 0;
    for (const [port, x] of Object.entries(ports) as Array<[string, OutputValue]>) {
      const y = b[node][port] as OutputValue;
      if (isTensorData(x)) {
        expect((y as TensorData).shape, `${node}.${port}`).toEqual(x.shape);
        x.data.forEach((v, i) => {
          const d = Math.abs(v - (y as TensorData).data[i]);
          worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
        });
      } else expect(y, `${node}.${port}`).toEqual(x);
    }
    out[node] = worst;
  }
  return out;
}

describe('text and diffusion kinds on every backend', () => {
  it('each runtime ran on its backend (webgpu wherever SwiftShader is installed)', () => {
    expect(ranOn).toEqual(BACKENDS.map((b) => `${b} -> ${b}`));
  });

  for (const backend of BACKENDS.filter((b) => b !== 'cpu')) {
    it(`every node's output on ${backend} matches cpu to ${TOLERANCE}`, () => {
      const diffs = differences(results.cpu!, results[backend]!);
      console.log(`${backend} vs cpu, largest |difference| per node: ${JSON.stringify(diffs)}`);
      for (const [node, d] of Object.entries(diffs)) expect(d, node).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  it('the timestep embedding (t = 0…999) is the same on every backend and within 1e-6 of exact sin/cos', () => {
    for (const backend of BACKENDS) {
      const got = embeddings[backend]!;
      expect(Array.from(got), backend).toEqual(Array.from(embeddings.cpu!));
      let err = 0;
      got.forEach((v, i) => (err = Math.max(err, Math.abs(v - EXACT[i]))));
      expect(err, backend).toBeLessThan(1e-6);
    }
  });

  it('no backend leaks tensors', () => {
    for (const backend of BACKENDS) expect(leaked[backend], backend).toBe(0);
  });
});
