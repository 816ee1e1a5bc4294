// Quantised gradients (LightGBM 4's quantised training, packed for JavaScript): before a tree is
// grown, each row's gradient and hessian are rounded stochastically (unbiased) to integers and
// packed into one double, packed = g * SHIFT + h with 0 <= h < SHIFT. A histogram bin is then
// one addition per row instead of two, and every sum stays an exact integer below 2^53, so
// sums, the subtraction trick and the unpacking are exact. The scales are set from the actual
// totals: the sum of |g| over the tree's rows (any node's gradient sum is at most that) uses up to
// 2^26, the sum of h likewise, so the resolution per row is about 2^26 / n levels of the mean
// (for log-loss gradients whose mean is a third of the largest: about 180 levels between 0 and
// the largest at 1 M rows, 900 at 200 k).
// Only split finding sees the rounded values: leaf values come from the leaf's exact sums.
import { ModelError } from '../../errors.ts';

/** Bits of the gradient part and of the hessian part: |sum g| < 2^26, sum h < 2^26, total < 2^52. */
const PART_BITS = 26;
/** Resolution beyond which rounding no longer matters (levels per largest value). */
const MAX_LEVELS = 2 ** 20;
/** Rows per tree above which fewer than a few levels would remain. */
export const MAX_QUANTISED_ROWS = 2 ** 24;

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
  const n = rows.length;
  if (n > MAX_QUANTISED_ROWS) {
    throw new ModelError('TRAINING_DATA_INVALID', `${n} rows for one tree: at most ${MAX_QUANTISED_ROWS} are supported (use subsample to draw fewer)`);
  }
  let gMax = 0;
  let hMax = 0;
  let gSum = 0;
  let hSum = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    const g = Math.abs(grad[r]);
    gMax = Math.max(gMax, g);
    hMax = Math.max(hMax, hess[r]);
    gSum += g;
    hSum += hess[r];
  }
  // Rounding up adds at most 1 per row: scale so that scale * sum + n + 1 stays below 2^26.
  const room = 2 ** PART_BITS - n - 1;
  const gScale = gMax > 0 ? Math.min(MAX_LEVELS / gMax, room / (gSum * (1 + 1e-9))) : 0;
  const hScale = hMax > 0 ? Math.min(MAX_LEVELS / hMax, room / (hSum * (1 + 1e-9))) : 0;
  const shift = 2 ** PART_BITS;
  // Stochastic rounding: floor(x + u), u uniform in [0, 1) drawn from a hash of (seed, row), so
  // each round's draws are independent of the last round's (a stream per round seeded with
  // seed, seed + 1, ... would be correlated) and do not depend on the order of the rows.
  const key = mix32(seed ^ 0x2545f491);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    const a = mix32(Math.imul(r, 0x9e3779b9) ^ key);
    const u = (a >>> 0) / 4294967296;
    const v = (mix32(a + 0x6d2b79f5) >>> 0) / 4294967296;
    packed[r] = Math.floor(grad[r] * gScale + u) * shift + Math.floor(hess[r] * hScale + v);
  }
  return { packed, shift, gradUnit: gScale > 0 ? 1 / gScale : 0, hessUnit: hScale > 0 ? 1 / hScale : 0 };
}

/** MurmurHash3's 32-bit finaliser: a well-mixed 32-bit hash of a 32-bit integer. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Gradient part (an integer) of a packed sum. */
export const packedGrad = (v: number, shift: number): number => Math.floor(v / shift);
/** Hessian part (an integer) of a packed sum. */
export const packedHess = (v: number, shift: number): number => v - Math.floor(v / shift) * shift;
