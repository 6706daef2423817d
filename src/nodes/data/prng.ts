/**
 * Small seeded generators for data: plain JavaScript integer math, so a seed gives the same
 * numbers in Node and in every browser, whatever tfjs backend is active.
 *
 *   mulberry32   a 32-bit generator (Tommy Ettinger's, public domain): uniform in [0, 1)
 *   hashInts     combines integers (seed, epoch, split, …) into one well-mixed 32-bit seed,
 *                with MurmurHash3's 32-bit finaliser, so seed s at epoch e never collides with
 *                seed s+1 at epoch e−1 as a plain sum would
 *   permutation  Fisher–Yates (Durstenfeld) shuffle of 0..n−1
 *   normal       Box–Muller: √(−2 ln u₁) · cos(2π u₂), u₁ ∈ (0, 1]
 */

export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One 32-bit seed from integers (each taken mod 2^32; larger ones also fold in their high part). */
export function hashInts(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    const hi = Math.floor(x / 4294967296);
    h = fmix32(Math.imul(h ^ (x >>> 0), 0xcc9e2d51) + hi);
  }
  return h;
}

export const hashString = (s: string): number => hashInts(...Array.from(s, (c) => c.charCodeAt(0)));

/** A uniformly random permutation of 0..n−1. */
export function permutation(n: number, seed: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** A standard normal draw (Box–Muller, one of the pair). */
export function normal(rand: Rng): number {
  const u1 = 1 - rand();
  const u2 = rand();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
