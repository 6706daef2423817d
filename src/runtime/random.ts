/**
 * Seeds for tfjs's generators. tfjs treats a falsy seed as "no seed" (it falls back to
 * Math.random), so seed 0 would silently be nondeterministic. Weft seeds are integers >= 0; 0 is
 * mapped to a non-integer that no other Weft seed can produce.
 */
export const tfSeed = (seed: number): number => (seed === 0 ? 0.5 : seed);

/** The seed a stochastic node uses at training step `step` (step 0 is the plain seed). */
export function stepSeed(seed: number, step: number): number {
  if (!step) return seed;
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(step, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) >>> 1) || 1;
}
