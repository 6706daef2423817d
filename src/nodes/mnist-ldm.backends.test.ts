/**
 * Both latent diffusion graphs train on cpu, wasm and webgpu (Dawn on SwiftShader here) to the same
 * losses, step by step, to 1e-3 relative: stage 1 (the autoencoder, from its seed) and stage 2 (the
 * text-conditioned U-Net and text encoder from their seeds, over the shipped frozen autoencoder),
 * with batch 2 so that SwiftShader stays quick. Nothing is left behind on any backend.
 *
 * Stage 2 trains with its gradient clipping on (clipNorm 1, as shipped): the trainer sums the
 * squared gradient norms with a chain of adds, since tfjs-webgpu's AddN of 8 or more tensors fails
 * on Dawn and returned a stale norm (src/runtime/train.ts, clipByGlobalNorm).
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, loadGraph, setParam, type BackendName, type GraphDoc } from '../index.ts';
import { HAS_SWIFTSHADER } from '../runtime/kernels/testing.ts';

const TOLERANCE = 1e-3;
const STEPS = 3;
const BACKENDS: BackendName[] = HAS_SWIFTSHADER ? ['cpu', 'wasm', 'webgpu'] : ['cpu', 'wasm'];
const GRAPHS = new URL('../../graphs/', import.meta.url).pathname;

function tiny(file: string, sets: Array<[string, string, unknown]>): GraphDoc {
  let d = loadGraph(readFileSync(`${GRAPHS}${file}`, 'utf8'));
  for (const [id, p, v] of sets) d = setParam(d, id, p, v);
  return d;
}

const DOCS: Record<string, GraphDoc> = {
  autoencoder: tiny('mnist-ldm-autoencoder.json', [
    ['vae', 'weights', ''],
    ['data', 'batchSize', 2],
  ]),
  ldm: tiny('mnist-ldm.json', [
    ['unet', 'weights', ''],
    ['textEncoder', 'weights', ''],
    ['data', 'batchSize', 2],
    ['noise', 'shape', [2, 7, 7, 4]],
  ]),
};

/** losses[backend][graph][step] */
const losses: Partial<Record<BackendName, Record<string, number[]>>> = {};
const leaked: Partial<Record<BackendName, number>> = {};

beforeAll(async () => {
  for (const backend of BACKENDS) {
    const rt = await createRuntime({ backend });
    const before = tf.memory().numTensors;
    const byGraph: Record<string, number[]> = {};
    for (const [name, doc] of Object.entries(DOCS)) {
      byGraph[name] = (await rt.train(doc, { steps: STEPS, baseDir: GRAPHS })).history.map((h) => h.losses.optimizer);
    }
    rt.dispose();
    leaked[backend] = tf.memory().numTensors - before;
    losses[backend] = byGraph;
  }
}, 240_000);

describe('the latent diffusion graphs train the same on every backend', () => {
  for (const name of Object.keys(DOCS)) {
    for (const backend of BACKENDS.filter((b) => b !== 'cpu')) {
      it(`${name}: ${backend} matches cpu step by step to ${TOLERANCE} relative`, () => {
        const [mine, ref] = [losses[backend]![name], losses.cpu![name]];
        console.log(`${name} on ${backend}: ${mine.map((v) => v.toFixed(5)).join(', ')}; cpu ${ref.map((v) => v.toFixed(5)).join(', ')}`);
        expect(mine).toHaveLength(STEPS);
        ref.forEach((value, k) => {
          expect(Number.isFinite(value)).toBe(true);
          expect(Math.abs(mine[k] - value) / Math.max(1, Math.abs(value)), `step ${k}: ${mine[k]} vs cpu ${value}`).toBeLessThanOrEqual(TOLERANCE);
        });
      });
    }
    it(`${name}: the updates move the loss`, () => {
      expect(new Set(losses.cpu![name]).size).toBe(STEPS);
    });
  }

  it('training leaks nothing on any backend once the runtime is disposed', () => {
    for (const backend of BACKENDS) expect(leaked[backend], backend).toBe(0);
  });
});
