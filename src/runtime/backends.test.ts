/**
 * One graph, one set of numbers, whichever backend runs it: the example graphs and a graph that
 * uses every math kind with broadcasting give the same values on cpu, wasm and webgpu (Dawn on
 * SwiftShader here), element by element, for every node's output, to 1e-4.
 *
 * tfjs's active backend is process-wide: runtimes are created one after another, each run
 * reselects its own backend, and results come back as plain arrays, so comparing them later
 * touches no tensors.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, loadGraph, type BackendName, type GraphDoc, type OutputValue, type TensorData } from '../index.ts';
import { graph } from './testing.ts';

const TOLERANCE = 1e-4;
const BACKENDS: BackendName[] = ['cpu', 'wasm', 'webgpu'];
/** Debian's chromium ships SwiftShader; where it does, WebGPU in Node must work (see ENVIRONMENT.md). */
const HAS_SWIFTSHADER = existsSync('/usr/lib/chromium/vk_swiftshader_icd.json');

const example = (file: string) => loadGraph(readFileSync(new URL(`../../graphs/${file}`, import.meta.url), 'utf8'));

/** Add, Scale and Lerp, each broadcasting: [2,8,8,3] against [1,1,1,3], [1,8,1,1] and [1,1,8,3]. */
const everyMathKind = graph(
  [
    ['tint', 'Constant', { shape: [1, 1, 1, 3], value: 0.5 }],
    ['n1', 'NoiseSource', { shape: [2, 8, 8, 3], seed: 3 }],
    ['n2', 'NoiseSource', { shape: [1, 8, 1, 1], seed: 0, distribution: 'uniform' }],
    ['n3', 'NoiseSource', { shape: [1, 1, 8, 3], seed: 11 }],
    ['add', 'Add'],
    ['scale', 'Scale', { factor: -0.75 }],
    ['lerp', 'Lerp', { t: 0.3 }],
    ['add2', 'Add'],
    ['lerp2', 'Lerp', { t: 0.8 }],
    ['image', 'ImageOutput', { columns: 2 }],
    ['stats', 'TensorOutput'],
  ],
  [
    'n1.out -> add.a',
    'tint.out -> add.b',
    'add.out -> scale.x',
    'scale.out -> lerp.a',
    'n2.out -> lerp.b',
    'n2.out -> add2.a',
    'n3.out -> add2.b',
    'add2.out -> lerp2.a',
    'lerp.out -> lerp2.b',
    'lerp2.out -> image.image',
    'lerp2.out -> stats.x',
  ],
  'every math kind, broadcasting',
);

const GRAPHS: Record<string, GraphDoc> = {
  'noise-blend.json': example('noise-blend.json'),
  'tinted-noise.json': example('tinted-noise.json'),
  'every math kind': everyMathKind,
};

type Outputs = Record<string, Record<string, OutputValue | OutputValue[]>>;
/** results[backend][graph] = every node's values, read back. */
const results: Partial<Record<BackendName, Record<string, Outputs>>> = {};
/** What each run reported and what tfjs had active right after it. */
const ranOn: string[] = [];
const leaked: Partial<Record<BackendName, number>> = {};
const available = BACKENDS.filter((b) => b !== 'webgpu' || HAS_SWIFTSHADER);

beforeAll(async () => {
  for (const backend of available) {
    const rt = await createRuntime({ backend });
    const before = tf.memory().numTensors;
    const byGraph: Record<string, Outputs> = {};
    for (const [name, doc] of Object.entries(GRAPHS)) {
      // Every node, not only the sinks: a backend that is wrong in the middle shows where.
      const res = await rt.run(doc, { outputs: doc.nodes.map((n) => n.id) });
      byGraph[name] = res.outputs;
      ranOn.push(`${backend} -> ${res.backend}, tfjs ${tf.getBackend()}`);
    }
    rt.dispose();
    leaked[backend] = tf.memory().numTensors - before;
    results[backend] = byGraph;
  }
}, 180_000);

const isTensorData = (v: unknown): v is TensorData => typeof v === 'object' && v !== null && 'data' in v && 'shape' in v;

/** Largest |a - b| over every value of every node and port; throws on a shape or kind difference. */
function maxDifference(a: Outputs, b: Outputs): { diff: number; where: string; values: number } {
  let worst = { diff: 0, where: '', values: 0 };
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  for (const [node, ports] of Object.entries(a)) {
    expect(Object.keys(b[node]).sort(), node).toEqual(Object.keys(ports).sort());
    for (const [port, x] of Object.entries(ports)) {
      const y = b[node][port];
      const where = `${node}.${port}`;
      if (isTensorData(x)) {
        expect(isTensorData(y), where).toBe(true);
        const t = y as TensorData;
        expect(t.shape, where).toEqual(x.shape);
        expect(t.dtype, where).toBe(x.dtype);
        expect(t.data.length, where).toBe(x.data.length);
        worst.values += x.data.length;
        for (let i = 0; i < x.data.length; i++) {
          const d = Math.abs(x.data[i] - t.data[i]);
          if (!(d <= worst.diff)) worst = { ...worst, diff: Number.isNaN(d) ? Infinity : d, where: `${where}[${i}]` };
        }
      } else if (typeof x === 'number') {
        const d = Math.abs(x - (y as number));
        worst.values += 1;
        if (!(d <= worst.diff)) worst = { ...worst, diff: Number.isNaN(d) ? Infinity : d, where };
      } else expect(y, where).toEqual(x);
    }
  }
  return worst;
}

describe('the same numbers on every backend', () => {
  it('each runtime ran on the backend it was created for', () => {
    // Where a machine has no SwiftShader the webgpu comparisons are skipped, not passed.
    if (HAS_SWIFTSHADER) expect(results.webgpu).toBeDefined();
    const expected = available.flatMap((b) => Object.keys(GRAPHS).map(() => `${b} -> ${b}, tfjs ${b}`));
    expect(ranOn).toEqual(expected);
  });

  for (const name of Object.keys(GRAPHS)) {
    for (const backend of available.filter((b) => b !== 'cpu')) {
      it(`${name} on ${backend} matches cpu to ${TOLERANCE}, element by element`, () => {
        const cpu = results.cpu![name];
        const other = results[backend]![name];
        const { diff, where, values } = maxDifference(cpu, other);
        expect(values).toBeGreaterThan(1000);
        expect(diff, `largest difference at ${where}`).toBeLessThanOrEqual(TOLERANCE);
      });
    }
  }

  it('the compared values are real noise, not zeros', () => {
    const stats = results.cpu!['every math kind'].stats;
    expect(stats.std as number).toBeGreaterThan(0.1);
    const image = results.cpu!['every math kind'].image.image as TensorData;
    expect(image.shape).toEqual([2, 8, 8, 3]);
    expect(new Set(image.data).size).toBeGreaterThan(100);
  });

  it('no backend leaks tensors over the runs', () => {
    for (const backend of available) expect(leaked[backend], backend).toBe(0);
  });
});

describe('backend choice in Node', () => {
  it("'auto' picks wasm and says why", async () => {
    const rt = await createRuntime({ backend: 'auto' });
    expect(rt.backend.name).toBe('wasm');
    expect(rt.backend.reason).toMatch(/wasm/);
    expect(tf.getBackend()).toBe('wasm');
    rt.dispose();
  });

  it.skipIf(!HAS_SWIFTSHADER)("'webgpu' reports its adapter: SwiftShader, marked as a software fallback", async () => {
    const rt = await createRuntime({ backend: 'webgpu' });
    expect(rt.backend.name).toBe('webgpu');
    expect(rt.backend.adapter).toBeDefined();
    expect(rt.backend.adapter!.fallback).toBe(true);
    expect(`${rt.backend.adapter!.architecture} ${rt.backend.adapter!.description} ${rt.backend.adapter!.vendor}`).toMatch(/swiftshader/i);
    expect(rt.backend.reason).toMatch(/software adapter/);
    expect(tf.getBackend()).toBe('webgpu');
    rt.dispose();
  });
});
