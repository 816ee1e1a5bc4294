// Split finder: the best threshold of every feature from a node's histograms, by the second-order
// gain of XGBoost/LightGBM with L2 regularisation `lambda`:
//   gain = GL^2 / (HL + lambda) + GR^2 / (HR + lambda) - G^2 / (H + lambda)
// Missing values (the NaN bin) are tried on both sides; the better side becomes the default
// direction of the split. Histograms hold packed quantised sums (quantize.ts): the scan keeps
// exact integer sums and converts them to gradient units for the gain.
import { MAX_BINS } from './bins.ts';
import type { NodeHistogram } from './histogram.ts';
import type { Quantised } from './quantize.ts';

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
  /** Quantised (integer) gradient and hessian sums of the left child. */
  leftGrad: number;
  leftHess: number;
}

/** A node's quantised (integer) gradient and hessian sums, and its exact row count. */
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
  q: Pick<Quantised, 'shift' | 'gradUnit' | 'hessUnit'>,
  p: SplitParams,
): Split | undefined {
  const { shift, gradUnit: gu, hessUnit: hu } = q;
  const inv = 1 / shift;
  const lambda = p.lambda;
  const minData = p.minDataInLeaf;
  const minHess = p.minChildWeight;
  const totalG = totals.grad * gu;
  const totalH = totals.hess * hu;
  const parent = score(totalG, totalH, lambda);
  // Rows per unit of hessian: bin row counts are estimated as hessian x this factor.
  const perHess = totalH > 0 ? totals.count / totalH : 0;
  let best: Split | undefined;
  let bestGain = p.minGain;
  for (let k = 0; k < featureIds.length; k++) {
    const f = featureIds[k];
    const base = f * MAX_BINS;
    const nan = nanBins[f];
    const nanPacked = hist[base + nan];
    const nanGq = Math.floor(nanPacked * inv);
    const nanHq = nanPacked - nanGq * shift;
    const nanG = nanGq * gu;
    const nanH = nanHq * hu;
    const nanC = nanH * perHess;
    let glq = 0;
    let hlq = 0;
    // Scan thresholds "bin <= t" left to right; value bins are 0..nan-1. Missing values go right
    // first, then left; a candidate must beat the best so far strictly (first one wins ties).
    for (let t = 0; t < nan - 1; t++) {
      const v = hist[base + t];
      // An empty bin repeats the previous threshold's candidate, which already had its chance.
      if (v === 0 && t > 0) continue;
      const gq = Math.floor(v * inv);
      glq += gq;
      hlq += v - gq * shift;
      const gl = glq * gu;
      const hl = hlq * hu;
      const cl = hl * perHess;
      const rh = totalH - hl;
      const rc = totals.count - cl;
      if (cl >= minData && rc >= minData && hl >= minHess && rh >= minHess) {
        const gain = score(gl, hl, lambda) + score(totalG - gl, rh, lambda) - parent;
        if (gain > bestGain) {
          bestGain = gain;
          best = { feature: f, bin: t, defaultLeft: false, gain, leftGrad: glq, leftHess: hlq };
        }
      }
      if (nanHq === 0) continue;
      const lh = hl + nanH;
      const lc = cl + nanC;
      const rh2 = totalH - lh;
      const rc2 = totals.count - lc;
      if (lc < minData || rc2 < minData || lh < minHess || rh2 < minHess) continue;
      const lg = gl + nanG;
      const gain = score(lg, lh, lambda) + score(totalG - lg, rh2, lambda) - parent;
      if (gain > bestGain) {
        bestGain = gain;
        best = { feature: f, bin: t, defaultLeft: true, gain, leftGrad: glq + nanGq, leftHess: hlq + nanHq };
      }
    }
    // A feature whose only distinction is missing vs present: split present | missing.
    if (nanHq > 0 && nan >= 1) {
      const lg = totalG - nanG;
      const lh = totalH - nanH;
      const lc = totals.count - nanC;
      if (lc >= minData && nanC >= minData && lh >= minHess && nanH >= minHess) {
        const gain = score(lg, lh, lambda) + score(nanG, nanH, lambda) - parent;
        if (gain > bestGain) {
          bestGain = gain;
          best = { feature: f, bin: nan - 1, defaultLeft: false, gain, leftGrad: totals.grad - nanGq, leftHess: totals.hess - nanHq };
        }
      }
    }
  }
  return best;
}
