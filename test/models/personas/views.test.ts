// Condition views: the views a rule gives, the model that carries them (its output, its file, its
// errors), the options, and the projection's use of them.
import { describe, expect, it } from 'vitest';
import type { FeatureTable } from '../../../src/features/table.ts';
import type { ColumnMatrix } from '../../../src/models/learner.ts';
import { fitLearner, loadModel } from '../../../src/models/learners.ts';
import type { Rule } from '../../../src/models/personas/file.ts';
import { encodeDesign, fitDesign } from '../../../src/models/personas/design.ts';
import { conditionViews, viewDependence, viewDependenceWarnings, viewsOf, viewsTrained, viewsWithColumns, viewTrees } from '../../../src/models/personas/views.ts';
import { combineViewEvidence, combineViewProbabilities, ConditionViewsModel, VIEWS_FORMAT, VIEWS_FORMAT_V1 } from '../../../src/models/personas/views-model.ts';
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

  it('gives c times the persona model\'s probability plus its views\' tempered evidence, each part on its own columns, and reads back from its file', async () => {
    const base = await fit([0, 1]);
    const v1 = await fit([2]);
    const v2 = await fit([0]);
    const scales = [{ floor: 0.01, mean: 0.3 }, { floor: 0.05, mean: 0.4 }];
    const model = new ConditionViewsModel(names, { condition: 'key_drivers', model: base, c: 0.5 }, [{ condition: 'key_drivers.all[0]', model: v1, c: 0.4 }, { condition: 'key_drivers.all[1]', model: v2, c: 0.8 }], 0.4, { rule: 'evidence', prevalence: 0.2, scales });
    const out = model.predictProba(x);
    const p0 = base.predictProba(sub([0, 1]));
    const parts = [v1.predictProba(sub([2])), v2.predictProba(sub([0]))];
    for (const i of [0, 17, 250, 599]) {
      let z = logit(held(p0[i] / 0.5));
      parts.forEach((s, k) => (z += 0.4 * (logit(held((0.2 * (s[i] - scales[k].floor)) / (scales[k].mean - scales[k].floor))) - logit(0.2))));
      expect(out[i] / 0.5).toBeCloseTo(1 / (1 + Math.exp(-z)), 12);
    }
    const imp = model.featureImportance();
    expect(imp.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    const file = JSON.parse(JSON.stringify(model.toJSON()));
    expect(file).toMatchObject({ format: VIEWS_FORMAT, weight: 0.4, prevalence: 0.2, views: [{ floor: 0.01, mean: 0.3 }, { floor: 0.05, mean: 0.4 }] });
    const loaded = loadModel(file);
    expect(loaded.kind).toBe('views');
    expect(loaded.featureNames).toEqual(names);
    expect(Array.from(loaded.predictProba(x))).toEqual(Array.from(out));
    expect(() => model.predictProba(sub([0, 1]))).toThrow(/2 feature columns; this views model reads 3/);
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
    const good = JSON.parse(JSON.stringify(new ConditionViewsModel(names, { condition: 'key_drivers', model: base, c: 0.5 }, [{ condition: 'key_drivers.all[0]', model: view, c: 0.4 }], 0.5, { rule: 'evidence', prevalence: 0.1, scales: [{ floor: 0, mean: 0.2 }] }).toJSON()));
    expect(() => loadModel({ ...good, views: [{ ...good.views[0], c: undefined }] })).toThrow(/views\[0\]\.c: expected a number/);
    expect(() => loadModel({ ...good, views: [] })).toThrow(/views: expected a non-empty array/);
    expect(() => loadModel({ ...good, featureNames: ['x1', 'x2'] })).toThrow(/views\[0\] \(key_drivers\.all\[0\]\) reads column "x3"/);
    expect(() => loadModel({ ...good, weight: 2 })).toThrow(/weight 2 is not in \[0, 1\]/);
    expect(() => loadModel({ ...good, base: { ...good.base, c: 0 } })).toThrow(/base c = 0/);
    expect(() => loadModel({ ...good, prevalence: undefined })).toThrow(/prevalence: expected a number in \(0, 1\)/);
    expect(() => loadModel({ ...good, prevalence: 1 })).toThrow(/prevalence 1 is not in \(0, 1\)/);
    expect(() => loadModel({ ...good, views: [{ ...good.views[0], floor: undefined }] })).toThrow(/views\[0\]\.floor: expected a number/);
    expect(() => loadModel({ ...good, views: [{ ...good.views[0], floor: 0.5 }] })).toThrow(/views\[0\] floor 0\.5 and mean 0\.2: expected numbers with mean >= floor/);
    expect(() => loadModel({ ...good, format: 'personas-views/9' })).toThrow(/not supported/);
  });

  it('adds no evidence for a view at its mean, strong evidence against at its floor, and none from a constant view', () => {
    const p0 = Float64Array.from([0.3, 0.3, 0.3, 2]);
    const scores = Float64Array.from([0.25, 0.05, 0.6, 0.25]);
    const out = combineViewEvidence(p0, [{ scores, floor: 0.05, mean: 0.25 }], 0.1, 1, 2);
    expect(out[0]).toBeCloseTo(0.6, 12); // at the mean: p0 itself (times the scale 2)
    expect(out[1] / 2).toBeCloseTo(1 / (1 + Math.exp(-(logit(0.3) + logit(0.005) - logit(0.1)))), 12); // at the floor
    expect(out[2] / 2).toBeGreaterThan(0.3); // above the mean: for
    expect(out[3] / 2).toBeCloseTo(0.995, 12); // s / c above 1 is held at 0.995
    const constant = combineViewEvidence(p0, [{ scores, floor: 0.2, mean: 0.2 }], 0.1, 0.4);
    expect(Array.from(constant, (v) => +v.toFixed(12))).toEqual([0.3, 0.3, 0.3, 0.995]);
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
      { condition: 'personas[5].key_drivers.all[0]', features: ['december_share'], seeds: 900, c: 0.2, validationAuc: 0.8, dependence: 0.82 },
      { condition: 'personas[5].key_drivers.all[1]', features: ['share_cat_gifts'], seeds: 900, c: 0.2, validationAuc: 0.8, dependence: 0.6 },
      { condition: 'personas[5].key_drivers.all[2]', features: ['frequency_12m'], seeds: 900, c: 0.2, validationAuc: 0.8, dependence: null },
    ];
    expect(viewDependenceWarnings({ id: 'seasonal_gifter', views })).toEqual([
      'seasonal_gifter: condition personas[5].key_drivers.all[0] goes with the others even among the customers least like the persona (dependence 0.82, above 0.75): its evidence is partly counted twice, so fewer of this persona\'s assigned customers may be right than its expected precision says',
    ]);
    expect(viewDependenceWarnings({ id: 'x', views: undefined })).toEqual([]);
  });
});

describe('view options', () => {
  const gbdt = { kind: 'gbdt' as const, params: {} };
  it('apply to boosted trees only, and are checked', () => {
    const v = { trees: 100, folds: 2, weight: 0.5, unlabeledPerSeed: 20 };
    expect(viewsOf({ views: v, learner: gbdt })).toEqual(v);
    expect(viewsOf({ views: v, learner: { kind: 'forest', params: {} } })).toBeNull();
    expect(viewsOf({ views: null, learner: gbdt })).toBeNull();
    expect(viewsOf({ views: { ...v, weight: 1 }, learner: gbdt })).toEqual({ ...v, weight: 1 });
    expect(() => viewsOf({ views: { ...v, weight: 0 }, learner: gbdt })).toThrow(/views\.weight = 0: expected a number above 0, at most 1/);
    expect(() => viewsOf({ views: { ...v, weight: 1.5 }, learner: gbdt })).toThrow(/views\.weight = 1\.5/);
    expect(() => viewsOf({ views: { ...v, trees: 0 }, learner: gbdt })).toThrow(/views\.trees = 0/);
    expect(() => viewsOf({ views: { ...v, folds: 1 }, learner: gbdt })).toThrow(/views\.folds = 1/);
  });

  it('never give a view more trees than the persona model has', () => {
    expect(viewTrees({ trees: 100, folds: 2, weight: 0.5, unlabeledPerSeed: 20 }, { numTrees: 12 })).toBe(12);
    expect(viewTrees({ trees: 100, folds: 2, weight: 0.5, unlabeledPerSeed: 20 }, { numTrees: 300 })).toBe(100);
    expect(viewTrees({ trees: 100, folds: 2, weight: 0.5, unlabeledPerSeed: 20 }, {})).toBe(100);
  });

  it('are recorded with the trees the views were trained with', () => {
    const v = { trees: 100, folds: 2, weight: 0.5, unlabeledPerSeed: 20 };
    expect(viewsTrained({ views: v, learner: { kind: 'gbdt', params: { numTrees: 15 } } })).toEqual({ ...v, trees: 15 });
    expect(viewsTrained({ views: v, learner: { kind: 'gbdt', params: { numTrees: 300 } } })).toEqual(v);
    expect(viewsTrained({ views: v, learner: { kind: 'mlp', params: {} } })).toBeNull();
  });
});
