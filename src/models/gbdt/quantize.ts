// Quantised gradients (LightGBM 4's quantised training, packed for JavaScript): before a tree is
// grown, each row's gradient and hessian are rounded stochastically (unbiased) to integers and
// packed into one double, packed = g * SHIFT + h with 0 <= h < SHIFT. A histogram bin is then
// one addition per row instead of two, and every sum stays an exact integer below 2^53, so
// sums, the subtraction trick and the unpacking are exact. The bits are shared out from the
// number of rows: with n rows, sums need log2(n) bits each, the rest is resolution (at 1 M rows,
// 2^7 gradient and 2^6 hessian levels; at 20 k rows, 2^12 and 2^11). Only split finding sees the
// rounded values: leaf values are computed from the exact gradient sums of the leaf's rows.
import { ModelError } from '../../errors.ts';

/** With n < 2^sumBits rows, packed sums stay below 2^(2 sumBits + gBits + hBits + 2) <= 2^53. */
const BITS = 51;
/** Rows per tree above which fewer than 2 bits of resolution would remain. */
export const MAX_QUANTISED_ROWS = 2 ** 24 - 1;
/** Resolution beyond which rounding no longer changes a split (and small data stays exact-ish). */
const MAX_LEVEL_BITS = 20;

export interface Quantised {
  /** Packed g * shift + h per row (rows not in the tree are left as they were). */
  packed: Float64Array;
  /** Power of two separating the gradient and hessian parts. */
  shift: number;
  /** Real value of one gradient / hessian unit. */
  gradUnit: number;
  hessUnit: number;
}

/** Quantises the gradients and hessians of `rows` into `packed`; `seed` drives the rounding. */
export function quantiseGradients(grad: Float64Array, hess: Float64Array, rows: Uint32Array, packed: Float64Array, seed: number): Quantised {
  let gMax = 0;
  let hMax = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    gMax = Math.max(gMax, Math.abs(grad[r]));
    hMax = Math.max(hMax, hess[r]);
  }
  // Sums over up to n rows of values up to 2^bits need bits + sumBits bits.
  if (rows.length > MAX_QUANTISED_ROWS) {
    throw new ModelError('TRAINING_DATA_INVALID', `${rows.length} rows for one tree: at most ${MAX_QUANTISED_ROWS} are supported (use subsample to draw fewer)`);
  }
  const sumBits = Math.ceil(Math.log2(rows.length + 1));
  const free = BITS - 2 * sumBits;
  const hBits = Math.min(MAX_LEVEL_BITS, Math.floor(free / 2));
  const gBits = Math.min(MAX_LEVEL_BITS, free - Math.floor(free / 2));
  const shift = 2 ** (sumBits + hBits + 1);
  const gScale = gMax > 0 ? 2 ** gBits / gMax : 0;
  const hScale = hMax > 0 ? 2 ** hBits / hMax : 0;
  let s = (seed ^ 0x2545f491) >>> 0 || 1;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    // Stochastic rounding: floor(x + u), u uniform in [0, 1) from xorshift32.
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const u = (s >>> 0) / 4294967296;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const v = (s >>> 0) / 4294967296;
    packed[r] = Math.floor(grad[r] * gScale + u) * shift + Math.floor(hess[r] * hScale + v);
  }
  return { packed, shift, gradUnit: gMax > 0 ? gMax / 2 ** gBits : 0, hessUnit: hMax > 0 ? hMax / 2 ** hBits : 0 };
}

/** Gradient part (an integer) of a packed sum. */
export const packedGrad = (v: number, shift: number): number => Math.floor(v / shift);
/** Hessian part (an integer) of a packed sum. */
export const packedHess = (v: number, shift: number): number => v - Math.floor(v / shift) * shift;
