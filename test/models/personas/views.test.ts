// Condition views: the views a rule gives, the model that carries them (its output, its file, its
// errors), the options, and the projection's use of them.
import { describe, expect, it } from 'vitest';
import type { FeatureTable } from '../../../src/features/table.ts';
import type { ColumnMatrix } from '../../../src/models/learner.ts';
import { fitLearner, loadModel } from '../../../src/models/learners.ts';
import type { Rule } from '../../../src/models/personas/file.ts';
import { encodeDesign, fitDesign } from '../../../src/models/personas/design.ts';
import { conditionViews, GATE_QUANTILE, trainConditionViews, viewDependence, viewDependenceWarnings, viewGate, viewLogLines, strictBaseWeight, viewRelearning, viewsOf, viewsTrained, viewsWithColumns, viewTrees, viewWeight, withViews, type TrainedView } from '../../../src/models/personas/views.ts';
import { combineViewEvidence, combineViewProbabilities, ConditionViewsModel, VIEWS_FORMAT, VIEWS_FORMAT_V1, VIEWS_FORMAT_V2, VIEWS_FORMAT_V3 } from '../../../src/models/personas/views-model.ts';
import { personaLearner, TRAIN_DEFAULTS, viewOptionsFor, VIEW_DEFAULTS, type PersonaModel } from '../../../src/models/personas/train.ts';
import { Random } from '../../../src/random.ts';

// 40 customers: a = i, b = i mod 10, c = (i * 7) mod 40, d = 40 - i.
const n = 40;
const table: FeatureTable = {
  rows: n,
  ids: Array.from({ length: n }, (_, i) => `c${i}`),
  numericNames: ['a', 'b', 'c', 'd'],
  numeric: [
    Float32Array.from({ length: n }, (_, i) => i),
    Float32Array.from({ length: n }, (_, i) => i % 10),
    Float32Array.from({ length: n }, (_, i) => (i * 7) % 40),
    Float32Array.from({ length: n }, (_, i) => 40 - i),
  ],
  categoricalNames: [],
  categorical: [],
};
const rows = (mask: Uint8Array) => Array.from(mask).flatMap((v, i) => (v ? [i] : []));
const where = (test: (i: number) => boolean) => Array.from({ length: n }, (_, i) => i).filter(test);

describe('the views of a rule', () => {
  it('gives one view per top-level condition of an `all`: the customers passing the others, and the others\' features to hide', () => {
    const rule: Rule = { all: [{ a: { gte: 20 } }, { any: [{ b: { gte: 7 } }, { c: { lte: 8 } }] }, { d: { gt: 10 } }] };
    const views = conditionViews(rule, table, 'personas[2].key_drivers');
    expect(views.map((v) => v.condition)).toEqual(['personas[2].key_drivers.all[0]', 'personas[2].key_drivers.all[1]', 'personas[2].key_drivers.all[2]']);
    const any = (i: number) => i % 10 >= 7 || (i * 7) % 40 <= 8;
    expect(rows(views[0].seedMask)).toEqual(where((i) => any(i) && 40 - i > 10));
    expect(rows(views[1].seedMask)).toEqual(where((i) => i >= 20 && 40 - i > 10));
    expect(rows(views[2].seedMask)).toEqual(where((i) => i >= 20 && any(i)));
    expect(views.map((v) => v.seeds)).toEqual(views.map((v) => rows(v.seedMask).length));
    expect(views.map((v) => v.ruleFeatures.sort())).toEqual([['b', 'c', 'd'], ['a', 'd'], ['a', 'b', 'c']]);
    expect(views.map((v) => v.features.sort())).toEqual([['a'], ['b', 'c'], ['d']]);
    expect(rows(views[0].conditionMask)).toEqual(where((i) => i >= 20));
    expect(rows(views[1].conditionMask)).toEqual(where(any));
    expect(rows(views[2].conditionMask)).toEqual(where((i) => 40 - i > 10));
  });

  it('gives none for a rule that is not an `all` of two or more, and leaves out a view whose positives are more than half the base', () => {
    expect(conditionViews({ any: [{ a: { gte: 10 } }, { d: { gt: 5 } }] }, table)).toEqual([]);
    expect(conditionViews({ all: [{ a: { gte: 10 } }] }, table)).toEqual([]);
    expect(conditionViews({ a: { gte: 10 } }, table)).toEqual([]);
    // Leaving out a >= 35 keeps d > 2 (37 of 40 customers): too broad to learn from. Leaving out d > 2 keeps a >= 35.
    const views = conditionViews({ all: [{ a: { gte: 35 } }, { d: { gt: 2 } }] }, table);
    expect(views.map((v) => [v.condition, v.seeds])).toEqual([['key_drivers.all[1]', 5]]);
  });

  it('leaves out the view of a condition that has no model column (a categorical feature whose levels are all too rare to encode)', () => {
    // 200 customers: `shop` has 200 distinct values, none common enough to become a design column.
    const m = 200;
    const wide: FeatureTable = {
      rows: m,
      ids: Array.from({ length: m }, (_, i) => `c${i}`),
      numericNames: ['a', 'd'],
      numeric: [Float32Array.from({ length: m }, (_, i) => i % 40), Float32Array.from({ length: m }, (_, i) => 40 - (i % 40))],
      categoricalNames: ['shop'],
      categorical: [Array.from({ length: m }, (_, i) => `s${i}`)],
    };
    const design = encodeDesign(wide, fitDesign(wide));
    expect(design.sources).not.toContain('shop');
    const views = conditionViews({ all: [{ a: { gte: 20 } }, { shop: { in: ['s21', 's22', 's23', 's61', 's62'] } }, { d: { gt: 10 } }] }, wide);
    expect(views.map((v) => v.condition)).toEqual(['key_drivers.all[0]', 'key_drivers.all[1]', 'key_drivers.all[2]']);
    expect(viewsWithColumns(views, design).map((v) => v.condition)).toEqual(['key_drivers.all[0]', 'key_drivers.all[2]']);
  });

  it('marks the customers for whom the other conditions are undecided (missing values): never a view\'s positives', () => {
    // e is missing for every fifth customer, i otherwise.
    const gappy: FeatureTable = { ...table, numericNames: [...table.numericNames, 'e'], numeric: [...table.numeric, Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? NaN : i))] };
    const views = conditionViews({ all: [{ a: { gte: 20 } }, { e: { gte: 10 } }, { d: { gt: 10 } }] }, gappy);
    // Without a: e undecided where missing, d > 10 holds below 30 (where d fails, the others are false, not undecided).
    expect(rows(views[0].blocked)).toEqual([0, 5, 10, 15, 20, 25]);
    // Without e: a and d are never missing.
    expect(rows(views[1].blocked)).toEqual([]);
    // Without d: e undecided where missing and a >= 20 holds.
    expect(rows(views[2].blocked)).toEqual([20, 25, 30, 35]);
    for (const v of views) expect(rows(v.blocked).filter((i) => v.seedMask[i])).toEqual([]);
  });

  it('names the condition of a rule that cannot be evaluated', () => {
    expect(() => conditionViews({ all: [{ a: { gte: 1 } }, { nope: { gte: 1 } }] }, table, 'personas[0].key_drivers')).toThrow(/personas\[0\]\.key_drivers\.all\[1\]/);
  });
});

describe('the views model', () => {
  const rng = new Random(7);
  const m = 600;
  const x: ColumnMatrix = { rows: m, columns: Array.from({ length: 3 }, () => Float32Array.from({ length: m }, () => rng.next())) };
  const y = Uint8Array.from({ length: m }, (_, i) => (x.columns[0][i] + x.columns[1][i] + x.columns[2][i] + 0.5 * rng.next() > 1.8 ? 1 : 0));
  const names = ['x1', 'x2', 'x3'];
  const sub = (cols: number[]): ColumnMatrix => ({ rows: m, columns: cols.map((j) => x.columns[j]) });
  const fit = (cols: number[]) => fitLearner('gbdt', { numTrees: 15, maxDepth: 3, minDataInLeaf: 10 }, { x: sub(cols), y, featureNames: cols.map((j) => names[j]) });

  const logit = (p: number) => Math.log(p / (1 - p));
  const held = (p: number) => Math.min(0.995, Math.max(0.005, p));

  it('gives c times the persona model\'s probability plus its views\' evidence, each tempered by its own weight and on its own columns, and reads back from its file', async () => {
    const base = await fit([0, 1]);
    const v1 = await fit([2]);
    const v2 = await fit([0]);
    const scales = [{ floor: 0.01, mean: 0.3, weight: 0.6 }, { floor: 0.05, mean: 0.4, weight: 0.15 }];
    const model = new ConditionViewsModel(names, { condition: 'key_drivers', model: base, c: 0.5 }, [{ condition: 'key_drivers.all[0]', model: v1, c: 0.4 }, { condition: 'key_drivers.all[1]', model: v2, c: 0.8 }], 0.6, { rule: 'evidence', prevalence: 0.2, scales });
    const out = model.predictProba(x);
    const p0 = base.predictProba(sub([0, 1]));
    const parts = [v1.predictProba(sub([2])), v2.predictProba(sub([0]))];
    for (const i of [0, 17, 250, 599]) {
      let z = logit(held(p0[i] / 0.5));
      parts.forEach((s, k) => (z += scales[k].weight * (logit(held((0.2 * (s[i] - scales[k].floor)) / (scales[k].mean - scales[k].floor))) - logit(0.2))));
      expect(out[i] / 0.5).toBeCloseTo(1 / (1 + Math.exp(-z)), 12);
    }
    // Importance: the persona model's once, each view's by its weight.
    const imp = model.featureImportance();
    expect(imp.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(imp[2]).toBeCloseTo(0.6 / 1.75, 9); // x3 is view 1's only column, and no other part's
    const file = JSON.parse(JSON.stringify(model.toJSON()));
    expect(file).toMatchObject({ format: VIEWS_FORMAT, weight: 0.6, prevalence: 0.2, views: [{ floor: 0.01, mean: 0.3, weight: 0.6 }, { floor: 0.05, mean: 0.4, weight: 0.15 }] });
    const loaded = loadModel(file);
    expect(loaded.kind).toBe('views');
    expect(loaded.featureNames).toEqual(names);
    expect(Array.from(loaded.predictProba(x))).toEqual(Array.from(out));
    expect(() => model.predictProba(sub([0, 1]))).toThrow(/2 feature columns; this views model reads 3/);
  });

  it('leaves out a view\'s evidence at or below its gate (format 4), and still reads a format 3 file (sessions 18 to 22)', async () => {
    const base = await fit([0, 1]);
    const v1 = await fit([2]);
    const s1 = v1.predictProba(sub([2]));
    const gate = Float64Array.from(s1).sort()[Math.floor(m / 4)];
    const above = s1.filter((v) => v > gate);
    const scales = [{ floor: Math.min(...above), mean: above.reduce((a, b) => a + b, 0) / above.length, weight: 0.6, gate }];
    const model = new ConditionViewsModel(names, { condition: 'key_drivers', model: base, c: 0.5 }, [{ condition: 'key_drivers.all[0]', model: v1, c: 0.4 }], 0.6, { rule: 'evidence', prevalence: 0.2, scales });
    const out = model.predictProba(x);
    const p0 = base.predictProba(sub([0, 1]));
    let silent = 0;
    for (let i = 0; i < m; i++) {
      const speaks = s1[i] > gate;
      if (!speaks) silent++;
      const z = logit(held(p0[i] / 0.5)) + (speaks ? 0.6 * (logit(held((0.2 * (s1[i] - scales[0].floor)) / (scales[0].mean - scales[0].floor))) - logit(0.2)) : 0);
      expect(out[i] / 0.5).toBeCloseTo(1 / (1 + Math.exp(-z)), 12);
    }
    expect(silent).toBeGreaterThan(m / 5);
    const file = JSON.parse(JSON.stringify(model.toJSON()));
    expect(file).toMatchObject({ format: VIEWS_FORMAT, views: [{ gate }] });
    expect(Array.from(loadModel(file).predictProba(x))).toEqual(Array.from(out));
    // A format 3 file: no gate, read as it was written.
    const { gate: _, ...ungated } = file.views[0];
    const v3 = { ...file, format: VIEWS_FORMAT_V3, views: [ungated] };
    const v3Model = new ConditionViewsModel(names, { condition: 'key_drivers', model: base, c: 0.5 }, [{ condition: 'key_drivers.all[0]', model: v1, c: 0.4 }], 0.6, { rule: 'evidence', prevalence: 0.2, scales: [{ ...scales[0], gate: undefined }] });
    expect(Array.from(loadModel(v3).predictProba(x))).toEqual(Array.from(v3Model.predictProba(x)));
    expect(() => loadModel({ ...v3, views: [file.views[0]] })).toThrow(/views\[0\]\.gate: expected a number below its floor, in a "personas-views\/4" file only/);
    expect(() => loadModel({ ...file, views: [{ ...file.views[0], gate: file.views[0].floor }] })).toThrow(/views\[0\] gate .*: expected a number below its floor/);
  });

  it('still reads and scores a format 2 file (sessions 13 to 17): every view at the model\'s one weight', async () => {
    const base = await fit([0, 1]);
    const v1 = await fit([2]);
    const v2 = await fit([0]);
    const same = [{ floor: 0.01, mean: 0.3, weight: 0.4 }, { floor: 0.05, mean: 0.4, weight: 0.4 }];
    const model = new ConditionViewsModel(names, { condition: 'key_drivers', model: base, c: 0.5 }, [{ condition: 'key_drivers.all[0]', model: v1, c: 0.4 }, { condition: 'key_drivers.all[1]', model: v2, c: 0.8 }], 0.4, { rule: 'evidence', prevalence: 0.2, scales: same });
    // A format 2 file: its views hold no weight of their own.
    const file = JSON.parse(JSON.stringify(model.toJSON()));
    const v2File = { ...file, format: VIEWS_FORMAT_V2, views: file.views.map(({ weight: _, ...v }: Record<string, unknown>) => v) };
    expect(v2File.views[0].weight).toBeUndefined();
    expect(Array.from(loadModel(v2File).predictProba(x))).toEqual(Array.from(model.predictProba(x)));
    // A format 3 or 4 file must say each view's weight.
    expect(() => loadModel({ ...v2File, format: VIEWS_FORMAT })).toThrow(/views\[0\]\.weight: expected a number in \[0, 1\]/);
    // Strict precision's temper of the persona model is saved, read back, and known to format 3 only.
    const strict = new ConditionViewsModel(names, { condition: 'key_drivers', model: base, c: 0.5 }, [{ condition: 'key_drivers.all[0]', model: v1, c: 0.4 }, { condition: 'key_drivers.all[1]', model: v2, c: 0.8 }], 0.4, { rule: 'evidence', prevalence: 0.2, scales: same, baseWeight: 0.7 });
    const strictFile = JSON.parse(JSON.stringify(strict.toJSON()));
    expect(strictFile.baseWeight).toBe(0.7);
    expect(file.baseWeight).toBeUndefined();
    expect(Array.from(loadModel(strictFile).predictProba(x))).toEqual(Array.from(strict.predictProba(x)));
    expect(Array.from(strict.predictProba(x))).not.toEqual(Array.from(model.predictProba(x)));
    expect(() => loadModel({ ...v2File, baseWeight: 0.7 })).toThrow(/baseWeight: expected a number in \(0, 1\], in a "personas-views\/4" or "personas-views\/3" file only/);
    expect(() => loadModel({ ...strictFile, baseWeight: 0 })).toThrow(/baseWeight 0 is not in \(0, 1\]/);
  });

  it('still reads and scores a format 1 file (sessions 10 to 12): c times the weighted geometric mean of its parts\' probabilities', async () => {
    const base = await fit([0, 1]);
    const v1 = await fit([1, 2]);
    const v2 = await fit([0, 2]);
    const model = new ConditionViewsModel(names, { condition: 'key_drivers', model: base, c: 0.5 }, [{ condition: 'key_drivers.all[0]', model: v1, c: 0.4 }, { condition: 'key_drivers.all[1]', model: v2, c: 0.8 }], 0.5);
    const file = JSON.parse(JSON.stringify(model.toJSON()));
    expect(file.format).toBe(VIEWS_FORMAT_V1);
    expect(file.prevalence).toBeUndefined();
    const loaded = loadModel(file);
    const out = loaded.predictProba(x);
    const p0 = base.predictProba(sub([0, 1]));
    const p1 = v1.predictProba(sub([1, 2]));
    const p2 = v2.predictProba(sub([0, 2]));
    for (const i of [0, 17, 250, 599]) {
      const expected = Math.min(1, p0[i] / 0.5) ** 0.5 * Math.min(1, p1[i] / 0.4) ** 0.25 * Math.min(1, p2[i] / 0.8) ** 0.25;
      expect(out[i] / 0.5).toBeCloseTo(expected, 12);
    }
  });

  it('refuses a file or parts that do not fit, naming the field', async () => {
    const base = await fit([0, 1]);
    const view = await fit([1, 2]);
    const good = JSON.parse(JSON.stringify(new ConditionViewsModel(names, { condition: 'key_drivers', model: base, c: 0.5 }, [{ condition: 'key_drivers.all[0]', model: view, c: 0.4 }], 0.5, { rule: 'evidence', prevalence: 0.1, scales: [{ floor: 0, mean: 0.2, weight: 0.5 }] }).toJSON()));
    expect(() => loadModel({ ...good, views: [{ ...good.views[0], c: undefined }] })).toThrow(/views\[0\]\.c: expected a number/);
    expect(() => loadModel({ ...good, views: [] })).toThrow(/views: expected a non-empty array/);
    expect(() => loadModel({ ...good, featureNames: ['x1', 'x2'] })).toThrow(/views\[0\] \(key_drivers\.all\[0\]\) reads column "x3"/);
    expect(() => loadModel({ ...good, weight: 2 })).toThrow(/weight 2 is not in \[0, 1\]/);
    expect(() => loadModel({ ...good, base: { ...good.base, c: 0 } })).toThrow(/base c = 0/);
    expect(() => loadModel({ ...good, prevalence: undefined })).toThrow(/prevalence: expected a number in \(0, 1\)/);
    expect(() => loadModel({ ...good, prevalence: 1 })).toThrow(/prevalence 1 is not in \(0, 1\)/);
    expect(() => loadModel({ ...good, views: [{ ...good.views[0], floor: undefined }] })).toThrow(/views\[0\]\.floor: expected a number/);
    expect(() => loadModel({ ...good, views: [{ ...good.views[0], floor: 0.5 }] })).toThrow(/views\[0\] floor 0\.5 and mean 0\.2: expected numbers with mean >= floor/);
    expect(() => loadModel({ ...good, views: [{ ...good.views[0], weight: -0.1 }] })).toThrow(/views\[0\] weight -0\.1 is not in \[0, 1\]/);
    expect(() => loadModel({ ...good, format: 'personas-views/9' })).toThrow(/not supported/);
  });

  it('adds no evidence for a view at its mean, strong evidence against at its floor, and none from a constant view', () => {
    const p0 = Float64Array.from([0.3, 0.3, 0.3, 2]);
    const scores = Float64Array.from([0.25, 0.05, 0.6, 0.25]);
    const out = combineViewEvidence(p0, [{ scores, floor: 0.05, mean: 0.25, weight: 1 }], 0.1, 2);
    expect(out[0]).toBeCloseTo(0.6, 12); // at the mean: p0 itself (times the scale 2)
    expect(out[1] / 2).toBeCloseTo(1 / (1 + Math.exp(-(logit(0.3) + logit(0.005) - logit(0.1)))), 12); // at the floor
    expect(out[2] / 2).toBeGreaterThan(0.3); // above the mean: for
    expect(out[3] / 2).toBeCloseTo(0.995, 12); // s / c above 1 is held at 0.995
    const constant = combineViewEvidence(p0, [{ scores, floor: 0.2, mean: 0.2, weight: 0.4 }], 0.1);
    expect(Array.from(constant, (v) => +v.toFixed(12))).toEqual([0.3, 0.3, 0.3, 0.995]);
    // A view of weight 0 adds nothing; half the weight, half the evidence in logit.
    expect(Array.from(combineViewEvidence(p0, [{ scores, floor: 0.05, mean: 0.25, weight: 0 }], 0.1), (v) => +v.toFixed(12))).toEqual([0.3, 0.3, 0.3, 0.995]);
    const half = combineViewEvidence(p0, [{ scores, floor: 0.05, mean: 0.25, weight: 0.5 }], 0.1);
    expect(logit(half[2]) - logit(0.3)).toBeCloseTo((logit(out[2] / 2) - logit(0.3)) / 2, 12);
    // Strict precision: the persona model's own evidence tempered towards the prevalence (baseWeight 0.5).
    const tempered = combineViewEvidence(p0, [{ scores, floor: 0.05, mean: 0.25, weight: 1 }], 0.1, 1, 0.5);
    expect(tempered[0]).toBeCloseTo(1 / (1 + Math.exp(-(logit(0.1) + 0.5 * (logit(0.3) - logit(0.1))))), 12);
    expect(logit(tempered[2]) - logit(tempered[0])).toBeCloseTo(logit(out[2] / 2) - logit(out[0] / 2), 12);
  });

  it('format 1: combines probabilities by the weighted geometric mean, the base alone without views', () => {
    const out = combineViewProbabilities(Float64Array.from([0.8, 0, 1]), [Float64Array.from([0.2, 0.5, 1]), Float64Array.from([0.8, 0.5, 1])], 0.5, 2);
    expect(out[0]).toBeCloseTo(2 * 0.8 ** 0.5 * 0.2 ** 0.25 * 0.8 ** 0.25, 12);
    expect(out[1]).toBeLessThan(1e-5);
    expect(out[2]).toBeCloseTo(2, 12);
    expect(Array.from(combineViewProbabilities(Float64Array.from([0.3, 0.6]), [], 0.5))).toEqual([0.3, 0.6]);
  });
});

describe('a view\'s dependence', () => {
  // 1,000 customers; the persona model scores customer i as i (the low half: i < 500).
  const m = 1000;
  const persona = Float64Array.from({ length: m }, (_, i) => i);
  const rng = new Random(11);
  const positives = Uint8Array.from({ length: m }, () => (rng.next() < 0.3 ? 1 : 0));

  it('is the view\'s AUC for its positives among the half of the base the persona model scores lowest', () => {
    // A view that ranks its positives first in the low half, and every one last in the high half.
    const tied = Float64Array.from({ length: m }, (_, i) => (i < 500 ? positives[i] : -positives[i]));
    expect(viewDependence(persona, tied, positives)).toBe(1);
    // A view that knows nothing of its positives there (its scores a function of the persona model's): 0.5 and about.
    const blind = Float64Array.from({ length: m }, (_, i) => (i < 500 ? 0.1 : positives[i]));
    expect(viewDependence(persona, blind, positives)).toBe(0.5);
    const noise = Float64Array.from({ length: m }, () => rng.next());
    expect(Math.abs(viewDependence(persona, noise, positives)! - 0.5)).toBeLessThan(0.07);
    // No positive in the low half: not measurable.
    expect(viewDependence(persona, noise, Uint8Array.from({ length: m }, (_, i) => (i >= 500 ? 1 : 0)))).toBeNull();
  });

  it('is logged, with what it means, above the limit only', () => {
    const views = [
      { condition: 'personas[5].key_drivers.all[0]', features: ['december_share'], seeds: 900, c: 0.2, validationAuc: 0.8, dependence: 0.82, relearning: 0.57, weight: 0.216 },
      { condition: 'personas[5].key_drivers.all[1]', features: ['share_cat_gifts'], seeds: 900, c: 0.2, validationAuc: 0.8, dependence: 0.6, relearning: 0.65, weight: 0.42 },
      { condition: 'personas[5].key_drivers.all[2]', features: ['frequency_12m'], seeds: 900, c: 0.2, validationAuc: 0.8, dependence: null, relearning: null, weight: 0.6 },
    ];
    expect(viewDependenceWarnings({ id: 'seasonal_gifter', views })).toEqual([
      'seasonal_gifter: condition december_share (key_drivers.all[0]) goes with the others even among the customers least like the persona (dependence 0.82, above 0.75): its evidence is partly counted twice (its weight is lowered to 0.22 for that), so fewer of this persona\'s assigned customers may be right than its expected precision says',
    ]);
    expect(viewDependenceWarnings({ id: 'x', views: undefined })).toEqual([]);
    // The run's log: every view's weight first, then the warnings.
    expect(viewLogLines({ id: 'seasonal_gifter', views })).toEqual([
      "seasonal_gifter: condition views' weights december_share (key_drivers.all[0]) 0.22 (dependence 0.82, relearning 0.57), share_cat_gifts (key_drivers.all[1]) 0.42 (dependence 0.60, relearning 0.65), frequency_12m (key_drivers.all[2]) 0.60 (dependence -, relearning -)",
      ...viewDependenceWarnings({ id: 'seasonal_gifter', views }),
    ]);
    expect(viewLogLines({ id: 'x', views: [] })).toEqual([]);
    // A persona model that rebuilds its rule's conditions (relearning 0.02 + 0.11 + 0.19 = 0.32, above 0.26) is said so last.
    const rebuilt = [0.52, 0.61, 0.69].map((relearning, a) => ({ ...views[a], dependence: 0.5, relearning, weight: viewWeight(0.6, 0.5, relearning) }));
    expect(viewLogLines({ id: 'rural', views: rebuilt }).at(-1)).toBe(
      "rural: its model partly rebuilds the rule's conditions from other columns (relearning 0.32, above 0.26): fewer of its assigned customers may be right than its expected precision says",
    );
    expect(viewLogLines({ id: 'rural', views: rebuilt })).toHaveLength(2);
  });

  it('and the persona model\'s relearning of the condition: its own AUC for the condition\'s passes in that half', () => {
    // The condition passed by every third customer: the persona model (i) tells nothing of it, in the low half or anywhere.
    const thirds = Uint8Array.from({ length: m }, (_, i) => (i % 3 === 0 ? 1 : 0));
    expect(Math.abs(viewRelearning(persona, thirds)! - 0.5)).toBeLessThan(0.01);
    // Passed by the customers 250 to 499 and 900 up: in the low half, the persona model ranks them all first.
    const rebuilt = Uint8Array.from({ length: m }, (_, i) => ((i >= 250 && i < 500) || i >= 900 ? 1 : 0));
    expect(viewRelearning(persona, rebuilt)).toBe(1);
    // Passed only in the high half: not measurable.
    expect(viewRelearning(persona, Uint8Array.from({ length: m }, (_, i) => (i >= 500 ? 1 : 0)))).toBeNull();
  });

  it('lower a view\'s weight: full at 0.5 or under, half at 0.75, none at 1, by the larger of the two', () => {
    expect(viewWeight(0.6, 0.5, 0.5)).toBe(0.6);
    expect(viewWeight(0.6, 0.42, 0.3)).toBe(0.6);
    expect(viewWeight(0.6, null, null)).toBe(0.6);
    expect(viewWeight(0.6, 0.75, 0.5)).toBeCloseTo(0.3, 12);
    expect(viewWeight(0.6, 0.55, 0.75)).toBeCloseTo(0.3, 12);
    expect(viewWeight(0.6, null, 0.9)).toBeCloseTo(0.12, 12);
    expect(viewWeight(0.6, 1, 0.5)).toBe(0);
  });
});

describe('a persona model with its views', () => {
  // 2,000 customers; the persona model scores customer i as i / 2000 (c 0.5), two views on columns x1 and x2.
  const m = 2000;
  const rng = new Random(5);
  const oof = Float64Array.from({ length: m }, (_, i) => i / m);
  const scorer = (name: string) => ({ kind: 'gbdt', featureNames: [name], backend: 'javascript', predictProba: () => new Float64Array(0), featureImportance: () => Float64Array.from([1]), toJSON: () => ({}) });
  const persona = { id: 'p', features: ['x0'], c: 0.5, oofScores: oof, probabilities: Float64Array.from(oof, (s) => s / 0.5), prevalence: 0.25, model: scorer('x0') } as unknown as PersonaModel;
  const view = (name: string, scores: Float64Array, seedMask: Uint8Array, conditionMask: Uint8Array): TrainedView =>
    ({ condition: `all[${name}]`, seeds: 1, seedMask, features: [name], conditionMask, blocked: new Uint8Array(m), model: { id: name, features: [name], c: 0.3, oofScores: scores, validationAuc: 0.7, model: scorer(name) } }) as unknown as TrainedView;
  // View x1: its own evidence (scores noise, its positives and condition independent of the persona model).
  const free = view('x1', Float64Array.from({ length: m }, () => rng.next()), Uint8Array.from({ length: m }, () => (rng.next() < 0.3 ? 1 : 0)), Uint8Array.from({ length: m }, () => (rng.next() < 0.4 ? 1 : 0)));
  // View x2: its condition is passed by the customers the persona model ranks highest in its low half (rebuilt).
  const rebuilt = view('x2', Float64Array.from({ length: m }, () => rng.next()), Uint8Array.from({ length: m }, () => (rng.next() < 0.3 ? 1 : 0)), Uint8Array.from({ length: m }, (_, i) => (i >= 700 && i < 1000) || i >= 1800 ? 1 : 0));

  it('weighs each view by what its evidence adds, and reports it', () => {
    const out = withViews(persona, [free, rebuilt], { weight: 0.6, scaleByDependence: true }, ['x0', 'x1', 'x2']);
    const [a, b] = out.views!;
    expect(Math.abs(a.dependence! - 0.5)).toBeLessThan(0.05);
    expect(Math.abs(a.relearning! - 0.5)).toBeLessThan(0.05);
    expect(a.weight).toBe(viewWeight(0.6, a.dependence, a.relearning));
    expect(a.weight).toBeGreaterThan(0.5);
    expect(b.relearning).toBe(1);
    expect(b.weight).toBe(0);
    const file = JSON.parse(JSON.stringify(out.model.toJSON()));
    expect(file.views.map((v: { weight: number }) => v.weight)).toEqual([a.weight, 0]);
    // The combined probabilities are the ones the model's combination gives on the out-of-fold scores.
    const expected = combineViewEvidence(persona.probabilities, [{ scores: free.model.oofScores, floor: Math.min(...free.model.oofScores), mean: free.model.oofScores.reduce((s, v) => s + v, 0) / m, weight: a.weight }], 0.25);
    expect(Array.from(out.probabilities).every((p, i) => Math.abs(p - expected[i]) < 1e-12)).toBe(true);
    expect(out.prevalence).toBeCloseTo(expected.reduce((s, v) => s + v, 0) / m, 12);
  });

  it('tempers the persona model\'s own evidence by its relearning for strict precision, and saves the temper', () => {
    const plain = withViews(persona, [free, rebuilt], { weight: 0.6, scaleByDependence: true }, ['x0', 'x1', 'x2']);
    const strict = withViews(persona, [free, rebuilt], { weight: 0.6, scaleByDependence: true, strictPrecision: true }, ['x0', 'x1', 'x2']);
    // Relearning: about 0 for the free view, 0.5 for the rebuilt one: the persona model's evidence counts about half.
    const t = strictBaseWeight(strict.views!);
    expect(t).toBeCloseTo(1 - (Math.max(0, strict.views![0].relearning! - 0.5) + 0.5), 12);
    expect(strict.baseWeight).toBe(t);
    expect(plain.baseWeight).toBeUndefined();
    expect((strict.model.toJSON() as { baseWeight?: number }).baseWeight).toBe(t);
    const expected = combineViewEvidence(persona.probabilities, [{ scores: free.model.oofScores, floor: Math.min(...free.model.oofScores), mean: free.model.oofScores.reduce((s, v) => s + v, 0) / m, weight: strict.views![0].weight }], 0.25, 1, t);
    expect(Array.from(strict.probabilities).every((p, i) => Math.abs(p - expected[i]) < 1e-12)).toBe(true);
    // Tempered towards the prevalence: the most confident customer is less so.
    expect(strict.probabilities[m - 1]).toBeLessThan(plain.probabilities[m - 1]);
    expect(viewLogLines(strict).at(-1)).toBe(`p: strict precision: its model's own evidence counts ${t.toFixed(2)} (1 - its relearning)`);
    // Its relearning (about 0.5) is over the limit: without the temper the log warns, with it the temper line says what was done.
    expect(viewLogLines(plain).some((l) => l.includes('partly rebuilds'))).toBe(true);
    expect(viewLogLines(strict).some((l) => l.includes('partly rebuilds'))).toBe(false);
    // Floored at 0.2; 1 when nothing was measured.
    expect(strictBaseWeight([{ relearning: 1 }, { relearning: 0.9 }])).toBe(0.2);
    expect(strictBaseWeight([{ relearning: null }])).toBe(1);
  });

  it('lets a view say nothing of the customers it sets apart as undecided (its gate), and reports how many', () => {
    // Every seventh customer has the other conditions undecided; the view scores them lowest (it learnt they are never positive).
    const blocked = Uint8Array.from({ length: m }, (_, i) => (i % 7 === 0 ? 1 : 0));
    const scores = Float64Array.from({ length: m }, (_, i) => (blocked[i] ? 0.001 + 0.0001 * (i % 3) : 0.1 + 0.9 * rng.next()));
    const gatedView = { ...free, condition: 'all[x3]', blocked, model: { ...free.model, oofScores: scores } } as TrainedView;
    const gate = viewGate(scores, blocked)!;
    expect(gate).toBeCloseTo(0.0012, 12);
    const out = withViews(persona, [gatedView], { weight: 0.6, scaleByDependence: true }, ['x0', 'x1']);
    const count = rows(blocked).length;
    expect(out.views![0].gated).toBe(count);
    const above = scores.filter((v) => v > gate);
    const scale = { floor: Math.min(...above), mean: above.reduce((a, b) => a + b, 0) / above.length, weight: out.views![0].weight, gate };
    const file = JSON.parse(JSON.stringify(out.model.toJSON()));
    expect(file.format).toBe(VIEWS_FORMAT);
    expect(file.views[0]).toMatchObject(scale);
    // The undecided keep the persona model's own probability; the others get the view's evidence.
    for (let i = 0; i < m; i++) if (blocked[i]) expect(out.probabilities[i]).toBeCloseTo(Math.min(0.995, Math.max(0.005, persona.probabilities[i])), 12);
    const expected = combineViewEvidence(persona.probabilities, [{ scores, ...scale }], 0.25);
    expect(Array.from(out.probabilities).every((p, i) => Math.abs(p - expected[i]) < 1e-12)).toBe(true);
    expect(out.probabilities[1]).not.toBeCloseTo(Math.min(0.995, persona.probabilities[1]), 3);
    expect(viewLogLines(out)[0]).toContain(`silent on ${count} customers for whom the other conditions are undecided`);
    // Without a gate (the free view): none gated, no gate in the file, no word of it in the log.
    const plain = withViews(persona, [free], { weight: 0.6, scaleByDependence: true }, ['x0', 'x1']);
    expect(plain.views![0].gated).toBe(0);
    expect(JSON.parse(JSON.stringify(plain.model.toJSON())).views[0].gate).toBeUndefined();
    expect(viewLogLines(plain)[0]).not.toContain('silent');
  });

  it('gates a view only where its scores set the undecided apart', () => {
    const k = 1000;
    const blocked = Uint8Array.from({ length: k }, (_, i) => (i < 100 ? 1 : 0));
    // Set apart: the undecided scored 0 to 0.099, the rest 0.2 and up: the gate is the score GATE_QUANTILE of them are at or below.
    const apart = Float64Array.from({ length: k }, (_, i) => (i < 100 ? i / 1000 : 0.2 + i / 10000));
    expect(viewGate(apart, blocked)).toBe(apart[Math.floor(GATE_QUANTILE * 100)]);
    // Mixed in with the rest (the view's features know nothing of what leaves them undecided): no gate.
    const mixed = Float64Array.from({ length: k }, (_, i) => ((i * 37) % 1000) / 1000);
    expect(viewGate(mixed, blocked)).toBeNull();
    // None undecided, or all of them: no gate.
    expect(viewGate(apart, new Uint8Array(k))).toBeNull();
    expect(viewGate(apart, new Uint8Array(k).fill(1))).toBeNull();
  });

  it('gives every view the one weight when told not to scale', () => {
    const out = withViews(persona, [free, rebuilt], { weight: 0.4, scaleByDependence: false }, ['x0', 'x1', 'x2']);
    expect(out.views!.map((v) => v.weight)).toEqual([0.4, 0.4]);
    expect(out.views![1].relearning).toBe(1);
  });
});

describe('view options', () => {
  const gbdt = { kind: 'gbdt' as const, params: {} };
  it('apply to boosted trees only, and are checked', () => {
    const v = { trees: 100, folds: 2, weight: 0.5, scaleByDependence: true, unlabeledPerSeed: 20 };
    expect(viewsOf({ views: v, learner: gbdt })).toEqual(v);
    expect(viewsOf({ views: v, learner: { kind: 'forest', params: {} } })).toBeNull();
    expect(viewsOf({ views: null, learner: gbdt })).toBeNull();
    expect(viewsOf({ views: { ...v, weight: 1 }, learner: gbdt })).toEqual({ ...v, weight: 1 });
    expect(() => viewsOf({ views: { ...v, weight: 0 }, learner: gbdt })).toThrow(/views\.weight = 0: expected a number above 0, at most 1/);
    expect(() => viewsOf({ views: { ...v, weight: 1.5 }, learner: gbdt })).toThrow(/views\.weight = 1\.5/);
    expect(() => viewsOf({ views: { ...v, trees: 0 }, learner: gbdt })).toThrow(/views\.trees = 0/);
    expect(() => viewsOf({ views: { ...v, folds: 1 }, learner: gbdt })).toThrow(/views\.folds = 1/);
    expect(() => viewsOf({ views: { ...v, scaleByDependence: 'yes' as unknown as boolean }, learner: gbdt })).toThrow(/views\.scaleByDependence = yes: expected true or false/);
    expect(() => viewsOf({ views: { ...v, strictPrecision: 1 as unknown as boolean }, learner: gbdt })).toThrow(/views\.strictPrecision = 1: expected true or false/);
    // What a run asks for: none, the defaults, or the defaults with strict precision.
    expect(viewOptionsFor({ views: false, strictPrecision: true })).toBeNull();
    expect(viewOptionsFor({})).toBe(VIEW_DEFAULTS);
    expect(viewOptionsFor({ strictPrecision: true })).toEqual({ ...VIEW_DEFAULTS, strictPrecision: true });
  });

  it('never give a view more trees than the persona model has', () => {
    expect(viewTrees({ trees: 100, folds: 2, weight: 0.5, scaleByDependence: true, unlabeledPerSeed: 20 }, { numTrees: 12 })).toBe(12);
    expect(viewTrees({ trees: 100, folds: 2, weight: 0.5, scaleByDependence: true, unlabeledPerSeed: 20 }, { numTrees: 300 })).toBe(100);
    expect(viewTrees({ trees: 100, folds: 2, weight: 0.5, scaleByDependence: true, unlabeledPerSeed: 20 }, {})).toBe(100);
  });

  /** The two views of a two-condition rule on the test table, and a persona learner of `numTrees` trees. */
  const twoViews = (numTrees: number) => {
    const design = encodeDesign(table, fitDesign(table));
    const views = viewsWithColumns(conditionViews({ all: [{ a: { gte: 20 } }, { d: { gt: 10 } }] }, table, 'personas[0].key_drivers'), design);
    const learner = personaLearner({ kind: 'gbdt', params: { numTrees } });
    return { design, views, learner, rate: learner.params.learningRate as number };
  };

  it('train each view at the rate of one of its persona model\'s bags, with the view trees', async () => {
    const { design, views, learner, rate } = twoViews(4);
    const opts = { ...TRAIN_DEFAULTS, views: { ...VIEW_DEFAULTS, trees: 3, bags: 1 }, learner, workers: 1 };
    const trained = await trainConditionViews(design, [{ id: 'ten', index: 0, bags: 10, views }, { id: 'five', index: 1, bags: 5, views }, { id: 'unsaid', index: 2, views }], opts);
    const params = trained.map((p) => p.map((v) => (v.model.model.toJSON() as { params: { numTrees: number; learningRate: number } }).params));
    // 'auto' bags: ten bags learn at twice the rate of five; a persona's bags unsaid, the learner's own.
    expect(params.map((p) => p.map((x) => [x.numTrees, x.learningRate]))).toEqual([views.map(() => [3, rate * 2]), views.map(() => [3, rate]), views.map(() => [3, rate])]);
    // A number of bags takes the learner as given.
    const fixed = await trainConditionViews(design, [{ id: 'ten', index: 0, bags: 10, views }], { ...opts, bags: 10 });
    expect(fixed[0].map((v) => (v.model.model.toJSON() as { params: { learningRate: number } }).params.learningRate)).toEqual(views.map(() => rate));
  });

  it('share a view\'s trees among its own bags, each learning at bags times the rate', async () => {
    const { design, views, learner, rate } = twoViews(12);
    const opts = { ...TRAIN_DEFAULTS, views: { ...VIEW_DEFAULTS, trees: 6, bags: 3 }, learner, workers: 1 };
    const [trained] = await trainConditionViews(design, [{ id: 'ten', index: 0, bags: 10, views }], opts);
    type Ensemble = { members: { model: { params: { numTrees: number; learningRate: number } } }[] };
    for (const v of trained) {
      const members = (v.model.model.toJSON() as Ensemble).members.map((m) => m.model.params);
      // Three bags of 6 / 3 trees, at three times the rate of one of the persona model's ten bags.
      expect(members.map((m) => [m.numTrees, m.learningRate])).toEqual([0, 1, 2].map(() => [2, rate * 2 * 3]));
      expect(v.model.bags).toBe(3);
    }
    // The same views in one bag: one model of the six trees, at the persona bag's rate.
    const [single] = await trainConditionViews(design, [{ id: 'ten', index: 0, bags: 10, views }], { ...opts, views: { ...opts.views, bags: 1 } });
    expect(single.map((v) => (v.model.model.toJSON() as { params: { numTrees: number; learningRate: number } }).params)).toEqual(views.map(() => expect.objectContaining({ numTrees: 6, learningRate: rate * 2 })));
    expect(() => viewsOf({ views: { ...VIEW_DEFAULTS, bags: 0 }, learner })).toThrow(/views\.bags = 0: expected a whole number of 1 or more/);
    expect(() => viewsOf({ views: { ...VIEW_DEFAULTS, bags: 1.5 }, learner })).toThrow(/views\.bags = 1\.5/);
  });

  it('are recorded with the trees the views were trained with', () => {
    const v = { trees: 100, folds: 2, weight: 0.5, scaleByDependence: true, unlabeledPerSeed: 20 };
    expect(viewsTrained({ views: v, learner: { kind: 'gbdt', params: { numTrees: 15 } } })).toEqual({ ...v, trees: 15 });
    expect(viewsTrained({ views: v, learner: { kind: 'gbdt', params: { numTrees: 300 } } })).toEqual(v);
    expect(viewsTrained({ views: v, learner: { kind: 'mlp', params: {} } })).toBeNull();
  });
});
