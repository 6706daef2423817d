import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, ModelHandle, type Runtime, type TensorData } from '../index.ts';
import { graph } from '../runtime/testing.ts';
import { BOS, encodeTokens, EOS, PAD, splitPrompts, tokenize, type TextEncoderConfig } from './text.ts';

const arr = async (t: tf.Tensor) => Array.from(await t.data());
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

function encoder(config: TextEncoderConfig, seed = 1): ModelHandle {
  const m = new ModelHandle('text-encoder', config, seed);
  const dry = tokenize([''], 3);
  tf.tidy(() => void encodeTokens(m, dry.ids, dry.eos));
  return m.freeze();
}

/** Text -> TextEncoder -> EncodeText, with every output requested. */
const pipeline = (prompts: string, enc: Record<string, unknown>) =>
  graph(
    [
      ['text', 'Text', { text: prompts }],
      ['enc', 'TextEncoder', enc],
      ['encode', 'EncodeText'],
    ],
    ['enc.model -> encode.model', 'text.text -> encode.text'],
  );

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ backend: 'wasm' });
});
afterAll(() => rt.dispose());

describe('tokens', () => {
  it('a prompt is BOS, its UTF-8 bytes, EOS, then PAD up to the length', () => {
    const { ids, eos } = tokenize(['hé', ''], 7);
    expect(ids[0]).toEqual([BOS, 0x68, 0xc3, 0xa9, EOS, PAD, PAD]);
    expect(ids[1]).toEqual([BOS, EOS, PAD, PAD, PAD, PAD, PAD]);
    expect(eos).toEqual([4, 1]);
  });

  it('a prompt too long for the length is cut and still ends with EOS', () => {
    const { ids, eos } = tokenize(['abcdefgh'], 5);
    expect(ids[0]).toEqual([BOS, 97, 98, 99, EOS]);
    expect(eos).toEqual([4]);
  });

  it('the Text node gives one prompt per non-blank line, and one empty prompt for an empty text', () => {
    expect(splitPrompts('a cat\n\n  \r\na dog\n')).toEqual(['a cat', 'a dog']);
    expect(splitPrompts('')).toEqual(['']);
  });
});

describe('text encoder shapes', () => {
  const configs = [
    { dim: 8, layers: 1, heads: 2, maxLength: 8 },
    { dim: 16, layers: 2, heads: 4, maxLength: 12 },
    { dim: 12, layers: 0, heads: 3, maxLength: 5 },
    { dim: 24, layers: 3, heads: 1, maxLength: 20 },
  ];
  for (const enc of configs) {
    it(`dim ${enc.dim}, ${enc.layers} layers, ${enc.heads} heads, length ${enc.maxLength}: embeddings [N, L, D] and pooled [N, D], inferred and actual`, async () => {
      const doc = pipeline('a red circle\na blue square\nnoise', { ...enc, seed: 3 });
      const { plan } = rt.compile(doc);
      expect(plan!.byId.get('encode')!.types.embeddings).toMatchObject({ shape: [3, enc.maxLength, enc.dim] });
      expect(plan!.byId.get('encode')!.types.pooled).toMatchObject({ shape: [3, enc.dim] });
      const res = await rt.run(doc, { outputs: ['encode', 'text'] });
      expect((res.outputs.encode.embeddings as TensorData).shape).toEqual([3, enc.maxLength, enc.dim]);
      expect((res.outputs.encode.pooled as TensorData).shape).toEqual([3, enc.dim]);
      expect(res.outputs.text.text).toEqual(['a red circle', 'a blue square', 'noise']);
    });
  }

  it('a width that does not split into the heads is reported on the heads param', () => {
    const { errors } = rt.compile(pipeline('x', { dim: 10, heads: 4 }));
    expect(errors).toEqual([expect.objectContaining({ code: 'shape-mismatch', nodeId: 'enc', port: 'heads' })]);
    expect(errors[0].message).toContain('dim 10 does not split into 4 heads');
  });
});

describe('text encoder values', () => {
  let m: ModelHandle;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    m = encoder({ dim: 16, layers: 2, heads: 4, maxLength: 24 });
  });
  afterAll(() => m.dispose());

  it('padding is ignored: a prompt padded to 6 or to 24 tokens has the same token embeddings and pooled vector', async () => {
    const short = tokenize(['hey'], 6);
    const long = tokenize(['hey'], 24);
    const a = encodeTokens(m, short.ids, short.eos);
    const b = encodeTokens(m, long.ids, long.eos);
    // tokens 0..4 are BOS, h, e, y, EOS in both
    const real = async (t: tf.Tensor3D) => arr(t.slice([0, 0, 0], [1, 5, 16]));
    expect(maxDiff(await real(a.embeddings), await real(b.embeddings))).toBeLessThan(1e-5);
    expect(maxDiff(await arr(a.pooled), await arr(b.pooled))).toBeLessThan(1e-5);
    tf.dispose([a.embeddings, a.pooled, b.embeddings, b.pooled]);
  });

  it('a prompt encodes the same in any batch position, next to any other prompt', async () => {
    const one = tokenize(['a cat', 'a much longer prompt about a dog'], 24);
    const two = tokenize(['zz', 'a much longer prompt about a dog', 'a cat'], 24);
    const a = encodeTokens(m, one.ids, one.eos);
    const b = encodeTokens(m, two.ids, two.eos);
    const row = async (t: tf.Tensor, i: number) => arr(t.slice([i, 0], [1, -1]));
    expect(maxDiff(await row(a.pooled, 0), await row(b.pooled, 2))).toBeLessThan(1e-5);
    expect(maxDiff(await row(a.pooled, 1), await row(b.pooled, 1))).toBeLessThan(1e-5);
    expect(maxDiff(await row(a.embeddings, 0), await row(b.embeddings, 2))).toBeLessThan(1e-5);
    tf.dispose([a.embeddings, a.pooled, b.embeddings, b.pooled]);
  });

  it('different prompts give clearly different embeddings', async () => {
    const { ids, eos } = tokenize(['a red circle', 'a blue square', 'a red circle!'], 24);
    const { embeddings, pooled } = encodeTokens(m, ids, eos);
    const p = (await pooled.array()) as number[][];
    const dist = (x: number[], y: number[]) => Math.sqrt(x.reduce((s, v, i) => s + (v - y[i]) ** 2, 0));
    expect(dist(p[0], p[1])).toBeGreaterThan(0.1);
    expect(dist(p[0], p[2])).toBeGreaterThan(0.1); // one byte more changes the pooled vector
    // the pooled vector is the EOS token's hidden state
    const eosRow = await arr(embeddings.slice([1, eos[1], 0], [1, 1, 16]));
    expect(maxDiff(eosRow, p[1])).toBe(0);
    tf.dispose([embeddings, pooled]);
  });

  it('the same seed builds the same encoder, another seed another one', async () => {
    const again = encoder({ dim: 16, layers: 2, heads: 4, maxLength: 24 });
    const other = encoder({ dim: 16, layers: 2, heads: 4, maxLength: 24 }, 2);
    const { ids, eos } = tokenize(['seeded'], 12);
    const pooled = async (x: ModelHandle) => {
      const out = encodeTokens(x, ids, eos);
      out.embeddings.dispose();
      const v = await arr(out.pooled);
      out.pooled.dispose();
      return v;
    };
    expect(await pooled(again)).toEqual(await pooled(m));
    expect(maxDiff(await pooled(other), await pooled(m))).toBeGreaterThan(0.1);
    again.dispose();
    other.dispose();
  });
});
