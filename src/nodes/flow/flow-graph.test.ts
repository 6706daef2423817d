/**
 * Flows in graphs: graphs/flow-2d.json end to end, and who owns a flow's layers when the cache
 * evicts an upstream layer node while a downstream flow that lists its layer is still cached.
 * The ownership tests drive execute() with their own TensorCache, so they can evict single entries.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { compile, createRegistry, createRuntime, execute, loadGraph, serializeSafetensors, TensorCache, type Plan, type Runtime, type TensorData } from '../../index.ts';
import { graph } from '../../runtime/testing.ts';
import { liveLayerCount, type FlowHandle } from './handle.ts';
import { maxAbsDiff, moonsFlowGraph } from './testing.ts';

const flow2d = loadGraph(readFileSync(new URL('../../../graphs/flow-2d.json', import.meta.url), 'utf8'));
const CHAIN = ['actnorm', 'coupling1', 'mix1', 'coupling2', 'mix2', 'coupling3'];
const data = (v: unknown) => (v as TensorData).data;

describe('graphs/flow-2d.json', () => {
  let rt: Runtime;
  let baseline: number;
  beforeAll(async () => {
    rt = await createRuntime({ backend: 'wasm' });
    baseline = tf.memory().numTensors;
  });
  afterAll(() => rt.dispose());

  it('maps 512 noise points to 2-D points and back to the same noise to 1e-4', async () => {
    const res = await rt.run(flow2d, { outputs: ['noise', 'points', 'z', 'logdet'] });
    const noise = res.outputs.noise.out as TensorData;
    const points = res.outputs.points.value as TensorData;
    const z = res.outputs.z.value as TensorData;
    const logdet = res.outputs.logdet.value as TensorData;
    expect([noise.shape, points.shape, z.shape, logdet.shape]).toEqual([[512, 2], [512, 2], [512, 2], [512]]);
    expect(maxAbsDiff(z.data, noise.data)).toBeLessThan(1e-4);
    // the untrained flow is not the identity: the points moved, and volume changes per point
    expect(maxAbsDiff(points.data, noise.data)).toBeGreaterThan(0.5);
    expect((res.outputs.logdet.max as number) - (res.outputs.logdet.min as number)).toBeGreaterThan(0.1);
    // golden numbers (STYLE 8): the seeded flow's points and log-dets
    expect(res.outputs.points.mean as number).toBeCloseTo(0.05628, 4);
    expect(res.outputs.points.std as number).toBeCloseTo(1.04228, 4);
    expect(res.outputs.logdet.mean as number).toBeCloseTo(0.020263, 4);
  });

  it('a rerun is served from the cache, and clearing the cache frees every tensor and layer', async () => {
    const res = await rt.run(flow2d);
    expect(Object.values(res.nodes).every((n) => n.status === 'cached')).toBe(true);
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(baseline);
    expect(liveLayerCount()).toBe(0);
  });
});

describe('after training', () => {
  it('a run after rt.train uses the trained layers, though every layer node after the first reruns', async () => {
    const rt = await createRuntime({ backend: 'wasm' });
    const doc = moonsFlowGraph();
    const { history } = await rt.train(doc, { steps: 40 });
    const after = await rt.run(doc, { outputs: ['nll'] });
    // the layer nodes reran (their input flow's version moved) and found their trained layers again:
    // the NLL of batch 0 is the trained model's, well below the untrained model's on the same batch
    expect(after.nodes.c2.status).toBe('ran');
    const nll = (after.outputs.nll.loss as TensorData).data[0];
    expect(nll).toBeLessThan(history[0].losses.opt - 0.3);
    rt.dispose();
    expect(liveLayerCount()).toBe(0);
  });
});

describe('ownership of layers across cache entries', () => {
  const registry = createRegistry();
  let plan: Plan;
  let cache: TensorCache;
  let baseline: number;
  const run = (outputs: string[]) => execute(plan, { backend: tf.getBackend(), cache, outputs });
  /** The FlowHandle a layer node's cache entry holds (borrowed: lease released at once). */
  const flowOf = (key: string): FlowHandle => {
    const v = cache.acquire(key)!.flow as FlowHandle;
    cache.release(key);
    return v;
  };
  const outputsOf = async (res: Awaited<ReturnType<typeof run>>) => ({ z: data(res.outputs.encode.z), x: data(res.outputs.sample.x) });

  beforeAll(async () => {
    await tf.setBackend('cpu');
    plan = compile(flow2d, registry).plan!;
  });
  beforeEach(() => {
    cache = new TensorCache(2 ** 30);
    baseline = tf.memory().numTensors;
  });

  it('evicting every upstream entry (and the apply nodes) while the last layer node stays cached: the flow still runs, the same', async () => {
    const first = await run(['encode', 'sample']);
    const before = await outputsOf(first);
    const last = flowOf(first.nodes.coupling3.key);
    const actnormLayer = last.layers[0];
    expect(actnormLayer.holders).toBe(6); // one FlowHandle per chain node lists it
    for (const id of [...CHAIN.slice(0, -1), 'encode', 'sample', 'noise']) expect(cache.evict(first.nodes[id].key), id).toBe(true);
    // the upstream handles are gone; the layers they listed live on in coupling3's flow
    expect(actnormLayer.holders).toBe(1);
    expect(last.variables().every((v) => !v.isDisposed)).toBe(true);
    const again = await run(['encode', 'sample']);
    expect(again.nodes.coupling3.status).toBe('cached');
    expect(again.nodes.encode.status).toBe('ran');
    const after = await outputsOf(again);
    expect(maxAbsDiff(after.z, before.z)).toBe(0);
    expect(maxAbsDiff(after.x, before.x)).toBe(0);
    // the rebuilt upstream nodes found the live layers again instead of building copies
    expect(flowOf(again.nodes.mix2.key).layers).toEqual(last.layers.slice(0, 5));
    cache.clear();
    expect(tf.memory().numTensors).toBe(baseline);
    expect(liveLayerCount()).toBe(0);
  });

  it('evicting the last layer node first leaves the upstream flows intact, and clear frees everything', async () => {
    const first = await run(['encode']);
    const upstream = flowOf(first.nodes.mix2.key);
    expect(cache.evict(first.nodes.coupling3.key)).toBe(true);
    expect(cache.evict(first.nodes.encode.key)).toBe(true);
    expect(upstream.variables().every((v) => !v.isDisposed)).toBe(true);
    expect(liveLayerCount()).toBe(5); // coupling3's layer had no other holder: freed
    const again = await run(['encode']);
    expect(maxAbsDiff(data(again.outputs.encode.z), data(first.outputs.encode.z))).toBe(0);
    cache.clear();
    expect(tf.memory().numTensors).toBe(baseline);
    expect(liveLayerCount()).toBe(0);
  });

  it('training a flow in place changes its version: FlowForward reruns, the layer nodes rerun but keep their (trained) layers', async () => {
    const first = await run(['encode', 'sample']);
    const last = flowOf(first.nodes.coupling3.key);
    const v0 = last.version;
    // what an optimizer step does: change variables in place, then bump the version
    const bias = last.layers[1].model.get('nn.out.b')!;
    tf.tidy(() => bias.assign(tf.add(bias, 0.2)));
    last.version = last.version + 1;
    expect(last.version).toBeGreaterThan(v0);
    expect(flowOf(first.nodes.coupling1.key).version).toBeGreaterThan(0); // every flow listing a bumped layer sees it
    const again = await run(['encode', 'sample']);
    expect(again.nodes.actnorm.status).toBe('cached');
    for (const id of [...CHAIN.slice(1), 'encode', 'sample']) expect(again.nodes[id].status, id).toBe('ran');
    const rebuilt = flowOf(again.nodes.coupling3.key);
    expect(rebuilt.layers).toEqual(last.layers); // the same layer objects, training kept
    // not stale: the points moved (z is the noise again, as before: the round trip still holds)
    expect(maxAbsDiff(data(again.outputs.sample.x), data(first.outputs.sample.x))).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(data(again.outputs.encode.z), data(first.outputs.encode.z))).toBeLessThan(1e-4);
    cache.clear();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('a whole flow’s exported weights load back when every layer node names the same file; a missing layer is named', async () => {
    const first = await run(['sample']);
    const trained = flowOf(first.nodes.coupling3.key);
    // stand-in for training: move every variable, then bump the version as an optimizer does
    tf.tidy(() => trained.variables().forEach((v, i) => v.assign(tf.add(v, 0.05 * ((i % 3) - 1)))));
    trained.version = trained.version + 1;
    const expected = data((await run(['sample'])).outputs.sample.x);
    const bytes = serializeSafetensors(await trained.exportWeights());
    expect(trained.names()).toContain('2.conv1x1.lower');

    const fromFile = { ...flow2d, nodes: flow2d.nodes.map((n) => (CHAIN.includes(n.id) ? { ...n, params: { ...n.params, weights: 'flow.safetensors' } } : n)) };
    const other = new TensorCache(2 ** 30);
    const loaded = await execute(compile(fromFile, registry).plan!, { backend: tf.getBackend(), cache: other, outputs: ['sample'], readFile: async () => bytes });
    expect(maxAbsDiff(data(loaded.outputs.sample.x), expected)).toBe(0);

    const partial = await trained.exportWeights();
    for (const name of [...partial.keys()]) if (name.startsWith('2.conv1x1.')) partial.delete(name);
    const failing = execute(compile(fromFile, registry).plan!, { backend: tf.getBackend(), cache: other, outputs: ['sample'], readFile: async () => serializeSafetensors(partial) });
    await expect(failing).rejects.toMatchObject({ errors: [{ code: 'node-failed', nodeId: 'mix1', message: expect.stringContaining('no tensors for layer 2 (conv1x1)') }] });
    other.clear();
    cache.clear();
    expect(tf.memory().numTensors).toBe(baseline);
    expect(liveLayerCount()).toBe(0);
  });

  it('ActNorm with data in a graph: its output starts at zero mean and unit variance, and new data re-initialises it', async () => {
    const doc = graph(
      [
        ['data', 'NoiseSource', { shape: [256, 2], seed: 4, distribution: 'uniform' }],
        ['an', 'ActNorm'],
        ['fwd', 'FlowForward'],
        ['z', 'TensorOutput'],
      ],
      ['data.out -> an.data', 'an.flow -> fwd.flow', 'data.out -> fwd.x', 'fwd.z -> z.x'],
    );
    for (const seed of [4, 5]) {
      doc.nodes[0].params.seed = seed;
      const res = await execute(compile(doc, registry).plan!, { backend: tf.getBackend(), cache });
      expect(res.nodes.an.status).toBe('ran');
      expect(Math.abs(res.outputs.z.mean as number)).toBeLessThan(1e-5);
      expect(Math.abs((res.outputs.z.std as number) - 1)).toBeLessThan(1e-4);
    }
    expect(liveLayerCount()).toBe(2); // one layer per data, each held by its cache entry
    cache.clear();
    expect(tf.memory().numTensors).toBe(baseline);
  });
});
