/**
 * The judge: a small convolutional classifier of images, and what it measures about generated ones.
 * Trained on MNIST (graphs/mnist-judge.json, `npm run train:examples judge`) it scores the digits
 * the example graphs generate.
 *
 *   Classifier      logits = head(flatten(h_L)),  h_l = leakyReLU(conv_l(h_{l−1})),  stride 2 from l = 1
 *   CrossEntropy    −log softmax(logits)_y = logsumexp(logits) − logits_y, averaged over the batch
 *   InceptionScore  IS = exp( E_x KL( p(y|x) ‖ p(y) ) ),  p(y) = E_x p(y|x)        Salimans et al. 2016
 *
 * The Inception score with an MNIST classifier in place of Inception (as GAN papers on MNIST report
 * it) lies in [1, K]: K when every sample is classified with certainty and the classes are used
 * equally often, 1 when every sample gets the same distribution. No temperature or calibration is
 * applied: the judge's own softmax is the p(y|x).
 *
 * Notation: K = classes, w = width, h_l = activations of conv layer l (0-based), L = depth.
 */
import * as tf from '@tensorflow/tfjs';
import { defineNode, enumParam, int, model, ModelHandle, seedParam, shapeError, shapeParam, tensor, type PortType, type Shape } from '../runtime/index.ts';
import { build, weightsFingerprint, weightsParam } from './builder.ts';
import { configOf, modelOf, shapeOf } from './model-port.ts';
import { conv2d, linear } from './nn.ts';

export interface ClassifierConfig {
  classes: number;
  inShape: number[];
  width: number;
  depth: number;
}

const SLOPE = 0.2;

/** Width of conv layer i: w, 2w, 4w, 4w, ... */
const layerWidth = (c: ClassifierConfig, i: number): number => c.width * 2 ** Math.min(i, 2);

/** h_L's side after the stride-2 layers 1..L−1 ('same' padding: ceil(side / 2) each). */
const finalSide = (c: ClassifierConfig, side: number): number => Math.ceil(side / 2 ** (c.depth - 1));

function checkInput(c: ClassifierConfig, x: Shape, port = 'x'): void {
  if (x.length !== 4) shapeError(port, `expects images [N, ${c.inShape}], got rank ${x.length}`);
  x.slice(1).forEach((d, i) => {
    if (typeof d === 'number' && d !== c.inShape[i]) shapeError(port, `expects [N, ${c.inShape}] (the classifier's inShape), got [${x.map(String)}]`);
  });
}

/** logits [N, K] for images [N, H, W, C]. */
export function classifierLogits(m: ModelHandle, x: tf.Tensor4D): tf.Tensor2D {
  const c = m.config as unknown as ClassifierConfig;
  let h = x;
  // 1. a stride-1 conv sees strokes at full resolution; each later conv halves H and W
  for (let i = 0; i < c.depth; i++) h = tf.leakyRelu(conv2d(m, `conv${i}`, h, layerWidth(c, i), 3, i === 0 ? 1 : 2), SLOPE);
  // 2. one linear layer from the last map to the K logits
  return linear(m, 'head', h.reshape([h.shape[0], -1]), c.classes) as tf.Tensor2D;
}

export function buildClassifier(config: ClassifierConfig, seed: number, weights = '', readFile: (p: string) => Promise<Uint8Array> = noFiles): Promise<ModelHandle> {
  if (config.inShape.length !== 3) throw new Error(`a classifier takes inShape [H, W, C], got [${config.inShape}]`);
  const m = new ModelHandle('classifier', { ...config, inShape: [...config.inShape] }, seed);
  // the dry run returns nothing: tidy keeps what its function returns
  return build(m, () => void classifierLogits(m, tf.zeros([1, ...config.inShape]) as unknown as tf.Tensor4D), weights, readFile);
}

const noFiles = (p: string) => Promise.reject(new Error(`no file access (reading "${p}")`));

/** The MNIST judge's architecture (graphs/mnist-judge.json builds the same). */
export const JUDGE_CONFIG: ClassifierConfig = { classes: 10, inShape: [28, 28, 1], width: 16, depth: 4 };

/** p(y|x) and argmax labels for images [N, 28, 28, 1] in [0, 1], read back; `batch` bounds memory. */
export async function classifyDigits(judge: ModelHandle, images: tf.Tensor4D, batch = 256): Promise<{ probs: Float32Array[]; labels: number[] }> {
  const probs: Float32Array[] = [];
  const k = (judge.config as unknown as ClassifierConfig).classes;
  for (let start = 0; start < images.shape[0]; start += batch) {
    const p = tf.tidy(() => tf.softmax(classifierLogits(judge, images.slice(start, Math.min(batch, images.shape[0] - start)))));
    const data = (await p.data()) as Float32Array;
    p.dispose();
    for (let i = 0; i < data.length / k; i++) probs.push(data.slice(i * k, (i + 1) * k));
  }
  return { probs, labels: probs.map(argmax) };
}

const argmax = (p: ArrayLike<number>): number => {
  let best = 0;
  for (let j = 1; j < p.length; j++) if (p[j] > p[best]) best = j;
  return best;
};

/**
 * IS = exp( (1/N) Σ_x Σ_y p(y|x)·(log p(y|x) − log p(y)) ) with p(y) the mean of the rows; in
 * float64, terms with p(y|x) = 0 contribute 0 (the limit of p log p).
 */
export function inceptionScore(probs: ArrayLike<number>[]): number {
  if (!probs.length) throw new Error('inceptionScore needs at least one row of probabilities');
  const k = probs[0].length;
  const marginal = new Float64Array(k);
  for (const p of probs) for (let j = 0; j < k; j++) marginal[j] += p[j] / probs.length;
  let kl = 0;
  for (const p of probs) for (let j = 0; j < k; j++) if (p[j] > 0) kl += p[j] * (Math.log(p[j]) - Math.log(marginal[j]));
  return Math.exp(kl / probs.length);
}

// ---- the node kinds ----------------------------------------------------------------------------

const pickConfig = (p: ClassifierConfig): ClassifierConfig => ({ classes: p.classes, inShape: [...p.inShape], width: p.width, depth: p.depth });
const classifierConfigOf = (t: PortType | PortType[] | undefined) => configOf<ClassifierConfig>(t) as ClassifierConfig | undefined;

export const Classifier = defineNode({
  type: 'Classifier',
  category: 'gan',
  doc:
    'Builds a small convolutional image classifier (leaky-ReLU convs, stride 2 after the first, then one linear layer to ' +
    'K logits). With weights/judge.safetensors it is the MNIST judge that scores generated digits (Classify, InceptionScore). ' +
    'Initialised from the seed unless a weights file is named.',
  inputs: {},
  outputs: { model: model('classifier', { doc: 'the classifier, for Classify and optimizers' }) },
  params: {
    classes: int(10, { min: 2, max: 1000, doc: 'K, the number of classes' }),
    inShape: shapeParam([28, 28, 1], { maxRank: 3, doc: 'one image without the batch dim: [H, W, C]' }),
    width: int(16, { min: 1, max: 256, doc: 'channels of the first conv; layer i has width·2^min(i, 2)' }),
    depth: int(4, { min: 1, max: 6, doc: 'conv layers (all but the first halve H and W)' }),
    seed: seedParam(0, { doc: 'initialisation seed (ignored for parameters a weights file sets)' }),
    weights: weightsParam(),
  },
  fingerprint: weightsFingerprint,
  infer: ({ params }) => {
    if (params.inShape.length !== 3) shapeError(undefined, `inShape must be [H, W, C], got [${params.inShape}]`);
    return { model: modelOf('classifier', pickConfig(params)) };
  },
  run: async ({ params, readFile }) => ({ model: await buildClassifier(pickConfig(params), params.seed, params.weights, readFile) }),
});

export const Classify = defineNode({
  type: 'Classify',
  category: 'gan',
  doc: 'Runs a classifier on images: logits [N, K], class probabilities p(y|x) = softmax(logits), and the most likely class per image.',
  inputs: {
    model: model('classifier', { doc: 'a classifier from the Classifier builder' }),
    x: tensor(['N', null, null, null], { doc: 'images [N, H, W, C] in [0, 1] (the classifier’s inShape)' }),
  },
  outputs: {
    logits: tensor(['N', null], { doc: 'logits [N, K]' }),
    probs: tensor(['N', null], { doc: 'p(y|x) [N, K]' }),
    labels: tensor(['N'], { dtype: 'int32', doc: 'argmax_y p(y|x) [N]' }),
  },
  params: {},
  infer: ({ inputs }) => {
    const c = classifierConfigOf(inputs.model);
    const x = shapeOf(inputs.x) ?? [null, null, null, null];
    if (c) checkInput(c, x);
    const k = c?.classes ?? null;
    return { logits: tensor([x[0], k]), probs: tensor([x[0], k]), labels: tensor([x[0]], { dtype: 'int32' }) };
  },
  run: ({ inputs }) => {
    const m = inputs.model as ModelHandle;
    const x = inputs.x as tf.Tensor4D;
    checkInput(m.config as unknown as ClassifierConfig, x.shape);
    const logits = classifierLogits(m, x);
    return { logits, probs: tf.softmax(logits), labels: tf.argMax(logits, 1).toInt() };
  },
});

export const CrossEntropy = defineNode({
  type: 'CrossEntropy',
  category: 'losses',
  doc:
    'Softmax cross-entropy of logits [N, K] against integer class labels [N]: logsumexp(logits) − logits_y, averaged over ' +
    'the batch (the classifier’s training loss), and the batch’s accuracy (argmax = label).',
  inputs: {
    logits: tensor([null, null], { doc: 'logits [N, K] (Classify.logits)' }),
    labels: tensor([null], { dtype: 'int32', doc: 'classes 0..K−1 [N] (Dataset.labels)' }),
  },
  outputs: {
    loss: tensor([], { doc: 'the mean cross-entropy, in nats' }),
    accuracy: tensor([], { doc: 'the fraction of rows whose argmax is the label' }),
  },
  params: { reduction: enumParam(['mean', 'sum'], 'mean', { doc: 'mean or sum over the batch' }) },
  infer: ({ inputs }) => {
    const [l, y] = [shapeOf(inputs.logits), shapeOf(inputs.labels)];
    if (l && y && typeof l[0] === 'number' && typeof y[0] === 'number' && l[0] !== y[0]) shapeError('labels', `expects one label per row of logits (${l[0]}), got ${y[0]}`);
    return { loss: tensor([]), accuracy: tensor([]) };
  },
  run: ({ inputs, params }) => {
    const logits = inputs.logits as tf.Tensor2D;
    const labels = inputs.labels as tf.Tensor1D;
    if (labels.shape[0] !== logits.shape[0]) throw new Error(`input "labels": expects ${logits.shape[0]} labels, got ${labels.shape[0]}`);
    const k = logits.shape[1];
    // −Σ_y onehot_y · log softmax(logits)_y per row (the one-hot is a constant: no gradient needed)
    const onehot = tf.oneHot(labels.toInt(), k).toFloat();
    const perRow = tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1));
    const loss = params.reduction === 'mean' ? tf.mean(perRow) : tf.sum(perRow);
    const accuracy = tf.mean(tf.equal(tf.argMax(logits, 1), labels.toInt()).toFloat());
    return { loss, accuracy };
  },
});

export const InceptionScore = defineNode({
  type: 'InceptionScore',
  category: 'outputs',
  doc:
    'The Inception-style score of class probabilities p(y|x) [N, K] (Salimans et al. 2016), with an MNIST classifier ' +
    'as the judge: exp(E_x KL(p(y|x) ‖ p(y))), p(y) the batch mean. Between 1 and K; K when every sample is classified ' +
    'confidently and all classes are equally frequent.',
  inputs: { probs: tensor([null, null], { doc: 'p(y|x) [N, K] (Classify.probs)' }) },
  outputs: { score: tensor([], { doc: 'the score, in [1, K]' }) },
  params: {},
  differentiable: false,
  infer: () => ({ score: tensor([]) }),
  run: ({ inputs }) => {
    const p = inputs.probs as tf.Tensor2D;
    // KL per row: Σ_y p log p − Σ_y p log p(y); 0·log 0 = 0 via p·log(max(p, tiny))
    const marginal = tf.mean(p, 0, true);
    const logp = tf.log(tf.maximum(p, 1e-30));
    const kl = tf.sum(tf.mul(p, tf.sub(logp, tf.log(tf.maximum(marginal, 1e-30)))), 1);
    return { score: tf.exp(tf.mean(kl)) };
  },
});
