/**
 * The denoising U-Net of latent diffusion (Ronneberger et al. 2015; Ho et al. 2020; Rombach et al.
 * 2022), laid out as diffusers' UNet2DConditionModel, small: residual blocks with group norm and
 * SiLU, a sinusoidal time embedding fed through an MLP into every residual block, strided-conv
 * downsampling, nearest upsampling, skip connections, and at chosen levels a transformer block with
 * self-attention and cross-attention to the text context.
 *
 * Notation:
 *   x [N, H, W, Cin]  the noisy sample          t [N]  timesteps        ctx [N, S, Dc]  text context
 *   B = baseChannels; level i has C_i = B·channelMults[i] channels at H/2^i × W/2^i
 *   temb = W₂·SiLU(W₁·sinusoid(t))  [N, 4B]
 *        (+ W_p·pooled + b_p   with pooledDim > 0: a global condition, the pooled text embedding
 *         [N, pooledDim], projected to 4B and added to the time embedding, as ADM adds a class
 *         embedding and SDXL its pooled text embedding; it then shifts every residual block)
 *   Res(h) = skip(h) + conv(SiLU(GN(conv(SiLU(GN(h))) + W_t·SiLU(temb))))
 *   Attn(h) = h + proj_out(FF ∘ CrossAttn(ctx) ∘ SelfAttn (proj_in(GN(h))))   each sub-block pre-norm, residual
 *
 *   conv_in -> down levels (res [+ attn]) × resBlocks, then ↓2 except at the last level, each output a skip
 *           -> mid (res, attn if any level has attention or attentionLevels lists "mid", res)
 *           -> up levels, deepest first: (concat skip, res [+ attn]) × (resBlocks + 1), then ↑2 except at level 0
 *           -> GN, SiLU, conv_out -> [N, H, W, Cout]
 * So H and W must be divisible by 2^(levels − 1).
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { defineNode, int, model, ModelHandle, number, seedParam, shapeError, shapeParam, tensor, textParam, type ParamSpec, type Shape } from '../runtime/index.ts';
import { build, weightsFingerprint, weightsParam } from './builder.ts';
import { configOf, modelOf, shapeOf } from './model-port.ts';
import { attention, conv2d, gelu, groupNorm, layerNorm, linear, silu, timestepEmbedding, upsample2x } from './nn.ts';

export type UNetConfig = {
  inChannels: number;
  outChannels: number;
  baseChannels: number;
  channelMults: number[];
  resBlocks: number;
  attentionLevels: number[];
  /** A transformer in the middle block; absent: whenever some level has one. */
  midAttention?: boolean;
  /** Width of the text context; 0 = no cross-attention (an unconditional U-Net). */
  contextDim: number;
  /**
   * Width of the pooled text embedding added to the time embedding through a linear layer;
   * absent or 0: no such path (the config, and so the parameter set, of a U-Net without it).
   */
  pooledDim?: number;
  groups: number;
  heads: number;
};

const LEVELS_RE = /^\s*((\d+|mid)\s*(,\s*(\d+|mid)\s*)*)?$/;
const levelsParam = (def: string): ParamSpec<string> => ({
  ...textParam(def, { maxLength: 100, doc: 'levels (0 = full resolution) with self- and cross-attention, comma-separated, e.g. "1,2" (the middle block too); "mid" alone: only the middle block; empty for none' }),
  schema: z.string().max(100).regex(LEVELS_RE, 'must be level numbers (or "mid") separated by commas, e.g. "1,2", or empty'),
});

export const parseLevels = (s: string): number[] =>
  [...new Set(s.split(',').map((x) => x.trim()).filter((x) => x && x !== 'mid').map(Number))].sort((a, b) => a - b);

/** Whether the middle block has a transformer: "mid" listed, or any level listed. */
export const hasMidAttention = (c: Pick<UNetConfig, 'attentionLevels' | 'midAttention'>): boolean => c.midAttention ?? c.attentionLevels.length > 0;

/** Rejects configs the forward pass could not run, naming the param at fault. */
function checkConfig(c: UNetConfig): void {
  const chans = [c.baseChannels, ...c.channelMults.map((k) => k * c.baseChannels)];
  for (const ch of chans) {
    if (ch % c.groups !== 0) shapeError('groups', `${ch} channels do not split into ${c.groups} groups (base channels × every multiplier must be a multiple of groups)`);
  }
  for (const lvl of c.attentionLevels) {
    if (lvl >= c.channelMults.length) shapeError('attentionLevels', `level ${lvl} does not exist: the U-Net has levels 0…${c.channelMults.length - 1}`);
  }
  const attended = hasMidAttention(c) ? [...c.attentionLevels, c.channelMults.length - 1] : [];
  for (const lvl of attended) {
    const ch = c.channelMults[lvl] * c.baseChannels;
    if (ch % c.heads !== 0) shapeError('heads', `${ch} channels at level ${lvl} do not split into ${c.heads} heads`);
  }
}

/**
 * Checks a sample and a context against a U-Net config: at compile time (fail = shapeError on the
 * given ports) and again at run time for a model whose config the port type did not carry.
 */
export function checkUNetInputs(
  c: Partial<UNetConfig> | undefined,
  sample: Shape | undefined,
  context: Shape | undefined,
  ports: { sample: string; context: string },
): void {
  if (!c) return;
  if (sample) {
    if (sample.length !== 4) shapeError(ports.sample, `expects [N, H, W, C], got rank ${sample.length}`);
    const f = 2 ** ((c.channelMults?.length ?? 1) - 1);
    for (const [i, name] of [[1, 'H'], [2, 'W']] as const) {
      const d = sample[i];
      if (typeof d === 'number' && d % f !== 0) {
        shapeError(ports.sample, `${name} = ${d} is not divisible by 2^(levels − 1) = ${f} (the U-Net has ${c.channelMults!.length} levels)`);
      }
    }
    if (typeof sample[3] === 'number' && c.inChannels !== undefined && sample[3] !== c.inChannels) {
      shapeError(ports.sample, `has ${sample[3]} channels, the U-Net takes ${c.inChannels}`);
    }
  }
  if (context) {
    if (c.contextDim === 0) shapeError(ports.context, 'this U-Net has no cross-attention (contextDim 0): leave the context open');
    if (context.length !== 3) shapeError(ports.context, `expects [N, L, D], got rank ${context.length}`);
    const d = context[2];
    if (typeof d === 'number' && c.contextDim !== undefined && d !== c.contextDim) {
      shapeError(ports.context, `has width ${d}, the U-Net's cross-attention takes contextDim ${c.contextDim}`);
    }
    const [n, nc] = [sample?.[0], context[0]];
    if (typeof n === 'number' && typeof nc === 'number' && nc !== 1 && nc !== n) {
      shapeError(ports.context, `has ${nc} items for a batch of ${n} (give one per item, or one for all)`);
    }
  }
}

/**
 * Checks a pooled embedding [N or 1, D] against a U-Net config (compile time and run time alike):
 * the U-Net must have the pooled path (pooledDim > 0) of width D.
 */
export function checkPooled(c: Partial<UNetConfig> | undefined, sample: Shape | undefined, pooled: Shape | undefined, port: string): void {
  if (!c || !pooled) return;
  if (!c.pooledDim) shapeError(port, 'this U-Net has no pooled-embedding path (pooledDim 0): leave it open, or set pooledDim');
  if (pooled.length !== 2) shapeError(port, `expects [N, D], got rank ${pooled.length}`);
  const d = pooled[1];
  if (typeof d === 'number' && d !== c.pooledDim) shapeError(port, `has width ${d}, the U-Net's pooled projection takes pooledDim ${c.pooledDim}`);
  const [n, np] = [sample?.[0], pooled[0]];
  if (typeof n === 'number' && typeof np === 'number' && np !== 1 && np !== n) {
    shapeError(port, `has ${np} items for a batch of ${n} (give one per item, or one for all)`);
  }
}

// ---------------------------------------------------------------------------------------------
// the forward pass

function resBlock(m: ModelHandle, name: string, x: tf.Tensor4D, out: number, temb: tf.Tensor2D, groups: number): tf.Tensor4D {
  let h = conv2d(m, `${name}.conv1`, silu(groupNorm(m, `${name}.norm1`, x, groups)) as tf.Tensor4D, out);
  // the time embedding shifts every channel of every pixel: [N, out] -> [N, 1, 1, out]
  h = tf.add(h, linear(m, `${name}.time`, silu(temb), out).reshape([x.shape[0], 1, 1, out]));
  h = conv2d(m, `${name}.conv2`, silu(groupNorm(m, `${name}.norm2`, h, groups)) as tf.Tensor4D, out);
  const skip = x.shape[3] === out ? x : conv2d(m, `${name}.skip`, x, out, 1);
  return tf.add(skip, h);
}

function transformer(m: ModelHandle, name: string, x: tf.Tensor4D, ctx: tf.Tensor3D | null, c: UNetConfig): tf.Tensor4D {
  const [n, h, w, ch] = x.shape;
  // pixels become tokens: [N, H, W, C] -> [N, H·W, C]
  let s = linear(m, `${name}.proj_in`, groupNorm(m, `${name}.norm`, x, c.groups).reshape([n, h * w, ch]), ch) as tf.Tensor3D;
  s = tf.add(s, attention(m, `${name}.self`, layerNorm(m, `${name}.ln1`, s) as tf.Tensor3D, null, c.heads));
  if (ctx) s = tf.add(s, attention(m, `${name}.cross`, layerNorm(m, `${name}.ln2`, s) as tf.Tensor3D, ctx, c.heads));
  s = tf.add(s, linear(m, `${name}.ff.fc2`, gelu(linear(m, `${name}.ff.fc1`, layerNorm(m, `${name}.ln3`, s), 4 * ch)), ch));
  return tf.add(x, linear(m, `${name}.proj_out`, s, ch).reshape([n, h, w, ch]));
}

/**
 * ε̂ = U-Net(x, t, ctx, pooled). t: [N] timesteps; ctx: [N, S, Dc], or null for none (then a U-Net
 * with cross-attention sees a zero context, the unconditional input the Sampler also uses);
 * pooled: [N or 1, pooledDim], used only by a U-Net with pooledDim > 0, which sees zeros when it is
 * null (so temb gets just the bias b_p), the same convention as the context.
 */
export function unetForward(m: ModelHandle, x: tf.Tensor4D, t: tf.Tensor1D, context: tf.Tensor3D | null, pooled: tf.Tensor2D | null = null): tf.Tensor4D {
  const c = m.config as unknown as UNetConfig;
  const levels = c.channelMults.length;
  const chans = c.channelMults.map((k) => k * c.baseChannels);
  const attn = new Set(c.attentionLevels);
  const n = x.shape[0];
  let ctx: tf.Tensor3D | null = null;
  if (c.contextDim > 0) {
    ctx = context ?? (tf.zeros([n, 1, c.contextDim]) as tf.Tensor3D);
    if (ctx.shape[0] === 1 && n > 1) ctx = tf.tile(ctx, [n, 1, 1]); // one prompt for the whole batch
  }
  // 1. temb = W₂·SiLU(W₁·sinusoid(t)), sinusoid of width B (rounded up to even)
  const sinDim = c.baseChannels + (c.baseChannels % 2);
  let temb = linear(m, 'time.fc2', silu(linear(m, 'time.fc1', timestepEmbedding(t, sinDim), 4 * c.baseChannels)), 4 * c.baseChannels) as tf.Tensor2D;
  //    + W_p·pooled + b_p: the global text condition joins t in every residual block's shift
  if (c.pooledDim) {
    let p = pooled ?? (tf.zeros([n, c.pooledDim]) as tf.Tensor2D);
    if (p.shape[0] === 1 && n > 1) p = tf.tile(p, [n, 1]); // one prompt for the whole batch
    temb = tf.add(temb, linear(m, 'pooled_proj', p, 4 * c.baseChannels));
  }
  // 2. conv_in, the first skip
  let h = conv2d(m, 'conv_in', x, c.baseChannels);
  const skips: tf.Tensor4D[] = [h];
  // 3. down: every block's output is a skip for the mirrored up block
  for (let i = 0; i < levels; i++) {
    for (let r = 0; r < c.resBlocks; r++) {
      h = resBlock(m, `down.${i}.res.${r}`, h, chans[i], temb, c.groups);
      if (attn.has(i)) h = transformer(m, `down.${i}.attn.${r}`, h, ctx, c);
      skips.push(h);
    }
    if (i < levels - 1) {
      h = conv2d(m, `down.${i}.downsample`, h, chans[i], 3, 2);
      skips.push(h);
    }
  }
  // 4. mid, at the lowest resolution
  h = resBlock(m, 'mid.res.0', h, chans[levels - 1], temb, c.groups);
  if (hasMidAttention(c)) h = transformer(m, 'mid.attn', h, ctx, c);
  h = resBlock(m, 'mid.res.1', h, chans[levels - 1], temb, c.groups);
  // 5. up: one more block per level than on the way down, each eating one skip
  for (let i = levels - 1; i >= 0; i--) {
    for (let r = 0; r <= c.resBlocks; r++) {
      h = resBlock(m, `up.${i}.res.${r}`, tf.concat([h, skips.pop()!], 3), chans[i], temb, c.groups);
      if (attn.has(i)) h = transformer(m, `up.${i}.attn.${r}`, h, ctx, c);
    }
    if (i > 0) h = conv2d(m, `up.${i}.upsample`, upsample2x(h), chans[i]);
  }
  // 6. out
  return conv2d(m, 'conv_out', silu(groupNorm(m, 'norm_out', h, c.groups)) as tf.Tensor4D, c.outChannels);
}

/** Timesteps for a batch of n: a number, a scalar tensor, or a tensor [1] or [n]. */
export function batchTimesteps(t: number | tf.Tensor, n: number): tf.Tensor1D {
  if (typeof t === 'number') return tf.fill([n], t) as tf.Tensor1D;
  const flat = t.toFloat().reshape([-1]) as tf.Tensor1D;
  if (flat.size === n) return flat;
  if (flat.size === 1) return tf.tile(flat, [n]);
  throw new Error(`timestep has ${flat.size} values for a batch of ${n} (give one per item, or one for all)`);
}

// ---------------------------------------------------------------------------------------------
// the node kinds

function configFrom(p: Omit<UNetConfig, 'attentionLevels' | 'pooledDim'> & { attentionLevels: string; pooledDim: number }): UNetConfig {
  return {
    inChannels: p.inChannels,
    outChannels: p.outChannels,
    baseChannels: p.baseChannels,
    channelMults: [...p.channelMults],
    resBlocks: p.resBlocks,
    attentionLevels: parseLevels(p.attentionLevels),
    ...(/\bmid\b/.test(p.attentionLevels) ? { midAttention: true } : {}),
    contextDim: p.contextDim,
    ...(p.pooledDim > 0 ? { pooledDim: p.pooledDim } : {}),
    groups: p.groups,
    heads: p.heads,
  };
}

export const UNet = defineNode({
  type: 'UNet',
  category: 'diffusion',
  title: 'U-Net',
  doc: 'Builds a denoising U-Net: residual blocks (group norm, SiLU) with a sinusoidal time embedding, down/up levels joined by skip connections, and self- plus cross-attention to a text context at chosen levels; with pooledDim, a pooled text embedding projected into the time embedding.',
  inputs: {},
  outputs: { model: model('unet', { doc: 'the U-Net, for U-Net Predict and the Sampler' }) },
  params: {
    inChannels: int(4, { min: 1, max: 64, doc: 'channels of the sample (latent channels)' }),
    outChannels: int(4, { min: 1, max: 64, doc: 'channels predicted (equal to inChannels for sampling)' }),
    baseChannels: int(32, { min: 2, max: 512, doc: 'channels at level 0 (B)' }),
    channelMults: shapeParam([1, 2], { maxRank: 6, doc: 'channel multiplier per level: level i has B·mult[i] channels at 1/2^i resolution' }),
    resBlocks: int(1, { min: 1, max: 4, doc: 'residual blocks per level on the way down (one more on the way up)' }),
    attentionLevels: levelsParam('1'),
    contextDim: int(64, { min: 0, max: 4096, doc: 'width of the text context for cross-attention (0: no cross-attention)' }),
    pooledDim: int(0, { min: 0, max: 4096, doc: 'width of a pooled text embedding [N, D] projected by a linear layer and added to the time embedding (a global condition, as SDXL adds its pooled text embedding); 0: none' }),
    groups: int(8, { min: 1, max: 64, doc: 'group-norm groups (must divide every level’s channels)' }),
    heads: int(4, { min: 1, max: 32, doc: 'attention heads (must divide the channels where there is attention)' }),
    seed: seedParam(0, { doc: 'initialises the weights deterministically' }),
    weights: weightsParam(),
  },
  infer: ({ params }) => {
    const config = configFrom(params);
    checkConfig(config);
    return { model: modelOf('unet', config) };
  },
  fingerprint: weightsFingerprint,
  run: async ({ params, readFile }) => {
    const c = configFrom(params);
    checkConfig(c);
    const m = new ModelHandle('unet', c, params.seed);
    // the dry run: the smallest sample every level can halve, one timestep, a one-token context
    const f = 2 ** (c.channelMults.length - 1);
    const dryRun = () =>
      void unetForward(m, tf.zeros([1, f, f, c.inChannels]), tf.zeros([1]), c.contextDim ? tf.zeros([1, 1, c.contextDim]) : null, c.pooledDim ? tf.zeros([1, c.pooledDim]) : null);
    return { model: await build(m, dryRun, params.weights, readFile) };
  },
});

export const UNetPredict = defineNode({
  type: 'UNetPredict',
  category: 'diffusion',
  title: 'U-Net Predict',
  doc: 'One U-Net call: the model output (ε, v or x0, as it was trained) for a sample at a timestep, conditioned on a context and, for a U-Net with pooledDim, a pooled embedding (open: zeros, the unconditional input).',
  inputs: {
    model: model('unet', { doc: 'a U-Net' }),
    sample: tensor(['N', null, null, null], { doc: 'the noisy sample x_t [N, H, W, C]' }),
    timestep: tensor(undefined, { dtype: 'any', optional: true, doc: 'timesteps [N] or one for all ([] or [1]), float or int; open: the t param' }),
    context: tensor([null, null, null], { optional: true, doc: 'text embeddings [N or 1, L, contextDim]' }),
    pooled: tensor([null, null], { optional: true, doc: 'pooled text embedding [N or 1, pooledDim], added to the time embedding (only for a U-Net with pooledDim > 0)' }),
  },
  outputs: { out: tensor(['N', null, null, null], { doc: 'the prediction [N, H, W, outChannels]' }) },
  params: { t: number(500, { min: 0, doc: 'the timestep when the timestep input is open' }) },
  infer: ({ inputs }) => {
    const c = configOf<UNetConfig>(inputs.model);
    const sample = shapeOf(inputs.sample);
    checkUNetInputs(c, sample, shapeOf(inputs.context), { sample: 'sample', context: 'context' });
    checkPooled(c, sample, shapeOf(inputs.pooled), 'pooled');
    const ts = shapeOf(inputs.timestep);
    if (ts && ts.length > 1) shapeError('timestep', `expects [N], [1] or [], got rank ${ts.length}`);
    const n = sample?.[0] ?? null;
    if (ts?.length === 1 && typeof ts[0] === 'number' && ts[0] !== 1 && typeof n === 'number' && ts[0] !== n) {
      shapeError('timestep', `has ${ts[0]} values for a batch of ${n}`);
    }
    return { out: tensor([n, sample?.[1] ?? null, sample?.[2] ?? null, c?.outChannels ?? sample?.[3] ?? null]) };
  },
  run: ({ inputs, params }) => {
    const m = inputs.model as ModelHandle;
    const x = inputs.sample as tf.Tensor4D;
    const ctx = (inputs.context as tf.Tensor3D | undefined) ?? null;
    const pooled = (inputs.pooled as tf.Tensor2D | undefined) ?? null;
    checkUNetInputs(m.config as Partial<UNetConfig>, x.shape, ctx?.shape, { sample: 'sample', context: 'context' });
    checkPooled(m.config as Partial<UNetConfig>, x.shape, pooled?.shape, 'pooled');
    const t = batchTimesteps((inputs.timestep as tf.Tensor | undefined) ?? params.t, x.shape[0]);
    return { out: unetForward(m, x, t, ctx, pooled) };
  },
});
