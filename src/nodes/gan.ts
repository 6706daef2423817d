/**
 * GAN discriminator (Goodfellow et al. 2014), DCGAN-style (Radford et al. 2016): a classifier
 * D(x) = σ(logit(x)) of "real" vs "generated", trained against a generator with
 *
 *   min_G max_D  E_x[log D(x)] + E_z[log(1 − D(G(z)))]
 *
 * conv:  strided 4x4 convolutions (stride 2 instead of pooling, as DCGAN) with leaky ReLU (slope
 *        0.2), widths w·2^min(i, 3), then flatten -> linear -> one logit.
 * mlp:   for flat or 2-D data (moons, rings; or images flattened): depth × (linear w -> leaky ReLU),
 *        then linear -> one logit.
 *
 * Features: the activation after hidden layer l, for VAE-GAN's feature-wise reconstruction loss
 * (Larsen et al. 2016, "Autoencoding beyond pixels using a learned similarity metric"): they
 * replace the pixel loss by ‖Dis_l(x) − Dis_l(x̃)‖², comparing images in the discriminator's
 * l-th layer instead of pixel by pixel.
 *
 * Notation: logits = logit(x) before the sigmoid (losses take logits, for stability), l = layer,
 * w = width, inShape = one sample's shape without the batch dim ([H, W, C] for conv).
 *
 * No normalisation layers: DCGAN's batch norm mixes the samples of a batch, so an image's logit
 * would depend on its batch-mates and one image could not be cached or compared on its own.
 */
import * as tf from '@tensorflow/tfjs';
import { defineNode, enumParam, int, model, ModelHandle, seedParam, shapeError, shapeParam, tensor, type PortType, type Shape } from '../runtime/index.ts';
import { build, weightsFingerprint, weightsParam } from './builder.ts';
import { configOf, modelOf, shapeOf } from './model-port.ts';
import { conv2d, linear } from './nn.ts';

export interface DiscriminatorConfig {
  arch: 'conv' | 'mlp';
  inShape: number[];
  width: number;
  depth: number;
}

const SLOPE = 0.2; // DCGAN's leaky-ReLU slope
const KERNEL = 4; // DCGAN's 4x4 kernels

/** Width of hidden layer i (0-based). */
const layerWidth = (c: DiscriminatorConfig, i: number): number => (c.arch === 'conv' ? c.width * 2 ** Math.min(i, 3) : c.width);

export function discriminatorConfigProblem(c: DiscriminatorConfig): string | null {
  if (c.arch === 'conv' && c.inShape.length !== 3) return `a conv discriminator takes inShape [H, W, C], got [${c.inShape}]`;
  return null;
}

/** The config a Discriminator builder put on its model port's type (see model-port.ts), when known. */
const discConfigOf = (t: PortType | PortType[] | undefined) => configOf<DiscriminatorConfig>(t) as DiscriminatorConfig | undefined;

/** 1-based hidden layer the features come from; 0 picks the last. */
const pickLayer = (c: DiscriminatorConfig, layer: number): number => (layer === 0 ? c.depth : layer);

/** Check x against the config and return the features' shape; throws ShapeError naming the port. */
export function featureShape(c: DiscriminatorConfig, x: Shape, layer: number): Shape {
  const l = pickLayer(c, layer);
  if (l > c.depth) shapeError(undefined, `layer ${l} is past the discriminator's ${c.depth} hidden layers (0 picks the last)`);
  const sample = x.slice(1);
  if (c.arch === 'mlp') {
    const want = c.inShape.reduce((a, b) => a * b, 1);
    const got = sample.every((d) => typeof d === 'number') ? (sample as number[]).reduce((a, b) => a * b, 1) : null;
    if (got !== null && got !== want) shapeError('x', `expects ${want} values per sample (inShape [${c.inShape}]), got [${sample.map(String)}] = ${got}`);
    return [x[0], layerWidth(c, l - 1)];
  }
  if (sample.length !== 3) shapeError('x', `expects images [N, ${c.inShape}], got rank ${x.length}`);
  sample.forEach((d, i) => {
    if (typeof d === 'number' && d !== c.inShape[i]) shapeError('x', `expects [N, ${c.inShape}] (the discriminator's inShape), got [${x.map(String)}]`);
  });
  // 'same' padding with stride 2: each layer gives ceil(side / 2)
  const [h, w] = c.inShape.slice(0, 2).map((s) => Math.ceil(s / 2 ** l));
  return [x[0], h, w, layerWidth(c, l - 1)];
}

// ---- the network -------------------------------------------------------------------------------

/** logit(x) [N, 1] and the activations of every hidden layer (features[l − 1] is layer l). */
export function discriminate(m: ModelHandle, x: tf.Tensor): { logits: tf.Tensor2D; hidden: tf.Tensor[] } {
  const c = m.config as unknown as DiscriminatorConfig;
  const hidden: tf.Tensor[] = [];
  let h = x;
  if (c.arch === 'conv') {
    // 1. strided convs halve H and W per layer; leaky ReLU keeps a gradient for negative inputs,
    //    which the generator needs where D is confident (Radford et al.)
    for (let i = 0; i < c.depth; i++) {
      h = tf.leakyRelu(conv2d(m, `conv${i}`, h as tf.Tensor4D, layerWidth(c, i), KERNEL, 2), SLOPE);
      hidden.push(h);
    }
  } else {
    // 1. flatten, then depth × (linear -> leaky ReLU)
    h = h.reshape([h.shape[0], -1]);
    for (let i = 0; i < c.depth; i++) {
      h = tf.leakyRelu(linear(m, `fc${i}`, h, layerWidth(c, i)), SLOPE);
      hidden.push(h);
    }
  }
  // 2. one logit per sample: the whole last map (DCGAN's final conv over 4x4 is this linear layer)
  const logits = linear(m, 'head', h.reshape([h.shape[0], -1]), 1) as tf.Tensor2D;
  return { logits, hidden };
}

export function buildDiscriminator(config: DiscriminatorConfig, seed: number, weights = '', readFile: (p: string) => Promise<Uint8Array> = noFiles): Promise<ModelHandle> {
  const problem = discriminatorConfigProblem(config);
  if (problem) throw new Error(problem);
  const m = new ModelHandle('discriminator', { ...config, inShape: [...config.inShape] }, seed);
  return build(m, () => discriminate(m, tf.zeros([1, ...config.inShape])), weights, readFile);
}

const noFiles = (p: string) => Promise.reject(new Error(`no file access (reading "${p}")`));

// ---- the node kinds ----------------------------------------------------------------------------

const pickConfig = (p: DiscriminatorConfig): DiscriminatorConfig => ({ arch: p.arch, inShape: [...p.inShape], width: p.width, depth: p.depth });

export const Discriminator = defineNode({
  type: 'Discriminator',
  category: 'gan',
  doc:
    'Builds a GAN discriminator (Goodfellow et al. 2014): `conv` is DCGAN-style (Radford et al. 2016), strided 4x4 ' +
    'convs with leaky ReLU to one logit, for images [N, H, W, C]; `mlp` is for flat or 2-D data. ' +
    'Initialised from the seed unless a weights file is named.',
  inputs: {},
  outputs: { model: model('discriminator', { doc: 'the discriminator, for Discriminate and optimizers' }) },
  params: {
    arch: enumParam(['conv', 'mlp'], 'conv', { doc: 'conv for images, mlp for flat or 2-D data' }),
    inShape: shapeParam([28, 28, 1], { maxRank: 3, doc: 'one sample without the batch dim: [H, W, C] for conv, e.g. [2] for 2-D points' }),
    width: int(32, { min: 1, max: 512, doc: 'channels of the first layer (conv: doubling per layer up to 8x) or hidden units (mlp)' }),
    depth: int(3, { min: 1, max: 6, doc: 'hidden layers (conv: each halves H and W)' }),
    seed: seedParam(0, { doc: 'initialisation seed (ignored for parameters a weights file sets)' }),
    weights: weightsParam(),
  },
  fingerprint: weightsFingerprint,
  infer: ({ params }) => {
    const problem = discriminatorConfigProblem(params);
    if (problem) shapeError(undefined, problem);
    return { model: modelOf('discriminator', pickConfig(params)) };
  },
  run: async ({ params, readFile }) => ({ model: await buildDiscriminator(pickConfig(params), params.seed, params.weights, readFile) }),
});

export const Discriminate = defineNode({
  type: 'Discriminate',
  category: 'gan',
  doc:
    'Runs a discriminator: logits [N, 1] (real vs generated, before the sigmoid) and the features of one hidden ' +
    'layer, for feature-wise reconstruction losses as in VAE-GAN (Larsen et al. 2016).',
  inputs: {
    model: model('discriminator', { doc: 'a discriminator from the Discriminator builder' }),
    x: tensor(undefined, { doc: 'samples, [N, ...inShape] (mlp: any shape with as many values per sample)' }),
  },
  outputs: {
    logits: tensor(['N', 1], { doc: 'logit(x) per sample' }),
    features: tensor(undefined, { doc: 'the chosen hidden layer: [N, H/2^l, W/2^l, C_l] (conv) or [N, width] (mlp)' }),
  },
  params: { layer: int(0, { min: 0, max: 6, doc: 'hidden layer (1 = first) whose activations are the features; 0 = the last' }) },
  infer: ({ inputs, params }) => {
    const c = discConfigOf(inputs.model);
    // an x of unknown shape is assumed to fit; run() checks it
    const x = shapeOf(inputs.x) ?? [null, ...(c?.inShape ?? [])];
    return { logits: tensor([x[0], 1]), features: c ? tensor(featureShape(c, x, params.layer)) : tensor() };
  },
  run: ({ inputs, params }) => {
    const m = inputs.model as ModelHandle;
    const x = inputs.x as tf.Tensor;
    const c = m.config as unknown as DiscriminatorConfig;
    featureShape(c, x.shape, params.layer); // a model from elsewhere (a trainer) was not checked at compile time
    const { logits, hidden } = discriminate(m, x);
    return { logits, features: hidden[pickLayer(c, params.layer) - 1] };
  },
});
