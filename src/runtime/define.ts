/**
 * defineNode: the one declarative shape of every node kind. Ports, params, limits, defaults and
 * docs live in the definition; the type checker, the inspector, the handle colours and the node
 * reference are derived from it.
 */
import type { ParamSpec, ParamValues } from './params.ts';
import type { PortSpec, PortType } from './ports.ts';
import type { Value, Values } from './values.ts';

export type Category = 'sources' | 'math' | 'outputs' | 'text' | 'diffusion' | 'vae' | 'gan' | 'flow' | 'data' | 'losses' | 'training';

export interface InferContext<P> {
  params: P;
  /** The inferred type of what feeds each input (an array for multi inputs; absent when unconnected). */
  inputs: Record<string, PortType | PortType[] | undefined>;
}

export interface ProgressInfo {
  [key: string]: unknown;
}

export interface RunContext<P> {
  nodeId: string;
  params: P;
  /** Values on each input: a Value, a Value[] for multi inputs, undefined when an optional input is open. */
  inputs: Record<string, any>;
  signal: AbortSignal;
  backend: string;
  /** Report progress inside a long node (sampler steps, training steps). */
  progress(done: number, total: number, info?: ProgressInfo): void;
  /** Throws the run's cancellation when the signal fired; long loops call it between steps. */
  throwIfAborted(): void;
  /** Bytes of a file the graph refers to (weights), resolved against the graph's folder. */
  readFile(path: string): Promise<Uint8Array>;
  /** The training step (0 outside training). Stochastic kinds mix it into their seed. */
  step: number;
}

/** How a kind takes part in training (src/runtime/train.ts interprets these). */
export type TrainingRole<P> =
  | {
      role: 'optimizer';
      /** A fresh tfjs optimizer for these params (kept across train calls for resuming). */
      create: (params: P) => import('@tensorflow/tfjs').Optimizer;
      /** Clip the global gradient norm to this (0: no clipping). */
      clipNorm?: (params: P) => number;
      /** Skip the update when the loss is outside [min, max] (VAE-GAN style balancing); null: never skip. */
      band?: (params: P) => [number, number] | null;
      /** The per-variable state the optimizer keeps, by tfjs's slot names (Adam: m, v), for checkpoints; none when absent. */
      slots?: (params: P) => string[];
      /** Keep an exponential moving average of the updated weights with this decay (0: none); exported as TrainResult.averaged. */
      average?: (params: P) => number;
    }
  | { role: 'trainer' };

export interface FingerprintContext {
  readFile(path: string): Promise<Uint8Array>;
}

export interface ParamMigration {
  /** Upgrades params written for kind version `from` to `from + 1`. */
  from: number;
  up: (params: Record<string, unknown>) => Record<string, unknown>;
}

export interface NodeDef<P extends Record<string, ParamSpec<any>>> {
  type: string;
  /** Bumped whenever params change meaning; older nodes are upgraded with `migrations`. */
  version?: number;
  category: Category;
  title?: string;
  doc: string;
  inputs: Record<string, PortSpec>;
  outputs: Record<string, PortSpec>;
  /** Values a sink shows rather than passes on (an ImageOutput's image). */
  display?: Record<string, PortSpec>;
  params: P;
  /** True when the node is nondeterministic and must never be served from the cache. */
  volatile?: boolean | ((params: ParamValues<P>) => boolean);
  /** Output types (shapes) before running. Throw shapeError(port, why) to reject the inputs. */
  infer?: (ctx: InferContext<ParamValues<P>>) => Record<string, PortType>;
  run: (ctx: RunContext<ParamValues<P>>) => Values | Promise<Values>;
  migrations?: ParamMigration[];
  /**
   * What the params cannot say about the result, for the cache key: the digest of a weights file
   * a param names (its contents may change while its path does not).
   */
  fingerprint?: (params: ParamValues<P>, ctx: FingerprintContext) => string | Promise<string>;
  /** Draws fresh randomness per training step (noise, data batches): re-run every step. */
  stochastic?: boolean;
  /**
   * Async work a training step cannot wait for (loading a dataset), done once before step 0: inside
   * a step `run` must return at once.
   */
  prepare?: (params: ParamValues<P>, ctx: FingerprintContext) => Promise<void>;
  /** False when gradients cannot flow through this kind; training refuses it between a model and a loss. */
  differentiable?: boolean;
  training?: TrainingRole<ParamValues<P>>;
}

export interface NodeKind<P extends Record<string, ParamSpec<any>> = Record<string, ParamSpec<any>>> extends NodeDef<P> {
  version: number;
  title: string;
  display: Record<string, PortSpec>;
  migrations: ParamMigration[];
}

export type AnyNodeKind = NodeKind<any>;

/** A builder: a kind with a `weights` file param and a model output (not WeightedSum, whose `weights` are loss weights). */
export const isBuilderKind = (kind: AnyNodeKind | undefined): boolean =>
  !!kind && 'weights' in kind.params && Object.values(kind.outputs).some((p) => p.kind === 'model');

/** Thrown from `infer` to reject an input's shape; compile turns it into a 'shape-mismatch' issue. */
export class ShapeError extends Error {
  constructor(readonly port: string | undefined, message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

export const shapeError = (port: string | undefined, message: string): never => {
  throw new ShapeError(port, message);
};

export function defineNode<const P extends Record<string, ParamSpec<any>>>(def: NodeDef<P>): NodeKind<P> {
  const version = def.version ?? 1;
  for (const m of def.migrations ?? []) {
    if (m.from < 1 || m.from >= version) throw new Error(`${def.type}: migration from v${m.from} is outside 1..${version - 1}`);
  }
  for (const name of Object.keys(def.display ?? {})) {
    if (name in def.outputs) throw new Error(`${def.type}: "${name}" is both an output and a display value`);
  }
  return {
    ...def,
    version,
    title: def.title ?? def.type.replace(/([a-z])([A-Z])/g, '$1 $2'),
    display: def.display ?? {},
    migrations: def.migrations ?? [],
  };
}

export type { Value };
