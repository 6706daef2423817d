/**
 * Every example graph that trains runs a few steps on cpu, wasm and webgpu (Dawn on SwiftShader
 * here) from its seeds, with tiny batches, and every optimizer's loss at every step agrees to 1e-3
 * relative across the backends. A loss at step k depends on every gradient before it, so equal
 * losses mean equal gradients and updates. Each runtime leaves no tensor behind.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createRuntime, type BackendName, type TrainStep } from '../index.ts';
import { HAS_SWIFTSHADER } from '../runtime/kernels/testing.ts';
import { fromSeeds, GRAPHS } from './examples-testing.ts';

const TOLERANCE = 1e-3;
const STEPS = 3;
const BACKENDS: BackendName[] = HAS_SWIFTSHADER ? ['cpu', 'wasm', 'webgpu'] : ['cpu', 'wasm'];

/** Batches of 2 to 4 (SwiftShader runs WebGPU on the CPU, slowly). */
const CASES: Record<string, Record<string, Record<string, unknown>>> = {
  'mnist-judge.json': { data: { batchSize: 2 } },
  'mnist-vae.json': { data: { batchSize: 2 } },
  'mnist-gan.json': { data: { batchSize: 2 }, noise: { shape: [2, 16] }, realNoise: { shape: [2, 28, 28, 1] }, fakeNoise: { shape: [2, 28, 28, 1] } },
  'mnist-vae-gan.json': { data: { batchSize: 2 }, noise: { shape: [2, 8] } },
  'moons-flow.json': { data: { batchSize: 8 }, initData: { batchSize: 16 } },
};

describe('the example graphs train to the same losses on every backend', () => {
  for (const [file, set] of Object.entries(CASES)) {
    it(`${file}: every optimizer's loss at each of ${STEPS} steps matches cpu's to ${TOLERANCE} relative on ${BACKENDS.slice(1).join(' and ')}, and no tensor is left`, async () => {
      const histories: Partial<Record<BackendName, TrainStep[]>> = {};
      // tfjs's backend is process-wide: one runtime after another
      for (const backend of BACKENDS) {
        const before = tf.memory().numTensors;
        const rt = await createRuntime({ backend });
        expect(rt.backend.name).toBe(backend);
        histories[backend] = (await rt.train(fromSeeds(file, set), { steps: STEPS, baseDir: GRAPHS.pathname })).history;
        rt.dispose();
        expect(tf.memory().numTensors, `${backend} leaves no tensor`).toBe(before);
      }
      const ref = histories.cpu!;
      for (const backend of BACKENDS.slice(1)) {
        const got = histories[backend]!;
        expect(got.length).toBe(STEPS);
        for (const [i, step] of ref.entries()) {
          for (const [id, loss] of Object.entries(step.losses)) {
            const diff = Math.abs(got[i].losses[id] - loss) / Math.max(1, Math.abs(loss));
            expect(diff, `${id} at step ${i}: cpu ${loss}, ${backend} ${got[i].losses[id]}`).toBeLessThanOrEqual(TOLERANCE);
          }
        }
      }
    }, 180_000);
  }
});
