// A persona model with its condition views (views.ts): the persona's own model and one model per
// top-level condition of its rule, each on its own columns. Its output is on the persona model's
// scale: c * p, so whoever divides it by the persona's c (the saved projection, the batch jobs,
// the API) gets the combined probability p without knowing that views exist.
//
// Format `personas-views/4` (written since session 23): format 3 with, per view, an optional
// `gate`: at or below that score the view adds no evidence (views.ts, viewGate: the customers for
// whom the other conditions cannot be decided), and its floor and mean are those above it.
// Format `personas-views/3` (sessions 18 to 22, still read): each view reads only its condition's features, and p
// adds the views' evidence to the persona model's, as naive Bayes does, each view's tempered by its
// own weight w_a:
//   logit p = logit p0 + sum over views of w_a * (logit p_a - logit prevalence)
// where p0 = s / c is the persona model's probability and p_a = prevalence * (s_a - floor_a) /
// (mean_a - floor_a) the view's estimate of P(member | the condition's features): its score s_a
// learns the customers who pass the other conditions, a mix of members and of non-members whose
// share does not depend on the condition's features, so s_a is linear in P(member | them); floor_a
// (its lowest score, where that probability is about 0) and mean_a (its mean over the base, where
// it is the prevalence) fix the line. Both p0 and p_a are held in [0.005, 0.995]. The weights are
// lower for a view whose evidence the persona model or the other conditions already carry
// (views.ts, viewWeight). With `baseWeight` t below 1 (strict precision, views.ts), the persona
// model's own evidence is tempered too: logit p0 becomes logit prevalence + t (logit p0 - logit
// prevalence).
// Format `personas-views/2` (sessions 13 to 17, still read): the same with one weight for every view.
// Format `personas-views/1` (sessions 10 to 12, still read): views on every feature but the other
// conditions', p = min(1, s / c)^(1 - weight) * prod over the k views of min(1, s_a / c_a)^(weight / k).
import { ModelError } from '../../errors.ts';
import { checkMatrix } from '../gbdt/validate.ts';
import type { ColumnMatrix, FittedClassifier } from '../learner.ts';

export const VIEWS_FORMAT = 'personas-views/4';
export const VIEWS_FORMAT_V3 = 'personas-views/3';
export const VIEWS_FORMAT_V2 = 'personas-views/2';
export const VIEWS_FORMAT_V1 = 'personas-views/1';

export interface ViewPart {
  /** The rule condition the view leaves out, as a path in the persona file (`key_drivers.all[1]`). */
  condition: string;
  model: FittedClassifier;
  /** The part's label frequency: its model's scores divided by it are its probabilities. */
  c: number;
}

/** What a view's scores are read with in formats 2 and 3 (see the header). */
export interface ViewScale {
  /** The view's lowest score over the base. */
  floor: number;
  /** The view's mean score over the base. */
  mean: number;
  /** How much of the view's evidence the probability takes, in [0, 1] (format 2: the model's one weight). */
  weight: number;
  /**
   * Format 4: the view says nothing of a customer it scores at or below this (views.ts, viewGate:
   * where the other conditions cannot be decided, as for a customer without purchases); floor
   * and mean are then those of the scores above it. Absent: the view speaks for every customer.
   */
  gate?: number;
}

/** How the parts' scores make the persona's probability: formats 2 and 3's evidence, or format 1's geometric mean. */
export type ViewCombination = { rule: 'evidence'; prevalence: number; scales: ViewScale[]; baseWeight?: number } | { rule: 'geometric' };

const EDGE = 0.005;
const held = (p: number) => Math.min(1 - EDGE, Math.max(EDGE, p));
const logit = (p: number) => Math.log(p / (1 - p));

export class ConditionViewsModel implements FittedClassifier {
  readonly kind = 'views';
  readonly backend: string;
  /** Positions in featureNames of each part's columns: base first, then the views. */
  private readonly columns: number[][];

  /**
   * @param featureNames every column any part reads (the persona model's columns are `base.model.featureNames`)
   * @param weight evidence: the views' largest temper, in (0, 1] (each view's own is in its scale); format 1: their share of the geometric mean, in [0, 1]
   * @param combination evidence (prevalence and each view's scale and weight) or format 1
   */
  constructor(
    readonly featureNames: string[],
    readonly base: ViewPart,
    readonly views: ViewPart[],
    readonly weight: number,
    readonly combination: ViewCombination = { rule: 'geometric' },
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
    if (combination.rule === 'evidence') {
      if (!(combination.prevalence > 0 && combination.prevalence < 1)) throw new ModelError('MODEL_FORMAT', `views model: prevalence ${combination.prevalence} is not in (0, 1)`, { field: 'prevalence' });
      if (combination.scales.length !== views.length) throw new ModelError('MODEL_FORMAT', `views model: ${combination.scales.length} view scales for ${views.length} views`, { field: 'views' });
      combination.scales.forEach((s, k) => {
        if (!(Number.isFinite(s.floor) && Number.isFinite(s.mean) && s.mean >= s.floor)) {
          throw new ModelError('MODEL_FORMAT', `views model: views[${k}] floor ${s.floor} and mean ${s.mean}: expected numbers with mean >= floor`, { field: `views[${k}]` });
        }
        if (!(s.weight >= 0 && s.weight <= 1)) throw new ModelError('MODEL_FORMAT', `views model: views[${k}] weight ${s.weight} is not in [0, 1]`, { field: `views[${k}].weight` });
        if (s.gate !== undefined && !(Number.isFinite(s.gate) && s.gate < s.floor)) throw new ModelError('MODEL_FORMAT', `views model: views[${k}] gate ${s.gate}: expected a number below its floor ${s.floor}`, { field: `views[${k}].gate` });
      });
      const t = combination.baseWeight;
      if (t !== undefined && !(t > 0 && t <= 1)) throw new ModelError('MODEL_FORMAT', `views model: baseWeight ${t} is not in (0, 1]`, { field: 'baseWeight' });
    }
    this.backend = base.model.backend ?? 'javascript';
  }

  /** Each part's scores (its model's output), base first. */
  partScores(x: ColumnMatrix): Float64Array[] {
    checkMatrix(x, 'prediction data');
    if (x.columns.length !== this.featureNames.length) {
      throw new ModelError('MODEL_MISMATCH', `prediction data has ${x.columns.length} feature columns; this views model reads ${this.featureNames.length}`);
    }
    return [this.base, ...this.views].map((part, k) => part.model.predictProba({ rows: x.rows, columns: this.columns[k].map((j) => x.columns[j]) }));
  }

  /** c * the combined probability (see the header): the persona model's scale. */
  predictProba(x: ColumnMatrix): Float64Array {
    const [base, ...views] = this.partScores(x);
    const p0 = Float64Array.from(base, (s) => s / this.base.c);
    const c = this.combination;
    if (c.rule === 'evidence') return combineViewEvidence(p0, views.map((scores, k) => ({ scores, ...c.scales[k] })), c.prevalence, this.base.c, c.baseWeight);
    const clipped = (s: Float64Array, cv: number) => Float64Array.from(s, (v) => Math.min(1, v / cv));
    return combineViewProbabilities(Float64Array.from(p0, (v) => Math.min(1, v)), views.map((s, k) => clipped(s, this.views[k].c)), this.weight, this.base.c);
  }

  /** Each part's importance on its columns, weighted as the parts are in the output. */
  featureImportance(): Float64Array {
    const imp = new Float64Array(this.featureNames.length);
    const c = this.combination;
    // Evidence: the persona model counts once, each view's evidence by its weight.
    const weights = c.rule === 'evidence' ? [c.baseWeight ?? 1, ...c.scales.map((s) => s.weight)] : [1 - this.weight, ...this.views.map(() => this.weight / this.views.length)];
    const total = weights.reduce((a, b) => a + b, 0);
    [this.base, ...this.views].forEach((part, k) => {
      const share = weights[k] / total;
      part.model.featureImportance().forEach((v, j) => (imp[this.columns[k][j]] += share * v));
    });
    return imp;
  }

  toJSON(): unknown {
    const c = this.combination;
    const part = (p: ViewPart, k: number) => ({ condition: p.condition, c: p.c, ...(c.rule === 'evidence' && k >= 0 ? c.scales[k] : {}), model: p.model.toJSON() });
    return {
      format: c.rule === 'evidence' ? VIEWS_FORMAT : VIEWS_FORMAT_V1,
      kind: 'views',
      featureNames: this.featureNames,
      weight: this.weight,
      ...(c.rule === 'evidence' ? { prevalence: c.prevalence } : {}),
      ...(c.rule === 'evidence' && c.baseWeight !== undefined && c.baseWeight !== 1 ? { baseWeight: c.baseWeight } : {}),
      base: part(this.base, -1),
      views: this.views.map(part),
    };
  }
}

/**
 * The evidence combination (formats 2 and 3, see the header): the persona model's probabilities p0
 * (s / c, not clipped), each view's scores with their floor, mean and weight, the persona's
 * prevalence; times `scale`; the persona model's own evidence tempered by `baseWeight` (1: as it is).
 * A view whose mean is not above its floor (a constant model) or whose weight is 0 adds nothing.
 * Writes into a new array.
 */
export function combineViewEvidence(p0: Float64Array, views: (ViewScale & { scores: ArrayLike<number> })[], prevalence: number, scale = 1, baseWeight = 1): Float64Array {
  const prior = logit(held(prevalence));
  const parts = views.filter((v) => v.mean > v.floor && v.weight > 0).map((v) => ({ scores: v.scores, floor: v.floor, span: v.mean - v.floor, weight: v.weight, gate: v.gate ?? -Infinity }));
  const out = new Float64Array(p0.length);
  for (let i = 0; i < out.length; i++) {
    let z = baseWeight === 1 ? logit(held(p0[i])) : prior + baseWeight * (logit(held(p0[i])) - prior);
    for (const v of parts) if (v.scores[i] > v.gate) z += v.weight * (logit(held((prevalence * (v.scores[i] - v.floor)) / v.span)) - prior);
    out[i] = scale / (1 + Math.exp(-z));
  }
  return out;
}

/**
 * Format 1's combination: the weighted geometric mean base^(1 - weight) * prod(view^(weight /
 * views)), times `scale`. Writes into a new array.
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

/** Loads a `personas-views/3`, `/2` or `/1` file; `loadPart` loads each part's own model file. */
export function parseViewsModel(json: unknown, loadPart: (json: unknown) => FittedClassifier): ConditionViewsModel {
  const fail = (field: string, expected: string): never => {
    throw new ModelError('MODEL_FORMAT', `views model file: ${field}: expected ${expected}`, { field });
  };
  const o = json as Record<string, unknown>;
  if (!o || typeof o !== 'object' || ![VIEWS_FORMAT, VIEWS_FORMAT_V3, VIEWS_FORMAT_V2, VIEWS_FORMAT_V1].includes(o.format as string)) fail('format', `"${VIEWS_FORMAT}", "${VIEWS_FORMAT_V3}", "${VIEWS_FORMAT_V2}" or "${VIEWS_FORMAT_V1}"`);
  const evidence = o.format !== VIEWS_FORMAT_V1;
  const ownWeights = o.format === VIEWS_FORMAT || o.format === VIEWS_FORMAT_V3;
  const gates = o.format === VIEWS_FORMAT;
  if (!Array.isArray(o.featureNames) || !o.featureNames.every((f) => typeof f === 'string')) fail('featureNames', 'an array of column names');
  if (typeof o.weight !== 'number') fail('weight', 'a number in [0, 1]');
  if (evidence && typeof o.prevalence !== 'number') fail('prevalence', 'a number in (0, 1)');
  if (o.baseWeight !== undefined && (!ownWeights || typeof o.baseWeight !== 'number')) fail('baseWeight', `a number in (0, 1], in a "${VIEWS_FORMAT}" or "${VIEWS_FORMAT_V3}" file only`);
  const part = (v: unknown, field: string): ViewPart => {
    const p = v as Record<string, unknown>;
    if (!p || typeof p !== 'object') fail(field, 'an object { condition, c, model }');
    if (typeof p.condition !== 'string') fail(`${field}.condition`, 'a string');
    if (typeof p.c !== 'number') fail(`${field}.c`, 'a number in (0, 1]');
    return { condition: p.condition as string, c: p.c as number, model: loadPart(p.model) };
  };
  if (!Array.isArray(o.views) || !o.views.length) fail('views', 'a non-empty array');
  const views = o.views as Record<string, unknown>[];
  const scales = evidence
    ? views.map((v, k) => {
        if (typeof v?.floor !== 'number') fail(`views[${k}].floor`, 'a number');
        if (typeof v?.mean !== 'number') fail(`views[${k}].mean`, 'a number');
        if (ownWeights && typeof v?.weight !== 'number') fail(`views[${k}].weight`, 'a number in [0, 1]');
        if (v.gate !== undefined && (!gates || typeof v.gate !== 'number')) fail(`views[${k}].gate`, `a number below its floor, in a "${VIEWS_FORMAT}" file only`);
        return { floor: v.floor as number, mean: v.mean as number, weight: (ownWeights ? v.weight : o.weight) as number, ...(v.gate !== undefined ? { gate: v.gate as number } : {}) };
      })
    : [];
  return new ConditionViewsModel(
    o.featureNames as string[],
    part(o.base, 'base'),
    views.map((v, k) => part(v, `views[${k}]`)),
    o.weight as number,
    evidence ? { rule: 'evidence', prevalence: o.prevalence as number, scales, ...(o.baseWeight !== undefined ? { baseWeight: o.baseWeight as number } : {}) } : { rule: 'geometric' },
  );
}
