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
  for (let k = 0; k < featureIds.length; k++) {
    const f = featureIds[k];
    const base = f * MAX_BINS;
    const nan = nanBins[f];
    const nanG = hist.grad[base + nan];
    const nanH = hist.hess[base + nan];
    const nanC = nanH * perHess;
    let gl = 0;
    let hl = 0;
    let cl = 0;
    // Scan thresholds "bin <= t" left to right; value bins are 0..nan-1.
    for (let t = 0; t < nan - 1; t++) {
      gl += hist.grad[base + t];
      hl += hist.hess[base + t];
      cl += hist.hess[base + t] * perHess;
      for (let side = 0; side < 2; side++) {
        // side 0: missing values go right; side 1: they go left.
        if (side === 1 && nanH === 0) break;
        const lg = side ? gl + nanG : gl;
        const lh = side ? hl + nanH : hl;
        const lc = side ? cl + nanC : cl;
        const rg = totals.grad - lg;
        const rh = totals.hess - lh;
        const rc = totals.count - lc;
        if (lc < p.minDataInLeaf || rc < p.minDataInLeaf || lh < p.minChildWeight || rh < p.minChildWeight) continue;
        const gain = score(lg, lh, p.lambda) + score(rg, rh, p.lambda) - parent;
        if (gain > p.minGain && (!best || gain > best.gain)) {
          best = { feature: f, bin: t, defaultLeft: side === 1, gain, leftGrad: lg, leftHess: lh, leftCount: lc };
        }
      }
    }
    // A feature whose only distinction is missing vs present: split present | missing.
    if (nanH > 0 && nan >= 1) {
      const lg = totals.grad - nanG;
      const lh = totals.hess - nanH;
      const lc = totals.count - nanC;
      if (lc >= p.minDataInLeaf && nanC >= p.minDataInLeaf && lh >= p.minChildWeight && nanH >= p.minChildWeight) {
        const gain = score(lg, lh, p.lambda) + score(nanG, nanH, p.lambda) - parent;
        if (gain > p.minGain && (!best || gain > best.gain)) {
          best = { feature: f, bin: nan - 1, defaultLeft: false, gain, leftGrad: lg, leftHess: lh, leftCount: lc };
        }
      }
    }
  }
  return best;
}
