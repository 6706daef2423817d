/**
 * Text conditioning: prompts -> byte tokens -> a small pre-norm transformer (as CLIP's text tower,
 * Radford et al. 2021, with GPT-2's pre-norm blocks) -> per-token embeddings and a pooled vector.
 *
 * Notation:
 *   N   prompts (batch)               L   tokens per prompt (maxLength, padded)
 *   D   width (dim)                   ids[n][l] ∈ 0…258: UTF-8 bytes 0…255, BOS 256, EOS 257, PAD 258
 *   E   token embedding [259, D]      P   position embedding [maxLength, D]
 *   M   key mask [N, 1, L]: 0 for a real token, −1e9 for PAD (added to the attention logits)
 *
 *   x⁰ = E[ids] + P[0:L]
 *   xᵏ⁺¹ = xᵏ' + MLP(LN(xᵏ')),   xᵏ' = xᵏ + Attn(LN(xᵏ); M)          (pre-norm block k)
 *   h = LN_final(x^layers)                                              -> embeddings [N, L, D]
 *   pooled[n] = h[n, eos_n]       the EOS token's hidden state, as CLIP pools -> pooled [N, D]
 *
 * Padding never reaches a real token: every query's logits for PAD keys get −1e9, so their softmax
 * weight is exactly 0 and a prompt's embeddings do not depend on how much padding follows it.
 * Attention is bidirectional (no causal mask): EOS sees the whole prompt, which is what pooling needs.
 */
import * as tf from '@tensorflow/tfjs';
import { defineNode, int, model, ModelHandle, seedParam, shapeError, tensor, text, textParam, type PortType } from '../runtime/index.ts';
import { build, weightsFingerprint, weightsParam } from './builder.ts';
import { configOf, modelOf } from './model-port.ts';
import { attention, gelu, layerNorm, linear } from './nn.ts';

export const BOS = 256;
export const EOS = 257;
export const PAD = 258;
export const VOCAB = 259;

export type TextEncoderConfig = {
  dim: number;
  layers: number;
  heads: number;
  maxLength: number;
};

// The platform's UTF-8 encoder (the TextEncoder node kind below shadows the global's name).
const utf8 = new globalThis.TextEncoder();

/** A text port type that knows how many prompts it carries (the batch size N downstream). */
const textOf = (count: number): PortType => ({ kind: 'text', count }) as PortType;
function countOf(t: PortType | PortType[] | undefined): number | null {
  const count = t && !Array.isArray(t) && t.kind === 'text' ? (t as { count?: unknown }).count : undefined;
  return typeof count === 'number' ? count : null;
}

/** One prompt per non-blank line; no non-blank line means one empty (unconditional) prompt. */
export function splitPrompts(s: string): string[] {
  const lines = s.split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines.length ? lines : [''];
}

export const Text = defineNode({
  type: 'Text',
  category: 'sources',
  doc: 'A prompt, or a list of prompts (one per line, one per batch item). Blank lines are skipped; an empty text is one empty prompt.',
  inputs: {},
  outputs: { text: text({ doc: 'the prompts, one per batch item' }) },
  params: { text: textParam('a red circle on a blue square', { multiline: true, doc: 'one prompt per line' }) },
  infer: ({ params }) => ({ text: textOf(splitPrompts(params.text).length) }),
  run: ({ params }) => ({ text: splitPrompts(params.text) }),
});

/**
 * Byte-level tokens: [BOS, utf8 bytes…, EOS, PAD…], `length` long. A prompt longer than
 * length − 2 bytes is cut (possibly inside a multi-byte character: the tokens are bytes).
 * Returns the ids and each prompt's EOS position.
 */
export function tokenize(prompts: readonly string[], length: number): { ids: number[][]; eos: number[] } {
  if (length < 3) throw new Error(`a token sequence needs room for BOS, EOS and a byte: length ${length} < 3`);
  const ids: number[][] = [];
  const eos: number[] = [];
  for (const p of prompts) {
    const bytes = Array.from(utf8.encode(p).subarray(0, length - 2));
    const row = [BOS, ...bytes, EOS];
    eos.push(row.length - 1);
    while (row.length < length) row.push(PAD);
    ids.push(row);
  }
  return { ids, eos };
}

/**
 * The encoder's forward pass over token ids [N][L'] with L' <= maxLength (any padded length: the
 * result for each real token is the same). Returns the embeddings [N, L', D] and the pooled [N, D].
 */
export function encodeTokens(m: ModelHandle, ids: number[][], eos: number[]): { embeddings: tf.Tensor3D; pooled: tf.Tensor2D } {
  const c = m.config as unknown as TextEncoderConfig;
  const n = ids.length;
  const len = ids[0].length;
  if (len > c.maxLength) throw new Error(`${len} tokens is more than this text encoder's maxLength ${c.maxLength}`);
  const flat = tf.tensor1d(ids.flat(), 'int32');
  // 1. x⁰ = E[ids] + P[0:L]: a one-hot product rather than gather, because gather's gradient
  //    (UnsortedSegmentSum) is missing on wasm and a 259-row matMul costs nothing at this size
  const tok = tf.matMul(tf.oneHot(flat, VOCAB).toFloat(), m.param('tok', [VOCAB, c.dim], { std: 0.02 })).reshape([n, len, c.dim]);
  const pos = m.param('pos', [c.maxLength, c.dim], { std: 0.01 }).slice([0, 0], [len, c.dim]);
  let x = tf.add(tok, pos) as tf.Tensor3D;
  // 2. M: −1e9 on PAD keys, shared by every query ([N, 1, L] broadcasts over queries and heads)
  const mask = tf.mul(tf.equal(flat, PAD).toFloat(), -1e9).reshape([n, 1, len]) as tf.Tensor3D;
  // 3. pre-norm blocks: the residual stream is never normalised, only each branch's input
  for (let k = 0; k < c.layers; k++) {
    const p = `layers.${k}`;
    x = tf.add(x, attention(m, `${p}.attn`, layerNorm(m, `${p}.ln1`, x) as tf.Tensor3D, null, c.heads, mask));
    const hidden = gelu(linear(m, `${p}.mlp.fc1`, layerNorm(m, `${p}.ln2`, x), 4 * c.dim));
    x = tf.add(x, linear(m, `${p}.mlp.fc2`, hidden, c.dim));
  }
  // 4. h = LN_final(x); pooled = h at EOS, picked by a one-hot weighted sum (differentiable everywhere)
  const h = layerNorm(m, 'ln_final', x) as tf.Tensor3D;
  const pick = tf.oneHot(tf.tensor1d(eos, 'int32'), len).toFloat().reshape([n, len, 1]);
  const pooled = tf.sum(tf.mul(h, pick), 1) as tf.Tensor2D;
  return { embeddings: h, pooled };
}

function checkConfig(c: TextEncoderConfig): void {
  if (c.dim % c.heads !== 0) shapeError('heads', `dim ${c.dim} does not split into ${c.heads} heads (dim must be a multiple of heads)`);
}

export const TextEncoder = defineNode({
  type: 'TextEncoder',
  category: 'text',
  doc: 'Builds a byte-level text encoder: UTF-8 bytes with BOS/EOS/PAD tokens, learned token and position embeddings, and a small pre-norm transformer whose attention ignores padding.',
  inputs: {},
  outputs: { model: model('text-encoder', { doc: 'the encoder, for Encode Text' }) },
  params: {
    dim: int(64, { min: 4, max: 1024, doc: 'width D of every token embedding' }),
    layers: int(2, { min: 0, max: 24, doc: 'transformer blocks' }),
    heads: int(4, { min: 1, max: 32, doc: 'attention heads (must divide dim)' }),
    maxLength: int(32, { min: 3, max: 512, doc: 'tokens per prompt, BOS and EOS included; longer prompts are cut' }),
    seed: seedParam(0, { doc: 'initialises the weights deterministically' }),
    weights: weightsParam(),
  },
  infer: ({ params }) => {
    const config: TextEncoderConfig = { dim: params.dim, layers: params.layers, heads: params.heads, maxLength: params.maxLength };
    checkConfig(config);
    return { model: modelOf('text-encoder', config) };
  },
  fingerprint: weightsFingerprint,
  run: async ({ params, readFile }) => {
    const config: TextEncoderConfig = { dim: params.dim, layers: params.layers, heads: params.heads, maxLength: params.maxLength };
    checkConfig(config);
    const m = new ModelHandle('text-encoder', config, params.seed);
    // a 3-token dry run creates every parameter (P is created at its full maxLength rows)
    const dry = tokenize([''], 3);
    return { model: await build(m, () => void encodeTokens(m, dry.ids, dry.eos), params.weights, readFile) };
  },
});

export const EncodeText = defineNode({
  type: 'EncodeText',
  category: 'text',
  title: 'Encode Text',
  doc: 'Encodes prompts with a text encoder: per-token embeddings [N, L, D] (L = maxLength, padding included) and a pooled [N, D], the EOS token’s final hidden state (as CLIP pools).',
  inputs: {
    model: model('text-encoder', { doc: 'a Text Encoder' }),
    text: text({ doc: 'the prompts, one per batch item' }),
  },
  outputs: {
    embeddings: tensor(['N', null, null], { doc: 'final hidden state of every token [N, L, D]' }),
    pooled: tensor(['N', null], { doc: 'the EOS token’s hidden state [N, D]' }),
  },
  params: {},
  infer: ({ inputs }) => {
    const c = configOf<TextEncoderConfig>(inputs.model);
    const n = countOf(inputs.text);
    return { embeddings: tensor([n, c?.maxLength ?? null, c?.dim ?? null]), pooled: tensor([n, c?.dim ?? null]) };
  },
  run: ({ inputs }) => {
    const m = inputs.model as ModelHandle;
    const prompts = inputs.text as string[];
    const { ids, eos } = tokenize(prompts, (m.config as unknown as TextEncoderConfig).maxLength);
    return encodeTokens(m, ids, eos);
  },
});
