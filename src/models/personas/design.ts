// The model matrix of a feature table: numeric features as they are (NaN kept: the trees route
// missing values), `sex` as 1 for F / 0 for M, `postcode` as its department number, and other
// text features as one 0/1 column per frequent level. The encoding is recorded so that a new
// table (a later month, one new customer from the API) gives exactly the same columns.
import { z } from 'zod';
import type { FeatureTable } from '../../features/table.ts';
import type { ColumnMatrix } from '../learner.ts';

export const DesignEncodingSchema = z.object({
  numeric: z.array(z.string()),
  levels: z.array(z.object({ feature: z.string(), values: z.array(z.string()) })),
  sex: z.boolean(),
  department: z.boolean(),
});
export type DesignEncoding = z.infer<typeof DesignEncodingSchema>;

export interface DesignMatrix extends ColumnMatrix {
  names: string[];
  /** The table feature each column comes from (a rule on `segment` reads every `segment=` column). */
  sources: string[];
}

const MAX_LEVELS = 20;
const MIN_SHARE = 0.01;

/** Department of a French postcode: 75011 -> 75, 20000/2A -> 20 (Corsica), 97411 -> 974. */
export function departmentOf(postcode: string | null): number {
  if (!postcode) return NaN;
  const p = postcode.trim().toUpperCase();
  if (/^2[AB]/.test(p)) return 20;
  if (!/^\d{5}$/.test(p)) return NaN;
  return p.startsWith('97') || p.startsWith('98') ? Number(p.slice(0, 3)) : Number(p.slice(0, 2));
}

/** Learns the encoding of a table's features. */
export function fitDesign(table: FeatureTable): DesignEncoding {
  const levels: DesignEncoding['levels'] = [];
  table.categoricalNames.forEach((name, j) => {
    if (name === 'sex' || name === 'postcode') return;
    const counts = new Map<string, number>();
    for (const v of table.categorical[j]) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
    const values = [...counts]
      .filter(([, c]) => c >= MIN_SHARE * table.rows)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, MAX_LEVELS)
      .map(([v]) => v);
    if (values.length) levels.push({ feature: name, values });
  });
  return {
    numeric: [...table.numericNames],
    levels,
    sex: table.categoricalNames.includes('sex'),
    department: table.categoricalNames.includes('postcode'),
  };
}

/**
 * The features `encoding` reads that `table` does not hold as it reads them (a number, or a text
 * column): encodeDesign reads each as missing for every customer. A client column left out of a
 * later export, or named otherwise, whose absence would otherwise pass unseen.
 */
export function absentFeatures(table: FeatureTable, encoding: DesignEncoding): string[] {
  const text = [...(encoding.sex ? ['sex'] : []), ...(encoding.department ? ['postcode'] : []), ...encoding.levels.map((l) => l.feature)];
  return [...encoding.numeric.filter((n) => heldAt(table.numericNames, n) < 0), ...text.filter((n) => heldAt(table.categoricalNames, n) < 0)];
}

/**
 * Where `names` holds a model's feature `name`: under that name, or, for a version trained before
 * a client column named as a catalogue feature was carried as `client_<name>` (DuckDB had named a
 * CRM's second `age` column `age_1`), under the name it is carried as now; -1 when absent.
 */
export function heldAt(names: readonly string[], name: string): number {
  const j = names.indexOf(name);
  if (j >= 0) return j;
  const legacy = /^(.+)_1$/.exec(name);
  return legacy ? names.indexOf(`client_${legacy[1]}`) : -1;
}

/** The absent features in words. */
export function describeAbsentFeatures(names: string[]): string {
  return `the models read ${names.length} feature(s) these customers' data does not hold, read as missing for every one of them (their scores then lean on the other features): ${names.join(', ')}; a client column left out of this export, or named otherwise (map it with --columns)?`;
}

/** Builds the model matrix of `table` under `encoding`; a feature the table lacks is all missing (absentFeatures). */
export function encodeDesign(table: FeatureTable, encoding: DesignEncoding): DesignMatrix {
  const n = table.rows;
  const names: string[] = [];
  const sources: string[] = [];
  const columns: Float32Array[] = [];
  const missing = () => new Float32Array(n).fill(NaN);
  for (const name of encoding.numeric) {
    const j = heldAt(table.numericNames, name);
    names.push(name);
    sources.push(name);
    columns.push(j >= 0 ? table.numeric[j] : missing());
  }
  const text = (name: string) => {
    const j = heldAt(table.categoricalNames, name);
    return j >= 0 ? table.categorical[j] : undefined;
  };
  if (encoding.sex) {
    const sex = text('sex');
    names.push('sex_f');
    sources.push('sex');
    columns.push(sex ? Float32Array.from(sex, (v) => (v === 'F' ? 1 : v === 'M' ? 0 : NaN)) : missing());
  }
  if (encoding.department) {
    const pc = text('postcode');
    names.push('department');
    sources.push('postcode');
    columns.push(pc ? Float32Array.from(pc, departmentOf) : missing());
  }
  for (const { feature, values } of encoding.levels) {
    const col = text(feature);
    for (const level of values) {
      names.push(`${feature}=${level}`);
      sources.push(feature);
      columns.push(col ? Float32Array.from(col, (v) => (v === null ? NaN : v === level ? 1 : 0)) : missing());
    }
  }
  return { rows: n, columns, names, sources };
}

/** The sub-matrix without the columns that come from `exclude` features. */
export function withoutFeatures(m: DesignMatrix, exclude: string[]): DesignMatrix {
  const keep = m.sources.map((s, k) => (exclude.includes(s) ? -1 : k)).filter((k) => k >= 0);
  return { rows: m.rows, columns: keep.map((k) => m.columns[k]), names: keep.map((k) => m.names[k]), sources: keep.map((k) => m.sources[k]) };
}

/** Ranks of a column's non-missing values (NaN stays NaN), ties given their mean rank. */
/**
 * Mid-ranks (ties share the mean of their places) of a column's values on the rows `rows`, NaN
 * where missing. The present values are sorted natively, each value's place found by binary
 * search: a comparator sort was most of a batch training job's main-thread time.
 */
export function ranks(values: Float32Array, rows: Uint32Array): Float64Array {
  const present = new Float64Array(rows.length);
  let n = 0;
  for (const i of rows) if (!Number.isNaN(values[i])) present[n++] = values[i];
  const sorted = present.subarray(0, n).sort();
  const out = new Float64Array(rows.length).fill(NaN);
  rows.forEach((i, k) => {
    const v = values[i];
    if (Number.isNaN(v)) return;
    // First place with a value not below v, and first above it: the tie spans [lo, hi).
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    let end = n;
    hi = lo;
    while (hi < end) {
      const mid = (hi + end) >>> 1;
      if (sorted[mid] <= v) hi = mid + 1;
      else end = mid;
    }
    out[k] = (lo + hi - 1) / 2;
  });
  return out;
}

/** Spearman correlation over the rows where both are present (0 when fewer than 30 such rows). */
function rankCorrelation(a: Float64Array, b: Float64Array): number {
  let n = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) if (!Number.isNaN(a[i]) && !Number.isNaN(b[i])) {
    n++;
    sa += a[i];
    sb += b[i];
  }
  if (n < 30) return 0;
  const ma = sa / n;
  const mb = sb / n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < a.length; i++) if (!Number.isNaN(a[i]) && !Number.isNaN(b[i])) {
    cov += (a[i] - ma) * (b[i] - mb);
    va += (a[i] - ma) ** 2;
    vb += (b[i] - mb) ** 2;
  }
  return va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : 0;
}

/**
 * The table features whose columns are rank-correlated (|Spearman| >= `minCorrelation`, on the
 * rows `sample`) with a column of one of `features`: a model that does not see a rule's features
 * but sees these can still re-learn the rule (share_store from the other channel shares,
 * frequency from monetary and basket). `ranked` keeps each column's ranks on `sample` for the next
 * call on the same matrix and sample (every persona of a training).
 */
export function relatedFeatures(m: DesignMatrix, features: string[], minCorrelation: number, sample: Uint32Array, ranked = new Map<number, Float64Array>()): string[] {
  const rankOf = (k: number) => {
    let r = ranked.get(k);
    if (!r) ranked.set(k, (r = ranks(m.columns[k], sample)));
    return r;
  };
  const own = m.sources.map((s, k) => (features.includes(s) ? k : -1)).filter((k) => k >= 0);
  const related = new Set<string>();
  m.sources.forEach((source, k) => {
    if (features.includes(source) || related.has(source)) return;
    if (own.some((j) => Math.abs(rankCorrelation(rankOf(j), rankOf(k))) >= minCorrelation)) related.add(source);
  });
  return [...related];
}
