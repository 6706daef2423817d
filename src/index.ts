/**
 * Weft's headless API for Node: load a graph, run it, read the outputs.
 *
 *   const doc = loadGraph(text);
 *   const rt = await createRuntime({ backend: 'wasm' });
 *   const res = await rt.run(doc, { outputs: ['preview'] });
 */
import { createRuntimeWith, type BackendRequest, type Registry, type Runtime } from './runtime/index.ts';
import { nodePlatform } from './runtime/platform-node.ts';
import { createRegistry } from './nodes/index.ts';

export * from './graph/index.ts';
export * from './runtime/index.ts';
export { builtinKinds, createRegistry } from './nodes/index.ts';
export { nodePlatform, webgpuEnv } from './runtime/platform-node.ts';

export interface CreateRuntimeOptions {
  /** 'auto' (default; wasm in Node), 'wasm', 'cpu' or 'webgpu' (Dawn, see README). */
  backend?: BackendRequest;
  cacheBytes?: number;
  registry?: Registry;
}

export function createRuntime(opts: CreateRuntimeOptions = {}): Promise<Runtime> {
  return createRuntimeWith({ ...opts, registry: opts.registry ?? createRegistry(), platform: nodePlatform });
}

/** The MNIST judge and the scores the example graphs report (docs/training.md). */
export { loadJudge, judgeImages, scorePriorSamples, classifyDigits, inceptionScore, gaussianNll, moonsGaussianNll, JUDGE_WEIGHTS, SCORE_SAMPLES, SCORE_SEED } from './eval.ts';
