/**
 * Test helpers for flows: build layers by calling the kinds' run() directly (the same path a graph
 * takes, minus the cache), and a float64 log|det| of a finite-difference Jacobian.
 */
import * as tf from '@tensorflow/tfjs';
import type { GraphDoc } from '../../graph/index.ts';
import type { AnyNodeKind, ParamSpec, RunContext } from '../../runtime/index.ts';
import { graph } from '../../runtime/testing.ts';
import { flowForward, type FlowHandle } from './handle.ts';
import { logAbsDet, type Matrix } from './linalg.ts';

/** One layer node's output flow: `kind` run with its defaults overridden by `params`. */
export async function layer(kind: AnyNodeKind, params: Record<string, unknown> = {}, inputs: Record<string, unknown> = {}): Promise<FlowHandle> {
  const defaults = Object.fromEntries(Object.entries(kind.params as Record<string, ParamSpec>).map(([k, spec]) => [k, spec.default]));
  // cast: RunContext grows fields (a training step) that layer kinds do not read
  const ctx = {
    nodeId: kind.type,
    params: { ...defaults, ...params },
    inputs,
    signal: new AbortController().signal,
    backend: tf.getBackend(),
    progress: () => {},
    throwIfAborted: () => {},
    readFile: () => Promise.reject(new Error('no files in this test')),
    step: 0,
  } as unknown as RunContext<Record<string, unknown>>;
  const out = await kind.run(ctx);
  return out.flow as FlowHandle;
}

/** A chain: each [kind, params] appended to the last; intermediate handles are let go (the last one holds every layer). */
export async function chain(specs: [AnyNodeKind, Record<string, unknown>][], first?: Record<string, unknown>): Promise<FlowHandle> {
  let flow: FlowHandle | undefined;
  for (const [i, [kind, params]] of specs.entries()) {
    const next = await layer(kind, params, { ...(i === 0 ? first : {}), ...(flow ? { flow } : {}) });
    flow?.dispose();
    flow = next;
  }
  return flow!;
}

/**
 * log|det ∂f(x)/∂x| for each sample of x [N, ...], from central differences with step h:
 * every perturbation x ± h·e_k of every sample goes through the flow as one batch (samples are
 * independent), then each sample's M×M Jacobian (M = elements per sample) is factored in float64.
 */
export async function finiteDifferenceLogdet(flow: FlowHandle, x: tf.Tensor, h: number): Promise<number[]> {
  const [n, ...rest] = x.shape;
  const m = rest.reduce((a, b) => a * b, 1);
  const flat = x.reshape([n, m]);
  const base = (await flat.array()) as number[][];
  flat.dispose();
  const batch: number[][] = [];
  for (const row of base) {
    for (let k = 0; k < m; k++) {
      for (const sign of [1, -1]) batch.push(row.map((v, i) => (i === k ? v + sign * h : v)));
    }
  }
  const zFlat = tf.tidy(() => flowForward(flow, tf.tensor2d(batch).reshape([batch.length, ...rest])).z.reshape([batch.length, m]));
  const z = (await zFlat.array()) as number[][];
  zFlat.dispose();
  return base.map((_, s) => {
    // column k of sample s's Jacobian: (f(x + h e_k) − f(x − h e_k)) / 2h
    const jac: Matrix = Array.from({ length: m }, () => new Array<number>(m).fill(0));
    for (let k = 0; k < m; k++) {
      const plus = z[(s * m + k) * 2];
      const minus = z[(s * m + k) * 2 + 1];
      // the step as float32 actually stored it (x ± h is rounded on the way in)
      const step = Math.fround(base[s][k] + h) - Math.fround(base[s][k] - h);
      for (let i = 0; i < m; i++) jac[i][k] = (plus[i] - minus[i]) / step;
    }
    return logAbsDet(jac);
  });
}

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return a.length === b.length ? d : Infinity;
};

/** A RealNVP/Glow flow (ActNorm, coupling, 1x1, coupling) trained by FlowNLL on moons batches. */
export function moonsFlowGraph(): GraphDoc {
  return graph(
    [
      ['act', 'ActNorm', { channels: 2 }],
      ['c1', 'AffineCoupling', { parity: 0, hidden: 32, seed: 1 }],
      ['mix', 'Invertible1x1Conv', { seed: 2 }],
      ['c2', 'AffineCoupling', { parity: 1, hidden: 32, seed: 3 }],
      ['data', 'Dataset', { name: 'moons', batchSize: 256, seed: 1 }],
      ['fwd', 'FlowForward'],
      ['nll', 'FlowNLL'],
      ['opt', 'Optimizer', { learningRate: 0.01 }],
      ['trainer', 'Trainer'],
    ],
    ['act.flow -> c1.flow', 'c1.flow -> mix.flow', 'mix.flow -> c2.flow', 'c2.flow -> fwd.flow', 'data.batch -> fwd.x', 'fwd.z -> nll.z', 'fwd.logdet -> nll.logdet', 'nll.loss -> opt.loss', 'c2.flow -> opt.models', 'opt.optimizer -> trainer.optimizers'],
  );
}
