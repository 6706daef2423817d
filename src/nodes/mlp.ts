/**
 * Multilayer perceptrons: the small, fast encoders, decoders and generators of the MNIST example
 * graphs (a VAE as in Kingma & Welling 2014, §5 and app. C: one hidden layer each way, Bernoulli
 * decoder; a GAN generator as in Goodfellow et al. 2014). On two CPU cores an MLP step costs
 * milliseconds where the convolutional VAE's costs a second, so these train in minutes.
 *
 *   h_0 = flatten(x),  h_i = act(h_{i−1}·W_i + b_i)  (i = 1..L),  y = out(h_L·W + b)  reshaped to outShape
 *
 * As a Gaussian head (a VAE encoder), y's last axis holds [μ, log σ²]: MLPApply's `mean` and
 * `logvar` outputs are its two halves, ready for Reparameterize and KLDivergence.
 *
 * Notation: L = hidden layers (the `hidden` list of widths), act = hidden activation, out = output
 * activation (sigmoid for images in [0, 1]).
 */
import * as tf from '@tensorflow/tfjs';
import { defineNode, enumParam, model, ModelHandle, seedParam, shapeError, shapeParam, tensor, type PortType, type Shape } from '../runtime/index.ts';
import { build, weightsFingerprint, weightsParam } from './builder.ts';
import { configOf, modelOf, shapeOf } from './model-port.ts';
import { linear } from './nn.ts';

const ACTIVATIONS = ['relu', 'leaky_relu', 'silu', 'tanh'] as const;
const OUTPUTS = ['none', 'sigmoid', 'tanh'] as const;

export interface MlpConfig {
  inShape: number[];
  hidden: number[];
  outShape: number[];
  activation: (typeof ACTIVATIONS)[number];
  output: (typeof OUTPUTS)[number];
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function activate(x: tf.Tensor, how: MlpConfig['activation'] | MlpConfig['output']): tf.Tensor {
  switch (how) {
    case 'relu':
      return tf.relu(x);
    case 'leaky_relu':
      return tf.leakyRelu(x, 0.2);
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    default:
      return x;
  }
}

/** y [N, ...outShape] for x [N, ...inShape] (any shape with prod(inShape) values per sample). */
export function mlpForward(m: ModelHandle, x: tf.Tensor): tf.Tensor {
  const c = m.config as unknown as MlpConfig;
  // 1. flatten each sample, then the hidden layers
  let h = x.reshape([x.shape[0], -1]);
  c.hidden.forEach((w, i) => (h = activate(linear(m, `fc${i}`, h, w), c.activation)));
  // 2. the output layer, its activation, and the sample shape
  const y = activate(linear(m, 'out', h, size(c.outShape)), c.output);
  return y.reshape([x.shape[0], ...c.outShape]);
}

export function buildMlp(config: MlpConfig, seed: number, weights = '', readFile: (p: string) => Promise<Uint8Array> = noFiles): Promise<ModelHandle> {
  const m = new ModelHandle('mlp', { ...config, inShape: [...config.inShape], hidden: [...config.hidden], outShape: [...config.outShape] }, seed);
  return build(m, () => void mlpForward(m, tf.zeros([1, size(config.inShape)])), weights, readFile);
}

const noFiles = (p: string) => Promise.reject(new Error(`no file access (reading "${p}")`));

const pickConfig = (p: MlpConfig): MlpConfig => ({ inShape: [...p.inShape], hidden: [...p.hidden], outShape: [...p.outShape], activation: p.activation, output: p.output });
const mlpConfigOf = (t: PortType | PortType[] | undefined) => configOf<MlpConfig>(t) as MlpConfig | undefined;

/** Check x's values per sample against inShape; throws ShapeError naming `x`. */
function checkInput(c: MlpConfig, x: Shape): void {
  const sample = x.slice(1);
  if (!sample.every((d) => typeof d === 'number')) return;
  const got = size(sample as number[]);
  if (got !== size(c.inShape)) shapeError('x', `expects ${size(c.inShape)} values per sample (inShape [${c.inShape}]), got [${sample.map(String)}] = ${got}`);
}

export const MLP = defineNode({
  type: 'MLP',
  category: 'vae',
  doc:
    'Builds a multilayer perceptron: flatten, hidden linear layers with an activation, a linear output layer with an ' +
    'optional sigmoid or tanh, reshaped to outShape. A VAE’s encoder (outShape [2·z]: mean and log-variance) or decoder ' +
    '(outShape [28, 28, 1], sigmoid), or a GAN generator. Initialised from the seed unless a weights file is named.',
  inputs: {},
  outputs: { model: model('mlp', { doc: 'the MLP, for MLPApply and optimizers' }) },
  params: {
    inShape: shapeParam([28, 28, 1], { maxRank: 4, doc: 'one input sample’s shape (flattened to prod(inShape) values)' }),
    hidden: shapeParam([256], { maxRank: 6, doc: 'widths of the hidden layers, first to last' }),
    outShape: shapeParam([32], { maxRank: 4, doc: 'one output sample’s shape' }),
    activation: enumParam(ACTIVATIONS, 'relu', { doc: 'activation of the hidden layers' }),
    output: enumParam(OUTPUTS, 'none', { doc: 'activation of the output: none (logits, a Gaussian head), sigmoid (images in [0, 1]) or tanh' }),
    seed: seedParam(0, { doc: 'initialisation seed (ignored for parameters a weights file sets)' }),
    weights: weightsParam(),
  },
  fingerprint: weightsFingerprint,
  infer: ({ params }) => ({ model: modelOf('mlp', pickConfig(params)) }),
  run: async ({ params, readFile }) => ({ model: await buildMlp(pickConfig(params), params.seed, params.weights, readFile) }),
});

export const MLPApply = defineNode({
  type: 'MLPApply',
  category: 'vae',
  doc:
    'Runs an MLP on a batch: out [N, ...outShape]; mean and logvar are the two halves of out’s last axis (logvar clamped ' +
    'to [−30, 20] as the VAE’s), for an MLP that is a Gaussian encoder. With an odd last axis, mean is out and logvar 0.',
  inputs: {
    model: model('mlp', { doc: 'an MLP from the MLP builder' }),
    x: tensor(undefined, { doc: 'inputs [N, ...] with prod(inShape) values per sample' }),
  },
  outputs: {
    out: tensor(undefined, { doc: 'outputs [N, ...outShape]' }),
    mean: tensor(undefined, { doc: 'the first half of out’s last axis' }),
    logvar: tensor(undefined, { doc: 'the second half of out’s last axis' }),
  },
  params: {},
  infer: ({ inputs }) => {
    const c = mlpConfigOf(inputs.model);
    const x = shapeOf(inputs.x) ?? [null];
    if (!c) return { out: tensor(), mean: tensor(), logvar: tensor() };
    checkInput(c, x);
    const last = c.outShape[c.outShape.length - 1];
    const half = tensor([x[0], ...c.outShape.slice(0, -1), last % 2 === 0 ? last / 2 : null]);
    return { out: tensor([x[0], ...c.outShape]), mean: half, logvar: half };
  },
  run: ({ inputs }) => {
    const m = inputs.model as ModelHandle;
    const x = inputs.x as tf.Tensor;
    const c = m.config as unknown as MlpConfig;
    checkInput(c, x.shape);
    const out = mlpForward(m, x);
    const last = out.shape[out.rank - 1];
    if (last % 2 !== 0) return { out, mean: out, logvar: tf.zerosLike(out) };
    const [mean, raw] = tf.split(out, 2, out.rank - 1);
    return { out, mean, logvar: tf.clipByValue(raw, -30, 20) };
  },
});
