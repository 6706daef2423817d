/**
 * The same flow numbers on cpu, wasm and webgpu (Dawn on SwiftShader here): every node's values of
 * graphs/flow-2d.json and of a small image flow (data-initialised ActNorm, conv couplings with
 * checkerboard and channel-split masks, 1x1 convs) agree element by element to 1e-4.
 * Runtimes run one after another (tfjs's backend is process-wide); results come back as plain data.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, loadGraph, type BackendName, type GraphDoc, type OutputValue, type TensorData } from '../../index.ts';
import { graph } from '../../runtime/testing.ts';
import { liveLayerCount } from './handle.ts';

const TOLERANCE = 1e-4;
const HAS_SWIFTSHADER = existsSync('/usr/lib/chromium/vk_swiftshader_icd.json');
const BACKENDS: BackendName[] = ['cpu', 'wasm', ...(HAS_SWIFTSHADER ? (['webgpu'] as const) : [])];

const conv = (parity: number, mask: string, seed: number) => ({ net: 'conv', mask, parity, hidden: 16, initScale: 0.2, seed });
const imageFlow = graph(
  [
    ['images', 'NoiseSource', { shape: [2, 8, 8, 4], seed: 3, distribution: 'uniform' }],
    ['an', 'ActNorm'],
    ['c1', 'AffineCoupling', conv(0, 'checkerboard', 1)],
    ['mix', 'Invertible1x1Conv', { seed: 2 }],
    ['c2', 'AffineCoupling', conv(1, 'half', 3)],
    ['fwd', 'FlowForward'],
    ['inv', 'FlowInverse'],
  ],
  ['images.out -> an.data', 'an.flow -> c1.flow', 'c1.flow -> mix.flow', 'mix.flow -> c2.flow', 'c2.flow -> fwd.flow', 'images.out -> fwd.x', 'c2.flow -> inv.flow', 'fwd.z -> inv.z'],
  'image flow',
);
/**
 * graphs/flow-2d.json's chain on 64 points instead of 512: SwiftShader compiles each new matMul
 * shape's shader for ~4 s at 512 rows (~0.7 s at 64), and the graph has five such shapes. The math
 * compared is the same; flow-graph.test.ts runs the 512-point graph itself.
 */
const flow2d = loadGraph(readFileSync(new URL('../../../graphs/flow-2d.json', import.meta.url), 'utf8'));
const flow2dSmall: GraphDoc = { ...flow2d, nodes: flow2d.nodes.map((n) => (n.id === 'noise' ? { ...n, params: { ...n.params, shape: [64, 2] } } : n)) };
const GRAPHS: Record<string, GraphDoc> = { 'flow-2d.json on 64 points': flow2dSmall, 'image flow': imageFlow };

type Outputs = Record<string, Record<string, OutputValue | OutputValue[]>>;
const results: Partial<Record<BackendName, Record<string, Outputs>>> = {};
const leaked: Partial<Record<BackendName, number>> = {};

beforeAll(async () => {
  for (const backend of BACKENDS) {
    const rt = await createRuntime({ backend });
    const before = tf.memory().numTensors;
    results[backend] = {};
    for (const [name, doc] of Object.entries(GRAPHS)) {
      const res = await rt.run(doc, { outputs: doc.nodes.map((n) => n.id) });
      expect(res.backend).toBe(backend);
      results[backend]![name] = res.outputs;
    }
    rt.dispose();
    leaked[backend] = tf.memory().numTensors - before + liveLayerCount();
  }
}, 120_000);

const isTensorData = (v: unknown): v is TensorData => typeof v === 'object' && v !== null && 'data' in v;

/** Largest |a − b| over every tensor output of every node; how many values were compared. */
function compare(a: Outputs, b: Outputs): { diff: number; where: string; values: number } {
  let worst = { diff: 0, where: '', values: 0 };
  for (const [node, ports] of Object.entries(a)) {
    for (const [port, x] of Object.entries(ports)) {
      const y = b[node][port];
      if (!isTensorData(x)) continue;
      expect((y as TensorData).shape, `${node}.${port}`).toEqual(x.shape);
      const yd = (y as TensorData).data;
      worst.values += x.data.length;
      for (let i = 0; i < x.data.length; i++) {
        const d = Math.abs(x.data[i] - yd[i]);
        if (!(d <= worst.diff)) worst = { ...worst, diff: Number.isNaN(d) ? Infinity : d, where: `${node}.${port}[${i}]` };
      }
    }
  }
  return worst;
}

describe('flows give the same numbers on every backend', () => {
  it('webgpu runs where SwiftShader is installed', () => {
    if (HAS_SWIFTSHADER) expect(results.webgpu).toBeDefined();
  });

  for (const name of Object.keys(GRAPHS)) {
    for (const backend of BACKENDS.filter((b) => b !== 'cpu')) {
      it(`${name} on ${backend} matches cpu to ${TOLERANCE}, element by element`, () => {
        const { diff, where, values } = compare(results.cpu![name], results[backend]![name]);
        expect(values).toBeGreaterThan(500);
        expect(diff, `largest difference at ${where}`).toBeLessThanOrEqual(TOLERANCE);
      });
    }
  }

  it('the image flow round-trips on every backend, and no backend leaks a tensor or a layer', () => {
    for (const backend of BACKENDS) {
      const out = results[backend]!['image flow'];
      const images = (out.images.out as TensorData).data;
      const back = (out.inv.x as TensorData).data;
      let d = 0;
      for (let i = 0; i < images.length; i++) d = Math.max(d, Math.abs(images[i] - back[i]));
      expect(d, backend).toBeLessThan(1e-4);
      expect(leaked[backend], backend).toBe(0);
    }
  });
});
