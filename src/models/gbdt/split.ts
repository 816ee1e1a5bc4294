// Split finder: the best threshold of every feature from a node's histograms, by the second-order
// gain of XGBoost/LightGBM with L2 regularisation `lambda`:
//   gain = GL^2 / (HL + lambda) + GR^2 / (HR + lambda) - G^2 / (H + lambda)
// Missing values (the NaN bin) are tried on both sides; the better side becomes the default
// direction of the split.
import { MAX_BINS } from './bins.ts';
import type { NodeHistogram } from './histogram.ts';

export interface SplitParams {
  lambda: number;
  minChildWeight: number;
  minDataInLeaf: number;
  minGain: number;
}

export interface Split {
  feature: number;
  /** Rows with bin <= bin go left (missing values follow defaultLeft). */
  bin: number;
  defaultLeft: boolean;
  gain: number;
  leftGrad: number;
  leftHess: number;
  /** Estimated from the hessians (see histogram.ts). */
  leftCount: number;
}

export interface NodeTotals {
  grad: number;
  hess: number;
  count: number;
}

const score = (g: number, h: number, lambda: number) => (g * g) / (h + lambda);

/** Best split over `featureIds`, or undefined when no split passes the constraints. */
export function findBestSplit(
  hist: NodeHistogram,
  featureIds: Int32Array,
  nanBins: Int32Array,
  totals: NodeTotals,
  p: SplitParams,
): Split | undefined {
  const parent = score(totals.grad, totals.hess, p.lambda);
  // Rows per unit of hessian: bin row counts are estimated as hessian x this factor.
  const perHess = totals.hess > 0 ? totals.count / totals.hess : 0;
  let best: Split | undefined;
  let bestGain = p.minGain;
  const lambda = p.lambda;
  for (let k = 0; k < featureIds.length; k++) {
    const f = featureIds[k];
    const base = 2 * f * MAX_BINS;
    const nan = nanBins[f];
    const nanG = hist[base + 2 * nan];
    const nanH = hist[base + 2 * nan + 1];
    const nanC = nanH * perHess;
    let gl = 0;
    let hl = 0;
    let cl = 0;
    // Scan thresholds "bin <= t" left to right; value bins are 0..nan-1. Missing values go right
    // first, then left; a candidate must beat the best so far strictly (first one wins ties).
    for (let t = 0; t < nan - 1; t++) {
      const bg = hist[base + 2 * t];
      const bh = hist[base + 2 * t + 1];
      gl += bg;
      hl += bh;
      cl += bh * perHess;
      const rg = totals.grad - gl;
      const rh = totals.hess - hl;
      const rc = totals.count - cl;
      if (!(cl < p.minDataInLeaf || rc < p.minDataInLeaf || hl < p.minChildWeight || rh < p.minChildWeight)) {
        const gain = score(gl, hl, lambda) + score(rg, rh, lambda) - parent;
        if (gain > bestGain) {
          bestGain = gain;
          best = { feature: f, bin: t, defaultLeft: false, gain, leftGrad: gl, leftHess: hl, leftCount: cl };
        }
      }
      if (nanH === 0) continue;
      const lg = gl + nanG;
      const lh = hl + nanH;
      const lc = cl + nanC;
      const rg2 = totals.grad - lg;
      const rh2 = totals.hess - lh;
      const rc2 = totals.count - lc;
      if (lc < p.minDataInLeaf || rc2 < p.minDataInLeaf || lh < p.minChildWeight || rh2 < p.minChildWeight) continue;
      const gain = score(lg, lh, lambda) + score(rg2, rh2, lambda) - parent;
      if (gain > bestGain) {
        bestGain = gain;
        best = { feature: f, bin: t, defaultLeft: true, gain, leftGrad: lg, leftHess: lh, leftCount: lc };
      }
    }
    // A feature whose only distinction is missing vs present: split present | missing.
    if (nanH > 0 && nan >= 1) {
      const lg = totals.grad - nanG;
      const lh = totals.hess - nanH;
      const lc = totals.count - nanC;
      if (lc >= p.minDataInLeaf && nanC >= p.minDataInLeaf && lh >= p.minChildWeight && nanH >= p.minChildWeight) {
        const gain = score(lg, lh, lambda) + score(nanG, nanH, lambda) - parent;
        if (gain > bestGain) {
          bestGain = gain;
          best = { feature: f, bin: nan - 1, defaultLeft: false, gain, leftGrad: lg, leftHess: lh, leftCount: lc };
        }
      }
    }
  }
  return best;
}
