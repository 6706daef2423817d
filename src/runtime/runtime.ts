/**
 * The runtime: a backend, a registry, a cache, and run(doc). The editor and the CLI are thin
 * shells over this object, so a graph gives the same numbers in both.
 */
import * as tf from '@tensorflow/tfjs';
import { GraphError, parseGraph, type GraphDoc } from '../graph/index.ts';
import { selectBackend, type BackendInfo, type BackendRequest, type Platform } from './backend.ts';
import { TensorCache, type CacheStats } from './cache.ts';
import { compile, type CompileResult } from './compile.ts';
import { execute, type RunEvent, type RunResult } from './execute.ts';
import type { Registry } from './registry.ts';
import { train, type OptimizerStore, type TrainOptions, type TrainResult } from './train.ts';

export interface RuntimeOptions {
  backend?: BackendRequest;
  /** Cache budget in bytes (default 256 MiB). */
  cacheBytes?: number;
  registry: Registry;
  platform: Platform;
}

export interface RunOptions {
  outputs?: string[];
  /** Folder that relative file paths in the graph (weights) resolve against. */
  baseDir?: string;
  signal?: AbortSignal;
  onEvent?: (e: RunEvent) => void;
}

export interface Runtime {
  readonly backend: BackendInfo;
  readonly registry: Registry;
  compile(doc: GraphDoc): CompileResult;
  /** Compile and execute; throws a GraphError carrying every issue when the graph is broken. */
  run(doc: GraphDoc | string, opts?: RunOptions): Promise<RunResult>;
  /**
   * Step the graph's optimizers (in its trainer's order) for `steps` steps. The trained models stay
   * in this runtime's cache, so a following run() generates with them.
   */
  train(doc: GraphDoc | string, opts: TrainOptions & { baseDir?: string }): Promise<TrainResult>;
  cacheStats(): CacheStats & { backendBytes: number; gpuBytes?: number; numTensors: number };
  clearCache(): void;
  /** Pin (or unpin) a node's cached values, e.g. while a preview shows them. */
  pin(key: string, pinned?: boolean): boolean;
  dispose(): void;
}

/** tfjs scopes and the active backend are process-wide: runs take turns. */
let turn: Promise<unknown> = Promise.resolve();
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const next = turn.then(fn, fn);
  turn = next.catch(() => undefined);
  return next;
}

export async function createRuntimeWith(opts: RuntimeOptions): Promise<Runtime> {
  const backend = await exclusive(() => selectBackend(opts.backend ?? 'auto', opts.platform));
  const cache = new TensorCache(opts.cacheBytes ?? 256 * 2 ** 20);
  const optimizers: OptimizerStore = new Map();
  let disposed = false;

  const prepare = async (input: GraphDoc | string) => {
    if (disposed) throw new Error('this runtime was disposed');
    const parsed = typeof input === 'string' ? parseGraph(input) : { doc: input, errors: [] };
    if (!parsed.doc || parsed.errors.length) throw new GraphError(parsed.errors);
    const { plan, errors } = compile(parsed.doc, opts.registry);
    if (!plan) throw new GraphError(errors);
    if (tf.getBackend() !== backend.name) await tf.setBackend(backend.name);
    return plan;
  };

  const runtime: Runtime = {
    backend,
    registry: opts.registry,
    compile: (doc) => compile(doc, opts.registry),
    run(input, runOpts = {}) {
      return exclusive(async () => {
        const plan = await prepare(input);
        const readFile = (file: string) => opts.platform.readFile(file, runOpts.baseDir);
        return execute(plan, { ...runOpts, backend: backend.name, cache, readFile });
      });
    },
    train(input, trainOpts) {
      return exclusive(async () => {
        const plan = await prepare(input);
        const readFile = (file: string) => opts.platform.readFile(file, trainOpts.baseDir);
        return train(plan, { ...trainOpts, backend: backend.name, cache, readFile, store: optimizers });
      });
    },
    cacheStats() {
      const mem = tf.memory() as tf.MemoryInfo & { numBytesInGPUAllocated?: number; numBytesAllocatedInGPU?: number };
      const gpuBytes = mem.numBytesAllocatedInGPU ?? mem.numBytesInGPUAllocated;
      return { ...cache.stats(), backendBytes: mem.numBytes, numTensors: mem.numTensors, ...(gpuBytes !== undefined ? { gpuBytes } : {}) };
    },
    clearCache: () => cache.clear(),
    pin: (key, pinned = true) => cache.pin(key, pinned),
    dispose() {
      disposed = true;
      cache.clear();
      for (const o of optimizers.values()) o.dispose();
      optimizers.clear();
    },
  };
  return runtime;
}
