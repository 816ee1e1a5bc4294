// Key-driver rules evaluated on the feature table: a rule -> a mask of the customers it picks.
// `all` / `any` nest; a missing value never satisfies a comparison (only `is_missing` looks at
// it); numeric values may be numbers, percentiles `pNN` of the feature over all customers with a
// value (linear interpolation, as numpy's percentile), or `Kx mean` / `Kx median`.
import { PersonaFileError } from '../../errors.ts';
import { normalise } from '../../features/columns.ts';
import { categoricalColumn, featureNames, numericColumn, type FeatureTable } from '../../features/table.ts';
import { MULTIPLE, PERCENTILE, type Condition, type NumericValue, type Rule } from './file.ts';

export interface ResolvedThreshold {
  feature: string;
  spec: string;
  value: number;
}

export interface RuleResult {
  mask: Uint8Array;
  /**
   * Customers for whom the rule is undecided because of missing values (three-valued logic): a
   * comparison on a missing value (not `is_missing`) is unknown, an `all` none of whose parts is
   * false and one unknown is unknown, an `any` none of whose parts is true and one unknown is
   * unknown. They fail the rule (`mask` is 0) but not for what their values say: a customer
   * without purchases in the year has no category shares, whatever persona they are.
   */
  unknown: Uint8Array;
  /** Thresholds given as pNN or Kx mean/median, resolved to numbers (for the report). */
  thresholds: ResolvedThreshold[];
  /** Features the rule reads. */
  features: string[];
  /** Values the rule compares a categorical feature with that no customer holds (see absentValue). */
  absentValues: AbsentValue[];
}

/**
 * A value of `eq`, `ne`, `in`, `not_in` or `prefix` on a categorical feature that no customer
 * holds (no customer starts with it, for `prefix`): such a condition quietly matches no one (or,
 * negated, everyone), most often for a value written otherwise than the base writes it (`gold`
 * where the client's file writes `Gold`): `like`, the base's value equal to it but for case,
 * accents and spaces, when there is one.
 */
export interface AbsentValue {
  path: string;
  value: string;
  like?: string;
}

/** A value folded for comparison: case, accents and runs of spaces aside. */
const fold = (v: string) =>
  v
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();

/** The values of `cat` among `values` that no customer holds (by `prefix` or equality), with the base's value each looks like. */
function absentValues(cat: (string | null)[], values: string[], path: string, prefix: boolean): AbsentValue[] {
  const levels = new Set<string>();
  for (const v of cat) if (v !== null) levels.add(v);
  const out: AbsentValue[] = [];
  for (const value of values) {
    const held = prefix ? [...levels].some((l) => l.startsWith(value)) : levels.has(value);
    if (held) continue;
    const folded = fold(value);
    const like = [...levels].find((l) => (prefix ? fold(l).startsWith(folded) : fold(l) === folded));
    out.push({ path, value, ...(like !== undefined ? { like } : {}) });
  }
  return out;
}

/** Absent values in words: the paths, the values and what the base writes instead. */
export function describeAbsentValues(values: AbsentValue[]): string {
  return values.map((a) => `${a.path} "${a.value}" is held by no customer${a.like !== undefined ? ` (the base writes "${a.like}")` : ''}`).join('; ');
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

/** Edits (insertions, deletions, substitutions) from `a` to `b`. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/**
 * ` (did you mean "share_app"?)` for a feature name a consultant mistyped: the known name it is
 * but for case, accents and separators (`Share App`), the one it starts (`monetary` for
 * monetary_12m), or the one a few letters away (`shar_app`); nothing when none stands out.
 */
export function closestHint(wanted: string, known: string[]): string {
  const w = normalise(wanted);
  const pick = (names: string[]) => (names.length === 1 ? ` (did you mean "${names[0]}"?)` : undefined);
  const same = known.filter((k) => normalise(k) === w);
  if (same.length) return pick(same) ?? '';
  const started = pick(known.filter((k) => normalise(k).startsWith(`${w}_`)));
  if (started) return started;
  const bound = Math.max(1, Math.floor(w.length / 4));
  const distances = known.map((k) => editDistance(w, normalise(k)));
  const best = Math.min(...distances);
  return best <= bound ? (pick(known.filter((_, i) => distances[i] === best)) ?? '') : '';
}

function conditionMask(table: FeatureTable, feature: string, cond: Condition, out: Pick<RuleResult, 'thresholds' | 'absentValues'>, path: string): Uint8Array {
  const thresholds = out.thresholds;
  const n = table.rows;
  const mask = new Uint8Array(n).fill(1);
  const num = numericColumn(table, feature);
  const cat = num ? undefined : categoricalColumn(table, feature);
  if (!num && !cat) {
    throw new PersonaFileError(
      'UNKNOWN_FEATURE',
      `${path}: unknown feature "${feature}"${closestHint(feature, featureNames(table))}; known features: ${featureNames(table).join(', ')}`,
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
    if (cat && ['eq', 'ne', 'in', 'not_in', 'prefix'].includes(op)) {
      out.absentValues.push(...absentValues(cat, (Array.isArray(raw) ? raw : [raw]).map(String), `${path}.${op}`, op === 'prefix'));
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

/** A rule's value per customer in three-valued logic: true (`mask`), unknown, else false. */
interface Verdict {
  mask: Uint8Array;
  unknown: Uint8Array;
}

function evaluate(rule: Rule, table: FeatureTable, out: RuleResult, path: string): Verdict {
  const all = 'all' in rule && Array.isArray(rule.all);
  if (all || ('any' in rule && Array.isArray(rule.any))) {
    const parts = ((all ? rule.all : (rule as { any: Rule[] }).any) as Rule[]).map((r, k) => evaluate(r, table, out, `${path}.${all ? 'all' : 'any'}[${k}]`));
    const n = parts[0].mask.length;
    const mask = new Uint8Array(n);
    const unknown = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let trues = 0;
      let unknowns = 0;
      for (const p of parts) {
        trues += p.mask[i];
        unknowns += p.unknown[i];
      }
      if (all) {
        mask[i] = trues === parts.length ? 1 : 0;
        unknown[i] = unknowns > 0 && trues + unknowns === parts.length ? 1 : 0;
      } else {
        mask[i] = trues > 0 ? 1 : 0;
        unknown[i] = trues === 0 && unknowns > 0 ? 1 : 0;
      }
    }
    return { mask, unknown };
  }
  const [feature, cond] = Object.entries(rule as Record<string, Condition>)[0];
  if (!out.features.includes(feature)) out.features.push(feature);
  const mask = conditionMask(table, feature, cond, out, `${path}.${feature}`);
  const unknown = new Uint8Array(table.rows);
  if (cond.is_missing === undefined) {
    const num = numericColumn(table, feature);
    const cat = num ? undefined : categoricalColumn(table, feature)!;
    for (let i = 0; i < table.rows; i++) unknown[i] = (num ? Number.isNaN(num[i]) : cat![i] === null) ? 1 : 0;
  }
  return { mask, unknown };
}

/** Evaluates a persona's key-driver rule; `path` prefixes error locations. */
export function evaluateRule(rule: Rule, table: FeatureTable, path = 'key_drivers'): RuleResult {
  const out: RuleResult = { mask: new Uint8Array(0), unknown: new Uint8Array(0), thresholds: [], features: [], absentValues: [] };
  const verdict = evaluate(rule, table, out, path);
  out.mask = verdict.mask;
  out.unknown = verdict.unknown;
  return out;
}
