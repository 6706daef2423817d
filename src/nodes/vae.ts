/**
 * Variational autoencoder (Kingma & Welling 2014, "Auto-Encoding Variational Bayes"), with a
 * convolutional encoder and decoder in the shape of Stable Diffusion's VAE, much smaller.
 *
 *   encoder    q(z|x) = N(μ(x), diag σ²(x)),   [μ, log σ²] = E(x)
 *   sample     z = μ + σ·ε,  ε ~ N(0, I)        the reparameterisation trick: z is a differentiable
 *                                               function of (μ, σ), the noise enters from outside
 *   decoder    x̂ = sigmoid(D(z)) ∈ [0, 1]       Bernoulli means, and Weft's image range
 *   KL         KL(q(z|x) ‖ N(0, I)) = −½ Σ (1 + log σ² − μ² − σ²)
 *
 * Notation: mean = μ, logvar = log σ², latent = z, eps = ε, d = downsamplings (each halves H and
 * W, so a latent is [N, H/2^d, W/2^d, latentChannels]), ch_i = base · 2^min(i, 2) channels at
 * level i (widths grow 1, 2, 4, 4, ... as in SD's (1, 2, 4, 4)).
 *
 * Parameter names are scoped `enc.*` and `dec.*`, so VAEEncode and VAEDecode touch only their half.
 */
import * as tf from '@tensorflow/tfjs';
import {
  defineNode,
  int,
  model,
  ModelHandle,
  seedParam,
  shapeError,
  stepSeed,
  tensor,
  tfSeed,
  type PortType,
  type Shape,
} from '../runtime/index.ts';
import { build, weightsFingerprint, weightsParam } from './builder.ts';
import { configOf, modelOf, shapeOf } from './model-port.ts';
import { conv2d, groupNorm, silu, upsample2x } from './nn.ts';

export interface VaeConfig {
  inChannels: number;
  baseChannels: number;
  latentChannels: number;
  downsamplings: number;
  groups: number;
}

/** ch_i: the width at level i (0 = full resolution, d = latent resolution). */
export const levelChannels = (c: VaeConfig, i: number): number => c.baseChannels * 2 ** Math.min(i, 2);

/** Why a config cannot be built (group norm needs its groups to divide every level's width), or null. */
export function vaeConfigProblem(c: VaeConfig): string | null {
  for (let i = 0; i <= c.downsamplings; i++) {
    const ch = levelChannels(c, i);
    const g = Math.min(c.groups, ch);
    if (ch % g !== 0) return `groups = ${c.groups} does not divide the ${ch} channels at level ${i}; choose groups dividing baseChannels (${c.baseChannels})`;
  }
  return null;
}

/** The config a VAE builder put on its model port's type (see model-port.ts), when known at compile time. */
const vaeConfigOf = (t: PortType | PortType[] | undefined) => configOf<VaeConfig>(t) as VaeConfig | undefined;

/** [N, H, W, C] image -> [N, H/2^d, W/2^d, latentC]; throws ShapeError naming `port`. */
export function latentShape(c: VaeConfig, image: Shape, port = 'image'): Shape {
  const [n, h, w, ch] = image;
  if (typeof ch === 'number' && ch !== c.inChannels) shapeError(port, `expects ${c.inChannels} channels (the VAE's inChannels), got ${ch}`);
  const f = 2 ** c.downsamplings;
  const down = (dim: (typeof image)[number], what: string) => {
    if (typeof dim !== 'number') return null;
    if (dim % f !== 0) shapeError(port, `${what} ${dim} is not divisible by 2^${c.downsamplings} = ${f} (the VAE downsamples ${c.downsamplings} times)`);
    return dim / f;
  };
  return [n, down(h, 'height'), down(w, 'width'), c.latentChannels];
}

/** [N, h, w, latentC] latent -> [N, h·2^d, w·2^d, inC]; throws ShapeError naming `port`. */
export function imageShape(c: VaeConfig, latent: Shape, port = 'latent'): Shape {
  const [n, h, w, ch] = latent;
  if (typeof ch === 'number' && ch !== c.latentChannels) shapeError(port, `expects ${c.latentChannels} channels (the VAE's latentChannels), got ${ch}`);
  const f = 2 ** c.downsamplings;
  const up = (dim: (typeof latent)[number]) => (typeof dim === 'number' ? dim * f : null);
  return [n, up(h), up(w), c.inChannels];
}

// ---- the networks ------------------------------------------------------------------------------

const act = (m: ModelHandle, name: string, h: tf.Tensor4D, groups: number) => silu(groupNorm(m, name, h, groups)) as tf.Tensor4D;

/** h + conv(act(conv(act(h)))): a ResNet block as in SD's VAE, width kept. */
function resBlock(m: ModelHandle, name: string, x: tf.Tensor4D, groups: number): tf.Tensor4D {
  const c = x.shape[3];
  const h = conv2d(m, `${name}.conv1`, act(m, `${name}.norm1`, x, groups), c);
  return tf.add(x, conv2d(m, `${name}.conv2`, act(m, `${name}.norm2`, h, groups), c));
}

/** E(x): image [N, H, W, inC] -> μ, log σ², each [N, H/2^d, W/2^d, latentC]. */
export function encode(m: ModelHandle, x: tf.Tensor4D): { mean: tf.Tensor4D; logvar: tf.Tensor4D } {
  const c = m.config as unknown as VaeConfig;
  // 1. lift the image to ch_0 channels
  let h = conv2d(m, 'enc.in', x, levelChannels(c, 0));
  // 2. per level: a residual block, then a stride-2 conv halves H and W and widens to ch_{i+1}
  for (let i = 0; i < c.downsamplings; i++) {
    h = resBlock(m, `enc.down${i}.res`, h, c.groups);
    h = conv2d(m, `enc.down${i}.down`, h, levelChannels(c, i + 1), 3, 2);
  }
  // 3. one more block at the latent resolution, then a conv to the 2·latentC moments [μ, log σ²]
  h = resBlock(m, 'enc.mid', h, c.groups);
  const moments = conv2d(m, 'enc.out', act(m, 'enc.out.norm', h, c.groups), 2 * c.latentChannels);
  const [mean, raw] = tf.split(moments, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
  // 4. clamp log σ² as diffusers' DiagonalGaussianDistribution does: exp() of an untrained or
  //    diverging head must not overflow to inf (σ = e^10 is already far past any useful scale)
  return { mean, logvar: tf.clipByValue(raw, -30, 20) };
}

/** D(z): latent [N, h, w, latentC] -> image [N, h·2^d, w·2^d, inC] in [0, 1]. */
export function decode(m: ModelHandle, z: tf.Tensor4D): tf.Tensor4D {
  const c = m.config as unknown as VaeConfig;
  // 1. lift the latent to ch_d channels and mix once at the latent resolution
  let h = conv2d(m, 'dec.in', z, levelChannels(c, c.downsamplings));
  h = resBlock(m, 'dec.mid', h, c.groups);
  // 2. per level, coarse to fine: nearest 2x upsampling (right gradients everywhere), conv to ch_i, block
  for (let i = c.downsamplings - 1; i >= 0; i--) {
    h = conv2d(m, `dec.up${i}.conv`, upsample2x(h), levelChannels(c, i));
    h = resBlock(m, `dec.up${i}.res`, h, c.groups);
  }
  // 3. to inC channels; sigmoid puts pixels in [0, 1] (the decoder is a Bernoulli/BCE decoder)
  return tf.sigmoid(conv2d(m, 'dec.out', act(m, 'dec.out.norm', h, c.groups), c.inChannels));
}

/** z = μ + exp(½ log σ²)·ε with ε ~ N(0, I) drawn from `seed` (the same numbers on every backend). */
export function reparameterize(mean: tf.Tensor, logvar: tf.Tensor, seed: number): tf.Tensor {
  const eps = tf.randomNormal(mean.shape, 0, 1, 'float32', tfSeed(seed));
  return tf.add(mean, tf.mul(tf.exp(tf.mul(logvar, 0.5)), eps));
}

/** Create a VAE's parameters from (config, seed), then load `weights` if named. */
export function buildVae(config: VaeConfig, seed: number, weights = '', readFile: (p: string) => Promise<Uint8Array> = noFiles): Promise<ModelHandle> {
  const problem = vaeConfigProblem(config);
  if (problem) throw new Error(problem);
  const m = new ModelHandle('vae', { ...config }, seed);
  const s = 2 ** config.downsamplings;
  return build(m, () => decode(m, encode(m, tf.zeros([1, s, s, config.inChannels]) as tf.Tensor4D).mean), weights, readFile);
}

const noFiles = (p: string) => Promise.reject(new Error(`no file access (reading "${p}")`));

// ---- the node kinds ----------------------------------------------------------------------------

const modelIn = () => model('vae', { doc: 'a VAE from the VAE builder' });

export const VAE = defineNode({
  type: 'VAE',
  category: 'vae',
  doc:
    'Builds a convolutional VAE (Kingma & Welling 2014): the encoder maps an image to the mean and log-variance of a ' +
    'diagonal Gaussian over latents with H and W halved `downsamplings` times; the decoder maps a latent back to an ' +
    'image, through a sigmoid, so decoded pixels lie in [0, 1]. Initialised from the seed unless a weights file is named.',
  inputs: {},
  outputs: { model: model('vae', { doc: 'the VAE, for VAEEncode, VAEDecode and optimizers' }) },
  params: {
    inChannels: int(1, { min: 1, max: 4, doc: 'image channels: 1 for MNIST, 3 for RGB' }),
    baseChannels: int(32, { min: 1, max: 256, doc: 'width at full resolution; level i has base·2^min(i, 2)' }),
    latentChannels: int(4, { min: 1, max: 64, doc: 'channels of the latent z' }),
    downsamplings: int(2, { min: 0, max: 4, doc: 'each halves H and W: image sides must be divisible by 2^downsamplings' }),
    groups: int(8, { min: 1, max: 64, doc: 'group-norm groups (at most the channel count); must divide baseChannels' }),
    seed: seedParam(0, { doc: 'initialisation seed (ignored for parameters a weights file sets)' }),
    weights: weightsParam(),
  },
  fingerprint: weightsFingerprint,
  infer: ({ params }) => {
    const problem = vaeConfigProblem(params);
    if (problem) shapeError(undefined, problem);
    return { model: modelOf('vae', pickConfig(params)) };
  },
  run: async ({ params, readFile }) => ({ model: await buildVae(pickConfig(params), params.seed, params.weights, readFile) }),
});

const pickConfig = (p: VaeConfig): VaeConfig => ({
  inChannels: p.inChannels,
  baseChannels: p.baseChannels,
  latentChannels: p.latentChannels,
  downsamplings: p.downsamplings,
  groups: p.groups,
});

export const VAEEncode = defineNode({
  type: 'VAEEncode',
  category: 'vae',
  doc:
    'Encodes images to the posterior q(z|x) = N(mean, exp(logvar)) and a latent sampled from it, ' +
    'z = mean + exp(logvar/2)·ε, with ε ~ N(0, I) drawn from the seed (the same latent on every backend).',
  inputs: { model: modelIn(), image: tensor(['N', null, null, null], { doc: 'images [N, H, W, C] in [0, 1]; H, W divisible by 2^downsamplings' }) },
  outputs: {
    mean: tensor(['N', null, null, null], { doc: 'μ [N, H/2^d, W/2^d, latentChannels]' }),
    logvar: tensor(['N', null, null, null], { doc: 'log σ², same shape (clamped to [−30, 20])' }),
    latent: tensor(['N', null, null, null], { doc: 'a sample z = μ + σ·ε' }),
  },
  params: { seed: seedParam(0, { doc: 'seed of ε' }) },
  stochastic: true, // in training, step k draws ε from stepSeed(seed, k): a fresh sample every step
  infer: ({ inputs }) => {
    const c = vaeConfigOf(inputs.model);
    const s = shapeOf(inputs.image) ?? [null, null, null, null];
    const out = tensor(c ? latentShape(c, s) : [s[0], null, null, null]);
    return { mean: out, logvar: out, latent: out };
  },
  run: ({ inputs, params, step }) => {
    const m = inputs.model as ModelHandle;
    const x = inputs.image as tf.Tensor4D;
    latentShape(m.config as unknown as VaeConfig, x.shape); // a model from elsewhere (a trainer) was not checked at compile time
    const { mean, logvar } = encode(m, x);
    return { mean, logvar, latent: reparameterize(mean, logvar, stepSeed(params.seed, step)) };
  },
});

export const VAEDecode = defineNode({
  type: 'VAEDecode',
  category: 'vae',
  doc: 'Decodes latents [N, h, w, latentChannels] to images [N, h·2^d, w·2^d, inChannels] in [0, 1] (the decoder ends in a sigmoid).',
  inputs: { model: modelIn(), latent: tensor(['N', null, null, null], { doc: 'latents z' }) },
  outputs: { image: tensor(['N', null, null, null], { doc: 'images in [0, 1]' }) },
  params: {},
  infer: ({ inputs }) => {
    const c = vaeConfigOf(inputs.model);
    const s = shapeOf(inputs.latent) ?? [null, null, null, null];
    return { image: tensor(c ? imageShape(c, s) : [s[0], null, null, null]) };
  },
  run: ({ inputs }) => {
    const m = inputs.model as ModelHandle;
    const z = inputs.latent as tf.Tensor4D;
    imageShape(m.config as unknown as VaeConfig, z.shape);
    return { image: decode(m, z) };
  },
});

export const Reparameterize = defineNode({
  type: 'Reparameterize',
  category: 'vae',
  doc:
    'Samples z = mean + exp(logvar/2)·ε with ε ~ N(0, I) from the seed: the reparameterisation trick ' +
    '(Kingma & Welling 2014), so gradients reach mean and logvar in training graphs.',
  inputs: { mean: tensor(undefined, { doc: 'μ' }), logvar: tensor(undefined, { doc: 'log σ², the same shape as mean' }) },
  outputs: { out: tensor(undefined, { doc: 'z, the shape of mean' }) },
  params: { seed: seedParam(0, { doc: 'seed of ε' }) },
  stochastic: true, // in training, step k draws ε from stepSeed(seed, k)
  infer: ({ inputs }) => {
    const [a, b] = [shapeOf(inputs.mean), shapeOf(inputs.logvar)];
    if (a && b) {
      const differ = a.length !== b.length || a.some((d, i) => typeof d === 'number' && typeof b[i] === 'number' && d !== b[i]);
      if (differ) shapeError('logvar', `must have the shape of mean [${a.map(String)}], got [${b.map(String)}]`);
    }
    return { out: tensor(a ?? b) };
  },
  run: ({ inputs, params, step }) => {
    const [mean, logvar] = [inputs.mean as tf.Tensor, inputs.logvar as tf.Tensor];
    if (mean.shape.join() !== logvar.shape.join()) throw new Error(`logvar [${logvar.shape}] must have the shape of mean [${mean.shape}]`);
    return { out: reparameterize(mean, logvar, stepSeed(params.seed, step)) };
  },
});
