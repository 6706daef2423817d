/**
 * Seeds for tfjs's generators. tfjs treats a falsy seed as "no seed" (it falls back to
 * Math.random), so seed 0 would silently be nondeterministic. Weft seeds are integers >= 0; 0 is
 * mapped to a non-integer that no other Weft seed can produce.
 */
export const tfSeed = (seed: number): number => (seed === 0 ? 0.5 : seed);
