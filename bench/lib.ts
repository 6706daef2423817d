/**
 * What every bench section shares: the row it reports, timing by median after warm-up, and
 * checks that fail the whole bench (a figure measured on wrong numbers is worthless).
 */
import * as tf from '@tensorflow/tfjs';

export interface Row {
  section: string;
  metric: string;
  value: number | string;
  unit?: string;
  /** What the figure should be (shown beside it; `ok` says whether this run met it). */
  target?: string;
  ok?: boolean;
  note?: string;
}

export interface BenchContext {
  /** The backend every runtime in this bench uses (the fast one in Node). */
  backend: 'wasm';
  /** Repeats measured after warm-up, for each timed thing. */
  repeats: number;
  warmup: number;
}

export interface Section {
  name: string;
  run(ctx: BenchContext): Promise<Row[]>;
}

/** Thrown when a section's numbers are wrong (not merely slow); the bench exits non-zero. */
export class BenchCheckError extends Error {
  override name = 'BenchCheckError';
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export async function timeOnce(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export interface Timings {
  /** Median ms of each function. */
  median: Record<string, number>;
  /** Every timed sample, in run order: samples[name][i] and samples[other][i] ran back to back. */
  samples: Record<string, number[]>;
}

/**
 * Times each function `repeats` times after `warmup` untimed rounds, in alternating order
 * (a, b, b, a, ...) so that drift on a shared machine (GC, another process) lands on both sides
 * alike; sample i of every function comes from the same round, which `pairedRatio` exploits.
 */
export async function timeAll(fns: Record<string, () => unknown>, { repeats, warmup }: { repeats: number; warmup: number }): Promise<Timings> {
  const names = Object.keys(fns);
  for (let i = 0; i < warmup; i++) for (const n of names) await fns[n]();
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < repeats; i++) {
    const order = i % 2 ? [...names].reverse() : names;
    for (const n of order) samples[n].push(await timeOnce(fns[n]));
  }
  return { samples, median: Object.fromEntries(names.map((n) => [n, median(samples[n])])) };
}

/** Median over rounds of a[i] / b[i]: robust to slow phases that hit both sides of a round. */
export function pairedRatio(a: number[], b: number[]): number {
  return median(a.map((x, i) => x / b[i]));
}

/** Largest elementwise |a - b|; throws when the lengths differ. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new BenchCheckError(`lengths differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

export const numTensors = (): number => tf.memory().numTensors;

export const round = (x: number, digits = 2): number => Number(x.toFixed(digits));
