/**
 * Small dense linear algebra in float64 JS, for what tfjs 4.22 cannot do: it has no LU, no solve
 * and no triangular solve. Matrices are row-major number[][]; sizes are a flow's channel count
 * (2 to a few hundred), so O(C³) loops in JS cost nothing next to the tensors they act on.
 *
 *   seeded rotation   Q from the QR (Gram–Schmidt) of a seeded N(0, 1) matrix (Glow's w_init)
 *   lu(A)             P·A = L·U with partial pivoting (L unit lower, U upper)
 *   invLower/invUpper triangular inverses by substitution
 *   logAbsDet(A)      Σ log|u_ii| of A's LU, for tests against a finite-difference Jacobian
 */

export type Matrix = number[][];

/** mulberry32: a tiny 32-bit generator; seeds the rotation identically on every backend. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A C×C matrix of N(0, 1) draws (Box–Muller), the same for the same seed everywhere. */
export function seededNormal(c: number, seed: number): Matrix {
  const u = mulberry32(seed);
  const draw = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return Array.from({ length: c }, () => Array.from({ length: c }, draw));
}

/** The orthogonal factor of A's QR by modified Gram–Schmidt on the columns. */
export function orthogonalize(a: Matrix): Matrix {
  const c = a.length;
  const cols = Array.from({ length: c }, (_, j) => a.map((row) => row[j]));
  for (let j = 0; j < c; j++) {
    for (let k = 0; k < j; k++) {
      const dot = cols[j].reduce((s, v, i) => s + v * cols[k][i], 0);
      for (let i = 0; i < c; i++) cols[j][i] -= dot * cols[k][i];
    }
    const norm = Math.hypot(...cols[j]);
    for (let i = 0; i < c; i++) cols[j][i] /= norm;
  }
  return Array.from({ length: c }, (_, i) => cols.map((col) => col[i]));
}

/** P·A = L·U. Returns perm (row i of P·A is row perm[i] of A), L (unit lower) and U (upper). */
export function lu(a: Matrix): { perm: number[]; lower: Matrix; upper: Matrix } {
  const c = a.length;
  const u = a.map((row) => [...row]);
  const l: Matrix = Array.from({ length: c }, (_, i) => Array.from({ length: c }, (_, j) => (i === j ? 1 : 0)));
  const perm = Array.from({ length: c }, (_, i) => i);
  for (let k = 0; k < c; k++) {
    // 1. pivot: the largest |entry| in column k keeps the factors well conditioned
    let p = k;
    for (let i = k + 1; i < c; i++) if (Math.abs(u[i][k]) > Math.abs(u[p][k])) p = i;
    if (p !== k) {
      [u[k], u[p]] = [u[p], u[k]];
      [perm[k], perm[p]] = [perm[p], perm[k]];
      for (let j = 0; j < k; j++) [l[k][j], l[p][j]] = [l[p][j], l[k][j]];
    }
    // 2. eliminate below the pivot
    for (let i = k + 1; i < c; i++) {
      const f = u[k][k] === 0 ? 0 : u[i][k] / u[k][k];
      l[i][k] = f;
      for (let j = k; j < c; j++) u[i][j] -= f * u[k][j];
    }
  }
  return { perm, lower: l, upper: u };
}

/** L⁻¹ for lower-triangular L, column by column by forward substitution. */
export function invLower(l: Matrix): Matrix {
  const c = l.length;
  const inv: Matrix = Array.from({ length: c }, () => new Array<number>(c).fill(0));
  for (let j = 0; j < c; j++) {
    for (let i = j; i < c; i++) {
      let s = i === j ? 1 : 0;
      for (let k = j; k < i; k++) s -= l[i][k] * inv[k][j];
      inv[i][j] = s / l[i][i];
    }
  }
  return inv;
}

/** U⁻¹ for upper-triangular U: (U⁻¹)ᵀ = (Uᵀ)⁻¹, and Uᵀ is lower. */
export const invUpper = (u: Matrix): Matrix => transpose(invLower(transpose(u)));

export const transpose = (a: Matrix): Matrix => a[0].map((_, j) => a.map((row) => row[j]));

export function matmul(a: Matrix, b: Matrix): Matrix {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
}

/** log|det A| from A's LU: the pivots' logs (a permutation only flips the sign). */
export function logAbsDet(a: Matrix): number {
  const { upper } = lu(a);
  return upper.reduce((s, row, i) => s + Math.log(Math.abs(row[i])), 0);
}
