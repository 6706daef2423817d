/**
 * What the three layer kinds (ActNorm, Invertible1x1Conv, AffineCoupling) share: the optional
 * input flow, the output flow one layer longer, channels / seed / weights params, compile-time
 * channel checks, and the build step (find the live layer by recipe, else build a new one).
 */
import { hashBytes, int, ModelHandle, parseSafetensors, shapeError, type NamedTensor, type PortType, type RunContext } from '../../runtime/index.ts';
import { build } from '../builder.ts';
import { extendFlow, flowChannelsOf, flowType, isFlow, type FlowHandle, type LayerKind, type LayerOps } from './handle.ts';

export const flowInput = () =>
  ({ ...flowType(), optional: true, doc: 'the flow so far; leave open to start a new flow with this layer' }) as const;
export const flowOutput = () => ({ ...flowType(), doc: 'the input flow with this layer appended' }) as const;
export const channelsParam = () =>
  int(0, { min: 0, max: 4096, doc: 'channels C (D for [N, D] vectors); 0 = take them from the input flow (or data)' });

/** The output port type, with the channel count when compile time can tell it. */
export function inferFlow(kind: string, param: number, inputs: Record<string, PortType | PortType[] | undefined>): Record<string, PortType> {
  const upstream = flowChannelsOf(inputs.flow);
  const data = inputs.data as PortType | undefined;
  const dataShape = data?.kind === 'tensor' ? data.shape : undefined;
  if (dataShape && dataShape.length !== 2 && dataShape.length !== 4) shapeError('data', `expects [N, D] or [N, H, W, C], got rank ${dataShape.length}`);
  const last = dataShape?.[dataShape.length - 1];
  const fromData = typeof last === 'number' ? last : undefined;
  const known = [param || undefined, upstream, fromData].filter((c): c is number => c !== undefined);
  if (known.some((c) => c !== known[0])) {
    shapeError(fromData !== undefined && fromData !== (param || upstream) ? 'data' : 'flow', `${kind}: channels disagree (${known.join(' vs ')})`);
  }
  return { flow: flowType(known[0]) };
}

export interface LayerBuild {
  kind: LayerKind;
  channels: number;
  config: Record<string, unknown>;
  seed: number;
  weights: string;
  dataTag?: number;
  /** Creates every variable by using it (and may initialise them from data). Runs inside tidy. */
  dryRun: (m: ModelHandle) => void;
  ops: LayerOps;
}

export function upstreamOf(kind: string, v: unknown): FlowHandle | undefined {
  if (v === undefined) return undefined;
  if (!isFlow(v)) throw new Error(`${kind}: the flow input is not a flow`);
  return v;
}

/**
 * The node's output: { flow: upstream + the layer }. Weights are read once, digested, then loaded.
 * A weights file holds either this layer's own tensors (`logs`, `nn.in.w`, ...) or a whole flow's,
 * as FlowHandle.exportWeights writes them (`${index}.${kind}.${name}`, what a training checkpoint
 * of a flow holds): then this layer takes the tensors under its own index and kind, so every layer
 * node of a chain can name the same file.
 */
export async function addLayer(ctx: RunContext<unknown>, upstream: FlowHandle | undefined, b: LayerBuild): Promise<{ flow: FlowHandle }> {
  let bytes: Uint8Array | undefined;
  if (b.weights) {
    try {
      bytes = await ctx.readFile(b.weights);
    } catch (err) {
      throw new Error(`cannot read weights "${b.weights}": ${(err as Error).message}`);
    }
  }
  const index = upstream?.layers.length ?? 0;
  const recipe = { kind: b.kind, channels: b.channels, config: b.config, seed: b.seed, weightsDigest: bytes ? hashBytes(bytes) : '', dataTag: b.dataTag };
  const flow = await extendFlow(upstream, recipe, async () => {
    const m = new ModelHandle('flow', { layer: b.kind, channels: b.channels, ...b.config }, b.seed);
    await build(m, () => b.dryRun(m), '', ctx.readFile);
    if (bytes) {
      try {
        m.loadWeights(layerTensors(parseSafetensors(bytes).tensors, index, b.kind));
      } catch (err) {
        m.dispose();
        throw new Error(`weights "${b.weights}": ${(err as Error).message}`);
      }
      m.version = 0; // the file's digest is already in this node's cache key
    }
    return { model: m, ops: b.ops };
  });
  return { flow };
}

const FLOW_NAME = /^(\d+)\.(actnorm|conv1x1|coupling)\.(.+)$/;

/** This layer's tensors: all of them for a one-layer file, else those named `${index}.${kind}.*`, unprefixed. */
function layerTensors(tensors: Map<string, NamedTensor>, index: number, kind: LayerKind): Map<string, NamedTensor> {
  if (![...tensors.keys()].some((n) => FLOW_NAME.test(n))) return tensors;
  const mine = new Map<string, NamedTensor>();
  for (const [name, t] of tensors) {
    const [, i, k, rest] = FLOW_NAME.exec(name) ?? [];
    if (Number(i) === index && k === kind) mine.set(rest, t);
  }
  if (!mine.size) {
    const layers = [...new Set([...tensors.keys()].map((n) => FLOW_NAME.exec(n)?.slice(1, 3).join('.')).filter(Boolean))];
    throw new Error(`a whole flow's file, but with no tensors for layer ${index} (${kind}); it has layers ${layers.join(', ')}`);
  }
  return mine;
}
