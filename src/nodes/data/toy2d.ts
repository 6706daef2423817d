/**
 * The 2-D toy sets of generative-model papers and demos, as fixed pools of points:
 *
 *   moons       two interleaving half circles, as scikit-learn's make_moons:
 *               label 0: (cos θ, sin θ), label 1: (1 − cos θ, ½ − sin θ), θ ~ U[0, π]
 *   rings       two concentric circles, as make_circles(factor=0.5):
 *               label 0: radius 1, label 1: radius ½, angle ~ U[0, 2π)
 *   gaussians8  eight Gaussians with centres 2·(cos 2πk/8, sin 2πk/8) on a circle of radius 2,
 *               label k (the WGAN-GP toy set, Gulrajani et al. 2017, whose std is 0.02·scale)
 *
 * Every point then gets isotropic Gaussian noise of std `noise` (for gaussians8 that is each
 * Gaussian's std). Point i of a pool depends only on (set, split, i) and moves linearly with
 * `noise`: the same clean point and the same unit perturbation for every noise level. Classes
 * alternate (label = i mod classes), so every pool is balanced.
 */
import { hashInts, hashString, mulberry32, normal } from './prng.ts';

export type ToyName = 'moons' | 'rings' | 'gaussians8';
export type Split = 'train' | 'test';

/** Pool sizes: enough points that a model cannot memorise them, few enough to make in ~1 ms. */
export const TOY_SIZES: Record<Split, number> = { train: 10_000, test: 2_000 };
export const TOY_CLASSES: Record<ToyName, number> = { moons: 2, rings: 2, gaussians8: 8 };
export const GAUSSIANS8_RADIUS = 2;

export interface ToyPool {
  count: number;
  /** [count, 2], x then y. */
  points: Float32Array;
  labels: Int32Array;
}

/** The clean point for a class and a uniform draw t ∈ [0, 1). */
function clean(name: ToyName, label: number, t: number): [number, number] {
  switch (name) {
    case 'moons': {
      const th = Math.PI * t;
      return label === 0 ? [Math.cos(th), Math.sin(th)] : [1 - Math.cos(th), 0.5 - Math.sin(th)];
    }
    case 'rings': {
      const th = 2 * Math.PI * t;
      const r = label === 0 ? 1 : 0.5;
      return [r * Math.cos(th), r * Math.sin(th)];
    }
    case 'gaussians8': {
      const th = (2 * Math.PI * label) / 8;
      return [GAUSSIANS8_RADIUS * Math.cos(th), GAUSSIANS8_RADIUS * Math.sin(th)];
    }
  }
}

const pools = new Map<string, ToyPool>();

/** The fixed pool of a set's split at a noise level (memoised, a few kept). */
export function toyPool(name: ToyName, split: Split, noise: number): ToyPool {
  const key = `${name}/${split}/${noise}`;
  const hit = pools.get(key);
  if (hit) return hit;
  const count = TOY_SIZES[split];
  const classes = TOY_CLASSES[name];
  const rand = mulberry32(hashInts(hashString(name), split === 'train' ? 1 : 2));
  const points = new Float32Array(count * 2);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % classes;
    const [x, y] = clean(name, label, rand());
    points[2 * i] = x + noise * normal(rand);
    points[2 * i + 1] = y + noise * normal(rand);
    labels[i] = label;
  }
  const pool = { count, points, labels };
  if (pools.size >= 6) pools.delete(pools.keys().next().value!);
  pools.set(key, pool);
  return pool;
}

/** Prompts for conditional models: "moon 0", "ring 1" (inner), "gaussian 5". */
export function toyText(name: ToyName, label: number): string {
  return `${name === 'moons' ? 'moon' : name === 'rings' ? 'ring' : 'gaussian'} ${label}`;
}
