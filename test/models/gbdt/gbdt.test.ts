// The boosted-trees learner: trees checked by hand, missing values, weights, early stopping,
// the model format, determinism, bad input.
import { describe, expect, it } from 'vitest';
import { GbdtLearner, loadTreeModel, RandomForestLearner, type TreeEnsemble } from '../../../src/models/gbdt/index.ts';
import { ModelError } from '../../../src/errors.ts';
import type { ColumnMatrix } from '../../../src/models/learner.ts';
import { auc, syntheticData } from '../../../bench/synthetic.ts';
import { addTreeOutputs } from '../../../src/models/gbdt/predict.ts';

const matrix = (...cols: number[][]): ColumnMatrix => ({ rows: cols[0].length, columns: cols.map((c) => Float32Array.from(c)) });
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const treesOf = (m: TreeEnsemble) => m.state.trees;

describe('a single stump, computed by hand', () => {
  // x0 = 1,2,3,4 with y = 0,0,1,1; x1 carries no signal. Base rate 0.5 -> initial score 0,
  // p = 0.5: gradients p - y = 0.5, 0.5, -0.5, -0.5 and hessians 0.25.
  // Split x0 <= 2.5: GL = 1, HL = 0.5, GR = -1, HR = 0.5; with lambda = 1,
  // gain = 1/1.5 + 1/1.5 - 0/2 = 4/3, leaves -GL/(HL+1) = -2/3 and +2/3.
  const x = matrix([1, 2, 3, 4], [1, 0, 1, 0]);
  const y = [0, 0, 1, 1];
  const model = new GbdtLearner({ numTrees: 1, maxDepth: 1, learningRate: 1, lambda: 1, minDataInLeaf: 1 }).fit({ x, y, featureNames: ['a', 'b'] });
  const [tree] = treesOf(model);

  it('splits the informative feature half-way between 2 and 3 with the gain computed by hand', () => {
    expect(model.state.initScore).toBe(0);
    expect(Array.from(tree.feature)).toEqual([0]);
    expect(tree.threshold[0]).toBe(2.5);
    expect(tree.gain[0]).toBeCloseTo(4 / 3, 12);
    expect(Array.from(tree.leafValue)).toEqual([-2 / 3, 2 / 3]);
  });

  it('predicts sigmoid(leaf) and gives the feature all the importance', () => {
    const p = model.predictProba(x);
    expect(p[0]).toBeCloseTo(sigmoid(-2 / 3), 12);
    expect(p[3]).toBeCloseTo(sigmoid(2 / 3), 12);
    expect(Array.from(model.featureImportance())).toEqual([1, 0]);
  });
});

describe('missing values', () => {
  const fit = (nanLabel: number) =>
    new GbdtLearner({ numTrees: 1, maxDepth: 1, learningRate: 1, minDataInLeaf: 1 }).fit({
      x: matrix([NaN, NaN, 1, 2, 3, 4]),
      y: [nanLabel, nanLabel, 0, 0, 1, 1],
    });

  it('learns the side missing values go to', () => {
    const right = treesOf(fit(1))[0];
    expect(right.threshold[0]).toBe(2.5);
    expect(right.defaultLeft[0]).toBe(0);
    const left = treesOf(fit(0))[0];
    expect(left.threshold[0]).toBe(2.5);
    expect(left.defaultLeft[0]).toBe(1);
  });

  it('routes a missing value at prediction time the learned way', () => {
    const m = fit(1);
    const p = m.predictProba(matrix([NaN, 1, 4]));
    expect(p[0]).toBe(p[2]);
    expect(p[0]).toBeGreaterThan(p[1]);
  });
});

describe('weights', () => {
  it('a row of weight 2 is the same as the row twice', () => {
    const data = syntheticData(400, 3);
    const rows = Array.from({ length: data.rows }, (_, i) => i);
    const twice = rows.flatMap((i) => (i % 5 === 0 ? [i, i] : [i]));
    // Values on a 0.25 grid: fewer distinct values than bins, so both fits bin them identically.
    const pick = (idx: number[]) => ({ rows: idx.length, columns: data.columns.map((c) => Float32Array.from(idx, (i) => Math.round(c[i] * 4) / 4)) });
    // min_data_in_leaf counts rows, not weight: switch it off so both fits see the same constraints.
    // Depth 3: deeper trees on 400 rows with no minimum leaf size meet near-ties between splits,
    // which the stochastic rounding of the gradients (quantize.ts, different draws for the two
    // data sets) may break either way.
    const opts = { numTrees: 5, maxDepth: 3, minDataInLeaf: 0, minChildWeight: 0 };
    const weighted = new GbdtLearner(opts).fit({ x: pick(rows), y: Array.from(rows, (i) => data.y[i]), weights: rows.map((i) => (i % 5 === 0 ? 2 : 1)) });
    const duplicated = new GbdtLearner(opts).fit({ x: pick(twice), y: Array.from(twice, (i) => data.y[i]) });
    const a = weighted.predictProba(pick(rows));
    const b = duplicated.predictProba(pick(rows));
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 10);
  });
});

describe('early stopping', () => {
  it('stops when the validation loss stops improving and keeps the best round', () => {
    const train = syntheticData(3000, 5);
    const valid = syntheticData(2000, 6);
    const m = new GbdtLearner({ numTrees: 400, learningRate: 0.5, earlyStoppingRounds: 10 }).fit({ x: train, y: train.y, valid: { x: valid, y: valid.y } });
    expect(m.state.bestIteration).toBeDefined();
    expect(m.state.bestIteration!).toBeLessThan(400);
    expect(treesOf(m)).toHaveLength(m.state.bestIteration!);
  });
});

describe('quality', () => {
  it('learns a nonlinear problem with interactions and missing values', () => {
    const train = syntheticData(20000, 1);
    const test = syntheticData(10000, 2);
    const m = new GbdtLearner({ numTrees: 100 }).fit({ x: train, y: train.y });
    expect(auc(m.predictProba(test), test.y)).toBeGreaterThan(0.8);
  });

  it('a random forest beats a single tree of its own on noisy data', () => {
    const train = syntheticData(5000, 11);
    const test = syntheticData(5000, 12);
    const one = new RandomForestLearner({ numTrees: 1, seed: 1 }).fit({ x: train, y: train.y });
    const forest = new RandomForestLearner({ numTrees: 60, seed: 1 }).fit({ x: train, y: train.y });
    expect(auc(forest.predictProba(test), test.y)).toBeGreaterThan(auc(one.predictProba(test), test.y) + 0.05);
  });

  it('a forest Platt-scaled on its out-of-bag scores gives better probabilities than the raw mean, with the same ranking', () => {
    const train = syntheticData(6000, 13);
    const test = syntheticData(6000, 14);
    // Weighted like the persona training: positives rare, unlabelled rows weighing more.
    const w = Float64Array.from(train.y, (v) => (v ? 1 : 3));
    const wt = Float64Array.from(test.y, (v) => (v ? 1 : 3));
    const raw = new RandomForestLearner({ numTrees: 60, seed: 1, calibrate: false }).fit({ x: train, y: train.y, weights: w });
    const calibrated = new RandomForestLearner({ numTrees: 60, seed: 1 }).fit({ x: train, y: train.y, weights: w });
    expect(raw.state.calibration).toBeUndefined();
    expect(calibrated.state.calibration).toBeDefined();
    // Same trees; a monotone map of the mean.
    expect(calibrated.state.trees).toEqual(raw.state.trees);
    const p = calibrated.predictProba(test);
    const q = raw.predictProba(test);
    expect(auc(p, test.y)).toBeCloseTo(auc(q, test.y), 6);
    const logLoss = (s: Float64Array) => {
      let l = 0;
      let sw = 0;
      for (let i = 0; i < s.length; i++) {
        const v = Math.min(1 - 1e-7, Math.max(1e-7, s[i]));
        l -= wt[i] * (test.y[i] ? Math.log(v) : Math.log(1 - v));
        sw += wt[i];
      }
      return l / sw;
    };
    expect(logLoss(p)).toBeLessThan(logLoss(q) - 0.005);
    // Calibrated: the weighted mean probability is the weighted share of positives, within 0.02.
    const mean = (s: Float64Array) => s.reduce((a, v, i) => a + wt[i] * v, 0) / wt.reduce((a, v) => a + v, 0);
    const share = mean(Float64Array.from(test.y));
    expect(Math.abs(mean(p) - share)).toBeLessThan(0.02);
    // Saved and loaded with its calibration; a file written before calibration scores the raw mean.
    const json = JSON.parse(JSON.stringify(calibrated.toJSON()));
    expect(loadTreeModel(json).predictProba(test)).toEqual(p);
    delete json.calibration;
    expect(loadTreeModel(json).predictProba(test)).toEqual(q);
    expect(() => loadTreeModel({ ...json, calibration: { a: 'x', b: 0 } })).toThrow(/field "calibration"/);
    expect(() => new RandomForestLearner({ calibrate: 'no' as unknown as boolean })).toThrow(/option calibrate = "no": expected true or false/);
  });
});

describe('compiled scoring', () => {
  it('gives exactly the scores of walking the node arrays, missing values included', () => {
    const train = syntheticData(4000, 41);
    const test = syntheticData(3000, 42);
    for (let i = 0; i < test.rows; i += 7) test.columns[(i % 30)][i] = NaN;
    const m = new GbdtLearner({ numTrees: 30 }).fit({ x: train, y: train.y });
    const walked = new Float64Array(test.rows).fill(m.state.initScore);
    addTreeOutputs(m.state.trees, test, walked);
    expect(m.predictRaw(test)).toEqual(walked);
  });
});

describe('model format', () => {
  const train = syntheticData(3000, 21);
  const model = new GbdtLearner({ numTrees: 20, subsample: 0.8, colsample: 0.7, seed: 3 }).fit({ x: train, y: train.y });

  it('loads back to bit-identical probabilities', () => {
    const loaded = loadTreeModel(JSON.parse(JSON.stringify(model.toJSON())));
    expect(loaded.predictProba(train)).toEqual(model.predictProba(train));
    const forest = new RandomForestLearner({ numTrees: 5 }).fit({ x: train, y: train.y });
    expect(loadTreeModel(JSON.parse(JSON.stringify(forest.toJSON()))).predictProba(train)).toEqual(forest.predictProba(train));
  });

  it('refuses another format version and corrupted fields, naming them', () => {
    const json = JSON.parse(JSON.stringify(model.toJSON()));
    expect(() => loadTreeModel({ ...json, format: 'personas-gbdt/0' })).toThrow(/format "personas-gbdt\/0" is not supported/);
    const broken = JSON.parse(JSON.stringify(json));
    broken.trees[3].leafValue = [1];
    expect(() => loadTreeModel(broken)).toThrow(/trees\[3\]\.leafValue/);
    const noNames = { ...json };
    delete noNames.featureNames;
    expect(() => loadTreeModel(noNames)).toThrow(ModelError);
    expect(() => loadTreeModel('{')).toThrow(/\(root\)/);
  });

  it('is deterministic for a seed, and the seed matters when sampling', () => {
    const again = new GbdtLearner({ numTrees: 20, subsample: 0.8, colsample: 0.7, seed: 3 }).fit({ x: train, y: train.y });
    expect(JSON.stringify(again.toJSON())).toBe(JSON.stringify(model.toJSON()));
    const other = new GbdtLearner({ numTrees: 20, subsample: 0.8, colsample: 0.7, seed: 4 }).fit({ x: train, y: train.y });
    expect(JSON.stringify(other.toJSON())).not.toBe(JSON.stringify(model.toJSON()));
  });
});

describe('bad input is a clear error, never a wrong answer', () => {
  const x = matrix([1, 2, 3, 4]);
  const learner = new GbdtLearner({ numTrees: 2, minDataInLeaf: 1 });
  const cases: [string, () => unknown, RegExp][] = [
    ['empty data', () => learner.fit({ x: matrix([]), y: [] }), /empty/],
    ['one class', () => learner.fit({ x, y: [1, 1, 1, 1] }), /only one class/],
    ['NaN label', () => learner.fit({ x, y: [0, NaN, 1, 1] }), /row 1 is NaN/],
    ['Infinity label', () => learner.fit({ x, y: [0, Infinity, 1, 1] }), /row 1 is Infinity/],
    ['label 2', () => learner.fit({ x, y: [0, 2, 1, 1] }), /labels must be 0 or 1/],
    ['mismatched labels', () => learner.fit({ x, y: [0, 1, 1] }), /3 values for 4 rows/],
    ['ragged columns', () => learner.fit({ x: { rows: 4, columns: [new Float32Array(4), new Float32Array(3)] }, y: [0, 1, 0, 1] }), /column 1 has 3 values/],
    ['negative weight', () => learner.fit({ x, y: [0, 1, 0, 1], weights: [1, -1, 1, 1] }), /weights: row 1/],
    ['bad option', () => new GbdtLearner({ numTrees: 0 }), /numTrees/],
  ];
  it.each(cases)('%s', (_name, run, message) => {
    expect(run).toThrow(ModelError);
    expect(run).toThrow(message);
  });

  it('predicting with another number of features', () => {
    const m = learner.fit({ x, y: [0, 0, 1, 1] });
    expect(() => m.predictProba(matrix([1], [2]))).toThrow(/2 feature columns; this gbdt model was trained on 1/);
  });
});
