import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRuntime, loadGraph, type GraphDoc, type Runtime } from '../index.ts';
import { createRegistry } from '../nodes/index.ts';
import { defineNode } from './define.ts';
import type { RunEvent } from './execute.ts';
import { int } from './params.ts';
import { tensor } from './ports.ts';
import { graph } from './testing.ts';
import type { TensorData } from './values.ts';

const blend = loadGraph(readFileSync(new URL('../../graphs/noise-blend.json', import.meta.url), 'utf8'));
const statuses = (res: { nodes: Record<string, { status: string }> }) =>
  Object.fromEntries(Object.entries(res.nodes).map(([id, n]) => [id, n.status]));
const withParam = (doc: GraphDoc, id: string, name: string, value: unknown): GraphDoc => ({
  ...doc,
  nodes: doc.nodes.map((n) => (n.id === id ? { ...n, params: { ...n.params, [name]: value } } : n)),
});

/** Test kinds: a slow loop that reports progress and honours cancel, and one that fails. */
const Slow = defineNode({
  type: 'Slow',
  category: 'math',
  doc: 'x + steps, one step at a time',
  inputs: { x: tensor() },
  outputs: { out: tensor() },
  params: { steps: int(5) },
  run: async ({ inputs, params, progress, throwIfAborted }) => {
    let x = inputs.x as tf.Tensor;
    for (let i = 0; i < params.steps; i++) {
      throwIfAborted();
      const next = tf.add(x, 1);
      if (x !== inputs.x) x.dispose();
      x = next;
      progress(i + 1, params.steps, { step: i + 1 });
      await new Promise((r) => setTimeout(r, 1));
    }
    return { out: x };
  },
});
const Fails = defineNode({
  type: 'Fails',
  category: 'math',
  doc: 'makes tensors, then throws',
  inputs: { x: tensor() },
  outputs: { out: tensor() },
  params: {},
  run: ({ inputs }) => {
    tf.mul(inputs.x, 2);
    tf.ones([64, 64]);
    throw new Error('kaboom');
  },
});
const Identity = defineNode({
  type: 'Identity',
  category: 'math',
  doc: 'returns its input unchanged',
  inputs: { x: tensor() },
  outputs: { out: tensor() },
  params: {},
  run: ({ inputs }) => ({ out: inputs.x }),
});

let rt: Runtime;
let baseline: number;
beforeAll(async () => {
  rt = await createRuntime({ backend: 'wasm', registry: createRegistry().register(Slow, Fails, Identity) });
});
beforeEach(() => {
  rt.clearCache();
  baseline = tf.memory().numTensors;
});
afterAll(() => rt.dispose());

describe('incremental reruns', () => {
  it('a rerun of an unchanged graph is served entirely from the cache', async () => {
    await rt.run(blend);
    const res = await rt.run(blend);
    expect(Object.values(statuses(res)).every((s) => s === 'cached')).toBe(true);
  });

  it('editing a downstream param reruns only the nodes downstream of it', async () => {
    await rt.run(blend);
    const res = await rt.run(withParam(blend, 'gain', 'factor', 0.9));
    expect(statuses(res)).toEqual({ noiseA: 'cached', noiseB: 'cached', blend: 'cached', gain: 'ran', preview: 'ran', stats: 'ran' });
  });

  it('moving a node, renaming the graph or renaming a node reruns nothing', async () => {
    await rt.run(blend);
    const moved = { ...blend, name: 'renamed', nodes: blend.nodes.map((n) => ({ ...n, position: { x: n.position.x + 50, y: 7 } })) };
    expect(Object.values(statuses(await rt.run(moved))).every((s) => s === 'cached')).toBe(true);
    const rename = (id: string) => (id === 'blend' ? 'mix' : id);
    const renamed = {
      ...blend,
      nodes: blend.nodes.map((n) => ({ ...n, id: rename(n.id) })),
      edges: blend.edges.map((e) => ({ ...e, from: { ...e.from, node: rename(e.from.node) }, to: { ...e.to, node: rename(e.to.node) } })),
    };
    const res = await rt.run(renamed);
    expect(res.nodes.mix.status).toBe('cached');
    expect(Object.values(statuses(res)).every((s) => s === 'cached')).toBe(true);
  });

  it('changing a seed reruns the noise and everything after it, and nothing else', async () => {
    await rt.run(blend);
    const res = await rt.run(withParam(blend, 'noiseA', 'seed', 99));
    expect(statuses(res)).toEqual({ noiseA: 'ran', noiseB: 'cached', blend: 'ran', gain: 'ran', preview: 'ran', stats: 'ran' });
  });

  it('only the nodes the requested outputs need are run', async () => {
    const res = await rt.run(blend, { outputs: ['blend'] });
    expect(Object.keys(res.nodes).sort()).toEqual(['blend', 'noiseA', 'noiseB']);
    expect(Object.keys(res.outputs)).toEqual(['blend']);
  });

  it('seed 0 names one tensor like any other seed', async () => {
    const doc = graph([['n', 'NoiseSource', { shape: [3], seed: 0 }], ['o', 'TensorOutput']], ['n.out -> o.x']);
    const first = await rt.run(doc);
    rt.clearCache();
    const second = await rt.run(doc);
    expect((second.outputs.o.value as TensorData).data).toEqual((first.outputs.o.value as TensorData).data);
  });

  it('a volatile noise source is never served from the cache', async () => {
    const doc = withParam(blend, 'noiseA', 'volatile', true);
    const a = await rt.run(doc, { outputs: ['stats'] });
    const b = await rt.run(doc, { outputs: ['stats'] });
    expect(b.nodes.noiseA.status).toBe('ran');
    expect(b.nodes.noiseB.status).toBe('cached');
    expect(a.outputs.stats.mean).not.toEqual(b.outputs.stats.mean);
  });
});

describe('numbers', () => {
  it('the blend graph computes factor * lerp(a, b, t) of the seeded noise', async () => {
    const res = await rt.run(blend, { outputs: ['stats'] });
    const a = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 1);
    const b = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 2);
    const expected = tf.tidy(() => tf.mul(tf.add(a, tf.mul(tf.sub(b, a), 0.25)), 1.2));
    const got = res.outputs.stats.value as TensorData;
    const want = await expected.data();
    expect(got.shape).toEqual([4, 32, 32, 3]);
    let maxErr = 0;
    for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(want[i] - got.data[i]));
    expect(maxErr).toBeLessThan(1e-6);
    const mean = Array.from(want).reduce((s, v) => s + v, 0) / want.length;
    expect(res.outputs.stats.mean as number).toBeCloseTo(mean, 5);
    tf.dispose([a, b, expected]);
  });
});

describe('memory', () => {
  const cachedTensors = () => rt.cacheStats().entries; // every test kind here outputs one tensor per entry... checked below

  it('after a cold run only the cache holds tensors, and a cached rerun adds none', async () => {
    await rt.run(blend);
    const held = tf.memory().numTensors - baseline;
    // noiseA, noiseB, blend, gain: one tensor each; preview: one; stats: value only (numbers are not tensors)
    expect(held).toBe(6);
    expect(cachedTensors()).toBe(6);
    await rt.run(blend);
    expect(tf.memory().numTensors - baseline).toBe(held);
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('with no cache budget every intermediate is freed after its last consumer', async () => {
    const tiny = await createRuntime({ backend: 'wasm', cacheBytes: 0 });
    const before = tf.memory().numTensors;
    const res = await tiny.run(blend);
    expect(Object.values(statuses(res)).every((s) => s === 'ran')).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(tiny.cacheStats().entries).toBe(0);
    tiny.dispose();
  });

  it('a cancel mid-run leaks nothing and leaves the cache consistent', async () => {
    const doc = graph([['n', 'NoiseSource', { shape: [2, 2] }], ['slow', 'Slow', { steps: 50 }], ['out', 'TensorOutput']], ['n.out -> slow.x', 'slow.out -> out.x']);
    const ctrl = new AbortController();
    const events: RunEvent[] = [];
    const run = rt.run(doc, {
      signal: ctrl.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'node-progress' && e.done === 3) ctrl.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ errors: [expect.objectContaining({ code: 'cancelled', nodeId: 'slow' })] });
    expect(events.filter((e) => e.type === 'node-progress').length).toBe(3);
    expect(rt.cacheStats().entries).toBe(1); // the noise finished before the cancel and stays cached
    expect(tf.memory().numTensors - baseline).toBe(1);
    const res = await rt.run(doc);
    expect(statuses(res)).toEqual({ n: 'cached', slow: 'ran', out: 'ran' });
    expect((res.outputs.out.mean as number)).toBeGreaterThan(49);
  });

  it('a failing node reports its id and message and frees what it made', async () => {
    const doc = graph([['n', 'NoiseSource', { shape: [4, 4] }], ['bad', 'Fails'], ['out', 'TensorOutput']], ['n.out -> bad.x', 'bad.out -> out.x']);
    await expect(rt.run(doc)).rejects.toMatchObject({
      errors: [expect.objectContaining({ code: 'node-failed', nodeId: 'bad', message: expect.stringContaining('kaboom') })],
    });
    expect(tf.memory().numTensors - baseline).toBe(1); // the cached noise only
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('a graph with errors allocates nothing', async () => {
    const before = tf.memory().numTensors;
    await expect(rt.run(graph([['n', 'NoiseSource', { shape: [100000, 100000] }], ['o', 'TensorOutput']], ['n.out -> o.x']))).rejects.toMatchObject({
      errors: [expect.objectContaining({ code: 'bad-param', nodeId: 'n' })],
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a node passing its input through does not free the input twice', async () => {
    const doc = graph([['n', 'NoiseSource', { shape: [3] }], ['id', 'Identity'], ['o', 'TensorOutput']], ['n.out -> id.x', 'id.out -> o.x']);
    const first = await rt.run(doc);
    rt.clearCache();
    const second = await rt.run(doc);
    expect(second.outputs.o.mean).toEqual(first.outputs.o.mean);
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(baseline);
  });
});

describe('the cache budget', () => {
  it('evicts to stay within its byte budget and frees what it evicts', async () => {
    const small = await createRuntime({ backend: 'wasm', cacheBytes: 3 * 4 * 32 * 32 * 3 * 4 }); // room for 3 of the blend's 6 tensors
    const before = tf.memory().numTensors;
    await small.run(blend);
    const stats = small.cacheStats();
    expect(stats.bytes).toBeLessThanOrEqual(stats.budgetBytes);
    expect(stats.evictions).toBeGreaterThan(0);
    expect(tf.memory().numTensors - before).toBe(stats.entries);
    small.clearCache();
    expect(tf.memory().numTensors).toBe(before);
    small.dispose();
  });

  it('a value larger than the whole budget is used and freed, not cached', async () => {
    const small = await createRuntime({ backend: 'wasm', cacheBytes: 1000 });
    const before = tf.memory().numTensors;
    const res = await small.run(blend, { outputs: ['stats'] });
    expect(res.outputs.stats.mean).toBeGreaterThan(0);
    expect(small.cacheStats().entries).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    small.dispose();
  });

  it('stats count hits and misses', async () => {
    await rt.run(blend);
    const s1 = rt.cacheStats();
    await rt.run(blend);
    const s2 = rt.cacheStats();
    expect(s2.hits - s1.hits).toBe(6);
    expect(s2.misses).toBe(s1.misses);
  });
});

describe('events', () => {
  it('report start, progress and finish for each node in order, with timing and bytes', async () => {
    const doc = graph([['n', 'NoiseSource', { shape: [2] }], ['slow', 'Slow', { steps: 3 }], ['out', 'TensorOutput']], ['n.out -> slow.x', 'slow.out -> out.x']);
    const events: RunEvent[] = [];
    await rt.run(doc, { onEvent: (e) => events.push(e) });
    expect(events.map((e) => `${e.type}${'nodeId' in e ? `:${e.nodeId}` : ''}`)).toEqual([
      'run-started',
      'node-started:n',
      'node-finished:n',
      'node-started:slow',
      'node-progress:slow',
      'node-progress:slow',
      'node-progress:slow',
      'node-finished:slow',
      'node-started:out',
      'node-finished:out',
      'run-finished',
    ]);
    const fin = events.find((e) => e.type === 'node-finished' && e.nodeId === 'n');
    expect(fin).toMatchObject({ status: 'ran', bytes: 8 });
  });
});
