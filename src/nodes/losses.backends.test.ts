/**
 * The losses (values and gradients) and the datasets on cpu, wasm and webgpu (Dawn on
 * SwiftShader here): every loss agrees with cpu to 1e-4, extreme logits stay finite everywhere,
 * and a Dataset batch is bit-identical on every backend.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type AnyNodeKind, type BackendName, type Runtime } from '../index.ts';
import { Dataset } from './data.ts';
import { BCE, FeatureMatching, FlowNLL, GANLoss, KLDivergence, MSE, WeightedSum } from './losses.ts';

const TOLERANCE = 1e-4;
const HAS_SWIFTSHADER = existsSync('/usr/lib/chromium/vk_swiftshader_icd.json');
const BACKENDS: BackendName[] = HAS_SWIFTSHADER ? ['cpu', 'wasm', 'webgpu'] : ['cpu', 'wasm'];

interface Case {
  name: string;
  kind: AnyNodeKind;
  inputs: Record<string, { shape: number[]; data: number[] } | Array<{ shape: number[]; data: number[] }>>;
  params?: Record<string, unknown>;
  /** The input to differentiate by. */
  wrt: string;
  port?: string;
}

const t = (shape: number[], data: number[]) => ({ shape, data });
const wave = (n: number, a: number, b: number) => Array.from({ length: n }, (_, i) => a * Math.sin(1.3 * i + b));
const LOGITS = [-100, -7.5, -1.2, -0.3, 0, 0.4, 2.2, 9, 100, -0.8];
const BITS = [1, 0, 1, 1, 0, 0, 1, 0, 1, 0.3];

const CASES: Case[] = [
  { name: 'KL batchmean', kind: KLDivergence, inputs: { mean: t([4, 3], wave(12, 1.5, 0)), logvar: t([4, 3], wave(12, 2, 1)) }, wrt: 'logvar' },
  { name: 'KL mean, NHWC', kind: KLDivergence, inputs: { mean: t([2, 2, 2, 2], wave(16, 1, 2)), logvar: t([2, 2, 2, 2], wave(16, 1, 3)) }, params: { reduction: 'mean' }, wrt: 'mean' },
  { name: 'BCE logits ±100', kind: BCE, inputs: { prediction: t([10, 1], LOGITS), target: t([10, 1], BITS) }, params: { fromLogits: true }, wrt: 'prediction' },
  { name: 'BCE probabilities', kind: BCE, inputs: { prediction: t([10], [0, 1e-9, 0.1, 0.3, 0.5, 0.7, 0.9, 0.999, 1, 0.42]), target: t([10], BITS) }, wrt: 'prediction' },
  { name: 'MSE broadcast', kind: MSE, inputs: { prediction: t([3, 4], wave(12, 2, 0)), target: t([1, 4], wave(4, 1, 5)) }, wrt: 'prediction' },
  { name: 'FeatureMatching pairwise', kind: FeatureMatching, inputs: { a: t([3, 5], wave(15, 1, 0)), b: t([3, 5], wave(15, 1, 1)) }, params: { reduction: 'batchmean' }, wrt: 'b' },
  { name: 'FeatureMatching batch_mean', kind: FeatureMatching, inputs: { a: t([3, 5], wave(15, 1, 0)), b: t([2, 5], wave(10, 1, 1)) }, params: { mode: 'batch_mean' }, wrt: 'b' },
  { name: 'FlowNLL', kind: FlowNLL, inputs: { z: t([3, 2, 2, 1], wave(12, 1.5, 0)), logdet: t([3], [0.5, -2, 1]) }, wrt: 'z' },
  { name: 'FlowNLL bits/dim, 8-bit', kind: FlowNLL, inputs: { z: t([3, 4], wave(12, 1.5, 0)), logdet: t([3], [0.5, -2, 1]) }, params: { bits: 8 }, wrt: 'z', port: 'bitsPerDim' },
  { name: 'WeightedSum', kind: WeightedSum, inputs: { terms: [t([], [1.5]), t([], [-0.25]), t([], [4])] }, params: { weights: '1, 0.5, 0.1' }, wrt: 'terms' },
];
for (const mode of ['non_saturating', 'minimax', 'hinge']) {
  for (const role of ['generator', 'discriminator_real', 'discriminator_fake']) {
    CASES.push({ name: `GANLoss ${mode} ${role}`, kind: GANLoss, inputs: { logits: t([10, 1], LOGITS) }, params: { mode, role }, wrt: 'logits' });
  }
}

function runKind(kind: AnyNodeKind, inputs: Record<string, tf.Tensor | tf.Tensor[]>, params: Record<string, unknown>): Record<string, tf.Tensor> {
  const defaults = Object.fromEntries(Object.entries(kind.params).map(([k, s]) => [k, (s as { default: unknown }).default]));
  const ctx = { nodeId: 'x', params: { ...defaults, ...params }, inputs, signal: new AbortController().signal, backend: tf.getBackend(), progress() {}, throwIfAborted() {}, readFile: (p: string) => readFile(p).then((b) => new Uint8Array(b)), step: 0 };
  return kind.run(ctx as unknown as Parameters<AnyNodeKind['run']>[0]) as Record<string, tf.Tensor>;
}

/** Value and gradient of one case on the active backend, read back to plain arrays. */
async function evaluate(c: Case): Promise<{ value: number; grad: number[] }> {
  const make = (v: { shape: number[]; data: number[] }) => tf.tensor(v.data, v.shape);
  const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, Array.isArray(v) ? v.map(make) : make(v)]));
  const port = c.port ?? 'loss';
  const wrt = inputs[c.wrt];
  const before = tf.memory().numTensors;
  const out = runKind(c.kind, inputs, c.params ?? {});
  const value = (await out[port].data())[0];
  tf.dispose(Object.values(out));
  let grad: number[];
  if (Array.isArray(wrt)) {
    const gs = tf.grads((...xs: tf.Tensor[]) => runKind(c.kind, { ...inputs, [c.wrt]: xs }, c.params ?? {})[port])(wrt);
    grad = (await Promise.all(gs.map((g) => g.data()))).map((d) => d[0]);
    tf.dispose(gs);
  } else {
    const g = tf.grad((x: tf.Tensor) => runKind(c.kind, { ...inputs, [c.wrt]: x }, c.params ?? {})[port])(wrt);
    grad = Array.from(await g.data());
    g.dispose();
  }
  expect(tf.memory().numTensors, `${c.name} leaked`).toBe(before);
  tf.dispose(Object.values(inputs).flat());
  return { value, grad };
}

const results: Record<string, Record<string, { value: number; grad: number[] }>> = {};
const batches: Record<string, number[][]> = {};
const runtimes: Runtime[] = [];

beforeAll(async () => {
  for (const backend of BACKENDS) {
    const rt = await createRuntime({ backend });
    runtimes.push(rt);
    await tf.setBackend(backend);
    expect(tf.getBackend()).toBe(backend);
    results[backend] = {};
    for (const c of CASES) results[backend][c.name] = await evaluate(c);
    batches[backend] = [];
    for (const params of [{ name: 'mnist', batchSize: 8, seed: 4, step: 3 }, { name: 'gaussians8', batchSize: 32, seed: 1, step: 7 }]) {
      const out = (await runKind(Dataset, {}, params)) as unknown as { batch: tf.Tensor; labels: tf.Tensor };
      batches[backend].push(Array.from(await out.batch.data()), Array.from(await out.labels.data()));
      tf.dispose([out.batch, out.labels]);
    }
  }
}, 120_000);
afterAll(() => runtimes.forEach((rt) => rt.dispose()));

describe.each(BACKENDS.filter((b) => b !== 'cpu'))('on %s', (backend) => {
  it.each(CASES.map((c) => c.name))('%s: value and gradient match cpu to 1e-4 and are finite', (name) => {
    const got = results[backend][name];
    const want = results.cpu[name];
    const near = (a: number, b: number) => Math.abs(a - b) <= TOLERANCE * Math.max(1, Math.abs(b));
    expect(Number.isFinite(got.value)).toBe(true);
    expect(near(got.value, want.value), `loss ${got.value} vs cpu ${want.value}`).toBe(true);
    expect(got.grad.every(Number.isFinite)).toBe(true);
    got.grad.forEach((g, i) => expect(near(g, want.grad[i]), `∂/∂${i}: ${g} vs cpu ${want.grad[i]}`).toBe(true));
  });

  it('a Dataset batch (MNIST and 2-D) is bit-identical to cpu', () => {
    expect(batches[backend]).toEqual(batches.cpu);
  });
});
