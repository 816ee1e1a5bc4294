// The MLP's input preparation, learned from the training rows and stored in the model so a loaded
// model prepares new rows the same way: a missing value (NaN, or +-Infinity) is replaced by the
// feature's median and flagged in a missing-indicator input (only for features that had missing
// values in training); values are centred on the median and scaled by the interquartile range
// (standard deviation when the IQR is 0, 1 when constant), then clipped to +-CLIP, because the
// spending features are heavy-tailed and a few extreme customers would otherwise saturate units.
import type { ColumnMatrix } from '../learner.ts';

export const CLIP = 5;

export interface Preprocessing {
  /** Per feature: the median of its finite training values (0 when it has none). */
  center: number[];
  /** Per feature: the scale the centred value is divided by (> 0). */
  scale: number[];
  /** Features that get a missing-indicator input, in input order after the features. */
  indicators: number[];
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function fitPreprocessing(x: ColumnMatrix): Preprocessing {
  const center: number[] = [];
  const scale: number[] = [];
  const indicators: number[] = [];
  x.columns.forEach((col, j) => {
    const finite: number[] = [];
    for (let i = 0; i < col.length; i++) if (Number.isFinite(col[i])) finite.push(col[i]);
    if (finite.length < col.length) indicators.push(j);
    const sorted = Float64Array.from(finite).sort();
    const median = quantile(sorted, 0.5);
    let s = (quantile(sorted, 0.75) - quantile(sorted, 0.25)) / 1.349;
    if (!(s > 1e-12)) {
      let sum = 0;
      for (const v of sorted) sum += (v - median) ** 2;
      s = sorted.length ? Math.sqrt(sum / sorted.length) : 0;
    }
    center.push(median);
    scale.push(s > 1e-12 ? s : 1);
  });
  return { center, scale, indicators };
}

export function inputWidth(p: Preprocessing): number {
  return p.center.length + p.indicators.length;
}

/** Rows [start, end) of `x` prepared into `out`, row-major (`inputWidth` values per row). */
export function prepareRows(p: Preprocessing, x: ColumnMatrix, start: number, end: number, out: Float32Array): void {
  const width = inputWidth(p);
  const d = p.center.length;
  for (let j = 0; j < d; j++) {
    const col = x.columns[j];
    const c = p.center[j];
    const inv = 1 / p.scale[j];
    for (let i = start, o = j; i < end; i++, o += width) {
      const v = col[i];
      out[o] = Number.isFinite(v) ? Math.max(-CLIP, Math.min(CLIP, (v - c) * inv)) : 0;
    }
  }
  p.indicators.forEach((j, k) => {
    const col = x.columns[j];
    for (let i = start, o = d + k; i < end; i++, o += width) out[o] = Number.isFinite(col[i]) ? 0 : 1;
  });
}
