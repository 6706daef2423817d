/**
 * Every loss against its formula in plain float64 JavaScript, at extreme logits, and its gradients
 * against central differences of that formula (cpu). Backends: losses.backends.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { compile, Registry, type AnyNodeKind, type GraphIssue } from '../index.ts';
import { graph } from '../runtime/testing.ts';
import { BCE, FeatureMatching, FlowNLL, GANLoss, KLDivergence, MSE, parseWeights, WeightedSum } from './losses.ts';
import { Constant, NoiseSource } from './sources.ts';

// ---- harness: run a kind directly, as the trainer will (synchronously) -----------------------

type In = Record<string, tf.Tensor | tf.Tensor[]>;

export function runKind(kind: AnyNodeKind, inputs: In, params: Record<string, unknown> = {}): Record<string, tf.Tensor> {
  const defaults = Object.fromEntries(Object.entries(kind.params).map(([k, s]) => [k, (s as { default: unknown }).default]));
  const ctx = {
    nodeId: 'test',
    params: { ...defaults, ...params },
    inputs,
    signal: new AbortController().signal,
    backend: tf.getBackend(),
    progress: () => {},
    throwIfAborted: () => {},
    readFile: () => Promise.reject(new Error('no files')),
    step: 0,
  };
  const out = kind.run(ctx as unknown as Parameters<AnyNodeKind['run']>[0]);
  if (out instanceof Promise) throw new Error(`${kind.type}.run returned a Promise: the trainer needs synchronous losses`);
  return out as Record<string, tf.Tensor>;
}

const value = (kind: AnyNodeKind, inputs: In, params: Record<string, unknown> = {}, port = 'loss'): number => {
  const out = runKind(kind, inputs, params);
  const v = out[port].dataSync()[0];
  expect(out[port].shape).toEqual([]);
  Object.values(out).forEach((t) => t.dispose());
  return v;
};

function close(got: number, want: number, tol = 1e-5): void {
  expect(Number.isFinite(got), `got ${got}`).toBe(true);
  expect(Math.abs(got - want), `got ${got}, want ${want}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want)));
}

// ---- the formulas in float64 ------------------------------------------------------------------

const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: number[]) => sum(xs) / xs.length;

const ref = {
  /** per row: −½ Σ (1 + lv − μ² − e^lv); mean over rows */
  kl: (mu: number[][], lv: number[][]) => mean(mu.map((r, i) => sum(r.map((m, j) => -0.5 * (1 + lv[i][j] - m * m - Math.exp(lv[i][j])))))),
  bceLogits: (x: number[], z: number[]) => mean(x.map((v, i) => Math.max(v, 0) - v * z[i] + Math.log1p(Math.exp(-Math.abs(v))))),
  bceProbs: (p: number[], z: number[], eps = 1e-7) =>
    mean(p.map((v, i) => {
      const q = Math.min(Math.max(v, eps), 1 - eps);
      return -(z[i] * Math.log(q) + (1 - z[i]) * Math.log(1 - q));
    })),
  mse: (a: number[], b: number[]) => mean(a.map((v, i) => (v - b[i]) ** 2)),
  gan: (x: number[], mode: string, role: string, s = 0) =>
    mean(x.map((v) => {
      const D = 1 / (1 + Math.exp(-v));
      if (mode === 'hinge') return role === 'generator' ? -v : role === 'discriminator_real' ? Math.max(0, 1 - v) : Math.max(0, 1 + v);
      if (role === 'discriminator_real') return -(1 - s) * Math.log(D) - s * Math.log(1 - D);
      if (role === 'discriminator_fake') return -Math.log(1 - D);
      return mode === 'minimax' ? Math.log(1 - D) : -Math.log(D);
    })),
  flow: (z: number[][], logdet: number[]) =>
    mean(z.map((r, i) => -(-0.5 * sum(r.map((v) => v * v)) - (r.length / 2) * Math.log(2 * Math.PI) + logdet[i]))),
};

const MU = [[0.3, -1.2, 0.5], [2.0, 0.1, -0.4]];
const LV = [[-0.7, 0.4, 0.0], [1.1, -2.3, 0.25]];
const LOGITS = [-2.1, -0.4, 0.35, 1.7, 3.2, -0.05];
const TARGETS = [0, 1, 1, 0, 1, 0.3];
const PROBS = [0.02, 0.4, 0.93, 0.61, 0.999, 0.5];

let baseline: number;
beforeAll(async () => {
  await tf.setBackend('cpu');
});
beforeEach(() => {
  baseline = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors, 'tensors leaked').toBe(baseline);
});

describe('losses match their formulas', () => {
  it('KLDivergence sums −½(1 + logvar − μ² − e^logvar) over latent dims and averages over the batch', () => {
    const [mu, lv] = [tf.tensor2d(MU), tf.tensor2d(LV)];
    close(value(KLDivergence, { mean: mu, logvar: lv }), ref.kl(MU, LV));
    close(value(KLDivergence, { mean: mu, logvar: lv }, { reduction: 'sum' }), ref.kl(MU, LV) * 2);
    close(value(KLDivergence, { mean: mu, logvar: lv }, { reduction: 'mean' }), ref.kl(MU, LV) / 3);
    const zeros = tf.zeros([4, 2, 2, 3]);
    expect(value(KLDivergence, { mean: zeros, logvar: zeros })).toBe(0); // the posterior is the prior
    tf.dispose([mu, lv, zeros]);
  });

  it('BCE from logits is max(x, 0) − x·z + log(1 + e^−|x|), and equals BCE of sigmoid(x) from probabilities', () => {
    const [x, z] = [tf.tensor1d(LOGITS), tf.tensor1d(TARGETS)];
    const want = ref.bceLogits(LOGITS, TARGETS);
    close(value(BCE, { prediction: x, target: z }, { fromLogits: true }), want);
    const p = tf.sigmoid(x);
    close(value(BCE, { prediction: p, target: z }), want, 1e-5);
    tf.dispose([x, z, p]);
  });

  it('BCE from probabilities clips them to [eps, 1 − eps]; an open target input means every target is `targetValue`', () => {
    const [p, z] = [tf.tensor1d(PROBS), tf.tensor1d(TARGETS)];
    close(value(BCE, { prediction: p, target: z }), ref.bceProbs(PROBS, TARGETS));
    close(value(BCE, { prediction: p }, { targetValue: 0 }), ref.bceProbs(PROBS, PROBS.map(() => 0)));
    close(value(BCE, { prediction: p }, { targetValue: 1, reduction: 'sum' }), ref.bceProbs(PROBS, PROBS.map(() => 1)) * PROBS.length);
    const edge = tf.tensor1d([0, 1]);
    close(value(BCE, { prediction: edge }, { targetValue: 1 }), -0.5 * Math.log(1e-7), 1e-4); // p = 0 costs −log eps, p = 1 nothing
    tf.dispose([p, z, edge]);
  });

  it('MSE averages (prediction − target)² over every element; a target row broadcasts over the batch', () => {
    const A = [[1, 2, 3], [-1, 0.5, 4]];
    const B = [[0.5, 2, 1]];
    const [a, b] = [tf.tensor2d(A), tf.tensor2d(B)];
    close(value(MSE, { prediction: a, target: b }), ref.mse(A.flat(), [...B[0], ...B[0]]));
    close(value(MSE, { prediction: a, target: b }, { reduction: 'batchmean' }), (ref.mse(A.flat(), [...B[0], ...B[0]]) * 6) / 2);
    tf.dispose([a, b]);
  });

  it('GANLoss gives each mode and role its textbook term', () => {
    const x = tf.tensor2d(LOGITS, [LOGITS.length, 1]);
    for (const mode of ['non_saturating', 'minimax', 'hinge']) {
      for (const role of ['generator', 'discriminator_real', 'discriminator_fake']) {
        close(value(GANLoss, { logits: x }, { mode, role }), ref.gan(LOGITS, mode, role));
      }
    }
    close(value(GANLoss, { logits: x }, { role: 'discriminator_real', smoothing: 0.1 }), ref.gan(LOGITS, 'non_saturating', 'discriminator_real', 0.1));
    close(value(GANLoss, { logits: x }, { role: 'discriminator_fake', reduction: 'sum' }), ref.gan(LOGITS, 'minimax', 'discriminator_fake') * LOGITS.length);
    x.dispose();
  });

  it('FeatureMatching: pairwise squared feature distance, or the distance between batch-mean features', () => {
    const A = [[1, -2, 0.5, 3], [0, 1, 1, -1]];
    const B = [[0.5, -1, 0.5, 2], [1, 1, -1, 0]];
    const [a, b] = [tf.tensor2d(A), tf.tensor2d(B)];
    close(value(FeatureMatching, { a, b }), ref.mse(A.flat(), B.flat()));
    close(value(FeatureMatching, { a, b }, { reduction: 'batchmean' }), (ref.mse(A.flat(), B.flat()) * 8) / 2);
    const colMean = (m: number[][]) => m[0].map((_, j) => mean(m.map((r) => r[j])));
    close(value(FeatureMatching, { a, b }, { mode: 'batch_mean' }), ref.mse(colMean(A), colMean(B)));
    const b3 = tf.tensor2d([...B, [2, 2, 2, 2]]); // batch sizes may differ
    close(value(FeatureMatching, { a, b: b3 }, { mode: 'batch_mean', reduction: 'sum' }), ref.mse(colMean(A), colMean([...B, [2, 2, 2, 2]])) * 4);
    tf.dispose([a, b, b3]);
  });

  it('FlowNLL is −(log N(z; 0, I) + logdet) per sample, averaged, and bits/dim = NLL/(D·ln 2) (+8 for 8-bit data)', () => {
    const Z = [[0.1, -1.3, 0.7, 2.0], [0.0, 0.4, -0.2, 1.1], [-0.9, 0.3, 0.3, -0.5]];
    const LD = [0.5, -1.25, 2.0];
    const z = tf.tensor4d(Z.flat(), [3, 2, 2, 1]);
    const ld = tf.tensor1d(LD);
    const nll = ref.flow(Z, LD);
    close(value(FlowNLL, { z, logdet: ld }), nll);
    close(value(FlowNLL, { z, logdet: ld }, {}, 'bitsPerDim'), nll / (4 * Math.LN2));
    close(value(FlowNLL, { z, logdet: ld }, { bits: 8 }, 'bitsPerDim'), nll / (4 * Math.LN2) + 8);
    close(value(FlowNLL, { z, logdet: ld }, { bits: 8 }), nll + 4 * Math.log(256));
    tf.dispose([z, ld]);
  });

  it('WeightedSum adds w_k·L_k in the order the terms were connected', () => {
    const terms = [tf.scalar(2), tf.scalar(-1.5), tf.scalar(0.25)];
    close(value(WeightedSum, { terms }, { weights: '1, 0.5, 2' }), 2 - 0.75 + 0.5);
    close(value(WeightedSum, { terms }, { weights: '' }), 0.75);
    close(value(WeightedSum, { terms }, { weights: '3' }), 2.25);
    expect(value(WeightedSum, { terms: [] })).toBe(0);
    expect(() => runKind(WeightedSum, { terms }, { weights: '1 2' })).toThrow(/2 weights for 3 connected terms/);
    expect(parseWeights('1; 0.5,  -2e-1')).toEqual([1, 0.5, -0.2]);
    expect(parseWeights('1, x')).toMatch(/"x" is not a number/);
    tf.dispose(terms);
  });
});

describe('stability', () => {
  it('BCE from logits ±100 is finite with the right limits, and so are its gradients', () => {
    const x = tf.tensor1d([100, -100, 100, -100]);
    const z = tf.tensor1d([1, 0, 0, 1]);
    const per = [0, 0, 100, 100];
    for (let i = 0; i < 4; i++) {
      const xi = x.slice(i, 1);
      const zi = z.slice(i, 1);
      close(value(BCE, { prediction: xi, target: zi }, { fromLogits: true }), per[i], 1e-6);
      tf.dispose([xi, zi]);
    }
    const g = tf.grad((t: tf.Tensor) => runKind(BCE, { prediction: t, target: z }, { fromLogits: true, reduction: 'sum' }).loss)(x);
    Array.from(g.dataSync()).forEach((v, i) => close(v, [0, 0, 1, -1][i], 1e-6)); // σ(x) − z
    tf.dispose([x, z, g]);
  });

  it('BCE from logits has the gradient σ(x) − z at x = 0 too (no relu/abs kink)', () => {
    const x = tf.zeros([2]);
    const z = tf.tensor1d([1, 0]);
    const g = tf.grad((t: tf.Tensor) => runKind(BCE, { prediction: t, target: z }, { fromLogits: true, reduction: 'sum' }).loss)(x);
    expect(Array.from(g.dataSync())).toEqual([-0.5, 0.5]);
    tf.dispose([x, z, g]);
  });

  it('GANLoss at logits ±100 is finite in every mode and role and reaches its limits', () => {
    const limits: Record<string, [number, number]> = {
      // [loss at +100, loss at −100]
      'non_saturating/generator': [0, 100],
      'minimax/generator': [-100, 0],
      'non_saturating/discriminator_real': [0, 100],
      'non_saturating/discriminator_fake': [100, 0],
      'minimax/discriminator_real': [0, 100],
      'minimax/discriminator_fake': [100, 0],
      'hinge/generator': [-100, 100],
      'hinge/discriminator_real': [0, 101],
      'hinge/discriminator_fake': [101, 0],
    };
    const pos = tf.tensor2d([[100]]);
    const neg = tf.tensor2d([[-100]]);
    for (const [key, [atPos, atNeg]] of Object.entries(limits)) {
      const [mode, role] = key.split('/');
      close(value(GANLoss, { logits: pos }, { mode, role }), atPos, 1e-6);
      close(value(GANLoss, { logits: neg }, { mode, role }), atNeg, 1e-6);
      for (const x of [pos, neg]) {
        const g = tf.grad((t: tf.Tensor) => runKind(GANLoss, { logits: t }, { mode, role }).loss)(x);
        expect(Number.isFinite(g.dataSync()[0]), key).toBe(true);
        g.dispose();
      }
    }
    tf.dispose([pos, neg]);
  });

  it('BCE from probabilities stays finite at p = 0 and p = 1 exactly', () => {
    const p = tf.tensor1d([0, 1, 0, 1]);
    const z = tf.tensor1d([0, 1, 1, 0]);
    // 1 − eps rounds to float32 (0.99999988), so the p = 1 side costs −log(1.19e-7), not −log(1e-7)
    close(value(BCE, { prediction: p, target: z }, { reduction: 'sum' }), -Math.log(1e-7) - Math.log(1 - Math.fround(1 - 1e-7)), 1e-4);
    const g = tf.grad((t: tf.Tensor) => runKind(BCE, { prediction: t, target: z }).loss)(p);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([p, z, g]);
  });
});

// ---- gradients vs central differences of the float64 formulas ---------------------------------

/** ∂f/∂x_i by central differences, h = 1e-6, in float64. */
function numericGrad(f: (x: number[]) => number, x: number[]): number[] {
  return x.map((_, i) => {
    const h = 1e-6;
    const up = [...x];
    const dn = [...x];
    up[i] += h;
    dn[i] -= h;
    return (f(up) - f(dn)) / (2 * h);
  });
}

/** The tf gradient of one input of a kind's loss, with the other inputs fixed. */
function tfGrad(kind: AnyNodeKind, name: string, inputs: In, params: Record<string, unknown> = {}, port = 'loss'): number[] {
  const g = tf.grad((t: tf.Tensor) => runKind(kind, { ...inputs, [name]: t }, params)[port])(inputs[name] as tf.Tensor);
  const out = Array.from(g.dataSync());
  g.dispose();
  return out;
}

function expectGradsClose(got: number[], want: number[], tol = 2e-5): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]), `∂/∂x${i}: got ${g}, want ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]))));
}

const rows = (flat: number[], cols: number) => Array.from({ length: flat.length / cols }, (_, i) => flat.slice(i * cols, (i + 1) * cols));

describe('gradients exist and match central differences (cpu)', () => {
  it('KLDivergence, by mean and by logvar', () => {
    const inputs = { mean: tf.tensor2d(MU), logvar: tf.tensor2d(LV) };
    expectGradsClose(tfGrad(KLDivergence, 'mean', inputs), numericGrad((m) => ref.kl(rows(m, 3), LV), MU.flat()));
    expectGradsClose(tfGrad(KLDivergence, 'logvar', inputs), numericGrad((l) => ref.kl(MU, rows(l, 3)), LV.flat()));
    tf.dispose(Object.values(inputs));
  });

  it('BCE from logits and from probabilities, by prediction and by target', () => {
    const logits = { prediction: tf.tensor1d(LOGITS), target: tf.tensor1d(TARGETS) };
    expectGradsClose(tfGrad(BCE, 'prediction', logits, { fromLogits: true }), numericGrad((x) => ref.bceLogits(x, TARGETS), LOGITS));
    expectGradsClose(tfGrad(BCE, 'target', logits, { fromLogits: true }), numericGrad((z) => ref.bceLogits(LOGITS, z), TARGETS));
    const probs = { prediction: tf.tensor1d(PROBS), target: tf.tensor1d(TARGETS) };
    expectGradsClose(tfGrad(BCE, 'prediction', probs), numericGrad((p) => ref.bceProbs(p, TARGETS), PROBS), 1e-4);
    tf.dispose([...Object.values(logits), ...Object.values(probs)]);
  });

  it('MSE and FeatureMatching (both modes)', () => {
    const A = [1, 2, 3, -1, 0.5, 4];
    const B = [0.5, 2.5, 1, 0, 1, 3];
    const inputs = { prediction: tf.tensor2d(A, [2, 3]), target: tf.tensor2d(B, [2, 3]) };
    expectGradsClose(tfGrad(MSE, 'prediction', inputs), numericGrad((a) => ref.mse(a, B), A));
    expectGradsClose(tfGrad(MSE, 'target', inputs), numericGrad((b) => ref.mse(A, b), B));
    const feats = { a: inputs.prediction, b: inputs.target };
    expectGradsClose(tfGrad(FeatureMatching, 'b', feats), numericGrad((b) => ref.mse(A, b), B));
    const colMean = (m: number[]) => [0, 1, 2].map((j) => (m[j] + m[j + 3]) / 2);
    expectGradsClose(tfGrad(FeatureMatching, 'b', feats, { mode: 'batch_mean' }), numericGrad((b) => ref.mse(colMean(A), colMean(b)), B));
    tf.dispose(Object.values(inputs));
  });

  it('GANLoss in every mode and role', () => {
    const inputs = { logits: tf.tensor1d(LOGITS) };
    for (const mode of ['non_saturating', 'minimax', 'hinge']) {
      for (const role of ['generator', 'discriminator_real', 'discriminator_fake']) {
        expectGradsClose(tfGrad(GANLoss, 'logits', inputs, { mode, role }), numericGrad((x) => ref.gan(x, mode, role), LOGITS));
      }
    }
    inputs.logits.dispose();
  });

  it('FlowNLL, by z and by logdet, for both outputs', () => {
    const Z = [0.1, -1.3, 0.7, 2.0, 0.0, 0.4];
    const LD = [0.5, -1.25];
    const inputs = { z: tf.tensor2d(Z, [2, 3]), logdet: tf.tensor1d(LD) };
    expectGradsClose(tfGrad(FlowNLL, 'z', inputs), numericGrad((z) => ref.flow(rows(z, 3), LD), Z));
    expectGradsClose(tfGrad(FlowNLL, 'logdet', inputs), numericGrad((l) => ref.flow(rows(Z, 3), l), LD));
    expectGradsClose(tfGrad(FlowNLL, 'z', inputs, {}, 'bitsPerDim'), numericGrad((z) => ref.flow(rows(z, 3), LD) / (3 * Math.LN2), Z));
    tf.dispose(Object.values(inputs));
  });

  it('WeightedSum, by each term', () => {
    const [a, b] = [tf.scalar(2), tf.scalar(-1.5)];
    const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => runKind(WeightedSum, { terms: [x, y] }, { weights: '0.3, 2' }).loss)([a, b]);
    expect(g.map((t) => t.dataSync()[0])).toEqual([expect.closeTo(0.3, 6), expect.closeTo(2, 6)]);
    tf.dispose([a, b, ...g]);
  });
});

// ---- compile: shapes ---------------------------------------------------------------------------

const registry = new Registry([NoiseSource, Constant, KLDivergence, BCE, MSE, GANLoss, FeatureMatching, FlowNLL, WeightedSum]);
const errorsOf = (nodes: Parameters<typeof graph>[0], wires: string[]): GraphIssue[] => compile(graph(nodes, wires), registry).errors;

describe('compile-time shape checks', () => {
  it('losses infer a scalar, and a WeightedSum takes them', () => {
    const { plan, errors } = compile(
      graph(
        [
          ['a', 'NoiseSource', { shape: [4, 3] }],
          ['b', 'NoiseSource', { shape: [1, 3], seed: 2 }],
          ['mse', 'MSE'],
          ['kl', 'KLDivergence'],
          ['sum', 'WeightedSum', { weights: '1, 0.1' }],
        ],
        ['a.out -> mse.prediction', 'b.out -> mse.target', 'a.out -> kl.mean', 'a.out -> kl.logvar', 'mse.loss -> sum.terms', 'kl.loss -> sum.terms'],
      ),
      registry,
    );
    expect(errors).toEqual([]);
    expect(plan!.byId.get('sum')!.types.loss).toMatchObject({ kind: 'tensor', shape: [] });
  });

  it('MSE of shapes that do not broadcast is a shape error on the target port', () => {
    const errors = errorsOf([['a', 'NoiseSource', { shape: [4, 3] }], ['b', 'NoiseSource', { shape: [4, 2] }], ['mse', 'MSE']], ['a.out -> mse.prediction', 'b.out -> mse.target']);
    expect(errors).toMatchObject([{ code: 'shape-mismatch', nodeId: 'mse', port: 'target' }]);
    expect(errors[0].message).toMatch(/do not broadcast/);
  });

  it('a target that would widen the prediction ([N, 1] against [N]) is refused', () => {
    const errors = errorsOf([['a', 'NoiseSource', { shape: [4, 1] }], ['b', 'NoiseSource', { shape: [4] }], ['bce', 'BCE']], ['a.out -> bce.prediction', 'b.out -> bce.target']);
    expect(errors).toMatchObject([{ code: 'shape-mismatch', nodeId: 'bce', port: 'target' }]);
    expect(errors[0].message).toMatch(/widen prediction \[4, 1\] to \[4, 4\]/);
  });

  it('KL of mismatched mean and logvar, FlowNLL with a logdet per element, and a WeightedSum of a non-scalar are refused', () => {
    expect(errorsOf([['m', 'NoiseSource', { shape: [2, 8] }], ['v', 'NoiseSource', { shape: [2, 4] }], ['kl', 'KLDivergence']], ['m.out -> kl.mean', 'v.out -> kl.logvar']))
      .toMatchObject([{ code: 'shape-mismatch', port: 'logvar' }]);
    expect(errorsOf([['z', 'NoiseSource', { shape: [5, 2] }], ['f', 'FlowNLL']], ['z.out -> f.z', 'z.out -> f.logdet'])).toMatchObject([{ code: 'shape-mismatch', port: 'logdet' }]);
    expect(errorsOf([['z', 'NoiseSource', { shape: [5, 2] }], ['s', 'WeightedSum']], ['z.out -> s.terms'])).toMatchObject([{ code: 'shape-mismatch', port: 'terms' }]);
  });

  it('WeightedSum with the wrong number of weights, or a weight that is not a number, is reported', () => {
    const two = [['a', 'Constant', { shape: [1] }], ['m', 'MSE'], ['n', 'MSE'], ['s', 'WeightedSum', { weights: '1, 2, 3' }]] as Parameters<typeof graph>[0];
    const wires = ['a.out -> m.prediction', 'a.out -> m.target', 'a.out -> n.prediction', 'a.out -> n.target', 'm.loss -> s.terms', 'n.loss -> s.terms'];
    expect(errorsOf(two, wires)).toMatchObject([{ code: 'shape-mismatch', nodeId: 's', port: 'terms', message: expect.stringMatching(/3 weights for 2/) }]);
    two[3][2] = { weights: '1, two' };
    expect(errorsOf(two, wires)).toMatchObject([{ code: 'bad-param', nodeId: 's' }]);
  });
});
