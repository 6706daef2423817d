/**
 * Graphs the bench runs, each with the same computation written by hand in tfjs.
 *
 * The chain: two seeded noise tensors a, b (or two constants), then `stages` rounds of
 *   s = f_i · x;   y = s + b;   x = y + t_i · (x − y)     (Scale, Add, Lerp(a = y, b = x))
 * and a final Scale ("last") that the cached-rerun section edits.
 */
import * as tf from '@tensorflow/tfjs';
import { GRAPH_FORMAT, type GraphDoc, type GraphEdge, type GraphNode } from '../src/index.ts';

export interface ChainOptions {
  shape: number[];
  stages: number;
  lastFactor?: number;
  /** 'noise' (default): seeded NoiseSource a, b. 'constant': Constant a = 0.3, b = -0.2, so the math dominates. */
  sources?: 'noise' | 'constant';
}

const factor = (i: number) => 0.9 + 0.05 * (i % 5);
const mix = (i: number) => 0.2 + 0.1 * (i % 6);

export function chainGraph({ shape, stages, lastFactor = 0.5, sources = 'noise' }: ChainOptions): GraphDoc {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const node = (id: string, type: string, params: Record<string, unknown>) =>
    nodes.push({ id, type, params, position: { x: nodes.length * 200, y: 0 } });
  const edge = (from: string, to: string, port: string) =>
    edges.push({ id: `e${edges.length}`, from: { node: from, port: 'out' }, to: { node: to, port } });

  if (sources === 'noise') {
    node('a', 'NoiseSource', { shape, seed: 1 });
    node('b', 'NoiseSource', { shape, seed: 2 });
  } else {
    node('a', 'Constant', { shape, value: 0.3 });
    node('b', 'Constant', { shape, value: -0.2 });
  }
  let x = 'a';
  for (let i = 0; i < stages; i++) {
    node(`s${i}`, 'Scale', { factor: factor(i) });
    edge(x, `s${i}`, 'x');
    node(`y${i}`, 'Add', {});
    edge(`s${i}`, `y${i}`, 'a');
    edge('b', `y${i}`, 'b');
    node(`x${i}`, 'Lerp', { t: mix(i) });
    edge(`y${i}`, `x${i}`, 'a');
    edge(x, `x${i}`, 'b');
    x = `x${i}`;
  }
  node('last', 'Scale', { factor: lastFactor });
  edge(x, 'last', 'x');
  return { format: GRAPH_FORMAT, version: 1, name: 'bench chain', nodes, edges, meta: {} };
}

/** The chain by hand: the same tfjs calls the node kinds make, each tensor disposed after its last use. */
export async function chainByHand({ shape, stages, lastFactor = 0.5, sources = 'noise' }: ChainOptions): Promise<Float32Array> {
  const a = sources === 'noise' ? tf.randomNormal(shape, 0, 1, 'float32', 1) : tf.fill(shape, 0.3);
  const b = sources === 'noise' ? tf.randomNormal(shape, 0, 1, 'float32', 2) : tf.fill(shape, -0.2);
  let x = a;
  for (let i = 0; i < stages; i++) {
    const s = tf.mul(x, factor(i));
    const y = tf.add(s, b);
    s.dispose();
    const diff = tf.sub(x, y);
    const step = tf.mul(diff, mix(i));
    diff.dispose();
    const next = tf.add(y, step);
    step.dispose();
    y.dispose();
    x.dispose();
    x = next;
  }
  b.dispose();
  const last = tf.mul(x, lastFactor);
  x.dispose();
  const data = (await last.data()) as Float32Array;
  last.dispose();
  return data;
}

/**
 * A 1,000-node document for compile timing: one small noise source, then a chain in which every
 * third node also reaches back a few nodes (Add/Lerp), so the graph is a DAG with fan-out, not a
 * list. All shapes agree, so it compiles to a plan.
 */
export function wideGraph(count: number): GraphDoc {
  const nodes: GraphNode[] = [{ id: 'n0', type: 'NoiseSource', params: { shape: [1, 8, 8, 4], seed: 0 }, position: { x: 0, y: 0 } }];
  const edges: GraphEdge[] = [];
  const link = (from: number, to: number, port: string) =>
    edges.push({ id: `e${edges.length}`, from: { node: `n${from}`, port: 'out' }, to: { node: `n${to}`, port } });
  for (let i = 1; i < count; i++) {
    const back = Math.max(0, i - 1 - (i % 7));
    const position = { x: (i % 40) * 220, y: Math.floor(i / 40) * 160 };
    if (i % 3 === 0) {
      nodes.push({ id: `n${i}`, type: 'Add', params: {}, position });
      link(i - 1, i, 'a');
      link(back, i, 'b');
    } else if (i % 3 === 1) {
      nodes.push({ id: `n${i}`, type: 'Scale', params: { factor: 1 + (i % 10) / 100 }, position });
      link(i - 1, i, 'x');
    } else {
      nodes.push({ id: `n${i}`, type: 'Lerp', params: { t: (i % 10) / 10 }, position });
      link(i - 1, i, 'a');
      link(back, i, 'b');
    }
  }
  return { format: GRAPH_FORMAT, version: 1, name: `${count} math nodes`, nodes, edges, meta: {} };
}

/** One source feeding `count - 1` Scale nodes directly: the widest graph (every node ready at once). */
export function fanOutGraph(count: number): GraphDoc {
  const doc = wideGraph(1);
  for (let i = 1; i < count; i++) {
    doc.nodes.push({ id: `n${i}`, type: 'Scale', params: { factor: 1 + (i % 10) / 100 }, position: { x: (i % 40) * 220, y: Math.floor(i / 40) * 160 } });
    doc.edges.push({ id: `e${i}`, from: { node: 'n0', port: 'out' }, to: { node: `n${i}`, port: 'x' } });
  }
  return { ...doc, name: `${count} nodes fed by one source` };
}
