/**
 * ActNorm (Kingma & Dhariwal 2018, Glow §3.1): a per-channel affine map, the flow-friendly stand-in
 * for batch norm (its statistics are parameters, not batch-dependent):
 *
 *   y = (x + b) ⊙ exp(logs)          inverse: x = y ⊙ exp(−logs) − b
 *   log|det J| = H·W·Σ_c logs_c      per sample (H = W = 1 for [N, D] vectors)
 *
 * Data-dependent init (Glow): when `data` is connected, the data is pushed through the input flow to
 * the activations h entering this layer, and b = −mean(h), logs = −log(std(h) + ε) per channel, so
 * this layer's output starts with zero mean and unit variance per channel. Without data, the layer
 * starts as the identity (b = 0, logs = 0).
 *
 * Notation: b = `bias` [C], logs = log s = `logs` [C] (the variables); ε = 1e-6; statistics over
 * every axis but the channel axis (N, or N, H, W).
 */
import * as tf from '@tensorflow/tfjs';
import { defineNode, tensor, type ModelHandle, type PortType } from '../../runtime/index.ts';
import { weightsFingerprint, weightsParam } from '../builder.ts';
import { checkFlowInput, constantLogdet, flowForward, resolveChannels, tensorTag, type LayerOps } from './handle.ts';
import { addLayer, channelsParam, flowInput, flowOutput, inferFlow, upstreamOf } from './layer-node.ts';

const EPS = 1e-6;

export const ActNorm = defineNode({
  type: 'ActNorm',
  category: 'flow',
  doc: 'Flow layer (Glow): per-channel y = (x + b)·exp(logs), log-det H·W·Σ logs. With data connected, b and logs start so the layer’s output has zero mean and unit variance per channel.',
  inputs: {
    flow: flowInput(),
    data: tensor(undefined, { optional: true, doc: 'a batch [N, D] or [N, H, W, C] for the data-dependent init (pushed through the input flow first)' }),
  },
  outputs: { flow: flowOutput() },
  params: { channels: channelsParam(), weights: weightsParam() },
  fingerprint: weightsFingerprint,
  infer: ({ params, inputs }) => inferFlow('ActNorm', params.channels, inputs as Record<string, PortType | undefined>),
  run: (ctx) => {
    const upstream = upstreamOf('ActNorm', ctx.inputs.flow);
    const data = ctx.inputs.data as tf.Tensor | undefined;
    const channels = resolveChannels('ActNorm', ctx.params.channels, upstream, data);
    if (data) checkFlowInput(channels, data, 'data');
    return addLayer(ctx, upstream, {
      kind: 'actnorm',
      channels,
      config: { dataInit: !!data },
      seed: 0, // nothing random: the init is zeros or the data's statistics
      weights: ctx.params.weights,
      dataTag: data ? tensorTag(data) : undefined,
      dryRun: (m) => init(m, channels, data && (() => (upstream ? flowForward(upstream, data).z : data))),
      ops,
    });
  },
});

/** Create the variables; with data, set them from the statistics of the activations h. */
function init(m: ModelHandle, c: number, activations?: () => tf.Tensor): void {
  const logs = m.param('logs', [c], 'zeros');
  const bias = m.param('bias', [c], 'zeros');
  if (!activations) return;
  const h = activations();
  const axes = h.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(h, axes);
  // 1. centre: b = −mean, so x + b has zero mean per channel
  bias.assign(tf.neg(mean));
  // 2. scale: exp(logs) = 1 / (std + ε), so (x + b)·exp(logs) has unit variance
  logs.assign(tf.neg(tf.log(tf.add(tf.sqrt(variance), EPS))));
}

const shapeForChannels = (x: tf.Tensor, v: tf.Tensor) => (x.rank === 4 ? v.reshape([1, 1, 1, -1]) : v.reshape([1, -1]));

const ops: LayerOps = {
  forward(m, x) {
    const logs = m.param('logs', [x.shape[x.rank - 1]]);
    const bias = m.param('bias', [x.shape[x.rank - 1]]);
    const y = tf.mul(tf.add(x, shapeForChannels(x, bias)), shapeForChannels(x, tf.exp(logs)));
    return { y, logdet: constantLogdet(x, logs) };
  },
  inverse(m, y) {
    const logs = m.param('logs', [y.shape[y.rank - 1]]);
    const bias = m.param('bias', [y.shape[y.rank - 1]]);
    return tf.sub(tf.mul(y, shapeForChannels(y, tf.exp(tf.neg(logs)))), shapeForChannels(y, bias));
  },
};
