/**
 * Helpers for comparing kernels across backends: the same pseudo-random inputs everywhere (drawn
 * in JS, so no backend's generator is involved), results read back asynchronously (WebGPU in Node
 * cannot read synchronously), and the largest difference relative to the reference's scale.
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';

/** Debian's chromium ships SwiftShader; where it does, WebGPU in Node works (ENVIRONMENT.md). */
export const HAS_SWIFTSHADER = existsSync('/usr/lib/chromium/vk_swiftshader_icd.json');

/** Uniform values in [−scale, scale) from a seed (mulberry32), identical on every machine. */
export function seeded(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

export const randomTensor = (shape: number[], seed: number, scale = 1): tf.Tensor =>
  tf.tensor(seeded(shape.reduce((a, b) => a * b, 1), seed, scale), shape);

/** max |a − b| / max |b|: the difference on the reference's scale (1 when b is all zeros). */
export function relativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / (scale || 1);
}

/** Each tensor's values, read back and then freed. */
export async function readAll(ts: tf.Tensor[]): Promise<Float32Array[]> {
  const out = await Promise.all(ts.map(async (t) => Float32Array.from(await t.data())));
  tf.dispose(ts);
  return out;
}
