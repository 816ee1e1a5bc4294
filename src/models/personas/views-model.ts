// A persona model with its condition views (views.ts): the persona's own model and one model per
// top-level condition of its rule, each on its own columns and with its own label frequency c.
// Its output is on the persona model's scale: c * p, where p is the weighted geometric mean of
// the parts' probabilities: min(1, s / c)^(1 - weight) * prod over the k views of
// min(1, s_a / c_a)^(weight / k). So whoever divides it by the persona's c (the
// saved projection, the batch jobs, the API) gets the combined probability p without knowing that
// views exist. Format `personas-views/1`: the persona model's file and each view's, with their c
// and columns.
import { ModelError } from '../../errors.ts';
import { checkMatrix } from '../gbdt/validate.ts';
import type { ColumnMatrix, FittedClassifier } from '../learner.ts';

export const VIEWS_FORMAT = 'personas-views/1';

export interface ViewPart {
  /** The rule condition the view leaves out, as a path in the persona file (`key_drivers.all[1]`). */
  condition: string;
  model: FittedClassifier;
  /** The part's label frequency: its model's scores divided by it are its probabilities. */
  c: number;
}

export class ConditionViewsModel implements FittedClassifier {
  readonly kind = 'views';
  readonly backend: string;
  /** Positions in featureNames of each part's columns: base first, then the views. */
  private readonly columns: number[][];

  /**
   * @param featureNames every column any part reads (the persona model's columns are `base.model.featureNames`)
   * @param weight the views' share of the combined probability, in [0, 1]
   */
  constructor(
    readonly featureNames: string[],
    readonly base: ViewPart,
    readonly views: ViewPart[],
    readonly weight: number,
  ) {
    if (!(weight >= 0 && weight <= 1)) throw new ModelError('MODEL_FORMAT', `views model: weight ${weight} is not in [0, 1]`, { field: 'weight' });
    if (!views.length) throw new ModelError('MODEL_FORMAT', 'views model: no view', { field: 'views' });
    const position = new Map(featureNames.map((f, j) => [f, j]));
    this.columns = [base, ...views].map((part, k) =>
      part.model.featureNames.map((f) => {
        const j = position.get(f);
        if (j === undefined) throw new ModelError('MODEL_FORMAT', `views model: ${k ? `views[${k - 1}] (${part.condition})` : 'base'} reads column "${f}", which is not among its featureNames`, { field: 'featureNames' });
        return j;
      }),
    );
    for (const [k, part] of [base, ...views].entries()) {
      if (!(part.c > 0 && part.c <= 1)) throw new ModelError('MODEL_FORMAT', `views model: ${k ? `views[${k - 1}]` : 'base'} c = ${part.c}: expected a share in (0, 1]`, { field: 'c' });
    }
    this.backend = base.model.backend ?? 'javascript';
  }

  /** The probability each part gives (min(1, s / c)), base first. */
  partProbabilities(x: ColumnMatrix): Float64Array[] {
    checkMatrix(x, 'prediction data');
    if (x.columns.length !== this.featureNames.length) {
      throw new ModelError('MODEL_MISMATCH', `prediction data has ${x.columns.length} feature columns; this views model reads ${this.featureNames.length}`);
    }
    return [this.base, ...this.views].map((part, k) => {
      const s = part.model.predictProba({ rows: x.rows, columns: this.columns[k].map((j) => x.columns[j]) });
      for (let i = 0; i < s.length; i++) s[i] = Math.min(1, s[i] / part.c);
      return s;
    });
  }

  /** c * the combined probability (see the header): the persona model's scale. */
  predictProba(x: ColumnMatrix): Float64Array {
    const [base, ...views] = this.partProbabilities(x);
    return combineViewProbabilities(base, views, this.weight, this.base.c);
  }

  /** Each part's importance on its columns, weighted as the parts are in the output. */
  featureImportance(): Float64Array {
    const imp = new Float64Array(this.featureNames.length);
    [this.base, ...this.views].forEach((part, k) => {
      const share = k === 0 ? 1 - this.weight : this.weight / this.views.length;
      part.model.featureImportance().forEach((v, j) => (imp[this.columns[k][j]] += share * v));
    });
    return imp;
  }

  toJSON(): unknown {
    const part = (p: ViewPart) => ({ condition: p.condition, c: p.c, model: p.model.toJSON() });
    return { format: VIEWS_FORMAT, kind: 'views', featureNames: this.featureNames, weight: this.weight, base: part(this.base), views: this.views.map(part) };
  }
}

/**
 * The weighted geometric mean base^(1 - weight) * prod(view^(weight / views)), times `scale` (the
 * persona's c, so that the result divided by c is the combined probability). The geometric mean
 * pools the parts as independent evidence and lets a part that rules a customer out pull harder
 * than the arithmetic mean: measured on worlds 1 and 2 (BENCHMARKS.md, session 10), it keeps the
 * precision of the assigned 0.008 higher for 0.003 to 0.004 less macro-F1. Writes into a new array.
 */
export function combineViewProbabilities(base: Float64Array, views: Float64Array[], weight: number, scale = 1): Float64Array {
  if (!views.length) return Float64Array.from(base, (v) => scale * v);
  const out = new Float64Array(base.length);
  const each = weight / views.length;
  const own = 1 - weight;
  const log = (v: number) => Math.log(Math.max(v, 1e-12));
  for (let i = 0; i < out.length; i++) {
    let v = own * log(base[i]);
    for (const p of views) v += each * log(p[i]);
    out[i] = scale * Math.exp(v);
  }
  return out;
}

/** Loads a `personas-views/1` file; `loadPart` loads each part's own model file. */
export function parseViewsModel(json: unknown, loadPart: (json: unknown) => FittedClassifier): ConditionViewsModel {
  const fail = (field: string, expected: string): never => {
    throw new ModelError('MODEL_FORMAT', `views model file: ${field}: expected ${expected}`, { field });
  };
  const o = json as Record<string, unknown>;
  if (!o || typeof o !== 'object' || o.format !== VIEWS_FORMAT) fail('format', `"${VIEWS_FORMAT}"`);
  if (!Array.isArray(o.featureNames) || !o.featureNames.every((f) => typeof f === 'string')) fail('featureNames', 'an array of column names');
  if (typeof o.weight !== 'number') fail('weight', 'a number in [0, 1]');
  const part = (v: unknown, field: string): ViewPart => {
    const p = v as Record<string, unknown>;
    if (!p || typeof p !== 'object') fail(field, 'an object { condition, c, model }');
    if (typeof p.condition !== 'string') fail(`${field}.condition`, 'a string');
    if (typeof p.c !== 'number') fail(`${field}.c`, 'a number in (0, 1]');
    return { condition: p.condition as string, c: p.c as number, model: loadPart(p.model) };
  };
  if (!Array.isArray(o.views) || !o.views.length) fail('views', 'a non-empty array');
  return new ConditionViewsModel(o.featureNames as string[], part(o.base, 'base'), (o.views as unknown[]).map((v, k) => part(v, `views[${k}]`)), o.weight as number);
}
