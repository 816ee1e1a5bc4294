// Key-driver rules evaluated on the feature table: a rule -> a mask of the customers it picks.
// `all` / `any` nest; a missing value never satisfies a comparison (only `is_missing` looks at
// it); numeric values may be numbers, percentiles `pNN` of the feature over all customers with a
// value (linear interpolation, as numpy's percentile), or `Kx mean` / `Kx median`.
import { PersonaFileError } from '../../errors.ts';
import { categoricalColumn, featureNames, numericColumn, type FeatureTable } from '../../features/table.ts';
import { MULTIPLE, PERCENTILE, type Condition, type NumericValue, type Rule } from './file.ts';

export interface ResolvedThreshold {
  feature: string;
  spec: string;
  value: number;
}

export interface RuleResult {
  mask: Uint8Array;
  /** Thresholds given as pNN or Kx mean/median, resolved to numbers (for the report). */
  thresholds: ResolvedThreshold[];
  /** Features the rule reads. */
  features: string[];
}

/** Sorted non-missing values of a column (cached per column for percentile look-ups). */
const sortedCache = new WeakMap<Float32Array, Float64Array>();
function sortedValues(col: Float32Array): Float64Array {
  let s = sortedCache.get(col);
  if (!s) {
    const out = new Float64Array(col.length);
    let n = 0;
    for (let i = 0; i < col.length; i++) if (!Number.isNaN(col[i])) out[n++] = col[i];
    s = out.subarray(0, n).sort();
    sortedCache.set(col, s);
  }
  return s;
}

/** The q-th percentile (0-100) with linear interpolation between order statistics. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function resolve(value: NumericValue, feature: string, col: Float32Array, thresholds: ResolvedThreshold[]): number {
  if (typeof value === 'number') return value;
  const spec = value.trim();
  const sorted = sortedValues(col);
  let resolved: number;
  const p = PERCENTILE.exec(spec);
  if (p) resolved = percentile(sorted, Number(p[1]));
  else {
    const m = MULTIPLE.exec(spec)!;
    let stat: number;
    if (m[2] === 'mean') {
      let sum = 0;
      for (let i = 0; i < sorted.length; i++) sum += sorted[i];
      stat = sum / sorted.length;
    } else stat = percentile(sorted, 50);
    resolved = Number(m[1]) * stat;
  }
  thresholds.push({ feature, spec, value: resolved });
  return resolved;
}

const NUMERIC_OPS = ['gt', 'gte', 'lt', 'lte', 'between'] as const;

function conditionMask(table: FeatureTable, feature: string, cond: Condition, thresholds: ResolvedThreshold[], path: string): Uint8Array {
  const n = table.rows;
  const mask = new Uint8Array(n).fill(1);
  const num = numericColumn(table, feature);
  const cat = num ? undefined : categoricalColumn(table, feature);
  if (!num && !cat) {
    throw new PersonaFileError(
      'UNKNOWN_FEATURE',
      `${path}: unknown feature "${feature}"; known features: ${featureNames(table).join(', ')}`,
      { field: path, feature },
    );
  }
  const and = (test: (i: number) => boolean) => {
    for (let i = 0; i < n; i++) if (mask[i] && !test(i)) mask[i] = 0;
  };
  const present = (i: number) => (num ? !Number.isNaN(num[i]) : cat![i] !== null);
  const text = (i: number) => (num ? String(num[i]) : cat![i]!);
  const equals = (i: number, v: string | number) => (num ? num[i] === Math.fround(Number(v)) : cat![i] === String(v));

  for (const [op, raw] of Object.entries(cond)) {
    if (raw === undefined) continue;
    if ((NUMERIC_OPS as readonly string[]).includes(op) && !num) {
      throw new PersonaFileError('PERSONA_FILE_INVALID', `${path}.${op}: "${feature}" is not numeric, so ${op} does not apply (use eq, in, prefix...)`, { field: `${path}.${op}` });
    }
    switch (op) {
      case 'eq':
        and((i) => present(i) && equals(i, raw as string | number));
        break;
      case 'ne':
        and((i) => present(i) && !equals(i, raw as string | number));
        break;
      case 'in':
        and((i) => present(i) && (raw as (string | number)[]).some((v) => equals(i, v)));
        break;
      case 'not_in':
        and((i) => present(i) && !(raw as (string | number)[]).some((v) => equals(i, v)));
        break;
      case 'prefix': {
        const prefixes = (Array.isArray(raw) ? raw : [raw]).map(String);
        and((i) => present(i) && prefixes.some((pre) => text(i).startsWith(pre)));
        break;
      }
      case 'is_missing':
        and((i) => present(i) !== raw);
        break;
      case 'between': {
        const [a, b] = raw as [NumericValue, NumericValue];
        const lo = resolve(a, feature, num!, thresholds);
        const hi = resolve(b, feature, num!, thresholds);
        and((i) => num![i] >= lo && num![i] <= hi);
        break;
      }
      default: {
        const t = resolve(raw as NumericValue, feature, num!, thresholds);
        const x = num!;
        if (op === 'gt') and((i) => x[i] > t);
        else if (op === 'gte') and((i) => x[i] >= t);
        else if (op === 'lt') and((i) => x[i] < t);
        else and((i) => x[i] <= t);
      }
    }
  }
  return mask;
}

function evaluate(rule: Rule, table: FeatureTable, out: RuleResult, path: string): Uint8Array {
  if ('all' in rule && Array.isArray(rule.all)) {
    const masks = (rule.all as Rule[]).map((r, k) => evaluate(r, table, out, `${path}.all[${k}]`));
    const m = masks[0].slice();
    for (const other of masks.slice(1)) for (let i = 0; i < m.length; i++) m[i] &= other[i];
    return m;
  }
  if ('any' in rule && Array.isArray(rule.any)) {
    const masks = (rule.any as Rule[]).map((r, k) => evaluate(r, table, out, `${path}.any[${k}]`));
    const m = masks[0].slice();
    for (const other of masks.slice(1)) for (let i = 0; i < m.length; i++) m[i] |= other[i];
    return m;
  }
  const [feature, cond] = Object.entries(rule as Record<string, Condition>)[0];
  if (!out.features.includes(feature)) out.features.push(feature);
  return conditionMask(table, feature, cond, out.thresholds, `${path}.${feature}`);
}

/** Evaluates a persona's key-driver rule; `path` prefixes error locations. */
export function evaluateRule(rule: Rule, table: FeatureTable, path = 'key_drivers'): RuleResult {
  const out: RuleResult = { mask: new Uint8Array(0), thresholds: [], features: [] };
  out.mask = evaluate(rule, table, out, path);
  return out;
}
