// Thresholds, the margin rule and the design matrix.
import { describe, expect, it } from 'vitest';
import { assignPersonas, autoThreshold, reachCurve } from '../../../src/models/personas/assign.ts';
import { absentFeatures, departmentOf, describeAbsentFeatures, encodeDesign, fitDesign, withoutFeatures } from '../../../src/models/personas/design.ts';
import { weightedAuc } from '../../../src/models/personas/train.ts';
import type { FeatureTable } from '../../../src/features/table.ts';

describe('threshold: auto', () => {
  it('takes the lowest threshold whose customers above it have the target mean probability', () => {
    const p = Float64Array.from([0.95, 0.9, 0.85, 0.6, 0.3, 0.1]);
    // Means from the top: 0.95, 0.925, 0.9, 0.825, 0.72, 0.617.
    expect(autoThreshold(p, 0.9)).toEqual({ threshold: 0.85, expectedPrecision: 0.9 });
    expect(autoThreshold(p, 0.8).threshold).toBe(0.6);
    expect(autoThreshold(p, 0.99)).toEqual({ threshold: 1, expectedPrecision: null });
  });

  it('never splits customers of equal probability', () => {
    const p = Float64Array.from([1, 0.8, 0.8, 0.8]);
    // Cutting between the 0.8s would reach 0.9; including all three gives 0.85.
    expect(autoThreshold(p, 0.86).threshold).toBe(1);
    expect(autoThreshold(p, 0.85).threshold).toBe(0.8);
  });

  it('reports reach and expected precision at each threshold', () => {
    const curve = reachCurve(Float64Array.from([0.95, 0.5, 0.2]));
    expect(curve.find((c) => c.threshold === 0.5)).toEqual({ threshold: 0.5, customers: 2, expectedPrecision: 0.725 });
    expect(curve.find((c) => c.threshold === 0.95)!.customers).toBe(1);
    expect(curve).toHaveLength(19);
  });
});

describe('assignment rule', () => {
  it('assigns the best persona only above its threshold and ahead of the runner-up by the margin', () => {
    const a = Float64Array.from([0.9, 0.9, 0.5, 0.7, 0.2]);
    const b = Float64Array.from([0.1, 0.85, 0.4, 0.1, 0.25]);
    const r = assignPersonas([a, b], [0.6, 0.2], 0.1);
    // 0: a clear; 1: margin 0.05 too small; 2: a under its threshold; 3: a; 4: b 0.25 >= 0.2, margin 0.05 too small.
    expect(Array.from(r.persona)).toEqual([0, -1, -1, 0, -1]);
    expect(r.confidence[1]).toBe(0.9);
    expect(r.margin[1]).toBeCloseTo(0.05, 12);
    const lowMargin = assignPersonas([a, b], [0.6, 0.2], 0.04);
    expect(Array.from(lowMargin.persona)).toEqual([0, 0, -1, 0, 1]);
  });
});

describe('design matrix', () => {
  const table: FeatureTable = {
    rows: 4,
    ids: ['a', 'b', 'c', 'd'],
    numericNames: ['age'],
    numeric: [Float32Array.from([30, NaN, 50, 60])],
    categoricalNames: ['sex', 'postcode', 'segment'],
    categorical: [
      ['F', 'M', null, 'F'],
      ['75011', '2A004', '97411', null],
      ['gold', 'gold', 'new', null],
    ],
  };
  it('encodes sex, department and segment levels, keeping missing values missing', () => {
    const enc = fitDesign(table);
    const m = encodeDesign(table, enc);
    expect(m.names).toEqual(['age', 'sex_f', 'department', 'segment=gold', 'segment=new']);
    expect(Array.from(m.columns[1])).toEqual([1, 0, NaN, 1]);
    expect(Array.from(m.columns[2])).toEqual([75, 20, 974, NaN]);
    expect(Array.from(m.columns[3])).toEqual([1, 1, 0, NaN]);
    expect(departmentOf('1234')).toBeNaN();
    // A new table without segment gives the same columns, missing.
    const other = encodeDesign({ ...table, categoricalNames: ['sex', 'postcode'], categorical: table.categorical.slice(0, 2) }, enc);
    expect(other.names).toEqual(m.names);
    expect(Array.from(other.columns[4])).toEqual([NaN, NaN, NaN, NaN]);
    expect(withoutFeatures(m, ['segment', 'age']).names).toEqual(['sex_f', 'department']);
    // Which features the model reads that the new table does not hold, said by absentFeatures.
    expect(absentFeatures(table, enc)).toEqual([]);
    expect(absentFeatures({ ...table, categoricalNames: ['sex', 'postcode'], categorical: table.categorical.slice(0, 2) }, enc)).toEqual(['segment']);
    expect(absentFeatures({ ...table, numericNames: [], numeric: [], categoricalNames: ['segment'], categorical: [table.categorical[2]] }, enc)).toEqual(['age', 'sex', 'postcode']);
    // A version trained when a CRM's own `age` column came out as `age_1` reads it as it is carried now, `client_age`.
    const legacy = { ...table, numericNames: ['age', 'age_1'], numeric: [table.numeric[0], Float32Array.from([40, 41, NaN, 43])] };
    const legacyEncoding = fitDesign(legacy);
    const now = { ...legacy, numericNames: ['age', 'client_age'] };
    expect(absentFeatures(now, legacyEncoding)).toEqual([]);
    expect(Array.from(encodeDesign(now, legacyEncoding).columns[1])).toEqual([40, 41, NaN, 43]);
    expect(absentFeatures({ ...legacy, numericNames: ['age', 'other'] }, legacyEncoding)).toEqual(['age_1']);
    expect(describeAbsentFeatures(['segment'])).toMatch(/^the models read 1 feature\(s\) these customers' data does not hold, read as missing for every one of them .*: segment; /);
  });
});

describe('AUC', () => {
  it('counts ties half and honours weights', () => {
    expect(weightedAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    expect(weightedAuc([0.5, 0.5], [0, 1])).toBe(0.5);
    // Correct pairs by weight: (0.35, 0.1) 1, (0.8, 0.1) 1, (0.8, 0.4) 3 of 2 x 4 = 8.
    expect(weightedAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], [1, 3, 1, 1])).toBe(5 / 8);
  });
});
