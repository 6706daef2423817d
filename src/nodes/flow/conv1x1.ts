/**
 * Invertible 1x1 convolution (Kingma & Dhariwal 2018, Glow §3.2), LU-parameterised:
 *
 *   y = W·x at every pixel (a learned channel mixing; for [N, D] vectors, y = W·x per sample)
 *   W = P · L · (U + diag(sign(s) ⊙ exp(log|s|)))
 *   log|det J| = H·W·Σ_c log|s_c|          (det P = ±1, det L = 1, det of the triangle = Π s_c)
 *
 * Notation: P fixed permutation; L unit lower triangle (strict part `lower` [C, C]); U strictly
 * upper (`upper` [C, C]); log|s| = `logs` [C]; masks keep only the strict parts of `lower`/`upper`.
 *
 * Init (Glow): W₀ = a seeded random rotation Q (QR of an N(0, 1) matrix), factored as
 * P_piv·Q = L·U by LU with partial pivoting, so P = P_pivᵀ. We flip the signs of Q's columns to
 * make every pivot positive (Q·D is still a rotation, and P_piv·Q·D = L·(U·D)): then sign(s) = +1
 * for good and needs no storage. P comes from the seed alone, so a weights file fits the seed the
 * layer was trained with.
 *
 * Inverse: tfjs has no solve, no triangular solve and no LU. x = W⁻¹·y with
 * W⁻¹ = (U + diag s)⁻¹ · L⁻¹ · Pᵀ, each triangle inverted by substitution in float64 JS from the
 * variables' current values: exact up to one rounding of W⁻¹'s entries to float32, and C³ work
 * (trivial for a flow's channel counts). The inverse is not differentiated through; training
 * uses the forward direction (the NLL).
 */
import * as tf from '@tensorflow/tfjs';
import { defineNode, paramSeed, seedParam, type ModelHandle, type PortType } from '../../runtime/index.ts';
import { weightsFingerprint, weightsParam } from '../builder.ts';
import { constantLogdet, resolveChannels, type LayerOps } from './handle.ts';
import { addLayer, channelsParam, flowInput, flowOutput, inferFlow, upstreamOf } from './layer-node.ts';
import { invLower, invUpper, lu, matmul, orthogonalize, seededNormal, type Matrix } from './linalg.ts';

export const Invertible1x1Conv = defineNode({
  type: 'Invertible1x1Conv',
  category: 'flow',
  doc: 'Flow layer (Glow): a learned channel mixing y = W·x per pixel (per sample for vectors), W = P·L·(U + diag s) from a seeded random rotation; log-det H·W·Σ log|s|, exact inverse.',
  inputs: { flow: flowInput() },
  outputs: { flow: flowOutput() },
  params: { channels: channelsParam(), seed: seedParam(0, { doc: 'picks the initial rotation (and the fixed permutation P)' }), weights: weightsParam() },
  fingerprint: weightsFingerprint,
  infer: ({ params, inputs }) => inferFlow('Invertible1x1Conv', params.channels, inputs as Record<string, PortType | undefined>),
  run: (ctx) => {
    const upstream = upstreamOf('Invertible1x1Conv', ctx.inputs.flow);
    const c = resolveChannels('Invertible1x1Conv', ctx.params.channels, upstream);
    const start = initialFactors(c, ctx.params.seed);
    return addLayer(ctx, upstream, {
      kind: 'conv1x1',
      channels: c,
      config: {},
      seed: ctx.params.seed,
      weights: ctx.params.weights,
      dryRun: (m) => {
        m.param('lower', [c, c], 'zeros').assign(tf.tensor2d(start.lower));
        m.param('upper', [c, c], 'zeros').assign(tf.tensor2d(start.upper));
        m.param('logs', [c], 'zeros').assign(tf.tensor1d(start.logs));
      },
      ops: conv1x1Ops(start.perm),
    });
  },
});

/** P, L, U and log s of the seeded rotation, with every pivot made positive (see the header). */
function initialFactors(c: number, seed: number): { perm: number[]; lower: Matrix; upper: Matrix; logs: number[] } {
  const q = orthogonalize(seededNormal(c, paramSeed(seed, 'rotation')));
  const { perm, lower, upper } = lu(q);
  const sign = upper.map((row, j) => (row[j] < 0 ? -1 : 1));
  return {
    perm,
    lower: lower.map((row, i) => row.map((v, j) => (j < i ? v : 0))),
    upper: upper.map((row, i) => row.map((v, j) => (j > i ? v * sign[j] : 0))),
    logs: upper.map((row, j) => Math.log(Math.abs(row[j]))),
  };
}

/** P = P_pivᵀ: P[perm[i]][i] = 1, since row i of P_piv·A is row perm[i] of A. */
function permutationMatrix(perm: number[]): Matrix {
  const p: Matrix = perm.map(() => new Array<number>(perm.length).fill(0));
  perm.forEach((src, i) => (p[src][i] = 1));
  return p;
}

const strictMask = (c: number, below: boolean): Matrix =>
  Array.from({ length: c }, (_, i) => Array.from({ length: c }, (_, j) => ((below ? j < i : j > i) ? 1 : 0)));

function conv1x1Ops(perm: number[]): LayerOps {
  const c = perm.length;
  const p = permutationMatrix(perm);
  /** W from the variables, in tf so gradients reach lower, upper and logs. */
  const weight = (m: ModelHandle): tf.Tensor2D => {
    const l = tf.add(tf.mul(m.param('lower', [c, c]), tf.tensor2d(strictMask(c, true))), tf.eye(c));
    const u = tf.add(tf.mul(m.param('upper', [c, c]), tf.tensor2d(strictMask(c, false))), tf.mul(tf.eye(c), tf.exp(m.param('logs', [c])).reshape([1, c])) /* diag(s), with gradients everywhere */);
    return tf.matMul(tf.tensor2d(p), tf.matMul(l, u));
  };
  /** y = W·x over the channel axis of every row of x viewed as [M, C]: x·Wᵀ. */
  const mix = (x: tf.Tensor, w: tf.Tensor2D) => tf.matMul(x.reshape([-1, c]), w, false, true).reshape(x.shape);
  return {
    forward(m, x) {
      return { y: mix(x, weight(m)), logdet: constantLogdet(x, m.param('logs', [c])) };
    },
    async prepareInverse(m) {
      const [lower, upper, logs] = await Promise.all(['lower', 'upper', 'logs'].map((n) => m.get(n)!.array()));
      // 1. the triangles in float64, exactly as weight() builds them
      const l = (lower as Matrix).map((row, i) => row.map((v, j) => (j < i ? v : i === j ? 1 : 0)));
      const u = (upper as Matrix).map((row, i) => row.map((v, j) => (j > i ? v : i === j ? Math.exp((logs as number[])[i]) : 0)));
      // 2. W⁻¹ = U⁻¹ · L⁻¹ · Pᵀ
      const pT = p[0].map((_, j) => p.map((row) => row[j]));
      return matmul(matmul(invUpper(u), invLower(l)), pT);
    },
    inverse(_m, y, prepared) {
      return mix(y, tf.tensor2d(prepared as Matrix));
    },
  };
}
