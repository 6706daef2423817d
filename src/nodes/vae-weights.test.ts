/**
 * Weights end to end: a VAE's weights saved as safetensors and named by a graph's VAE node give
 * the same decoder; files that do not fit fail on the node, naming the tensor, and leak nothing;
 * the file's bytes are part of the builder's cache key.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRuntime, GraphError, parseSafetensors, serializeSafetensors, type NamedTensor, type Runtime, type TensorData } from '../index.ts';
import { graph } from '../runtime/testing.ts';
import { buildVae, type VaeConfig } from './vae.ts';

const config: VaeConfig = { inChannels: 1, baseChannels: 4, latentChannels: 2, downsamplings: 2, groups: 2 };
const dir = mkdtempSync(path.join(tmpdir(), 'weft-vae-'));
const file = (name: string) => path.join(dir, name);

/** A fixed latent through VAEDecode, from a VAE with this seed and weights file. */
const decodeGraph = (seed: number, weights = '') =>
  graph(
    [
      ['vae', 'VAE', { ...config, seed, weights }],
      ['z', 'NoiseSource', { shape: [2, 3, 3, 2], seed: 4 }],
      ['dec', 'VAEDecode'],
    ],
    ['vae.model -> dec.model', 'z.out -> dec.latent'],
  );

let rt: Runtime;
let saved: Map<string, NamedTensor>;
let baseline: number;
beforeAll(async () => {
  rt = await createRuntime({ backend: 'wasm' });
  await rt.run(graph([['n', 'NoiseSource', { shape: [1] }]])); // puts tfjs on wasm, where the models below are built
  const m = await buildVae(config, 1);
  saved = await m.exportWeights();
  m.dispose();
  writeFileSync(file('vae.safetensors'), serializeSafetensors(saved));
});
beforeEach(() => {
  rt.clearCache();
  baseline = tf.memory().numTensors;
});
afterAll(() => {
  rt.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const decoded = async (doc: ReturnType<typeof decodeGraph>) => (await rt.run(doc, { baseDir: dir })).outputs.dec.image as TensorData;

describe('VAE weights files', () => {
  it('a VAE node naming saved weights (relative to baseDir) decodes exactly as the model they came from', async () => {
    const original = await decoded(decodeGraph(1));
    const loaded = await decoded(decodeGraph(2, 'vae.safetensors'));
    const unloaded = await decoded(decodeGraph(2));
    expect(loaded.shape).toEqual([2, 12, 12, 1]);
    expect(Array.from(loaded.data)).toEqual(Array.from(original.data));
    expect(Array.from(unloaded.data)).not.toEqual(Array.from(original.data)); // seed 2 alone is another model
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  const broken: Array<[string, () => Uint8Array, RegExp]> = [
    [
      'a missing tensor',
      () => serializeSafetensors(new Map([...saved].filter(([name]) => name !== 'dec.out.w'))),
      /missing tensor "dec.out.w" \[3,3,4,1\]/,
    ],
    ['an extra tensor', () => serializeSafetensors(new Map([...saved, ['dec.extra.w', { dtype: 'float32', shape: [2], data: new Float32Array(2) }]])), /unexpected tensor "dec.extra.w"/],
    [
      'a mis-shaped tensor',
      () => serializeSafetensors(new Map([...saved, ['enc.in.b', { dtype: 'float32', shape: [2, 2], data: new Float32Array(4) }]])),
      /tensor "enc.in.b" is \[2,2\], the model needs \[4\]/,
    ],
    [
      'a corrupt header',
      () => {
        const bytes = serializeSafetensors(saved);
        bytes[8] = 0x7b; // '{' then garbage: the JSON header no longer parses
        bytes[9] = 0xff;
        return bytes;
      },
      /header is not valid UTF-8 JSON/,
    ],
    [
      'a header length past the end of the file',
      () => {
        const bytes = serializeSafetensors(saved);
        new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(0, BigInt(bytes.length), true);
        return bytes;
      },
      /header length \d+ exceeds the file/,
    ],
  ];
  for (const [what, bytes, why] of broken) {
    it(`${what} fails the VAE node with a message naming it, and leaks nothing`, async () => {
      writeFileSync(file('bad.safetensors'), bytes());
      const err = await rt.run(decodeGraph(2, 'bad.safetensors'), { baseDir: dir }).catch((e) => e);
      expect(err).toBeInstanceOf(GraphError);
      const [issue] = (err as GraphError).errors;
      expect(issue).toMatchObject({ code: 'node-failed', nodeId: 'vae' });
      expect(issue.message).toContain('weights "bad.safetensors"');
      expect(issue.message).toMatch(why);
      rt.clearCache();
      expect(tf.memory().numTensors).toBe(baseline);
    });
  }

  it('a weights file that does not exist fails the VAE node, naming the file', async () => {
    const err = await rt.run(decodeGraph(2, 'nowhere.safetensors'), { baseDir: dir }).catch((e) => e);
    expect((err as GraphError).errors[0]).toMatchObject({ code: 'node-failed', nodeId: 'vae', message: expect.stringContaining('nowhere.safetensors') });
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it("editing the weights file's bytes (same path) reruns the VAE and what it feeds", async () => {
    const p = file('edited.safetensors');
    writeFileSync(p, readFileSync(file('vae.safetensors')));
    const doc = decodeGraph(2, 'edited.safetensors');
    const first = await rt.run(doc, { baseDir: dir });
    const again = await rt.run(doc, { baseDir: dir });
    expect(again.nodes).toMatchObject({ vae: { status: 'cached' }, dec: { status: 'cached' } });
    // scale the decoder's output bias: a valid file, other numbers, the same path and params
    const tensors = parseSafetensors(readFileSync(p)).tensors;
    const b = tensors.get('dec.out.b')!;
    tensors.set('dec.out.b', { ...b, data: Float32Array.from(b.data, (v) => v + 0.5) });
    writeFileSync(p, serializeSafetensors(tensors));
    const edited = await rt.run(doc, { baseDir: dir });
    expect(edited.nodes).toMatchObject({ vae: { status: 'ran' }, z: { status: 'cached' }, dec: { status: 'ran' } });
    expect(edited.nodes.vae.key).not.toBe(first.nodes.vae.key);
    const [before, after] = [first, edited].map((r) => (r.outputs.dec.image as TensorData).data);
    expect(after[0]).toBeGreaterThan(before[0]); // sigmoid(a + 0.5) > sigmoid(a)
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(baseline);
  });
});
