// The conformance suite every learner kind passes (gbdt, forest, mlp, ensemble), through the
// registry as the product uses it: shapes and range of the predictions, determinism for a seed,
// weights (a row of weight k is the row k times), every bad input named, save/load identity and
// strict loading, training in worker threads identical to in-process, and that it learns.
// Small data and small models: the whole file runs in seconds per kind.
import { describe, expect, it } from 'vitest';
import { auc, syntheticData, type SyntheticData } from '../../../bench/synthetic.ts';
import { ModelError } from '../../../src/errors.ts';
import { trainMany } from '../../../src/models/gbdt/workers.ts';
import { LEARNER_KINDS, type ColumnMatrix, type FitInput, type FittedClassifier, type LearnerKind } from '../../../src/models/learner.ts';
import { describeModel, fitLearner, loadModel, makeLearner, modelBackend } from '../../../src/models/learners.ts';

/** Small, fast options per kind (flat keys, shared out by the registry as in a persona file). */
const SMALL: Record<LearnerKind, Record<string, unknown>> = {
  gbdt: { numTrees: 30, seed: 1 },
  forest: { numTrees: 20, seed: 1 },
  mlp: { hidden: [16], maxEpochs: 25, seed: 1 },
  ensemble: { numTrees: 30, hidden: [16], maxEpochs: 25, seed: 1 },
};

const FEATURES = 12;
const train = syntheticData(2000, 11, FEATURES);
const test = syntheticData(2000, 12, FEATURES);
const names = Array.from({ length: FEATURES }, (_, j) => `feature_${j}`);
const input = (d: SyntheticData, extra: Partial<FitInput> = {}): FitInput => ({ x: d, y: d.y, featureNames: names, ...extra });
/** The first array of numbers in a model file outside its params (trees' nodes, layer weights...). */
function firstLearnedArray(json: unknown): unknown[] {
  const visit = (v: unknown): unknown[] | undefined => {
    if (Array.isArray(v)) {
      if (v.length > 0 && v.every((x) => typeof x === 'number')) return v;
      for (const x of v) {
        const found = visit(x);
        if (found) return found;
      }
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const found = k === 'params' ? undefined : visit(x);
        if (found) return found;
      }
    }
    return undefined;
  };
  const found = visit(json);
  if (!found) throw new Error('no learned array in the model file');
  return found;
}
const meanAbsDiff = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

const fitted: Partial<Record<LearnerKind, Promise<FittedClassifier>>> = {};

describe.each(LEARNER_KINDS.map((k) => [k]))('learner %s', (kind: LearnerKind) => {
  const fit = (i: FitInput, params: Record<string, unknown> = SMALL[kind]) => fitLearner(kind, params, i);
  /** The model on the training data with the small options, fitted once for the tests that only read it. */
  const base = () => (fitted[kind] ??= fit(input(train)));

  it('predicts one probability in [0, 1] per row, keeps the feature names, and importances summing to 1', async () => {
    const m = await base();
    expect(m.kind).toBe(kind);
    expect(m.featureNames).toEqual(names);
    const p = m.predictProba(test);
    expect(p).toBeInstanceOf(Float64Array);
    expect(p.length).toBe(test.rows);
    for (const v of p) expect(v >= 0 && v <= 1).toBe(true);
    expect(new Set(p).size).toBeGreaterThan(20);
    const imp = m.featureImportance();
    expect(imp.length).toBe(FEATURES);
    for (const v of imp) expect(v).toBeGreaterThanOrEqual(0);
    expect(imp.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 9);
    expect(modelBackend(m)).toMatch(kind === 'gbdt' || kind === 'forest' ? /^javascript$/ : /tfjs (wasm|tensorflow)/);
    // An empty matrix of the right width: no rows, no error.
    expect(m.predictProba({ rows: 0, columns: names.map(() => new Float32Array(0)) }).length).toBe(0);
  });

  it('learns: AUC well above 0.5 on held-out rows of a nonlinear problem', async () => {
    const m = await base();
    // gbdt reaches about 0.82 here, the mlp and ensemble about 0.8, the forest 0.75.
    expect(auc(m.predictProba(test), test.y)).toBeGreaterThan(0.7);
  });

  it('is deterministic for a seed (same model file, same probabilities), and the seed is used', async () => {
    const a = await base();
    const b = await fit(input(train));
    expect(JSON.stringify(a.toJSON())).toBe(JSON.stringify(b.toJSON()));
    expect(b.predictProba(test)).toEqual(a.predictProba(test));
    if (kind !== 'gbdt') {
      // Boosting with no subsampling draws nothing but the rounding of its gradients; the others
      // draw bootstrap rows, initial weights, batches or the calibration split from the seed.
      const c = await fit(input(train), { ...SMALL[kind], seed: 2 });
      expect(c.predictProba(test)).not.toEqual(a.predictProba(test));
    }
  });

  it('saves and loads: identical probabilities; a wrong version or a corrupted field is a clear error', async () => {
    const m = await base();
    const json = JSON.parse(JSON.stringify(m.toJSON())) as Record<string, unknown>;
    expect(json.format).toBe(`personas-${kind === 'forest' ? 'gbdt' : kind}/1`);
    expect(json.kind).toBe(kind);
    expect(json.params).toBeTypeOf('object');
    const loaded = loadModel(json);
    expect(loaded.kind).toBe(kind);
    expect(loaded.predictProba(test)).toEqual(m.predictProba(test));
    expect(loaded.featureImportance()).toEqual(m.featureImportance());
    expect(() => loadModel({ ...json, format: `personas-${kind}/99` })).toThrow(/format "personas-\w+\/99" is not supported/);
    expect(() => loadModel({ ...json, featureNames: 'x' })).toThrow(/field "featureNames"/);
    expect(() => loadModel(null)).toThrow(ModelError);
    // One number of the learned state replaced by text, or an array cut short: named, never a silent NaN.
    for (const damage of [(a: unknown[]) => (a[0] = 'oops'), (a: unknown[]) => a.pop()]) {
      const corrupted = structuredClone(json);
      damage(firstLearnedArray(corrupted));
      expect(() => loadModel(corrupted)).toThrow(/model file: field "[^"]+" is missing or invalid/);
    }
  });

  it('rejects every bad input with a message that says what is wrong', async () => {
    const x = train;
    const cases: [string, FitInput, RegExp][] = [
      ['empty', { x: { rows: 0, columns: names.map(() => new Float32Array(0)) }, y: [] }, /empty \(0 rows\)/],
      ['no column', { x: { rows: 3, columns: [] }, y: [0, 1, 0] }, /no feature column/],
      ['one class', { x, y: new Uint8Array(x.rows).fill(1) }, /only one class/],
      ['NaN label', { x, y: Float64Array.from(x.y, (v, i) => (i === 7 ? NaN : v)) }, /labels: row 7 is NaN/],
      ['Infinity label', { x, y: Float64Array.from(x.y, (v, i) => (i === 8 ? Infinity : v)) }, /labels: row 8 is Infinity/],
      ['label 2', { x, y: Float64Array.from(x.y, (v, i) => (i === 9 ? 2 : v)) }, /labels: row 9 is 2/],
      ['fewer labels than rows', { x, y: x.y.subarray(1) }, /labels: 1999 values for 2000 rows/],
      ['ragged columns', { x: { rows: x.rows, columns: [...x.columns.slice(1), x.columns[0].subarray(5)] }, y: x.y }, /column 11 has 1995 values, expected 2000/],
      ['fewer weights than rows', { x, y: x.y, weights: new Float64Array(10).fill(1) }, /weights: 10 values for 2000 rows/],
      ['negative weight', { x, y: x.y, weights: Float64Array.from(x.y, (_, i) => (i === 3 ? -1 : 1)) }, /weights: row 3 is -1/],
      ['NaN weight', { x, y: x.y, weights: Float64Array.from(x.y, (_, i) => (i === 4 ? NaN : 1)) }, /weights: row 4 is NaN/],
      ['feature names', { x, y: x.y, featureNames: ['a'] }, /featureNames: 1 names for 12 columns/],
    ];
    for (const [what, bad, message] of cases) {
      await expect(fit(bad), what).rejects.toThrow(message);
      await expect(fit(bad), what).rejects.toBeInstanceOf(ModelError);
    }
    const m = await base();
    const fewer: ColumnMatrix = { rows: test.rows, columns: test.columns.slice(0, FEATURES - 1) };
    expect(() => m.predictProba(fewer)).toThrow(/prediction data has 11 feature columns; this \w+ model was trained on 12/);
    expect(() => m.predictProba({ rows: 10, columns: test.columns })).toThrow(/column 0 has 2000 values, expected 10/);
  });

  it('handles missing and infinite feature values at fit and predict time', async () => {
    const holes = { ...train, columns: train.columns.map((c, j) => (j === 2 ? c.map((v, i) => (i % 7 === 0 ? NaN : i % 11 === 0 ? Infinity : v)) : c)) };
    const m = await fit(input(holes as SyntheticData));
    const allMissing: ColumnMatrix = { rows: 5, columns: names.map(() => new Float32Array(5).fill(NaN)) };
    for (const v of m.predictProba(allMissing)) expect(v >= 0 && v <= 1).toBe(true);
  });

  it('weights: a row of weight 3 is (about) the row three times', async () => {
    // Weight 3 on the positives with x0 > 0: enough to move the model (checked against unweighted).
    const heavy = (i: number) => train.y[i] === 1 && train.columns[0][i] > 0;
    const rows = Array.from({ length: train.rows }, (_, i) => i);
    const thrice = rows.flatMap((i) => (heavy(i) ? [i, i, i] : [i]));
    // Values on a 0.25 grid (fewer distinct values than bins: the trees bin both data sets alike).
    const pick = (idx: number[]): ColumnMatrix => ({ rows: idx.length, columns: train.columns.map((c) => Float32Array.from(idx, (i) => Math.round(c[i] * 4) / 4)) });
    // Exact for the boosted trees once the row-count constraints are off (min_data_in_leaf counts
    // rows, not weight); for the others, options where each fit sees the same rows: no held-out
    // split for the mlp (a duplicated row could land on both sides of it).
    const params: Record<LearnerKind, Record<string, unknown>> = {
      gbdt: { numTrees: 5, maxDepth: 3, minDataInLeaf: 0, minChildWeight: 0, seed: 1 },
      // Without its out-of-bag calibration: a copy of a row is out of the bag while another copy
      // is in it, so out-of-bag scores (and the calibration fitted on them) cannot match weights.
      forest: { numTrees: 60, maxDepth: 6, minDataInLeaf: 20, seed: 1, calibrate: false },
      mlp: { hidden: [16], maxEpochs: 30, validFraction: 0, seed: 1 },
      ensemble: { numTrees: 30, hidden: [16], maxEpochs: 30, validFraction: 0, seed: 1 },
    };
    const y = (idx: number[]) => Uint8Array.from(idx, (i) => train.y[i]);
    const weighted = await fit({ x: pick(rows), y: y(rows), weights: rows.map((i) => (heavy(i) ? 3 : 1)) }, params[kind]);
    const duplicated = await fit({ x: pick(thrice), y: y(thrice) }, params[kind]);
    const unweighted = await fit({ x: pick(rows), y: y(rows) }, params[kind]);
    const a = weighted.predictProba(pick(rows));
    const b = duplicated.predictProba(pick(rows));
    const c = unweighted.predictProba(pick(rows));
    if (kind === 'gbdt') {
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 10);
      return;
    }
    // Not exact for the others, by construction: the forest draws its bootstrap from 2000 rows of
    // weight 1 or 3 against 2,6xx rows; the mlp's minibatches hold different rows and an epoch
    // has more steps with the duplicates; the ensemble's calibration split differs. What must
    // hold: weight 3 moves the model about as much as three copies do, the gap between them being
    // under 0.05 mean absolute probability and under half of what the weights change (measured:
    // forest gap 0.026 for an effect of 0.13, mlp 0.032 for 0.099, ensemble 0.042 for 0.099).
    const gap = meanAbsDiff(a, b);
    const effect = meanAbsDiff(a, c);
    console.log(kind, 'weights gap', gap.toFixed(4), 'effect', effect.toFixed(4));
    expect(effect).toBeGreaterThan(0.03);
    expect(gap).toBeLessThan(0.05);
    expect(gap).toBeLessThan(effect / 2);
  });
});

describe('every kind through worker threads', () => {
  it('trains in workers exactly as in-process (the tfjs backend loads inside a worker)', async () => {
    const kinds = [...LEARNER_KINDS];
    const models = await trainMany(
      kinds.map((kind) => ({ kind, options: SMALL[kind], input: input(train) })),
      { workers: 2 },
    );
    for (const [k, kind] of kinds.entries()) {
      const local = await (fitted[kind] ??= fitLearner(kind, SMALL[kind], input(train)));
      expect(models[k].kind).toBe(kind);
      expect(models[k].predictProba(test)).toEqual(local.predictProba(test));
    }
  });

  it('reports a bad input from a worker as a ModelError naming it', async () => {
    await expect(trainMany([{ kind: 'mlp', options: SMALL.mlp, input: { x: train, y: new Uint8Array(train.rows) } }], { workers: 1 })).rejects.toThrow(/only one class/);
  });
});

describe('the registry', () => {
  it('shares flat options out: a key the trees know too (learningRate) stays with the trees, mlp: {...} reaches the mlp', () => {
    const mlp = makeLearner('mlp', { learningRate: 0.1, numTrees: 100, hidden: [8], mlp: { learningRate: 0.01 }, seed: 4 });
    expect(mlp.options).toMatchObject({ learningRate: 0.01, hidden: [8], seed: 4 });
    expect(makeLearner('mlp', { learningRate: 0.1 }).options).toMatchObject({ learningRate: 0.003 });
    expect(makeLearner('gbdt', { learningRate: 0.3, hidden: [8] }).options).toMatchObject({ learningRate: 0.3 });
    expect(makeLearner('ensemble', { numTrees: 7, hidden: [8], seed: 3 }).options).toMatchObject({ seed: 3, gbdt: { numTrees: 7 }, mlp: { hidden: [8] } });
  });

  it('names a bad option and an unknown kind', () => {
    expect(() => makeLearner('mlp', { hidden: [0] })).toThrow(/option hidden = \[0\]/);
    expect(() => makeLearner('mlp', { mlp: 3 })).toThrow(/learner option mlp: expected an object/);
    expect(() => makeLearner('svm' as LearnerKind)).toThrow(/"svm" is not a learner kind \(expected one of gbdt, forest, mlp, ensemble\)/);
  });

  it('builds an ensemble of the members asked for (gbdt and forest here), which saves and loads by kind, and names bad members', async () => {
    const learner = makeLearner('ensemble', { members: ['gbdt', 'forest'], numTrees: 20, seed: 2 });
    expect(learner.options).toMatchObject({ members: ['gbdt', 'forest'], forest: { numTrees: 20 } });
    const model = await fitLearner('ensemble', { members: ['gbdt', 'forest'], numTrees: 20, seed: 2 }, input(train));
    const json = JSON.parse(JSON.stringify(model.toJSON())) as { members: { kind: string }[] };
    expect(json.members.map((m) => m.kind)).toEqual(['gbdt', 'forest']);
    expect(modelBackend(model)).toBe('gbdt: javascript + forest: javascript');
    expect(describeModel(model)).toBe('ensemble of gbdt on javascript + forest on javascript');
    expect(loadModel(json).predictProba(test)).toEqual(model.predictProba(test));
    expect(auc(model.predictProba(test), test.y)).toBeGreaterThan(0.7);
    for (const members of [['gbdt'], ['gbdt', 'gbdt'], ['gbdt', 'svm'], 'gbdt']) {
      expect(() => makeLearner('ensemble', { members })).toThrow(/option members = .*: expected two or more different kinds among gbdt, forest, mlp/);
    }
  });

  it('loading an unknown format lists the formats it reads', () => {
    expect(() => loadModel({ format: 'personas-svm/1' })).toThrow(/personas-gbdt\/1, personas-mlp\/1, personas-ensemble\/1/);
  });
});
