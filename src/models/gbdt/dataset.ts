// The binned training set shared by the boosted and forest learners: bin edges fitted on the
// training rows, and the bin codes of every row, row-major (histogram.ts) and per column.
import type { ColumnMatrix } from '../learner.ts';
import { binColumn, fitBins, type FeatureBins } from './bins.ts';
import { codeOffset, newRowBins, type RowBins } from './histogram.ts';

export interface BinnedData {
  rows: number;
  featureBins: FeatureBins[];
  /** Row-major codes (histograms) and one column of codes per feature (partitioning rows). */
  bins: RowBins;
  columns: Uint8Array[];
}

export function binMatrix(x: ColumnMatrix, maxBins: number): BinnedData {
  const featureBins = x.columns.map((c) => fitBins(c, maxBins));
  const nf = x.columns.length;
  const bins = newRowBins(x.rows, nf);
  const { codes, stride } = bins;
  const columns = x.columns.map((c, j) => {
    const col = binColumn(featureBins[j], c);
    // Scatter the column into the row-major layout.
    for (let i = 0, p = codeOffset(j); i < col.length; i++, p += stride) codes[p] = col[i];
    return col;
  });
  return { rows: x.rows, featureBins, bins, columns };
}

/** Features drawn for one tree (column subsampling), in increasing order. */
export function sampleFeatures(n: number, fraction: number, next: () => number): Int32Array {
  if (fraction >= 1) return Int32Array.from({ length: n }, (_, j) => j);
  const k = Math.max(1, Math.round(n * fraction));
  const ids = Array.from({ length: n }, (_, j) => j);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  return Int32Array.from(ids.slice(0, k).sort((a, b) => a - b));
}
