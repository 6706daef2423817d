/**
 * graphs/latent-diffusion.json end to end: Text -> TextEncoder/EncodeText, NoiseSource, UNet,
 * Scheduler (DDIM, Stable Diffusion's schedule), Sampler with guidance, VAEDecode, ImageOutput.
 * With seed-initialised weights the images are noise, but every shape, step count and cache hit
 * is checked, and a few golden numbers guard the math.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, loadGraph, type GraphDoc, type RunEvent, type RunResult, type Runtime, type TensorData } from '../index.ts';

const doc = loadGraph(readFileSync(new URL('../../graphs/latent-diffusion.json', import.meta.url), 'utf8'));
const withParam = (d: GraphDoc, id: string, name: string, value: unknown): GraphDoc => ({
  ...d,
  nodes: d.nodes.map((n) => (n.id === id ? { ...n, params: { ...n.params, [name]: value } } : n)),
});
const statuses = (res: RunResult) => Object.fromEntries(Object.entries(res.nodes).map(([id, n]) => [id, n.status]));

let rt: Runtime;
let baseline: number;
let first: RunResult;
const events: RunEvent[] = [];
beforeAll(async () => {
  rt = await createRuntime({ backend: 'wasm' });
  baseline = tf.memory().numTensors;
  first = await rt.run(doc, { outputs: doc.nodes.map((n) => n.id), onEvent: (e) => events.push(e) });
});
afterAll(() => rt.dispose());

describe('graphs/latent-diffusion.json', () => {
  it('compiles with every shape known before running', () => {
    const { plan, errors } = rt.compile(doc);
    expect(errors).toEqual([]);
    const type = (id: string, port: string) => plan!.byId.get(id)!.types[port];
    expect(type('encode', 'embeddings')).toMatchObject({ shape: [2, 32, 32] });
    expect(type('encode', 'pooled')).toMatchObject({ shape: [2, 32] });
    expect(type('sampler', 'out')).toMatchObject({ shape: [2, 8, 8, 4] });
    expect(type('decode', 'image')).toMatchObject({ shape: [2, 32, 32, 3] });
  });

  it('runs: two prompts, 32 tokens of width 32, ten guided steps, two 32x32 RGB images', () => {
    const shape = (id: string, port: string) => (first.outputs[id][port] as TensorData).shape;
    expect(first.outputs.prompt.text).toEqual(['a red circle on a blue square', 'a green triangle at night']);
    expect(shape('encode', 'embeddings')).toEqual([2, 32, 32]);
    expect(shape('encode', 'pooled')).toEqual([2, 32]);
    expect(shape('sampler', 'out')).toEqual([2, 8, 8, 4]);
    expect(shape('image', 'image')).toEqual([2, 32, 32, 3]);
    const steps = events.filter((e) => e.type === 'node-progress' && e.nodeId === 'sampler');
    expect(steps.map((e) => (e as { done: number }).done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // DDIM, leading spacing, steps_offset 1: 901, 801, ..., 1
    expect(steps.map((e) => (e as { info?: { timestep?: number } }).info?.timestep)).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    const image = first.outputs.image.image as TensorData;
    expect(image.data.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('ends at its golden numbers (to 1e-4, relative)', () => {
    // Random weights and guidance 5 give a wide latent (std ~16): the images are noise, as expected.
    const latent = first.outputs.latent;
    expect(close(latent.mean as number, GOLDEN.latentMean)).toBe(true);
    expect(close(latent.std as number, GOLDEN.latentStd)).toBe(true);
    expect(close(mean(first.outputs.image.image as TensorData), GOLDEN.imageMean)).toBe(true);
  });

  it('rerunning after changing only the guidance scale reuses the text encoding, the U-Net, the noise and the VAE', async () => {
    const res = await rt.run(withParam(doc, 'sampler', 'cfgScale', 7.5));
    expect(statuses(res)).toEqual({
      prompt: 'cached',
      textEncoder: 'cached',
      encode: 'cached',
      noise: 'cached',
      unet: 'cached',
      scheduler: 'cached',
      sampler: 'ran',
      vae: 'cached',
      decode: 'ran',
      image: 'ran',
      latent: 'ran',
    });
    expect(res.outputs.latent.mean).not.toBeCloseTo(first.outputs.latent.mean as number, 6);
  });

  it('leaves nothing behind but what the cache holds', () => {
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(baseline);
  });
});

function mean(t: TensorData): number {
  let s = 0;
  for (const v of t.data) s += v;
  return s / t.data.length;
}

const close = (got: number, want: number) => Math.abs(got - want) <= 1e-4 * Math.max(1, Math.abs(want));

/** Measured on wasm; cpu and webgpu agree to ~2e-5 (diffusion.backends.test.ts). */
const GOLDEN = { latentMean: 3.198585, latentStd: 15.630849, imageMean: 0.503454 };
