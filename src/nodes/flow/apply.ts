/**
 * Applying a flow (Dinh et al. 2017, RealNVP; Kingma & Dhariwal 2018, Glow):
 *
 *   FlowForward   z = f_K ∘ … ∘ f_1(x),  logdet = Σ_k log|det ∂f_k/∂h_{k−1}|   [N]
 *                 (with a N(0, I) prior: log p(x) = log N(z; 0, I) + logdet, what FlowNLL uses)
 *   FlowInverse   x = f_1⁻¹ ∘ … ∘ f_K⁻¹(z)   (sampling: z ~ N(0, I) gives x ~ the model)
 *
 * Notation: x data, z latent, both [N, D] or [N, H, W, C] with C = the flow's channels.
 * The per-layer math lives with each layer kind; the loops live in handle.ts.
 */
import type * as tf from '@tensorflow/tfjs';
import { defineNode, shapeError, tensor, type PortType, type Shape } from '../../runtime/index.ts';
import { flowChannelsOf, flowForward, flowInverse, flowType, isFlow, type FlowHandle } from './handle.ts';

/** The tensor's shape when known; rejects ranks other than 2 and 4 and a channel count that disagrees with the flow. */
function checkData(t: PortType | undefined, flow: PortType | undefined, port: string): Shape | undefined {
  const shape = t?.kind === 'tensor' ? t.shape : undefined;
  if (!shape) return undefined;
  if (shape.length !== 2 && shape.length !== 4) shapeError(port, `expects [N, D] vectors or [N, H, W, C] images, got rank ${shape.length}`);
  const c = flowChannelsOf(flow);
  const last = shape[shape.length - 1];
  if (c !== undefined && typeof last === 'number' && last !== c) shapeError(port, `has ${last} channels on its last axis but the flow has ${c}`);
  return shape;
}

function flowIn(kind: string, v: unknown): FlowHandle {
  if (!isFlow(v)) throw new Error(`${kind}: the flow input is not a flow (connect ActNorm, Invertible1x1Conv or AffineCoupling)`);
  return v;
}

export const FlowForward = defineNode({
  type: 'FlowForward',
  category: 'flow',
  doc: 'Runs a flow forward, data to latent: z = f(x), and log|det ∂z/∂x| per sample (for the likelihood log p(x) = log p(z) + logdet).',
  inputs: {
    flow: { ...flowType(), doc: 'the chain of flow layers' },
    x: tensor(undefined, { doc: 'data [N, D] or [N, H, W, C]' }),
  },
  outputs: {
    z: tensor(undefined, { doc: 'the latent, shaped like x' }),
    logdet: tensor(['N'], { doc: 'Σ over layers of log|det J| per sample' }),
  },
  params: {},
  infer: ({ inputs }) => {
    const shape = checkData(inputs.x as PortType | undefined, inputs.flow as PortType | undefined, 'x');
    return { z: tensor(shape), logdet: tensor(shape ? [shape[0]] : [null]) };
  },
  run: ({ inputs }) => flowForward(flowIn('FlowForward', inputs.flow), inputs.x as tf.Tensor),
});

export const FlowInverse = defineNode({
  type: 'FlowInverse',
  category: 'flow',
  doc: 'Runs a flow backward, latent to data: x = f⁻¹(z), exact (couplings invert in closed form, 1x1 convs by float64 triangular inverses).',
  inputs: {
    flow: { ...flowType(), doc: 'the chain of flow layers' },
    z: tensor(undefined, { doc: 'latent [N, D] or [N, H, W, C] (noise, to sample)' }),
  },
  outputs: { x: tensor(undefined, { doc: 'data, shaped like z' }) },
  params: {},
  infer: ({ inputs }) => ({ x: tensor(checkData(inputs.z as PortType | undefined, inputs.flow as PortType | undefined, 'z')) }),
  run: async ({ inputs }) => ({ x: await flowInverse(flowIn('FlowInverse', inputs.flow), inputs.z as tf.Tensor) }),
});
