/**
 * Flow handles. A normalizing flow (Dinh et al. 2017, RealNVP; Kingma & Dhariwal 2018, Glow) is a
 * chain of invertible layers z = f_K ∘ … ∘ f_1(x) with
 *
 *   log p(x) = log p(z) + Σ_k log|det ∂f_k/∂h_{k−1}|        (change of variables)
 *
 * It travels along edges as one model handle (DESIGN.md), one layer longer after each layer node.
 *
 * Notation: x data [N, D] or [N, H, W, C] (channels last; D = C, H = W = 1 for vectors);
 * h_k the activation after layer k; z = h_K; logdet [N] = Σ_k log|det J_k| per sample.
 *
 * Ownership. Node outputs live in the cache, which may evict an upstream layer node's flow while a
 * downstream flow still lists that layer. So layers are shared and counted:
 *   - a FlowLayer wraps one ModelHandle (its variables) and counts its holders;
 *   - a FlowHandle retains every layer it lists when made and releases them on dispose;
 *   - a layer's variables are freed when its last holder lets go.
 *
 * Identity. A layer node reruns whenever its upstream flow's version changes (a training step
 * bumps it, and versions enter cache keys). Building a fresh layer then would throw away the
 * layer's own training, so layers are found again by recipe while alive: (backend, kind, config,
 * seed, weights digest, the exact upstream layers). A rerun gets the same layer object back; a new
 * seed or config, or a rebuilt (fresh) upstream, gets a new one. An untrained ActNorm is found
 * again only for the same data tensor (its init depends on the data); once trained it is kept.
 */
import * as tf from '@tensorflow/tfjs';
import { hashValue, model, type ModelHandle, type NamedTensor, type PortType, type Resource } from '../../runtime/index.ts';

/** The math of one layer kind over its variables. forward is sync (trainers take gradients of it). */
export interface LayerOps {
  /** h_k = f(h_{k−1}) and log|det J| per sample [N]. */
  forward(m: ModelHandle, x: tf.Tensor): { y: tf.Tensor; logdet: tf.Tensor };
  /** What the inverse needs read off the variables (float64 factors on the CPU); async. */
  prepareInverse?(m: ModelHandle): Promise<unknown>;
  /** h_{k−1} = f⁻¹(h_k). */
  inverse(m: ModelHandle, y: tf.Tensor, prepared: unknown): tf.Tensor;
}

export type LayerKind = 'actnorm' | 'conv1x1' | 'coupling';

/** Layers alive now, by recipe key (see Identity above). Holds no reference of its own. */
const live = new Map<string, FlowLayer>();
/** Every layer whose variables are not yet freed (a key may have been taken over by a newer layer). */
const alive = new Set<FlowLayer>();

export class FlowLayer {
  private refs = 0;

  constructor(
    readonly kind: LayerKind,
    readonly channels: number,
    readonly model: ModelHandle,
    readonly ops: LayerOps,
    private readonly key: string,
    /** For ActNorm: which data tensor initialised it. */
    readonly dataTag: number | undefined,
  ) {
    alive.add(this);
  }

  get version(): number {
    return this.model.version;
  }

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (this.refs <= 0) return;
    if (--this.refs > 0) return;
    this.model.dispose();
    alive.delete(this);
    if (live.get(this.key) === this) live.delete(this.key);
  }

  get holders(): number {
    return this.refs;
  }
}

let nextUid = 1;

export class FlowHandle implements Resource {
  readonly resource = 'model';
  readonly model = 'flow';
  readonly uid = nextUid++;
  private disposed = false;

  constructor(readonly layers: readonly FlowLayer[]) {
    if (!layers.length) throw new Error('a flow needs at least one layer');
    for (const l of layers) {
      if (l.channels !== layers[0].channels) throw new Error(`flow layers disagree on channels (${layers[0].channels} vs ${l.channels})`);
      l.retain();
    }
  }

  get channels(): number {
    return this.layers[0].channels;
  }

  /** Σ of the layers' versions: changes whenever any layer's variables change. */
  get version(): number {
    return this.layers.reduce((s, l) => s + l.version, 0);
  }

  /** An optimizer that stepped this flow's variables bumps the version: every layer counts as changed. */
  set version(v: number) {
    if (v !== this.version) for (const l of this.layers) l.model.version++;
  }

  variables(): tf.Variable[] {
    return this.layers.flatMap((l) => l.model.variables());
  }

  /** Names as `${index}.${kind}.${param}`, in variables() order. */
  names(): string[] {
    return this.layers.flatMap((l, i) => l.model.names().map((n) => `${i}.${l.kind}.${n}`));
  }

  async exportWeights(): Promise<Map<string, NamedTensor>> {
    const out = new Map<string, NamedTensor>();
    for (const [i, l] of this.layers.entries()) for (const [n, t] of await l.model.exportWeights()) out.set(`${i}.${l.kind}.${n}`, t);
    return out;
  }

  parameterCount(): number {
    return this.layers.reduce((s, l) => s + l.model.parameterCount(), 0);
  }

  /**
   * Every listed layer counts, though upstream entries count their layers too: overcounting makes
   * the cache evict early, never late, and once upstream entries go this handle holds them all.
   */
  bytes(): number {
    return this.parameterCount() * 4;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const l of this.layers) l.release();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }
}

export const isFlow = (v: unknown): v is FlowHandle => v instanceof FlowHandle;

/** The flow port type, remembering the channel count for compile-time checks (as modelOf does). */
export function flowType(channels?: number): PortType {
  return channels ? ({ ...model('flow'), config: { channels } } as PortType) : model('flow');
}

export function flowChannelsOf(t: unknown): number | undefined {
  const c = (t as { config?: { channels?: unknown } } | undefined)?.config?.channels;
  return typeof c === 'number' ? c : undefined;
}

const tags = new WeakMap<object, number>();
let nextTag = 1;
/** A number naming one tensor object (not its contents): a recomputed tensor is a new one. */
export function tensorTag(t: tf.Tensor): number {
  let tag = tags.get(t);
  if (tag === undefined) tags.set(t, (tag = nextTag++));
  return tag;
}

export interface LayerRecipe {
  kind: LayerKind;
  channels: number;
  /** Everything else that shapes the layer's variables or math (mask, parity, hidden width, ...). */
  config: Record<string, unknown>;
  seed: number;
  weightsDigest: string;
  dataTag?: number;
}

/**
 * The flow `upstream` + one layer: the live layer with this recipe if there is one, else a new one
 * from `create` (which builds and freezes its ModelHandle, disposing it on failure).
 */
export async function extendFlow(
  upstream: FlowHandle | undefined,
  recipe: LayerRecipe,
  create: () => Promise<{ model: ModelHandle; ops: LayerOps }>,
): Promise<FlowHandle> {
  const below = upstream?.layers ?? [];
  const key = hashValue([tf.getBackend(), recipe.kind, recipe.channels, recipe.config, recipe.seed, recipe.weightsDigest, below.map((l) => l.model.uid)]);
  const found = live.get(key);
  if (found && (recipe.dataTag === undefined || found.dataTag === recipe.dataTag || found.version > 0)) {
    return new FlowHandle([...below, found]);
  }
  const { model: m, ops } = await create();
  const layer = new FlowLayer(recipe.kind, recipe.channels, m, ops, key, recipe.dataTag);
  live.set(key, layer);
  return new FlowHandle([...below, layer]);
}

/** How many layers hold variables now, for leak tests. */
export const liveLayerCount = (): number => alive.size;

/** Resolve a layer's channel count from its param (0 = unset), its input flow and its data. */
export function resolveChannels(kind: string, param: number, upstream: FlowHandle | undefined, data?: tf.Tensor): number {
  const sources: [string, number][] = [];
  if (param > 0) sources.push(['the channels param', param]);
  if (upstream) sources.push(['the input flow', upstream.channels]);
  if (data) sources.push(['the data’s last axis', data.shape[data.shape.length - 1]]);
  if (!sources.length) throw new Error(`${kind}: set channels, or connect an input flow or data`);
  const [first, c] = sources[0];
  for (const [what, v] of sources.slice(1)) if (v !== c) throw new Error(`${kind}: ${first} says ${c} channels but ${what} has ${v}`);
  return c;
}

/** [N, D] or [N, H, W, C] with C = the flow's channels: the shapes every flow layer accepts. */
export function checkFlowInput(channels: number, x: tf.Tensor, port: string): void {
  if (x.rank !== 2 && x.rank !== 4) throw new Error(`${port} must be [N, D] vectors or [N, H, W, C] images, got rank ${x.rank} [${x.shape}]`);
  const c = x.shape[x.rank - 1];
  if (c !== channels) throw new Error(`${port} has ${c} channels on its last axis but the flow has ${channels}`);
}

/** z = f(x) and Σ log|det J| per sample [N]. Sync, so a trainer can take gradients through it. */
export function flowForward(flow: FlowHandle, x: tf.Tensor): { z: tf.Tensor; logdet: tf.Tensor1D } {
  checkFlowInput(flow.channels, x, 'x');
  return tf.tidy(() => {
    let h = x;
    let logdet: tf.Tensor = tf.zeros([x.shape[0]]);
    for (const layer of flow.layers) {
      const r = layer.ops.forward(layer.model, h);
      h = r.y;
      logdet = tf.add(logdet, r.logdet);
    }
    return { z: h, logdet: logdet as tf.Tensor1D };
  });
}

/** x = f⁻¹(z), layers in reverse. Async: 1x1 convs read their factors to invert them in float64. */
export async function flowInverse(flow: FlowHandle, z: tf.Tensor): Promise<tf.Tensor> {
  checkFlowInput(flow.channels, z, 'z');
  const prepared = await Promise.all(flow.layers.map((l) => l.ops.prepareInverse?.(l.model)));
  return tf.tidy(() => {
    let h = z;
    for (let k = flow.layers.length - 1; k >= 0; k--) h = flow.layers[k].ops.inverse(flow.layers[k].model, h, prepared[k]);
    return h;
  });
}

/** log|det J| that is the same for every sample (ActNorm, 1x1 conv): H·W·Σ_c log|s_c|, as [N]. */
export function constantLogdet(x: tf.Tensor, logs: tf.Tensor): tf.Tensor {
  const pixels = x.rank === 4 ? (x.shape as number[])[1] * (x.shape as number[])[2] : 1;
  return tf.add(tf.zeros([x.shape[0]]), tf.mul(tf.sum(logs), pixels));
}
