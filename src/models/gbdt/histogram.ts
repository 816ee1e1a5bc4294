// Gradient histograms: for one feature and one set of rows, the sums of gradients and hessians
// per bin. The hot loop of training (DESIGN.md: one Uint8Array of bins per feature, separate
// Float64Array gradients and hessians, gathered through a row-index array).
import { MAX_BINS } from './bins.ts';

/**
 * Histograms of every feature of one node: [feature * MAX_BINS + bin]. Row counts per bin are not
 * kept (incrementing them costs as much as the sums, measured): as in LightGBM, the split finder
 * estimates them from the hessians and the node's exact row count.
 */
export interface NodeHistogram {
  grad: Float64Array;
  hess: Float64Array;
}

export function newHistogram(features: number): NodeHistogram {
  const size = features * MAX_BINS;
  return { grad: new Float64Array(size), hess: new Float64Array(size) };
}

/** Scratch buffers of the gradients and hessians gathered in row order (LightGBM's ordered gradients). */
export interface OrderedGradients {
  grad: Float64Array;
  hess: Float64Array;
}

/** Fills `out` for the rows rows[begin..end) over the features listed in `featureIds`. */
export function buildHistogram(
  bins: Uint8Array[],
  featureIds: Int32Array,
  rows: Uint32Array,
  begin: number,
  end: number,
  grad: Float64Array,
  hess: Float64Array,
  out: NodeHistogram,
  ordered: OrderedGradients,
): void {
  const g = out.grad;
  const h = out.hess;
  const og = ordered.grad;
  const oh = ordered.hess;
  const n = end - begin;
  // Gather the node's gradients once, so the per-feature loops read them contiguously.
  for (let i = 0; i < n; i++) {
    const r = rows[begin + i];
    og[i] = grad[r];
    oh[i] = hess[r];
  }
  for (let k = 0; k < featureIds.length; k++) {
    const f = featureIds[k];
    const codes = bins[f];
    const base = f * MAX_BINS;
    g.fill(0, base, base + MAX_BINS);
    h.fill(0, base, base + MAX_BINS);
    // Add each row's gradient and hessian to its bin.
    for (let i = 0; i < n; i++) {
      const b = base + codes[rows[begin + i]];
      g[b] += og[i];
      h[b] += oh[i];
    }
  }
}

/** larger = parent - smaller, for the features listed (the subtraction trick). */
export function subtractHistogram(parent: NodeHistogram, smaller: NodeHistogram, featureIds: Int32Array, out: NodeHistogram): void {
  for (let k = 0; k < featureIds.length; k++) {
    const base = featureIds[k] * MAX_BINS;
    for (let b = base; b < base + MAX_BINS; b++) {
      out.grad[b] = parent.grad[b] - smaller.grad[b];
      out.hess[b] = parent.hess[b] - smaller.hess[b];
    }
  }
}
